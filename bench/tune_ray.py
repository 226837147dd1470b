"""The same `edgekit tune` study with `--workers 2` and on a local 2-CPU Ray cluster: wall time and front quality.

    python bench/tune_ray.py [--trials 40] [--worker-reuse]
        # writes bench/results/tune_ray.json and tune_ray.md

The goal: on a Ray cluster of 2 one-CPU nodes on this machine (started exactly like the
tests do, tests/tune/ray_support.py: loopback only, token auth, private RAY_TMPDIR), the
study takes at most 1.2x the wall time of `--workers 2`, and its Pareto front is as good:
the smallest gzip size meeting the accuracy bound, and the hypervolume of the feasible
(accuracy, gzip size) front against one reference point for both runs. The local run goes
first, with no cluster running; the cluster is started (untimed) before the Ray run.
`--worker-reuse` also times 6 Keras-importing tasks with reused vs fresh Ray workers (the
reason RayExecutor keeps a worker for several trials).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "tune")]

from ray_support import LocalRayCluster  # noqa: E402  (the test suite's loopback cluster)

RESULTS = ROOT / "bench" / "results"
DATA = ROOT / "calibration"
ACCURACY_DROP = 0.01      # the accuracy bound: float accuracy - 1 point


def study_config(folder: Path, trials: int) -> Path:
    """The digits study: the example's training, accuracy within 1 point of float, gzip size minimised."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "edgekit.toml"
    path.write_text(f"""[model]
source = "builtin:digits_cnn"

[train]
epochs = 10
seed = 0

[data]
train = "{DATA / 'digits_train.npz'}"
val = "{DATA / 'digits_val.npz'}"
calibration_limit = 200

[finetune]
epochs = 2
learning_rate = 0.0001

[convert]
quantize = "int8"

[target]
name = "local"
runs = 10
warmup = 2

[budgets]
max_accuracy_drop = {ACCURACY_DROP}

[tune]
trials = {trials}
size = "gzip"
""")
    return path


def run_study(config: Path, out: Path, executor: list[str], env: dict[str, str]) -> tuple[float, dict]:
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "edgekit", "tune", str(config), "--out", str(out), *executor],
                          capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 21):          # 21: no trial met every budget (still a result)
        sys.exit(f"edgekit tune {' '.join(executor)} failed ({proc.returncode}): {proc.stderr[-3000:]}")
    document = json.loads((out / "tune.json").read_text())
    document["load_average"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]  # the machine is shared
    return seconds, document


def feasible_points(document: dict) -> list[tuple[float, int]]:
    """(accuracy, gzip bytes) of the trials that met every budget."""
    return [(t["result"]["accuracy"], t["result"]["gzip_bytes"]) for t in document["trials"]
            if t["state"] == "COMPLETE" and t.get("constraints") is not None
            and all(c <= 0 for c in t["constraints"])]


def hypervolume(points: list[tuple[float, int]], reference: tuple[float, float]) -> float:
    """Area (accuracy points x bytes) dominated by ``points`` -- accuracy up, size down -- above ``reference``."""
    ref_acc, ref_size = reference
    front = [(a, s) for a, s in points if a > ref_acc and s < ref_size]
    sizes = sorted({s for _, s in front} | {ref_size})
    area = 0.0
    for lo, hi in zip(sizes, sizes[1:]):   # between two sizes, the best accuracy of the points no larger
        best = max(a for a, s in front if s <= lo)
        area += (hi - lo) * (best - ref_acc) * 100
    return area


def summary(seconds: float, document: dict) -> dict:
    points = feasible_points(document)
    chosen = next((t for t in document["trials"] if t["number"] == document["chosen"]), None)
    return {"seconds": round(seconds, 1), "trials_done": document["trials_done"],
            "trials_failed": document["trials_failed"], "feasible": len(points),
            "load_average_before_after": document["load_average"],
            "pareto_size": len(document["pareto"]),
            "best_gzip_bytes": chosen["result"]["gzip_bytes"] if chosen else None,
            "best_accuracy": chosen["result"]["accuracy"] if chosen else None,
            "best_recipe": chosen["recipe"] if chosen else None,
            "front": sorted((t["result"]["accuracy"], t["result"]["gzip_bytes"]) for t in document["trials"]
                            if t["number"] in document["pareto"])}


