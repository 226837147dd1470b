"""The accuracy promise on models the defaults were not tuned on: every technique, at defaults and with a budget.

    python bench/suite.py [--models M ...] [--techniques T ...] [--seeds 0 1 2] [--modes default budget]
                          [--quick] [--tune-trials 4] [--results DIR]

Per model of ``suite_models.py`` and seed: the model trained by this script (seeded) and
saved as .keras, its float metric on the validation split, then each technique through the
real command line (a subprocess running ``python -m edgekit``), twice:

* at defaults (``edgekit optimize MODEL --STAGE ... --tflite OUT.tflite``, int8; ``edgekit
  convert --quantize int8`` for the int8 row): the metric of the written .tflite on the
  validation split, its drop from the float model (accuracy points, worst output; regression:
  percent of MAE increase) and whether the command printed its drop warning;
* with the budget (``--max-drop 1``; the int8 row: ``convert --auto-mixed 1``): the same, or
  the exit code 22 and the attempts it named.

``hand`` is a hand recipe with more epochs and the model's own rate; ``tune`` is ``edgekit tune``
at defaults with ``--tune-trials`` trials. ``--quick`` trains every model and stage for one
epoch (the smoke test). Rows are merged into ``bench/results/suite.json`` by (model, seed,
technique, mode), so separate runs add up; ``suite.md`` shows the medians over seeds.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]  # this checkout's edgekit, as the commands run below
from suite_models import MODELS, train_model  # noqa: E402

RESULTS = ROOT / "bench" / "results"
WARNING = "likely fixes:"          # the drop warning's words (edgekit/quality_drop.py)
BUDGET = 1.0                        # --max-drop of the budget rows
WARN_POINTS = 5.0

# technique -> (command, the technique's flags); "optimize" rows get --tflite (int8) and the budget's --max-drop
TECHNIQUES = {
    "int8": ("convert", ()),
    "prune": ("optimize", ("--prune", "0.8")),
    "cluster": ("optimize", ("--cluster", "16")),
    "qat": ("optimize", ("--qat",)),
    "lowrank": ("optimize", ("--lowrank", "0.5")),
    "distill": ("optimize", ("--distill-width-multiplier", "0.5")),
    "ternary": ("optimize", ("--ternary",)),
    "binary": ("optimize", ("--binary",)),
    # how the fine-tuning epochs (default 4) change the default prune row: the epoch default from the suite
    "prune_e2": ("optimize", ("--prune", "0.8", "--epochs", "2")),
    "prune_e8": ("optimize", ("--prune", "0.8", "--epochs", "8")),
    "hand": ("optimize", ("--prune", "0.5", "--cluster", "16", "--cluster-preserve-sparsity", "--epochs", "8")),
    "tune": ("tune", ()),
}
MODES = ("default", "budget")
DEFAULT_ONLY = ("prune_e2", "prune_e8", "hand", "tune")  # rows of one setting, not of the technique's promise


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--techniques", nargs="+", choices=list(TECHNIQUES), default=list(TECHNIQUES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--quick", action="store_true", help="one epoch of training and per stage (smoke test)")
    parser.add_argument("--tune-trials", type=int, default=4)
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of suite.json / suite.md")
    parser.add_argument("--merge", nargs="+", type=Path, default=[], metavar="SUITE_JSON",
                        help="only fold these files' rows (runs made side by side) into --results")
    args = parser.parse_args(argv)

    args.results.mkdir(parents=True, exist_ok=True)
    store = args.results / "suite.json"
    document = json.loads(store.read_text()) if store.exists() else {"rows": [], "floats": []}
    if args.merge:
        for other in map(json.loads, (path.read_text() for path in args.merge)):
            for row in other["rows"]:
                _merge(document["rows"], row, ("model", "seed", "technique", "mode"))
            known = {(f["model"], f["seed"]) for f in document["floats"]}  # a row's drop is against its own run's
            document["floats"] += [f for f in other["floats"] if (f["model"], f["seed"]) not in known]
        _write(document, args.results)
        return document
    work = Path(tempfile.mkdtemp(prefix="edgekit-suite-"))
    for name in args.models:
        model = MODELS[name]
        if args.quick:
            model = type(model)(**{**model.__dict__, "epochs": 1})
        for seed in args.seeds:
            path, train, val = train_model(model, seed, work)
            floats = {"model": name, "seed": seed, "metrics": _metrics(path, val)}
            _merge(document["floats"], floats, ("model", "seed"))
            for technique in args.techniques:
                for mode in [m for m in _modes(technique) if m in args.modes]:
                    row = run(technique, mode, path, train, val, seed, work, args)
                    row.update(model=name, seed=seed, technique=technique, mode=mode, quick=args.quick)
                    row["drop"] = _drop(floats["metrics"], row.get("metrics"))
                    row["unwarned_over_5"] = (row["drop"] is not None and row["drop"] > WARN_POINTS
                                              and not row["warned"])
                    _merge(document["rows"], row, ("model", "seed", "technique", "mode"))
                    print(f"{name} seed {seed} {technique} {mode}: exit {row['exit']}, drop {row['drop']}, "
                          f"warned {row['warned']}, {row['seconds']:.0f} s", file=sys.stderr, flush=True)
                    _write(document, args.results)
    return document


def _modes(technique: str) -> tuple[str, ...]:
    return ("default",) if technique in DEFAULT_ONLY else MODES


def run(technique: str, mode: str, model: Path, train: Path, val: Path, seed: int, work: Path, args) -> dict:
    """One technique on one model through the command line: exit code, written file's metrics and size, warning."""
    command, flags = TECHNIQUES[technique]
    stem = work / f"{model.stem}_{technique}_{mode}"
    tflite = stem.with_suffix(".tflite")
    quick = ("--epochs", "1") if args.quick else ()
    if command == "convert":
        argv = ["convert", model, "-o", tflite, "--quantize", "int8", "--calibration", train, "--eval-data", val,
                *(("--auto-mixed", BUDGET) if mode == "budget" else ())]
    elif command == "optimize":
        argv = ["optimize", model, "-o", stem.with_suffix(".keras"), "--train-data", train, "--val-data", val,
                "--seed", seed, *flags, *quick, "--tflite", tflite,
                *(("--max-drop", BUDGET) if mode == "budget" else ()),
                *(("--max-epochs", "1") if args.quick and mode == "budget" else ())]
    else:
        tflite = stem / "model.tflite"
        argv = ["tune", model, "--out", stem, "--train-data", train, "--val-data", val, "--trials",
                args.tune_trials, "--seed", seed, "--max-accuracy-drop", BUDGET / 100, *quick]
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "edgekit", *map(str, argv), "--json"], cwd=ROOT, text=True,
                          capture_output=True, env={**os.environ, "EDGEKIT_RESULTS_DB": str(work / "results.db")})
    row = {"exit": proc.returncode, "seconds": round(time.monotonic() - started, 1),
           "warned": WARNING in proc.stderr, "command": "edgekit " + " ".join(map(str, argv))}
    errors = [line for line in proc.stderr.splitlines() if line.startswith("edgekit: error:")]
    if errors:
        row["error"] = errors[-1]
    if proc.returncode == 0 and proc.stdout.strip():
        row["reported"] = _reported(json.loads(proc.stdout))
    if tflite.exists() and proc.returncode in (0, 21):
        content = tflite.read_bytes()
        row.update(metrics=_metrics(tflite, val), bytes=len(content), gzip_bytes=len(gzip.compress(content, 9)))
    return row


