"""How much the headline recipe depends on the seed: pruned + clustered, plain and gzip-aware, over seeds.

    python bench/compression_seeds.py [SEED ...]      (default: 0 1 2 3)

For every seed: the digits CNN trained as in ``bench/compression.py`` (that seed instead of
0), then float32, ``pruned_clustered`` and ``pruned_clustered_gzip`` exactly as there.
Results: ``bench/results/compression_seeds.json`` and ``.md``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import keras

import compression as bench
from edgekit.data import load_dataset
from edgekit.fileio import atomic_write_text
from edgekit.models import compile_classifier, digits_cnn
from edgekit.resources import digits_path

RECIPES = ("float32", "pruned_clustered", "pruned_clustered_gzip")


def main() -> None:
    seeds = [int(s) for s in sys.argv[1:]] or [0, 1, 2, 3]
    train = load_dataset(digits_path("train"), require_labels=True)
    val = load_dataset(digits_path("val"), require_labels=True)
    work = Path(tempfile.mkdtemp(prefix="edgekit-seeds-"))
    rows = []
    for seed in seeds:
        keras.utils.set_random_seed(seed)
        base = compile_classifier(digits_cnn(), 1e-3)
        base.fit(train.x, train.y, epochs=30, batch_size=32, verbose=0)
        results = {name: bench._edgekit(name, bench.RECIPES[name], base, train, val, work) for name in RECIPES}
        rows.append({"seed": seed, **{name: {k: r[k] for k in ("accuracy", "gzip_bytes", "optimize_seconds")}
                                      for name, r in results.items()}})
    out = Path(__file__).resolve().parent / "results"
    atomic_write_text(out / "compression_seeds.json", json.dumps({"rows": rows}, indent=2) + "\n")
    atomic_write_text(out / "compression_seeds.md", markdown(rows) + "\n")
    print(markdown(rows))


def markdown(rows: list[dict]) -> str:
    lines = ["| seed | float32 acc | pruned + clustered acc / gzip | gzip-aware acc / gzip | gzip-aware drop |",
             "|---:|---:|---:|---:|---:|"]
    for row in rows:
        f, pc, gz = row["float32"], row["pruned_clustered"], row["pruned_clustered_gzip"]
        lines.append(f"| {row['seed']} | {f['accuracy']:.2%} | {pc['accuracy']:.2%} / {pc['gzip_bytes']:,} B | "
                     f"{gz['accuracy']:.2%} / {gz['gzip_bytes']:,} B | "
                     f"{100 * (f['accuracy'] - gz['accuracy']):.2f} pts |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
