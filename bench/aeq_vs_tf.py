"""AI Edge Quantizer vs TensorFlow's converter on a Keras source: which quantizes the digits CNN more accurately.

    python bench/aeq_vs_tf.py

Trains the benchmark's digits CNN (``digits_common.train_base``), converts it to a float
``.tflite`` with TensorFlow's converter, and quantizes it both ways for every mode both
engines offer: TensorFlow's converter from the Keras model (what ``edgekit convert`` does
today) and AEQ from the float ``.tflite`` (what ``edgekit convert MODEL.tflite`` does), on the
same 200 calibration samples of the shipped training split. Each file is measured on the
validation split under LiteRT: accuracy, output steps against the float file (1/255 of the
float output's range, max and median over every logit) and bytes. Results:
``bench/results/aeq_vs_tf.json`` and ``.md``; the verdict line says which engine is the more
accurate per mode. More Keras models go in ``MODELS``.
"""

from __future__ import annotations

import gzip
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
MODES = ("dynamic", "int8", "int16x8")
CALIBRATION_SAMPLES = 200


def digits_cnn(train):
    from digits_common import train_base

    return train_base(train)[0]


MODELS = {"digits_cnn": digits_cnn}   # name -> (training data) -> trained Keras model


def measure(flatbuffer: bytes, reference: np.ndarray, val_x: np.ndarray, val_y: np.ndarray) -> dict:
    """Accuracy, output steps against the float file's logits, bytes."""
    from edgekit.convert.agreement import output_steps
    from edgekit.convert.runners import run_model

    out = np.asarray(run_model("litert", flatbuffer, [val_x], "bench")[0], np.float64).reshape(reference.shape)
    step = output_steps(None, [reference])[0]
    diff = np.abs(out - reference) / step
    return {"accuracy": round(float(np.mean(out.argmax(1) == val_y)), 4), "max_steps": round(float(diff.max()), 2),
            "median_steps": round(float(np.median(diff)), 3), "bytes": len(flatbuffer),
            "gzip_bytes": len(gzip.compress(flatbuffer, 9))}


def compare(name: str, model, cal_x: np.ndarray, val_x: np.ndarray, val_y: np.ndarray, tmp: Path) -> dict:
    from edgekit.convert import convert_model
    from edgekit.convert.runners import run_model
    from edgekit.convert.tflite_source.file import TfliteOptions, quantize_tflite_file

    float_path = tmp / f"{name}_float.tflite"
    float_path.write_bytes(convert_model(model, quantize="none"))
    reference = np.asarray(run_model("litert", float_path.read_bytes(), [val_x], "bench")[0], np.float64)
    calibration = tmp / "calibration.npz"
    np.savez(calibration, x=cal_x)
    row = {"model": name, "float": measure(float_path.read_bytes(), reference, val_x, val_y), "modes": {}}
    for mode in MODES:
        tf_file = convert_model(model, quantize=mode, representative=cal_x if mode != "dynamic" else None)
        aeq_path = tmp / f"{name}_{mode}_aeq.tflite"
        quantize_tflite_file(float_path, aeq_path, TfliteOptions(quantize=mode), calibration=calibration,
                             calibration_samples=CALIBRATION_SAMPLES)
        row["modes"][mode] = {"tf": measure(tf_file, reference, val_x, val_y),
                              "aeq": measure(aeq_path.read_bytes(), reference, val_x, val_y)}
        print(name, mode, json.dumps(row["modes"][mode]), file=sys.stderr)
    return row


def verdict(mode: str, pair: dict) -> str:
    """The more accurate engine (fewer output steps from float when the accuracy ties)."""
    tf, aeq = pair["tf"], pair["aeq"]
    if tf["accuracy"] != aeq["accuracy"]:
        return "tf" if tf["accuracy"] > aeq["accuracy"] else "aeq"
    return "tf" if tf["median_steps"] <= aeq["median_steps"] else "aeq"


def table(rows: list[dict]) -> str:
    lines = ["| model | mode | engine | accuracy | max steps | median steps | bytes | gzip bytes |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        f = row["float"]
        lines.append(f"| {row['model']} | float | tf | {f['accuracy']:.2%} | 0 | 0 | {f['bytes']:,} | {f['gzip_bytes']:,} |")
        for mode, pair in row["modes"].items():
            for engine in ("tf", "aeq"):
                m = pair[engine]
                best = " (more accurate)" if verdict(mode, pair) == engine else ""
                lines.append(f"| {row['model']} | {mode} | {engine}{best} | {m['accuracy']:.2%} | {m['max_steps']:g} | "
                             f"{m['median_steps']:g} | {m['bytes']:,} | {m['gzip_bytes']:,} |")
    return "\n".join(lines)


def main() -> None:
    from edgekit.data import load_dataset
    from edgekit.fileio import atomic_write_text
    from edgekit.resources import digits_path

    train = load_dataset(digits_path("train"))
    val = load_dataset(digits_path("val"))
    cal_x = load_dataset(digits_path("train"), limit=CALIBRATION_SAMPLES).x.astype(np.float32)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in MODELS.items():
            rows.append(compare(name, build(train), cal_x, val.x.astype(np.float32), val.y, Path(tmp)))
    winners = {mode: sorted({verdict(mode, row["modes"][mode]) for row in rows}) for mode in MODES}
    result = {"calibration_samples": CALIBRATION_SAMPLES, "rows": rows, "more_accurate": winners}
    (HERE / "results").mkdir(exist_ok=True)
    atomic_write_text(HERE / "results" / "aeq_vs_tf.json", json.dumps(result, indent=2) + "\n")
    summary = "; ".join(f"{mode}: {'/'.join(w)}" for mode, w in winners.items())
    atomic_write_text(HERE / "results" / "aeq_vs_tf.md", table(rows) + f"\n\nMore accurate per mode: {summary}\n")
    print(table(rows))
    print(f"more accurate per mode: {summary}")


if __name__ == "__main__":
    main()