def _reported(summary: dict) -> dict:
    """What the command itself said: its drop (points) and, with a budget, the attempts."""
    reported = {"drop_points": (summary.get("drop") or {}).get("points")}
    if summary.get("attempts"):
        reported["attempts"] = [{k: a[k] for k in ("stage", "setting", "epochs", "drop", "met")}
                                for a in summary["attempts"]]
    return reported


def _metrics(path: Path, val: Path) -> dict:
    from edgekit.evaluate import evaluate_model

    return evaluate_model(path, val).metrics


def _drop(before: dict, after: dict | None) -> float | None:
    """Worst output's drop: accuracy points, or percent more MAE (as the accuracy budget measures it).
    A .tflite names its outputs output_0, output_1, ... in the Keras model's order."""
    from edgekit.optimize.budget import metric_drop

    if after is None:
        return None
    if "outputs" in after and set(after["outputs"]) != set(before["outputs"]):
        after = {"outputs": dict(zip(before["outputs"], after["outputs"].values()))}
    return round(metric_drop(before, after), 2)


def _merge(rows: list[dict], row: dict, keys: tuple[str, ...]) -> None:
    rows[:] = [r for r in rows if any(r[k] != row[k] for k in keys)] + [row]


def _write(document: dict, folder: Path) -> None:
    from edgekit.fileio import atomic_write_text

    atomic_write_text(folder / "suite.json", json.dumps(document, indent=1, default=float) + "\n")
    atomic_write_text(folder / "suite.md", markdown(document) + "\n")


