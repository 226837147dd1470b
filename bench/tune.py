"""``edgekit tune`` on the digits benchmark against the best hand-written recipe of the toolbox.

``python bench/tune.py [--trials 40] [--workers 2 | --ray ADDRESS] [--epochs 4]`` writes an
edgekit.toml for the benchmark's digits CNN (builtin digits_cnn, 30 epochs, seed 0, the
shipped digits data), with ``max_accuracy_drop = 0.01`` (the float model's accuracy minus one
point), runs ``edgekit tune`` on it and records: trials, wall time, the smallest gzip size
meeting the bound, the Pareto set, and the hand recipe's figures read from
``bench/results/toolbox.json`` (distill W 0.5 -> prune 80% run cost 0.3 -> ternary, 10
fine-tuning epochs per stage, median of 3 seeds). Results: ``bench/results/tune.{json,md}``
(``tune-ray.*`` with ``--ray``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DATA = ROOT / "edgekit" / "bundled" / "calibration"

CONFIG = """[model]
source = "builtin:digits_cnn"

[train]                 # as bench/digits_common.train_base: Adam 1e-3, 30 epochs, batch 32
epochs = 30
learning_rate = 0.001
seed = 0

[data]
train = "{train}"
val = "{val}"

[finetune]              # every stage; a distilled student trains at the teacher's rate
epochs = {epochs}
learning_rate = 0.001

[convert]
quantize = "int8"

[budgets]
max_accuracy_drop = 0.01

[tune]
size = "gzip"
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ray", default=None, metavar="ADDRESS")
    parser.add_argument("--epochs", type=int, default=4, help="fine-tuning epochs per stage")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="study folder (default: a temp dir)")
    args = parser.parse_args()

    hand = json.loads((RESULTS / "toolbox.json").read_text())["median"]
    work = Path(tempfile.mkdtemp(prefix="edgekit-bench-tune-"))
    config = work / "edgekit.toml"
    config.write_text(CONFIG.format(train=DATA / "digits_train.npz", val=DATA / "digits_val.npz", epochs=args.epochs))
    out = args.out or work / "out"
    command = [sys.executable, "-m", "edgekit", "tune", str(config), "--out", str(out), "--trials", str(args.trials),
               "--seed", str(args.seed), "--json"]
    command += ["--ray", args.ray] if args.ray else ["--workers", str(args.workers)]
    started = time.monotonic()
    proc = subprocess.run(command, stdout=subprocess.PIPE, text=True,
                          env={**os.environ, "EDGEKIT_RESULTS_DB": str(work / "results.db")})
    wall = time.monotonic() - started
    if proc.returncode not in (0, 21):
        sys.exit(f"edgekit tune failed with exit code {proc.returncode}")
    document = json.loads(proc.stdout)
    trials = {t["number"]: t for t in document["trials"]}
    chosen = trials.get(document["chosen"])
    built = document.get("build") or {}
    float_accuracy = next((t["result"]["baseline_accuracy"] for t in trials.values() if t["result"]), None)
    reference = hand["distill_prune_ternary"]
    result = {
        "command": " ".join(["python bench/tune.py", f"--trials {args.trials}",
                             f"--ray {args.ray}" if args.ray else f"--workers {args.workers}",
                             f"--epochs {args.epochs}", f"--seed {args.seed}"]),
        "executor": "ray" if args.ray else "local", "workers": None if args.ray else args.workers,
        "trials": document["trials_done"], "failed": document["trials_failed"],
        "wall_seconds": round(wall, 1), "fine_tune_epochs_per_stage": args.epochs,
        "float_accuracy": float_accuracy, "min_accuracy": round(float_accuracy - 0.01, 4) if float_accuracy else None,
        "best": None if chosen is None else {
            "trial": chosen["number"], "recipe": chosen["recipe"], "accuracy": chosen["result"]["accuracy"],
            "gzip_bytes": chosen["result"]["gzip_bytes"], "bytes": chosen["result"]["size_bytes"],
            "rebuilt": {k: built.get(k) for k in ("accuracy", "gzip_bytes", "size_bytes", "sha256", "feasible")}},
        "pareto": [{"trial": n, "recipe": trials[n]["recipe"], "accuracy": trials[n]["result"]["accuracy"],
                    "gzip_bytes": trials[n]["result"]["gzip_bytes"]} for n in document["pareto"]],
        "hand_recipe": {"recipe": "distill W 0.5 -> prune 80% (run cost 0.3) -> ternary (bench/compression.py --toolbox)",
                        "accuracy": reference["accuracy"], "gzip_bytes": reference["gzip_bytes"],
                        "float_accuracy": hand["float32"]["accuracy"]},
    }
    result["met"] = chosen is not None and chosen["result"]["gzip_bytes"] <= reference["gzip_bytes"]
    name = "tune-ray" if args.ray else "tune"
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(_markdown(result))
    print(_markdown(result))


def _markdown(r: dict) -> str:
    best = r["best"]
    how = r["executor"] if r["workers"] is None else f"{r['executor']}, {r['workers']} workers"
    lines = [f"# edgekit tune on digits ({how})",
             "", f"`{r['command']}`", "",
             f"- trials: {r['trials']} ({r['failed']} failed), wall time {r['wall_seconds'] / 60:.1f} min, "
             f"{r['fine_tune_epochs_per_stage']} fine-tuning epochs per stage",
             f"- bound: float accuracy {r['float_accuracy']:.2%} - 1 point = {r['min_accuracy']:.2%} "
             "(max_accuracy_drop = 0.01)" if r["float_accuracy"] else "- no trial finished"]
    if best:
        lines.append(f"- best: trial {best['trial']}, {best['recipe']}: {best['accuracy']:.2%}, "
                     f"{best['gzip_bytes']:,} B gzip ({best['bytes']:,} B raw)")
        rebuilt = best["rebuilt"]
        if rebuilt.get("gzip_bytes") is not None:
            lines.append(f"- the chosen recipe built again as `edgekit build` builds it (the file tune writes): "
                         f"{rebuilt['accuracy']:.2%}, {rebuilt['gzip_bytes']:,} B gzip, "
                         f"{'meets' if rebuilt['feasible'] else 'misses'} the bound")
    hand = r["hand_recipe"]
    lines += [f"- hand recipe: {hand['recipe']}: {hand['accuracy']:.2%}, {hand['gzip_bytes']:,} B gzip",
              f"- done-when (tune's best <= the hand recipe's gzip): {'met' if r['met'] else 'NOT met'}",
              "", f"Pareto set ({len(r['pareto'])} trials):", "", "| trial | recipe | accuracy | gzip B |",
              "|---:|---|---:|---:|"]
    lines += [f"| {p['trial']} | {p['recipe']} | {p['accuracy']:.2%} | {p['gzip_bytes']:,} |"
              for p in sorted(r["pareto"], key=lambda p: p["gzip_bytes"])]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
