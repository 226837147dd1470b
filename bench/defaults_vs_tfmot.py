"""edgekit's defaults vs tfmot's defaults for "16 clusters + int8" on the digits CNN, over seeds.

    python bench/defaults_vs_tfmot.py [--seeds 0 1 2] [--candidate NAME="FLAGS" ...] [--skip-tfmot] [--skip-defaults]
                                      [--name NAME] [--render-only]

The digits CNN is trained as in ``bench/compression.py`` (seed 0, 30 epochs). Then, for every
seed (the Keras/numpy/TF random seed set before the fine-tune):

- **edgekit defaults**: the real CLI with no other flags, so whatever defaults the code has are
  what is measured::

      edgekit optimize digits.keras --train-data calibration/digits_train.npz \\
          --val-data calibration/digits_val.npz --cluster 16 -o c.keras
      edgekit convert c.keras --quantize int8 --calibration calibration/digits_train.npz -o c.tflite

  The CLI has no seed option, so it runs as ``python -c "<set seed S>; edgekit.cli.main()"``
  (``PYTHONHASHSEED=S`` too); the convert step takes no seed (its calibration choice is fixed).
- **candidates** (``--candidate NAME="FLAGS"``): the same two commands with FLAGS added to
  ``optimize``, to emulate a proposed default before the code has it.
- **tfmot defaults** (``bench/tfmot_recipes.py`` recipe ``clustered_default``, tf_keras in a
  ``TF_USE_LEGACY_KERAS=1`` subprocess): ``cluster_weights(model, number_of_clusters=16)`` with
  0.8.1's default k-means++ init, 10 epochs (Adam 1e-4, batch 32), TFLite's default per-channel
  full-int8 conversion.

Both sides are converted per channel (no ``--per-tensor``). Every file is evaluated on the 359
validation digits; sizes are ``gzip.compress(data, 9)`` (and ``gzip -9`` when the tool exists).
The JSON also has, per int8 kernel, its gzip size, distinct int8 values per output channel and
entropy in bits per weight, which show where the bytes are. Medians are over the seeds.
Results: ``bench/results/NAME.json`` and ``.md`` (NAME default ``defaults_vs_tfmot``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import edgekit  # noqa: E402
from digits_common import measure, named_int8_kernels, train_base  # noqa: E402
from edgekit.data import load_dataset  # noqa: E402
from edgekit.fileio import atomic_write_text  # noqa: E402
from edgekit.resources import digits_path  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = Path(edgekit.__file__).resolve().parent.parent  # the edgekit tree the CLI subprocesses run from
TRAIN, VAL = "calibration/digits_train.npz", "calibration/digits_val.npz"
# `python -c` wrapper: the first argument is the seed, the rest is the edgekit command line
SEEDED_CLI = ("import sys, keras; keras.utils.set_random_seed(int(sys.argv.pop(1))); "
              "from edgekit.cli import main; main()")
TFMOT_RECIPE = "clustered_default"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--candidate", action="append", default=[], metavar='NAME="FLAGS"',
                        help="Also run edgekit with these extra optimize flags (a proposed default).")
    parser.add_argument("--skip-tfmot", action="store_true")
    parser.add_argument("--skip-defaults", action="store_true", help="Only the --candidate runs (and tfmot).")
    parser.add_argument("--name", default="defaults_vs_tfmot", help="Result file name under bench/results/.")
    parser.add_argument("--render-only", action="store_true", help="Only rewrite NAME.md from NAME.json.")
    args = parser.parse_args()
    if args.render_only:
        rerender(args.name)
        return
    variants = {} if args.skip_defaults else {"edgekit defaults": []}
    for spec in args.candidate:
        name, _, flags = spec.partition("=")
        variants[f"edgekit {name}"] = shlex.split(flags)

    train = load_dataset(digits_path("train"), require_labels=True)
    val = load_dataset(digits_path("val"), require_labels=True)
    work = Path(tempfile.mkdtemp(prefix="edgekit-defaults-"))
    base, _ = train_base(train)  # seed 0, as bench/compression.py
    base.save(work / "digits.keras")
    np.savez(work / "base_weights.npz", **{f"w{i}": w for i, w in enumerate(base.get_weights())})
    float_accuracy = float(base.evaluate(val.x, val.y, verbose=0)[1])

    runs: dict[str, list[dict]] = {name: [] for name in variants}
    commands: dict[str, list[str]] = {}
    for seed in args.seeds:
        for name, flags in variants.items():
            row, commands[name] = _edgekit(seed, flags, work, val, name)
            runs[name].append(row)
        if not args.skip_tfmot:
            runs.setdefault("tfmot defaults", []).append(_tfmot(seed, work, val))
    commands["tfmot defaults"] = [f"TF_USE_LEGACY_KERAS=1 python bench/tfmot_recipes.py --seed S base_weights.npz OUT "
                                  f"{TFMOT_RECIPE}"]
    rows = [{"variant": name, "runs": seed_runs, **medians(seed_runs), "commands": commands.get(name)}
            for name, seed_runs in runs.items()]
    result = {"seeds": args.seeds, "base": "digits_cnn, Adam 1e-3, 30 epochs, batch 32, seed 0 (bench/compression.py)",
              "float32_keras_accuracy": round(float_accuracy, 4), "edgekit_root": str(ROOT),
              "git_head": _git_head(), "variants": rows}
    (HERE / "results").mkdir(exist_ok=True)
    atomic_write_text(HERE / "results" / f"{args.name}.json", json.dumps(result, indent=2) + "\n")
    table = markdown(result)
    atomic_write_text(HERE / "results" / f"{args.name}.md", table + "\n")
    print(table)


def _edgekit(seed: int, flags: list[str], work: Path, val, name: str) -> tuple[dict, list[str]]:
    stem = work / f"{name.replace(' ', '_')}_s{seed}"
    optimize = ["optimize", str(work / "digits.keras"), "--train-data", TRAIN, "--val-data", VAL,
                "--cluster", "16", "-o", f"{stem}.keras", *flags]
    convert = ["convert", f"{stem}.keras", "--quantize", "int8", "--calibration", TRAIN, "-o", f"{stem}.tflite"]
    env = {**os.environ, "PYTHONHASHSEED": str(seed), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TF_USE_LEGACY_KERAS", None)
    _run([sys.executable, "-c", SEEDED_CLI, str(seed), *optimize], env)
    _run([sys.executable, "-m", "edgekit", *convert], env)
    row = {"seed": seed, **_measure(Path(f"{stem}.tflite"), val)}
    print(f"{name} seed {seed}: {row['gzip_bytes']:,} B gzip, {row['accuracy']:.2%}", file=sys.stderr)
    shown = [f"PYTHONHASHSEED=S python -c '{SEEDED_CLI}' S " + shlex.join(optimize).replace(str(work) + "/", ""),
             "python -m edgekit " + shlex.join(convert).replace(str(work) + "/", "")]
    return row, [line.replace(f"_s{seed}", "") for line in shown]


def _tfmot(seed: int, work: Path, val) -> dict:
    out = work / f"tfmot_s{seed}"
    out.mkdir()
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": str(seed)}
    proc = _run([sys.executable, str(HERE / "tfmot_recipes.py"), "--seed", str(seed), str(work / "base_weights.npz"),
                 str(out), TFMOT_RECIPE], env, check=False)
    entry = next((json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")), None)
    if entry is None or entry["error"] is not None:
        error = entry["error"] if entry else (proc.stderr.strip().splitlines() or ["crashed"])[-1]
        return {"seed": seed, "error": error}
    row = {"seed": seed, **_measure(out / f"{TFMOT_RECIPE}.tflite", val)}
    print(f"tfmot defaults seed {seed}: {row['gzip_bytes']:,} B gzip, {row['accuracy']:.2%}", file=sys.stderr)
    return row


def _run(command: list[str], env: dict, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {shlex.join(command)}\n{proc.stderr[-2000:]}")
    return proc


def _measure(path: Path, val) -> dict:
    flatbuffer = path.read_bytes()
    row = measure(flatbuffer, path, val)
    row.pop("max_nonzeros_per_group_of_4", None)
    if shutil.which("gzip"):
        row["gzip_cli_bytes"] = len(subprocess.run(["gzip", "-9", "-c", str(path)], capture_output=True,
                                                   check=True).stdout)
    row["kernels"] = kernel_breakdown(flatbuffer)
    return row


def kernel_breakdown(flatbuffer: bytes) -> list[dict]:
    """Per int8 kernel: its gzip -9 size alone, distinct values per output channel, entropy in bits/weight."""
    rows = []
    for name, kernel in named_int8_kernels(flatbuffer):
        per_channel = [len(np.unique(channel)) for channel in kernel]
        _, counts = np.unique(kernel, return_counts=True)
        share = counts / counts.sum()
        rows.append({"tensor": name, "shape": list(kernel.shape), "bytes": kernel.size,
                     "gzip_bytes": len(gzip.compress(kernel.tobytes(), 9)),
                     "values_per_channel_median": int(np.median(per_channel)), "values_in_tensor": len(counts),
                     "entropy_bits": round(float(-(share * np.log2(share)).sum()), 2)})
    return rows


def medians(runs: list[dict]) -> dict:
    ok = [run for run in runs if "error" not in run]
    if not ok:
        return {"median_gzip_bytes": None, "median_accuracy": None}
    return {"median_gzip_bytes": int(statistics.median(run["gzip_bytes"] for run in ok)),
            "median_accuracy": round(statistics.median(run["accuracy"] for run in ok), 4)}


def _git_head() -> str | None:
    """The commit of the edgekit tree measured (None when ROOT is not a git checkout, e.g. a ``git archive`` copy)."""
    proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else None


def markdown(result: dict) -> str:
    """The results table (gzip -9 bytes / accuracy per seed, medians) and the commands measured."""
    seeds = result["seeds"]
    head = " | ".join(f"seed {s}: gzip / acc" for s in seeds)
    lines = [f"16 clusters + per-channel full int8 on the digits CNN (float32 {result['float32_keras_accuracy']:.2%}; "
             f"359 validation digits; gzip = `gzip.compress(data, 9)`); edgekit "
             f"{(result.get('git_head') or '')[:7] or 'from ' + result['edgekit_root']}"
             + (f" ({result['note']})" if result.get("note") else "") + ".", "",
             f"| variant | {head} | median gzip | median acc |", "|---|" + "---:|" * (len(seeds) + 2)]
    for row in result["variants"]:
        cells = [f"{run['error'][:40]}" if "error" in run else f"{run['gzip_bytes']:,} B / {run['accuracy']:.2%}"
                 for run in row["runs"]]
        median_gzip = f"{row['median_gzip_bytes']:,} B" if row["median_gzip_bytes"] is not None else "–"
        median_acc = f"{row['median_accuracy']:.2%}" if row["median_accuracy"] is not None else "–"
        lines.append(f"| {row['variant']} | {' | '.join(cells)} | {median_gzip} | {median_acc} |")
    lines += ["", "Commands (S = seed):", ""]
    for row in result["variants"]:
        lines += [f"- {row['variant']}:", "", "  ```", *(f"  {line}" for line in row["commands"] or []), "  ```"]
    return "\n".join(lines)


def rerender(name: str) -> None:
    """Rewrite bench/results/NAME.md from NAME.json (after a change to :func:`markdown`)."""
    result = json.loads((HERE / "results" / f"{name}.json").read_text())
    atomic_write_text(HERE / "results" / f"{name}.md", markdown(result) + "\n")


if __name__ == "__main__":
    main()