def worker_reuse(cluster: LocalRayCluster) -> dict:
    """Wall time of 6 Keras-importing tasks with reused workers vs a fresh worker per task."""
    code = """
import json, sys, time, ray
from edgekit.tune import ray_executor as rx
from edgekit.tune.executor import Job
out = {}
for max_calls in (rx.TRIALS_PER_WORKER, 1):
    rx._remote_run = ray.remote(max_calls=max_calls)(rx._run)
    ex = rx.RayExecutor(sys.argv[1])
    start = time.perf_counter()
    for n in range(6):
        ex.submit(Job(n, "ray_jobs:import_keras", {}))
    got = []
    while len(got) < 6:
        got += ex.wait()
    out[max_calls] = {"seconds": round(time.perf_counter() - start, 1),
                      "imports_s": sorted(round(o.result["seconds"], 1) for o in got if o.result["fresh"])}
    ex.close()
print(json.dumps(out))
"""
    proc = subprocess.run([sys.executable, "-c", code, cluster.address], capture_output=True, text=True,
                          env=cluster.env, check=True)
    runs = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"tasks": 6, "reused": runs[next(k for k in runs if k != "1")], "fresh_per_task": runs["1"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--worker-reuse", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ektuneray") as tmp:
        work = Path(tmp)
        config = study_config(work / "study", args.trials)
        base_env = {**os.environ, "PYTHONPATH": str(ROOT), "EDGEKIT_RESULTS_DB": str(work / "results.db")}
        local_s, local_doc = run_study(config, work / "local", ["--workers", "2"], base_env)
        print(f"--workers 2: {local_s:.0f} s", file=sys.stderr)
        with LocalRayCluster(cpus=(1, 1)) as cluster:
            env = {**cluster.env, "EDGEKIT_RESULTS_DB": str(work / "results.db")}
            ray_s, ray_doc = run_study(config, work / "ray", ["--ray", cluster.address], env)
            print(f"--ray: {ray_s:.0f} s", file=sys.stderr)
            reuse = worker_reuse(cluster) if args.worker_reuse else None
    local, ray_ = summary(local_s, local_doc), summary(ray_s, ray_doc)
    everyone = feasible_points(local_doc) + feasible_points(ray_doc)
    reference = (min((a for a, _ in everyone), default=0.0) - 0.005, max((s for _, s in everyone), default=1) * 1.05)
    for part, doc in ((local, local_doc), (ray_, ray_doc)):
        part["hypervolume"] = round(hypervolume(feasible_points(doc), reference), 2)
    ratio = ray_s / local_s
    same_quality = (ray_["best_gzip_bytes"] is not None and local["best_gzip_bytes"] is not None
                    and ray_["best_gzip_bytes"] <= 1.05 * local["best_gzip_bytes"]
                    and ray_["hypervolume"] >= 0.95 * local["hypervolume"])
    result = {
        "what": "the same digits study (accuracy >= float - 1 point, gzip size minimised) with --workers 2 "
                "and on a local Ray cluster of 2 one-CPU nodes",
        "trials": args.trials, "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "local_workers_2": local, "ray_2_cpus": ray_,
        "wall_ratio_ray_over_local": round(ratio, 3), "goal_wall_ratio": 1.2,
        "hypervolume_reference": {"accuracy": round(reference[0], 4), "gzip_bytes": round(reference[1])},
        "quality_rule": "same quality: Ray's best size <= 1.05x local's and its hypervolume >= 0.95x local's",
        "met": {"wall_time": ratio <= 1.2, "same_quality": same_quality},
        "worker_reuse": reuse,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tune_ray.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "tune_ray.md").write_text(markdown(result))
    print(json.dumps({k: result[k] for k in ("wall_ratio_ray_over_local", "met")}))


def markdown(r: dict) -> str:
    rows = []
    for name, key in (("--workers 2", "local_workers_2"), ("--ray (2 x 1 CPU)", "ray_2_cpus")):
        p = r[key]
        rows.append(f"| {name} | {p['seconds']} | {p['trials_done']} | {p['trials_failed']} | {p['feasible']} | "
                    f"{p['pareto_size']} | {p['best_gzip_bytes']} | {p['best_accuracy']} | {p['hypervolume']} |")
    text = [f"# edgekit tune: --workers 2 vs a local 2-CPU Ray cluster ({r['trials']} trials)", "",
            r["what"] + ".", "",
            "| executor | wall s | trials | failed | feasible | Pareto | best gzip B | its accuracy | hypervolume |",
            "|---|---|---|---|---|---|---|---|---|", *rows, "",
            f"Wall time Ray / local: **{r['wall_ratio_ray_over_local']}** (goal <= {r['goal_wall_ratio']}): "
            f"{'met' if r['met']['wall_time'] else 'NOT met'}. Front quality ({r['quality_rule']}): "
            f"{'met' if r['met']['same_quality'] else 'NOT met'}. The machine is shared: 1-minute load average "
            f"before/after the local run {r['local_workers_2']['load_average_before_after']}, the Ray run "
            f"{r['ray_2_cpus']['load_average_before_after']}.", ""]
    if r["worker_reuse"]:
        w = r["worker_reuse"]
        text += [f"Worker reuse ({w['tasks']} Keras-importing tasks on the cluster): reused workers "
                 f"{w['reused']['seconds']} s (imports {w['reused']['imports_s']} s), a fresh worker per task "
                 f"{w['fresh_per_task']['seconds']} s (imports {w['fresh_per_task']['imports_s']} s).", ""]
    return "\n".join(text)


if __name__ == "__main__":
    main()
