"""Low-rank factorization (``--low-rank``): the digits CNN over seeds, and MobileNetV2 96x96 with latency.

    PYTHONPATH=. python bench/lowrank.py [--seeds 0 1 2] [--ratio 0.5] [--runs 300] [--rounds 7]

Digits: per seed the benchmark's CNN (``digits_common.train_base``: 30 epochs, Adam 1e-3),
then the ``lowrank`` stage at ``--ratio`` with 10 fine-tuning epochs (Adam 1e-4, batch 32,
as in ``bench/compression.py``), for each way of splitting k x k convolutions (tucker,
spatial). Reported: Dense and factorized parameters before/after, the float32 ``.tflite``
accuracy of the base model, the factorized model's Keras and full-int8 ``.tflite``
accuracies, sizes (raw, ``gzip -9``); medians over the seeds.

MobileNetV2 (``weights=None, alpha=0.35, input_shape=(96, 96, 3), classes=10``, as in
``bench/qat_filters.py``): trained briefly (5 epochs, BatchNorm momentum 0.9) on the digits
upscaled to 96x96x3, factorized at ``--ratio`` and fine-tuned (5 epochs, Adam 1e-3), both converted to
full int8 (calibration: 200 training images) and timed with ``edgekit bench`` (1 thread,
7 rounds alternating the two models; median and fastest p50). Results: ``bench/results/lowrank.json`` and ``.md``.

``lowrank_row(seed)`` is the digits figure for one seed (``bench/compression.py`` calls it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from digits_common import measure, train_base  # noqa: E402
from edgekit.convert import convert_model  # noqa: E402
from edgekit.data import Dataset, load_dataset  # noqa: E402
from edgekit.fileio import atomic_write_text  # noqa: E402
from edgekit.optimize.engine import Recipe, optimize  # noqa: E402
from edgekit.optimize.lowrank.config import LowRankConfig  # noqa: E402
from edgekit.optimize.stages import Step  # noqa: E402
from edgekit.optimize.summary import accuracy  # noqa: E402
from edgekit.optimize.trainer import Finetune  # noqa: E402
from edgekit.resources import digits_path  # noqa: E402

HERE = Path(__file__).resolve().parent
FINE_TUNE = Finetune(epochs=10, batch_size=32, learning_rate=1e-4)
RATIO = 0.5


def _digits():
    return (load_dataset(digits_path("train"), require_labels=True),
            load_dataset(digits_path("val"), require_labels=True))


def dense_params(model) -> int:
    return sum(layer.count_params() for layer in model.layers if isinstance(layer, keras.layers.Dense))


def lowrank_row(seed: int, base: keras.Model | None = None, *, ratio: float = RATIO, conv: str | None = None,
                work: Path | None = None) -> dict:
    """The digits CNN (``base``, default: trained with ``seed``) factorized at ``ratio``, fine-tuned, full int8.

    Keys: ``recipe``, ``seed``, ``accuracy`` (int8 ``.tflite``), ``bytes``, ``gzip_bytes`` (as
    ``digits_common.measure``), ``float_accuracy`` (the base's float32 ``.tflite``),
    ``keras_accuracy`` (factorized, fine-tuned, float), ``dense_params_before/after``,
    ``params_before/after``, ``factorized_params_before/after``, ``ranks``, ``optimize_seconds``.
    """
    train, val = _digits()
    work = work or Path(tempfile.mkdtemp(prefix="edgekit-lowrank-"))
    base = base if base is not None else train_base(train, seed)[0]
    config = LowRankConfig(ratio=ratio) if conv is None else LowRankConfig(ratio=ratio, conv=conv)
    keras.utils.set_random_seed(seed)
    result = optimize(base, Recipe([Step("lowrank", config)], FINE_TUNE), train, val)
    model, report = result.model, result.summary["stages"][0]["report"]
    flatbuffer = convert_model(model, quantize="int8", representative=train.x[:200])
    float_file = measure(convert_model(base), work / f"float_{seed}.tflite", val)
    return {"recipe": f"lowrank_{config.conv}", "seed": seed, "ratio": ratio, "conv": config.conv,
            **measure(flatbuffer, work / f"lowrank_{config.conv}_{seed}.tflite", val),
            "float_accuracy": float_file["accuracy"], "float_gzip_bytes": float_file["gzip_bytes"],
            "keras_accuracy": round(accuracy(model, val.x, val.y), 4),
            "base_keras_accuracy": result.summary["accuracy_before"],
            "dense_params_before": dense_params(base), "dense_params_after": dense_params(model),
            "params_before": report["params_before"], "params_after": report["params_after"],
            "factorized_params_before": report["factorized_params_before"],
            "factorized_params_after": report["factorized_params_after"],
            "ranks": {row["layer"]: row["ranks"] for row in report["layers"] if row["method"]},
            "optimize_seconds": result.summary["stages"][0]["seconds"]}


def digits(seeds: list[int], ratio: float) -> dict:
    train, _ = _digits()
    work = Path(tempfile.mkdtemp(prefix="edgekit-lowrank-"))
    rows = []
    for seed in seeds:
        base, _ = train_base(train, seed)
        for conv in ("tucker", "spatial"):
            rows.append(lowrank_row(seed, base, ratio=ratio, conv=conv, work=work))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    medians = {}
    for conv in ("tucker", "spatial"):
        mine = [row for row in rows if row["conv"] == conv]
        medians[conv] = {key: statistics.median(row[key] for row in mine)
                         for key in ("accuracy", "keras_accuracy", "float_accuracy", "gzip_bytes", "bytes")}
        medians[conv]["drop_points"] = round(100 * statistics.median(
            row["float_accuracy"] - row["keras_accuracy"] for row in mine), 2)
        medians[conv]["int8_drop_points"] = round(100 * statistics.median(
            row["float_accuracy"] - row["accuracy"] for row in mine), 2)
        medians[conv]["dense_reduction"] = round(mine[0]["dense_params_before"] / mine[0]["dense_params_after"], 3)
    return {"rows": rows, "medians": medians}


def _upscaled(data: Dataset, size: int) -> np.ndarray:
    """Digits 8x8x1 in [0, 1] -> size x size x 3 in [-1, 1] (MobileNetV2's input range)."""
    import tensorflow as tf

    images = tf.image.resize(data.x, (size, size), method="bilinear").numpy()
    return np.repeat(images, 3, axis=-1).astype(np.float32) * 2.0 - 1.0


def _bench(path: Path, runs: int, db: Path) -> dict:
    """``edgekit bench PATH --json`` (1 thread): its timing_ms."""
    env = {**os.environ, "EDGEKIT_RESULTS_DB": str(db)}
    out = subprocess.run([sys.executable, "-m", "edgekit", "bench", str(path), "--json", "--runs", str(runs),
                          "--warmup", "10", "--threads", "1"], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout)["timing_ms"]


def mobilenet(ratio: float, runs: int, rounds: int, epochs: int, learning_rate: float) -> dict:
    from edgekit.models import compile_classifier

    train, val = _digits()
    train96 = Dataset(_upscaled(train, 96), train.y, "digits 96x96x3")
    val96 = Dataset(_upscaled(val, 96), val.y, "digits 96x96x3 (val)")
    keras.utils.set_random_seed(0)
    base = compile_classifier(keras.applications.MobileNetV2(weights=None, alpha=0.35, input_shape=(96, 96, 3),
                                                             classes=10, classifier_activation=None))
    for layer in base.layers:  # MobileNetV2's 0.999 would leave the moving statistics at their init here
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.9
    base.fit(train96.x, train96.y, epochs=epochs, batch_size=32, verbose=0)
    keras.utils.set_random_seed(0)
    result = optimize(base, Recipe([Step("lowrank", LowRankConfig(ratio=ratio))],
                                   Finetune(epochs=epochs, batch_size=32, learning_rate=learning_rate)), train96, val96)
    report = result.summary["stages"][0]["report"]
    work = Path(tempfile.mkdtemp(prefix="edgekit-lowrank-mnv2-"))
    files = {}
    for label, model in (("original", base), ("factorized", result.model)):
        files[label] = work / f"mobilenet_v2_{label}_int8.tflite"
        files[label].write_bytes(convert_model(model, quantize="int8", representative=train96.x[:200]))
    measured = {label: measure(path.read_bytes(), path, val96) for label, path in files.items()}
    p50 = {label: [] for label in files}
    for _ in range(rounds):
        for label, path in files.items():
            p50[label].append(_bench(path, runs, work / "results.db")["p50"])
    latency = {label: round(statistics.median(values), 4) for label, values in p50.items()}
    fastest = {label: round(min(values), 4) for label, values in p50.items()}
    kinds = {}
    for row in report["layers"]:
        kinds.setdefault(row["method"] or "kept", []).append(row["layer"])
    return {"model": "keras.applications.MobileNetV2(weights=None, alpha=0.35, input_shape=(96, 96, 3), classes=10)",
            "ratio": ratio, "train_epochs": epochs, "finetune_epochs": epochs, "finetune_learning_rate": learning_rate,
            "batchnorm_momentum": 0.9,
            "params_before": report["params_before"], "params_after": report["params_after"],
            "factorized_layers": sum(1 for row in report["layers"] if row["method"]),
            "conv_layers_kept": [f"{row['layer']}: {row['reason']}" for row in report["layers"]
                                 if not row["method"] and row["type"] == "Conv2D"],
            "factorized_params_before": report["factorized_params_before"],
            "factorized_params_after": report["factorized_params_after"],
            "factorized_reduction": round(report["factorized_params_before"] / report["factorized_params_after"], 3),
            "keras_accuracy": {"original": result.summary["accuracy_before"],
                               "factorized": result.summary["accuracy_after"]},
            "int8": {label: {k: m[k] for k in ("accuracy", "bytes", "gzip_bytes")} for label, m in measured.items()},
            "latency_p50_ms": latency, "latency_p50_runs_ms": p50,
            "latency_ratio": round(latency["factorized"] / latency["original"], 3),
            "latency_p50_fastest_round_ms": fastest,
            "latency_ratio_fastest_rounds": round(fastest["factorized"] / fastest["original"], 3),
            "bench": f"edgekit bench FILE --json --runs {runs} --warmup 10 --threads 1, {rounds} alternating rounds",
            "load_avg_1m": os.getloadavg()[0]}


def markdown(report: dict) -> str:
    lines = ["| digits CNN, ratio %s, 10 epochs fine-tuning | Dense params | float32 acc | factorized acc (Keras) | "
             "int8 acc | int8 bytes / gzip -9 |" % report["ratio"], "|---|---:|---:|---:|---:|---:|"]
    for row in report["digits"]["rows"]:
        lines.append(f"| seed {row['seed']}, convs {row['conv']} | {row['dense_params_before']:,} -> "
                     f"{row['dense_params_after']:,} | {row['float_accuracy']:.2%} | {row['keras_accuracy']:.2%} | "
                     f"{row['accuracy']:.2%} | {row['bytes']:,} / {row['gzip_bytes']:,} |")
    for conv, m in report["digits"]["medians"].items():
        lines.append(f"| **median, convs {conv}** | {m['dense_reduction']}x fewer | {m['float_accuracy']:.2%} | "
                     f"{m['keras_accuracy']:.2%} (drop {m['drop_points']} pts) | {m['accuracy']:.2%} "
                     f"(drop {m['int8_drop_points']} pts) | {m['bytes']:,.0f} / {m['gzip_bytes']:,.0f} |")
    mb = report.get("mobilenet")
    if mb:
        lines += ["", "| MobileNetV2 a=0.35 96x96 | original | factorized |", "|---|---:|---:|",
                  f"| params (model) | {mb['params_before']:,} | {mb['params_after']:,} |",
                  f"| params (the {mb['factorized_layers']} factorized layers) | {mb['factorized_params_before']:,} | "
                  f"{mb['factorized_params_after']:,} ({mb['factorized_reduction']}x fewer) |",
                  f"| full-int8 .tflite bytes | {mb['int8']['original']['bytes']:,} | "
                  f"{mb['int8']['factorized']['bytes']:,} |",
                  f"| int8 accuracy (digits 96x96) | {mb['int8']['original']['accuracy']:.2%} | "
                  f"{mb['int8']['factorized']['accuracy']:.2%} |",
                  f"| latency p50, `edgekit bench`, 1 thread | {mb['latency_p50_ms']['original']} ms | "
                  f"{mb['latency_p50_ms']['factorized']} ms (ratio {mb['latency_ratio']}; fastest rounds "
                  f"{mb['latency_p50_fastest_round_ms']['original']} / "
                  f"{mb['latency_p50_fastest_round_ms']['factorized']} ms, ratio {mb['latency_ratio_fastest_rounds']}; "
                  f"1-min load {mb['load_avg_1m']:.1f}) |"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--ratio", type=float, default=RATIO)
    parser.add_argument("--runs", type=int, default=300, help="Timed inferences per edgekit bench call.")
    parser.add_argument("--rounds", type=int, default=7, help="Alternating latency rounds (median p50).")
    parser.add_argument("--mobilenet-epochs", type=int, default=5)
    parser.add_argument("--mobilenet-learning-rate", type=float, default=1e-3,
                        help="Fine-tuning rate of the factorized MobileNetV2 (its training rate: it is barely "
                             "trained).")
    parser.add_argument("--skip-mobilenet", action="store_true")
    parser.add_argument("--skip-digits", action="store_true", help="Keep the digits figures of the last results file.")
    args = parser.parse_args()
    previous = HERE / "results" / "lowrank.json"
    kept = json.loads(previous.read_text())["digits"] if args.skip_digits else None
    report = {"ratio": args.ratio, "fine_tune": FINE_TUNE.__dict__, "digits": kept or digits(args.seeds, args.ratio)}
    if not args.skip_mobilenet:
        report["mobilenet"] = mobilenet(args.ratio, args.runs, args.rounds, args.mobilenet_epochs,
                                        args.mobilenet_learning_rate)
    (HERE / "results").mkdir(exist_ok=True)
    atomic_write_text(HERE / "results" / "lowrank.json", json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    atomic_write_text(HERE / "results" / "lowrank.md", table + "\n")
    print(table)


if __name__ == "__main__":
    main()
