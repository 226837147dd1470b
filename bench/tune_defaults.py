"""``edgekit tune`` at its defaults on the digits CNN, as a user runs it: the chosen size and the wall time.

``python bench/tune_defaults.py [--seeds 0 1 2] [--trials 24] [--workers 2 | --ray] [--base-seed 0]``
trains the benchmark's digits CNN (``bench/digits_common.train_base``: 30 epochs, seed
``--base-seed``) once, then per seed (the study's sampler seed) runs

    edgekit tune digits.keras --train-data calibration/digits_train.npz
        --val-data calibration/digits_val.npz --min-accuracy FLOAT-0.01 --trials 24 --workers 2 --seed S

with nothing else set (no ``--epochs``), and records the wall time, the trials cut (and why), the
chosen trial's recipe, accuracy and gzip size, and whether the chosen model meets the bound.
It also notes the machine's load average at the start and end: the wall time of a study on 2
cores is only comparable between runs on an otherwise idle machine.
With ``--ray`` the studies run on a local Ray cluster of two one-CPU nodes started as the
tests start theirs (``tests/tune/ray_support.py``: loopback only) instead of ``--workers``.
Results: ``bench/results/tune_defaults.{json,md}`` (``tune_defaults_ray.*``; medians over the seeds).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DATA = ROOT / "calibration"


def train_model(folder: Path, seed: int) -> tuple[Path, float]:
    """The digits CNN trained with ``seed``, saved as ``folder/digits.keras``, and its float accuracy on the
    validation data."""
    import numpy as np

    sys.path.insert(0, str(ROOT / "bench"))
    from digits_common import train_base

    train, val = np.load(DATA / "digits_train.npz"), np.load(DATA / "digits_val.npz")
    model, _ = train_base(types.SimpleNamespace(x=train["x"], y=train["y"]), seed)
    path = folder / "digits.keras"
    model.save(path)
    accuracy = float(np.mean(model.predict(val["x"], verbose=0).argmax(-1) == val["y"].reshape(-1)))
    return path, accuracy


def run_study(model: Path, bound: float, seed: int, trials: int, executor: list[str], env: dict[str, str],
              folder: Path, epochs: int | None = None) -> dict:
    out = folder / f"study-{seed}"
    command = [sys.executable, "-m", "edgekit", "tune", str(model), "--train-data", str(DATA / "digits_train.npz"),
               "--val-data", str(DATA / "digits_val.npz"), "--min-accuracy", f"{bound:.4f}", "--trials", str(trials),
               *executor, "--seed", str(seed), "--out", str(out), *(["--epochs", str(epochs)] if epochs else [])]
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, cwd=folder, env=env)
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"tune seed {seed} exited {done.returncode}: {done.stderr[-2000:]}")
    document = json.loads((out / "tune.json").read_text())
    chosen = next(t for t in document["trials"] if t["number"] == document["chosen"])
    cut = [t for t in document["trials"] if t["state"] == "PRUNED"]
    # a stage trained on past its epochs logs "[build]     epoch K/CAP: drop D, budget B" for each extra epoch
    extra = {int(log.parent.name): sum(line.split()[1:2] == ["epoch"] and ": drop " in line for line in
                                       log.read_text(errors="replace").splitlines())
             for log in sorted((out / "trials").glob("*/build.log"))}
    return {"seed": seed, "wall_seconds": round(wall, 1), "load_before": load_before, "load_after": os.getloadavg()[0],
            "trials_pruned": len(cut), "cut_why": [t["pruned"]["why"] for t in cut],
            "extra_epochs": {str(k): v for k, v in extra.items() if v},
            "chosen": {"trial": chosen["number"], "recipe": chosen["recipe"], "accuracy": chosen["result"]["accuracy"],
                       "gzip_bytes": chosen["result"]["gzip_bytes"], "extra_epochs": extra.get(chosen["number"], 0)},
            "built": {"accuracy": document["build"]["accuracy"], "gzip_bytes": document["build"]["gzip_bytes"]},
            "meets_bound": document["build"]["accuracy"] >= bound,
            "trial_lines": [line for line in done.stderr.splitlines() if line.startswith("[")]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ray", action="store_true", help="run the studies on a local 2-CPU Ray cluster")
    parser.add_argument("--base-seed", type=int, default=0, help="the digits CNN's training seed")
    parser.add_argument("--epochs", type=int, default=None, help="tune's --epochs (default: not given)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, (_ray_cluster() if args.ray else contextlib.nullcontext()) as cluster:
        folder = Path(tmp)
        model, accuracy = train_model(folder, args.base_seed)
        bound = accuracy - 0.01
        executor = ["--ray", cluster.address] if cluster else ["--workers", str(args.workers)]
        env = {**(cluster.env if cluster else os.environ), "PYTHONPATH": str(ROOT),
               "EDGEKIT_RESULTS_DB": str(folder / "results.db")}   # not the user's run history
        runs = []
        for seed in args.seeds:
            runs.append(run_study(model, bound, seed, args.trials, executor, env, folder, args.epochs))
            print(f"seed {seed}: {runs[-1]['chosen']['gzip_bytes']} B gzip at {runs[-1]['chosen']['accuracy']:.2%}, "
                  f"{runs[-1]['wall_seconds']:.0f} s", flush=True)
    document = {"command": f"edgekit tune digits.keras --train-data calibration/digits_train.npz --val-data "
                           f"calibration/digits_val.npz --min-accuracy {bound:.4f} --trials {args.trials} "
                           f"{'--ray ADDRESS' if args.ray else f'--workers {args.workers}'} --seed S"
                           + (f" --epochs {args.epochs}" if args.epochs else ""),
                "base_seed": args.base_seed, "float_accuracy": accuracy, "bound": bound}
    name = "tune_defaults" + ("_ray" if args.ray else "") + (f"_base{args.base_seed}" if args.base_seed else "") \
        + (f"_epochs{args.epochs}" if args.epochs else "")
    document["runs"] = merged(RESULTS / f"{name}.json", document, runs)
    document["median"] = {"wall_seconds": statistics.median(r["wall_seconds"] for r in document["runs"]),
                          "gzip_bytes": statistics.median(r["built"]["gzip_bytes"] for r in document["runs"])}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(document, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown(document))
    print(markdown(document))


def merged(path: Path, document: dict, runs: list[dict]) -> list[dict]:
    """``runs`` with the earlier runs of the same study in ``path`` (other seeds), so runs add up."""
    earlier = json.loads(path.read_text()) if path.exists() else {}
    same = all(earlier.get(key) == document[key] for key in ("command", "base_seed", "float_accuracy"))
    mine = {r["seed"] for r in runs}
    return sorted([r for r in earlier.get("runs", []) if same and r["seed"] not in mine] + runs, key=lambda r: r["seed"])


def _ray_cluster():
    """The test suite's loopback cluster of two one-CPU nodes."""
    sys.path.insert(0, str(ROOT / "tests" / "tune"))
    from ray_support import LocalRayCluster

    return LocalRayCluster(cpus=(1, 1))


