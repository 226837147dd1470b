"""Fleet deploys on loopback: wall time, per-device time, per-phase times and edgekit's own resources.

Starts real sshd's on 127.0.0.1 (as the test suite does; needs root and openssh-server),
one per device up to --max-sshd (more devices share them, each with its own remote dir),
builds a small int8 model, then for each fleet size N and --parallel P runs
``edgekit deploy MODEL --group lab --parallel P --runs R --verbose`` as a process and
records: wall time, wall(N) / (ceil(N/P) * wall(1)) (how well parallel slots scale),
edgekit's peak RSS / threads / open fds (sampled from /proc every 20 ms), and per-phase
times from the timestamps of each device's progress lines (median over devices):

    to_push    connect, the device-side start (pre-flight, lock, prepare, agent install), runtime probe
               (N = 1 only)
    upload     model upload + sha256 check on the device
    check      load check on the device
    switch     sha256 re-check + switch + retention
    bench      benchmark
    device_s   one device's whole deploy: "deploying ..." line to its result line (N = 1 only;
               the process's start-up and imports are not part of it)

N = 1 is run --repeats times into a fresh remote dir (median), then once more as a re-deploy of
the model already current. --before DIR runs the same with the edgekit package found in DIR
(e.g. ``git archive <commit> edgekit | tar -x -C DIR``).

    python bench/fleet.py [--sizes 1,10,60] [--parallel 4,16] [--runs 10] [--nofile 256] [--before DIR]

Each row also records the 1-minute load average when it started (the machine may be shared).

Writes bench/results/fleet.json and fleet.md.
"""

from __future__ import annotations

import argparse
import getpass
import json
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "remote")]

from remote_support import keygen, start_sshd  # noqa: E402  (the test suite's sshd launcher)

from edgekit.fileio import atomic_write_text  # noqa: E402

# A device's progress line -> the phase that ends with it (see the module docstring).
PHASE_ENDS = (("to_push", re.compile(r": pushing ")),
              ("upload", re.compile(r": (sent \d+ model bytes|model \w+ already on the device)")),
              ("check", re.compile(r": (activating|\w+ is already current)")),
              ("switch", re.compile(r": benchmarking ")),
              ("bench", re.compile(r": benchmarked in ")))
DEVICE = re.compile(r"^(?:ok   )?(n\d+-dev\d+)\b")


def build_model(path: Path) -> Path:
    """A small int8 classifier (the digits CNN's size class: a few thousand weights)."""
    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(8, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(10)])
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([np.random.rand(1, 8, 8, 1).astype(np.float32)] for _ in range(20))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    path.write_bytes(converter.convert())
    return path


