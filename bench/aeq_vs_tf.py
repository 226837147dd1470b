"""AI Edge Quantizer vs TensorFlow's converter on a Keras source: which quantizes the digits CNN more accurately.

    python bench/aeq_vs_tf.py

Trains the benchmark's digits CNN (``digits_common.train_base``) and the suite's single-output
classifiers (``suite_models``: bn_cnn, mobilenet, residual; seed 0, the suite's own epochs and
data), converts each to a float ``.tflite`` with TensorFlow's converter, and quantizes it both
ways for every mode both engines offer: TensorFlow's converter from the Keras model (what
``edgekit convert`` does today) and AEQ from the float ``.tflite`` (what ``edgekit convert
MODEL.tflite`` does), on the same 200 calibration samples of the model's training split. Each
file is measured on the model's validation split under LiteRT: accuracy, output steps against the float file (1/255 of the
float output's range, max and median over every logit) and bytes. Results:
``bench/results/aeq_vs_tf.json`` and ``.md``; the verdict line says which engine is the more
accurate per model and mode. More Keras models go in ``MODELS``. The suite's regression MLP
and two-headed CNN are left out: accuracy (argmax against one label array) does not apply to
a regression output, and the two heads would need per-output references and labels.
"""

from __future__ import annotations

import functools
import gzip
import json
import sys
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
MODES = ("dynamic", "int8", "int16x8")
CALIBRATION_SAMPLES = 200


SKIPPED = {"regression": "a regression output has no accuracy (argmax against a label)",
           "two_heads": "two outputs need per-output references and labels; measure() compares one"}


def digits_cnn(work: Path) -> tuple[object, Path, Path]:
    """The benchmark's digits CNN on the shipped split: (Keras model, train.npz, val.npz)."""
    from digits_common import train_base
    from edgekit.data import load_dataset
    from edgekit.resources import digits_path

    return train_base(load_dataset(digits_path("train")))[0], digits_path("train"), digits_path("val")


def suite_model(name: str, work: Path) -> tuple[object, Path, Path]:
    """One of the suite's models, trained by ``suite_models.train_model`` (seed 0) on its own data."""
    import keras
    from suite_models import MODELS as SUITE, train_model

    path, train, val = train_model(SUITE[name], 0, work)
    return keras.saving.load_model(path), train, val


# name -> (work directory) -> (trained Keras model, train.npz, val.npz)
MODELS: dict[str, Callable[[Path], tuple[object, Path, Path]]] = {
    "digits_cnn": digits_cnn,
    **{name: functools.partial(suite_model, name) for name in ("bn_cnn", "mobilenet", "residual")}}


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
    row = {"model": name, "val_samples": len(val_y), "float": measure(float_path.read_bytes(), reference, val_x, val_y), "modes": {}}
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


def default(rows: list[dict]) -> tuple[str, str]:
    """The engine more accurate in most model x mode pairs, and a sentence stating it with the other's wins
    (their accuracy margin in validation samples, their max output steps against the default's)."""
    wins = [(row, mode, verdict(mode, pair)) for row in rows for mode, pair in row["modes"].items()]
    engine = max(("tf", "aeq"), key=lambda e: sum(w == e for *_, w in wins))
    others = []
    for row, mode, winner in wins:
        if winner != engine:
            pair = row["modes"][mode]
            margin = round(abs(pair["aeq"]["accuracy"] - pair["tf"]["accuracy"]) * row["val_samples"])
            others.append(f"{row['model']} {mode} (+{margin} of {row['val_samples']} samples, max steps "
                          f"{pair[winner]['max_steps']:g} vs {pair[engine]['max_steps']:g})")
    text = (f"Default for Keras sources: {engine} (more accurate in {len(wins) - len(others)} of {len(wins)} "
            f"model x mode pairs)" + (f"; the other engine wins {', '.join(others)}" if others else "") + ".")
    return engine, text


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

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in MODELS.items():
            model, train, val_path = build(Path(tmp))
            cal_x = load_dataset(train, limit=CALIBRATION_SAMPLES).x.astype(np.float32)
            val = load_dataset(val_path)
            rows.append(compare(name, model, cal_x, val.x.astype(np.float32), val.y, Path(tmp)))
    winners = {mode: sorted({verdict(mode, row["modes"][mode]) for row in rows}) for mode in MODES}
    per_model = {row["model"]: {mode: verdict(mode, pair) for mode, pair in row["modes"].items()} for row in rows}
    engine, stated = default(rows)
    result = {"calibration_samples": CALIBRATION_SAMPLES, "rows": rows, "more_accurate_per_model": per_model,
              "more_accurate": winners, "default": engine, "skipped": SKIPPED}
    (HERE / "results").mkdir(exist_ok=True)
    atomic_write_text(HERE / "results" / "aeq_vs_tf.json", json.dumps(result, indent=2) + "\n")
    summary = "; ".join(f"{mode}: {'/'.join(w)}" for mode, w in winners.items())
    skipped = "".join(f"\n- {name}: {why}" for name, why in SKIPPED.items())
    atomic_write_text(HERE / "results" / "aeq_vs_tf.md", table(rows) + f"\n\nMore accurate per mode (over all models): "
                      f"{summary}\n\n{stated}\n\nSuite models not measured:{skipped}\n")
    print(table(rows))
    print(f"more accurate per mode: {summary}\n{stated}")


if __name__ == "__main__":
    main()
