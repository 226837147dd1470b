"""Deploys, rollbacks and re-uploads of a corrupted stored copy killed at random points, round after round
(OSTree-style): the device always runs the old or the new model, intact, and the next deploy succeeds.

Each round starts ``edgekit deploy`` (or ``rollback``) as a real process against a real sshd behind a
slow link (FaultProxy), waits for the progress line of the phase picked for that round (upload,
verify, switch, benchmark, rollback, or the re-upload of a stored copy the test corrupted first; each
phase in turn, in a random order each turn),
sleeps a random part of that phase and sends SIGKILL or SIGINT. Then ``current`` and ``previous`` must
resolve to files whose sha256 is that of a deployed model, the device's record must read, and a full
deploy must succeed. Seeded (EDGEKIT_DESTRUCTIVE_SEED) and bounded: ROUNDS rounds, TIME_LIMIT seconds.
Prints a round-by-phase table (run with -s to see it).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from faultproxy import FaultProxy
from remote_support import file_sha256, flip_two_bytes

from edgekit.remote import ConnectOptions, Device, deploy

pytestmark = [pytest.mark.ssh, pytest.mark.slow]

ROUNDS = 50
TIME_LIMIT = 900.0
SEED = int(os.environ.get("EDGEKIT_DESTRUCTIVE_SEED", "15"))
# phase -> (the progress line that starts it, the longest random delay after it, in seconds)
PHASES = {"upload": ("pushing", 0.6), "verify": ("checking that the device runs", 0.8),
          "switch": ("victim: activating", 0.15), "benchmark": ("benchmarking", 1.0), "rollback": ("rolling back", 1.0),
          "reupload": ("is corrupted", 0.8)}


class Run:
    """One edgekit process whose stderr lines are collected as they come."""

    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "edgekit", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=lambda: self.lines.extend(iter(self.proc.stderr.readline, "")),
                                        daemon=True)
        self._reader.start()

    def wait_for(self, marker: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(marker in line for line in list(self.lines)):
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.01)
        return False

    def finish(self, timeout: float) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        self.proc.stdout.close()
        return code


def _state(device_dir: Path, deployed: set[str]) -> dict[str, str | None]:
    """current/previous as sha256s, after checking each resolves to a file whose sha256 is its name's and
    that of a deployed model; the device's record must read as JSON."""
    state = {}
    for name in ("current", "previous"):
        link = device_dir / name
        if not link.is_symlink():
            state[name] = None
            continue
        target = os.readlink(link)
        sha = Path(target).name.removesuffix(".tflite")
        assert (device_dir / target).is_file(), f"{name} -> {target}: the file is missing"
        assert file_sha256(device_dir / name) == sha, f"{name} -> {target}: the file is corrupted"
        assert sha in deployed, f"{name} -> {target}: not a deployed model"
        state[name] = sha
    assert state["current"], "current is unset"
    json.loads((device_dir / "record.json").read_text())
    return state