def _float_text(metrics: list[dict]) -> str:
    """The float models' median metric over seeds: accuracy (per head) or MAE."""
    if "outputs" in metrics[0]:
        return " / ".join(_float_text([m["outputs"][name] for m in metrics]) for name in metrics[0]["outputs"])
    if metrics[0]["task"] == "regression":
        return f"MAE {statistics.median(m['mae'] for m in metrics):.3f}"
    return f"{statistics.median(m['accuracy'] for m in metrics):.2%}"


def _median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 2) if values else None


def _drops(rows: list[dict]) -> str:
    """``median (worst)`` of the rows' drops, and how many commands failed."""
    drops = [r["drop"] for r in rows if r["drop"] is not None]
    text = f"{_median(drops):+.2f} ({max(drops):+.2f})" if drops else "n/a"
    failed = sum(r["exit"] not in (0, 21, 22) for r in rows)
    return text + (f", {failed} failed" if failed else "")


def markdown(document: dict) -> str:
    """One row per model x technique: medians over the seeds run, the worst seed, and counts."""
    lines = [f"Suite of user-like models ({', '.join(MODELS)}; see bench/suite_models.py). Drop of the written "
             "int8 .tflite from the float model on the validation split, worst output: accuracy points; "
             "regression: % more MAE; median over the seeds shown (worst seed in brackets). 'warned' counts the "
             f"seeds whose drop was over {WARN_POINTS:g} and that printed the warning; budget: `--max-drop "
             f"{BUDGET:g}` (int8 row: `convert --auto-mixed {BUDGET:g}`), 'exit 22' counts the seeds it refused.", "",
             "| model | technique | seeds | float | default drop | warned / over 5 | budget drop | budget exit 22 "
             "| gzip bytes (default) | s (default / budget) |",
             "|---|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    floats = {(f["model"], f["seed"]): f["metrics"] for f in document["floats"]}
    for model in MODELS:
        for technique in TECHNIQUES:
            default, budget = ([r for r in document["rows"] if (r["model"], r["technique"], r["mode"]) ==
                                (model, technique, mode)] for mode in MODES)
            if not default:
                continue
            seeds = sorted(r["seed"] for r in default)
            over = [r for r in default if r["drop"] is not None and r["drop"] > WARN_POINTS]
            size = _median([r.get("gzip_bytes") for r in default])
            seconds = " / ".join(f"{_median([r['seconds'] for r in rows]):.0f}" if rows else "-"
                                 for rows in (default, budget))
            lines.append(f"| {model} | {technique} | {','.join(map(str, seeds))} | "
                         f"{_float_text([floats[(model, seed)] for seed in seeds])} | {_drops(default)} | "
                         f"{sum(r['warned'] for r in over)}/{len(over)} | {_drops(budget) if budget else '-'} | "
                         f"{sum(r['exit'] == 22 for r in budget)}/{len(budget) if budget else '-'} | "
                         f"{'' if size is None else f'{size:,.0f}'} | {seconds} |")
    lines += ["", "Techniques (every other setting at its default: 4 epochs per stage, the model's own Adam rate):"]
    lines += [f"- {name}: `edgekit {command} {' '.join(flags) or _LEGEND[name]}`"
              for name, (command, flags) in TECHNIQUES.items()]
    return "\n".join(lines)


_LEGEND = {"int8": "--quantize int8 --calibration TRAIN --eval-data VAL",
           "tune": f"--max-accuracy-drop {BUDGET / 100:g} --trials N (N: suite.json's commands)"}


if __name__ == "__main__":
    main()