def markdown(document: dict) -> str:
    rows = "\n".join(
        f"| {r['seed']} | {r['wall_seconds'] / 60:.1f} min | {r['load_before']:.1f} / {r['load_after']:.1f} | "
        f"{r['trials_pruned']} | {len(r.get('extra_epochs', {}))} ({sum(r.get('extra_epochs', {}).values())}) | "
        f"{r['chosen']['trial']}: {r['chosen']['recipe']} | {r['chosen'].get('extra_epochs', '-')} | "
        f"{r['built']['accuracy']:.2%} | "
        f"{r['built']['gzip_bytes']:,} B | {'yes' if r['meets_bound'] else 'NO'} |" for r in document["runs"])
    median = document["median"]
    return f"""# edgekit tune at its defaults on the digits CNN

`{document['command']}` (`python bench/tune_defaults.py`), on the digits CNN trained with seed
{document['base_seed']}: float {document['float_accuracy']:.2%}, bound
{document['bound']:.2%} (float - 1 point). The chosen model is the one `edgekit build` rebuilds from the
emitted edgekit.toml.

| seed | wall | load avg start / end | trials cut | trials trained on (extra epochs) | chosen | its extra epochs | accuracy | gzip | meets the bound |
|---:|---:|---|---:|---:|---|---:|---:|---:|---|
{rows}

Median over {len(document['runs'])} seed(s): {median['wall_seconds'] / 60:.1f} min, {median['gzip_bytes']:,.0f} B gzip.
"""


if __name__ == "__main__":
    main()