def runs_lasting(model: Path, seconds: float) -> int:
    """How many inferences of MODEL take about SECONDS here (the emulated device is this machine)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model))
    interpreter.allocate_tensors()
    started, count = time.perf_counter(), 0
    while time.perf_counter() - started < 0.2:
        interpreter.invoke()
        count += 1
    return max(200, int(count * seconds / (time.perf_counter() - started)))


def _table(rows: dict[str, dict[str, int]]) -> str:
    columns = ["rounds", "SIGKILL", "SIGINT", "finished_first", "current_old", "current_new", "previous_unset"]
    lines = [f"{'phase':<10}" + "".join(f"{c:>16}" for c in columns)]
    lines += [f"{phase:<10}" + "".join(f"{row[c]:>16}" for c in columns) for phase, row in rows.items()]
    return "\n".join(lines)


def test_fifty_rounds_of_killed_deploys_and_rollbacks(sshd, device_args, known_hosts, user_key, remote_models,
                                                      tmp_path):
    rng = random.Random(SEED)
    device_dir = tmp_path / "device"
    pool = [remote_models[name] for name in ("a", "b", "big")]
    sha = {path: file_sha256(path) for path in pool}
    deployed = set(sha.values())
    started = time.monotonic()
    rows = {phase: dict.fromkeys(["rounds", "SIGKILL", "SIGINT", "finished_first", "current_old", "current_new",
                                  "previous_unset"], 0) for phase in PHASES}
    with FaultProxy(sshd.port, rate=20_000_000) as link:
        known_hosts.write_text(known_hosts.read_text() + sshd.known_hosts_line.replace(str(sshd.port), str(link.port)))
        host = device_args(sshd, device_dir, port=link.port)[1]
        (tmp_path / "edgekit.toml").write_text(  # cwd is tmp_path
            f'[devices.victim]\nhost = "{host}"\ntarget = "local"\nremote_python = "{sys.executable}"\n'
            f'remote_dir = "{device_dir}"\nkeep_models = 2\n')
        args = ["--device", "victim", "-i", str(user_key), "--known-hosts", str(known_hosts)]
        device = Device(name="victim", host=host, target="local", remote_python=sys.executable,
                        remote_dir=str(device_dir), keep_models=2)
        options = ConnectOptions(known_hosts=known_hosts, identity=user_key, connect_timeout=10)
        deploy(pool[0], device, bench=False, options=options)
        deploy(pool[1], device, bench=False, options=options)
        # every phase in turn, in a random order each turn: each gets ROUNDS / len(PHASES) rounds or one more
        phases = [phase for _ in range(-(-ROUNDS // len(PHASES))) for phase in rng.sample(list(PHASES), len(PHASES))]
        for round_no, phase in enumerate(phases[:ROUNDS]):
            assert time.monotonic() - started < TIME_LIMIT, f"over {TIME_LIMIT:g}s after {round_no} rounds"
            before = _state(device_dir, deployed)
            signum = rng.choice([signal.SIGKILL, signal.SIGINT])
            marker, longest = PHASES[phase]
            delay = rng.uniform(0, longest)
            if phase not in phases[round_no + 1:ROUNDS] and not rows[phase]["SIGKILL"] + rows[phase]["SIGINT"]:
                delay = 0.0  # the phase's last round, and no signal has reached it yet: signal at its first line
            allowed = {before["current"], before["previous"]}
            if phase == "rollback":
                run = Run(["rollback", *args])
            elif phase == "reupload":  # the stored copy previous points at is corrupted, then deployed again
                model = next(p for p in pool if sha[p] == before["previous"])
                flip_two_bytes(device_dir / "models" / f"{sha[model]}.tflite")
                run = Run(["deploy", model, *args, "--runs", "200", "--warmup", "0"])
            else:
                # an upload needs a model the device lacks (keep_models = 2 leaves only current and previous)
                candidates = [p for p in pool if sha[p] != before["current"]]
                model = next((p for p in candidates if sha[p] not in before.values()), None) \
                    if phase == "upload" else None
                model = model or rng.choice(candidates)
                # a benchmark round lasts past its longest delay whatever the machine's speed
                runs = runs_lasting(model, 2 * longest) if phase == "benchmark" else 200
                run = Run(["deploy", model, *args, "--runs", str(runs), "--warmup", "0"])
                allowed = {before["current"], sha[model]}
            rows[phase]["rounds"] += 1
            reached = run.wait_for(marker, 60)
            time.sleep(delay)
            if reached and run.proc.poll() is None:
                run.proc.send_signal(signum)
                rows[phase][signal.Signals(signum).name] += 1
            else:
                rows[phase]["finished_first"] += 1
            code = run.finish(60)
            text = "".join(run.lines)
            assert "Traceback" not in text and "Aborted" not in text, text
            if signum == signal.SIGINT:
                assert code in (0, 130), f"round {round_no} ({phase}): exit {code}: {text}"
            state = _state(device_dir, deployed)
            assert state["current"] in allowed, f"round {round_no} ({phase}): current {state['current']}"
            rows[phase]["current_old" if state["current"] == before["current"] else "current_new"] += 1
            rows[phase]["previous_unset"] += state["previous"] is None
            nxt = rng.choice([p for p in pool if sha[p] != state["current"]])
            done = deploy(nxt, device, bench=False, options=options)  # the next deploy succeeds
            assert done.sha256 == sha[nxt] and _state(device_dir, deployed)["current"] == sha[nxt]
            assert list((device_dir / "tmp").glob("*.part")) == []
    figures = {"seed": SEED, "rounds": ROUNDS, "seconds": round(time.monotonic() - started, 1), "phases": rows}
    print(f"destructive deploy test (seed {SEED}, {ROUNDS} rounds, {figures['seconds']} s):\n{_table(rows)}")
    print("destructive deploy test:", json.dumps(figures))
    assert all(row["SIGKILL"] + row["SIGINT"] for row in rows.values()), rows  # every phase was killed at least once