class Sampler:
    """Peak RSS (MB), threads and open fds of one process, sampled from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid, self.rss_mb, self.threads, self.fds = pid, 0.0, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                status = Path(f"/proc/{self.pid}/status").read_text()
                self.rss_mb = max(self.rss_mb, int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024)
                self.threads = max(self.threads, int(re.search(r"Threads:\s+(\d+)", status).group(1)))
                self.fds = max(self.fds, len(os.listdir(f"/proc/{self.pid}/fd")))
            except (OSError, AttributeError):
                pass
            self._stop.wait(0.02)

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        return {"peak_rss_mb": round(self.rss_mb, 1), "peak_threads": self.threads, "peak_fds": self.fds}


def run_fleet(model: Path, work: Path, n: int, parallel: int, runs: int, nofile: int | None,
              package: Path) -> dict:
    """One ``edgekit deploy`` of ``model`` to dev0..dev(n-1); its figures."""
    env = {**os.environ, "PYTHONPATH": str(package), "PYTHONDONTWRITEBYTECODE": "1",
           "EDGEKIT_RESULTS_DB": str(work / "results.db")}
    limit = (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))) if nofile else None
    load = round(os.getloadavg()[0], 1)  # the machine is shared: each figure with the load it was taken at
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "edgekit", "deploy", str(model), "--group", f"n{n}",
                             "--parallel", str(parallel), "--runs", str(runs), "--warmup", "1", "-i",
                             str(work / "id_ed25519"), "--known-hosts", str(work / "known_hosts"),
                             *verbose_flag(package)],
                            cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=limit)
    sampler = Sampler(proc.pid)
    stamped = [(time.perf_counter(), line.rstrip("\n")) for line in proc.stdout]
    proc.wait()
    wall = time.perf_counter() - started
    resources = sampler.stop()
    begun = next((when for when, line in stamped if line.startswith("deploying ")), started)
    phases: dict[str, list[float]] = {name: [] for name, _ in PHASE_ENDS}
    last: dict[str, float] = {}
    device_s = None
    for when, line in stamped:
        match = DEVICE.match(line)
        if not match:
            continue
        device = match.group(1)
        if line.startswith("ok ") and n == 1:
            device_s = round(when - begun, 3)
        for name, pattern in PHASE_ENDS:
            if pattern.search(line):
                if device in last or n == 1:
                    phases[name].append(when - last.get(device, begun))
                last[device] = when
    ok = sum(line.startswith("ok ") for _, line in stamped)
    failed = [line for _, line in stamped if line.startswith("edgekit: error")]
    return {"devices": n, "parallel": parallel, "load_1m": load, "wall_s": round(wall, 2), "device_s": device_s,
            "ok": ok, "failed": len(failed), "failures": failed[:5], "exit_code": proc.returncode, **resources,
            "phases_median_s": {k: round(statistics.median(v), 3) if v else None for k, v in phases.items()}}


def verbose_flag(package: Path) -> list[str]:
    """``--verbose`` where fleets are compact by default (older versions print every line anyway)."""
    return ["--verbose"] if '"--verbose"' in (package / "edgekit" / "cli" / "deploy.py").read_text() else []


def prepare(work: Path, count: int, sizes: list[int], max_sshd: int) -> list:
    """sshd's, a user key, known_hosts and an inventory with one group per fleet size (fresh remote dirs)."""
    key = keygen(work / "id_ed25519", "edgekit-bench")
    (work / "authorized_keys").write_text(key.with_suffix(".pub").read_text())
    servers = [start_sshd(work / f"sshd{i}", work / "authorized_keys") for i in range(min(count, max_sshd))]
    (work / "known_hosts").write_text("".join(s.known_hosts_line for s in servers))
    text = ""
    for n in sizes:
        for i in range(n):
            port = servers[i % len(servers)].port
            text += (f'[devices.n{n}-dev{i}]\nhost = "{getpass.getuser()}@127.0.0.1:{port}"\ntarget = "local"\n'
                     f'groups = ["n{n}"]\nremote_python = "{sys.executable}"\n'
                     f'remote_dir = "{work / "devices" / f"n{n}-dev{i}"}"\n\n')
    (work / "edgekit.toml").write_text(text)
    return servers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1,10,60")
    parser.add_argument("--parallel", default="4,16")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3, help="runs of N = 1 (median)")
    parser.add_argument("--nofile", type=int, help="ulimit -n (soft and hard) for edgekit")
    parser.add_argument("--max-sshd", type=int, default=60)
    parser.add_argument("--before", type=Path, help="a folder holding an older edgekit package to compare with")
    parser.add_argument("--before-sizes", help="fleet sizes for --before (default: --sizes)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "fleet")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    parallels = [int(p) for p in args.parallel.split(",")]
    before_sizes = [int(s) for s in (args.before_sizes or args.sizes).split(",")]
    results = {"runs": args.runs, "nofile": args.nofile, "sizes": sizes, "parallel": parallels, "versions": {},
               "load_average": os.getloadavg()}
    versions = [("after", ROOT, sizes)] + ([("before", args.before.resolve(), before_sizes)] if args.before else [])
    models = Path(tempfile.mkdtemp(prefix="edgekit-fleet-model-"))
    model = build_model(models / "model.tflite")
    for label, package, version_sizes in versions:
        rows = []
        with tempfile.TemporaryDirectory(prefix="edgekit-fleet-") as tmp:
            work = Path(tmp)
            servers = prepare(work, max(version_sizes), version_sizes, args.max_sshd)
            try:
                for n in version_sizes:
                    for parallel in ([1] if n == 1 else parallels):
                        for deploy in ["first"] * (args.repeats if n == 1 else 1) + ["re-deploy"] * (n == 1):
                            if deploy == "first":
                                shutil.rmtree(work / "devices", ignore_errors=True)
                            row = {"deploy": deploy, **run_fleet(model, work, n, parallel, args.runs, args.nofile,
                                                                 package)}
                            rows.append(row)
                            print(label, json.dumps(row), flush=True)
            finally:
                for server in servers:
                    server.stop()
        results["versions"][label] = rows
    shutil.rmtree(models)
    results["load_average"] = [round(a, 1) for a in (*results["load_average"], *os.getloadavg())]
    for label, rows in results["versions"].items():
        firsts = [r for r in rows if r["devices"] == 1 and r["deploy"] == "first"]
        wall_1 = statistics.median(r["wall_s"] for r in firsts)
        results.setdefault("per_device_s", {})[label] = statistics.median(r["device_s"] for r in firsts)
        for row in rows:
            row["scaling"] = round(row["wall_s"] / (math.ceil(row["devices"] / row["parallel"]) * wall_1), 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out.with_suffix(".json"), json.dumps(results, indent=2) + "\n")
    pi = args.out.with_name(args.out.name + "_pi.json")
    atomic_write_text(args.out.with_suffix(".md"), markdown(results, json.loads(pi.read_text()) if pi.exists() else None))


def markdown(results: dict, pi: dict | None = None) -> str:
    """The loopback table, then the emulated Pi's deploys (bench/fleet_pi.py) when measured."""
    lines = [f"# Fleet deploys on loopback (`--runs {results['runs']}`, ulimit -n {results['nofile'] or 'default'})",
             "", "Load average (1/5/15 min) at the start and at the end: " + ", ".join(map(str, results["load_average"]))
             + " (a shared 2-core machine: absolute times are inflated, before and after ran in turn)",
             "", "Per-device deploy (N = 1, median of the first deploys): "
             + ", ".join(f"{k} {v:.2f} s" for k, v in results["per_device_s"].items()), "",
             "| version | N | parallel | deploy | load 1m | wall s | device s | scaling | ok | failed | RSS MB | threads | "
             "fds | to_push | upload | check | switch | bench |", "|" + "---|" * 18]
    for label, rows in results["versions"].items():
        for r in rows:
            p = r["phases_median_s"]
            lines.append(f"| {label} | {r['devices']} | {r['parallel']} | {r['deploy']} | {r['load_1m']} | {r['wall_s']} | "
                         f"{r['device_s']} | "
                         f"{r['scaling']} | {r['ok']} | {r['failed']} | {r['peak_rss_mb']} | {r['peak_threads']} | "
                         f"{r['peak_fds']} | " + " | ".join(str(p[k]) for k, _ in PHASE_ENDS) + " |")
    lines += ["", "scaling = wall(N) / (ceil(N / parallel) x wall(1)); phases are medians over devices (s).", ""]
    if pi is not None:
        lines += [f"## One deploy to an emulated Pi (`bench/fleet_pi.py`, {pi['device']}, `--runs {pi['runs']}`)", "",
                  "Per-device deploy (median of the first deploys, before and after alternating): "
                  + ", ".join(f"{k} {v:.2f} s" for k, v in pi["per_device_s"].items()), "",
                  "| version | load 1m | device s | to_push | upload | check | switch | bench |", "|" + "---|" * 8]
        for label, rows in pi["versions"].items():
            lines += [f"| {label} | {r['load_1m']} | {r['device_s']} | "
                      + " | ".join(str(r["phases_median_s"][k]) for k, _ in PHASE_ENDS) + " |" for r in rows]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
