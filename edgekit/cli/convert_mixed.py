"""``edgekit convert --keep-float LAYER... / --auto-mixed MAX_DROP``: int8 with chosen layers in float.

Kept apart from ``cli/convert.py``: the convert command adds ``@mixed_precision_options``
and hands over to :func:`convert_mixed_file` when one of them is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import click

from edgekit.errors import UsageError


def mixed_precision_options(command: Callable) -> Callable:
    """Add ``--keep-float``, ``--auto-mixed`` and ``--eval-data`` to a click command."""
    options = [
        click.option("--keep-float", "keep_float", multiple=True, metavar="LAYER",
                     help="With --quantize int8: leave this Keras layer in float (repeatable)."),
        click.option("--auto-mixed", "auto_mixed", type=float, default=None, metavar="MAX_DROP",
                     help="With --quantize int8: keep the most sensitive layers float until the accuracy "
                          "drop is at most MAX_DROP points."),
        click.option("--eval-data", "eval_data", default=None, metavar="SPEC",
                     help="Labelled data --auto-mixed measures accuracy on (default: the calibration data)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def wants_mixed(keep_float, auto_mixed) -> bool:
    return bool(keep_float) or auto_mixed is not None


def check_mixed(quantize: str, io_type: str, keep_float, auto_mixed: float | None) -> None:
    """Refuse combinations that cannot mean anything, before any model is loaded."""
    flag = "--auto-mixed" if auto_mixed is not None else "--keep-float"
    if quantize != "int8":
        raise UsageError(f"{flag} mixes float into an int8 model; use it with --quantize int8 (got {quantize})")
    if keep_float and auto_mixed is not None:
        raise UsageError("--keep-float and --auto-mixed exclude each other; give one of them")
    if io_type not in ("float32", "int8"):
        raise UsageError(f"--io-type {io_type}: {flag} supports float32 or int8 inputs/outputs")


def convert_mixed_file(model_path, out_path, *, quantize: str, io_type: str, keep_float, auto_mixed,
                       calibration, calibration_samples: int, eval_data=None, preprocess=None,
                       per_tensor: bool = False) -> dict:
    """Convert with layers kept float, write ``out_path`` atomically, return what was kept + size/latency."""
    from edgekit.convert import input_signature, load_keras_model
    from edgekit.data import load_dataset
    from edgekit.fileio import atomic_write_bytes
    from edgekit.optimize import sensitivity

    check_mixed(quantize, io_type, keep_float, auto_mixed)
    if calibration is None:
        raise UsageError("--keep-float/--auto-mixed need --calibration SPEC to calibrate the int8 layers")
    model = load_keras_model(model_path)
    shapes, names = input_signature(model)
    cal = load_dataset(calibration, input_shapes=shapes, input_names=names, limit=calibration_samples,
                       preprocess=preprocess)
    int8_io = io_type == "int8"
    summary: dict = {"model": str(model_path), "output": str(out_path), "quantize": "int8", "io_type": io_type,
                     "per_tensor": per_tensor}
    if keep_float:
        tflite = sensitivity.keep_float(model, list(keep_float), cal.x, int8_io=int8_io, per_tensor=per_tensor)
        summary["kept_float"] = list(keep_float)
    else:
        data = cal if eval_data is None else load_dataset(eval_data, input_shapes=shapes, input_names=names,
                                                          require_labels=True, preprocess=preprocess)
        if data.y is None:
            raise UsageError(f"--auto-mixed needs labelled data; {data.source} has no labels (add --eval-data SPEC)")
        result = sensitivity.auto_mixed(model, data.x, data.y, cal.x, auto_mixed, per_tensor=per_tensor)
        tflite = (sensitivity.keep_float(model, result.kept_float, cal.x, int8_io=True, per_tensor=per_tensor)
                  if int8_io and result.kept_float else result.tflite)
        summary.update(kept_float=result.kept_float, float_accuracy=result.float_accuracy,
                       full_int8_accuracy=result.full_int8_accuracy, accuracy=result.accuracy,
                       drop_points=round(result.drop, 3), max_drop=auto_mixed,
                       within_bound=result.drop <= auto_mixed, eval_data=data.source)
    atomic_write_bytes(out_path, tflite)
    summary.update(measure(out_path))
    return summary


def measure(path) -> dict:
    """Size and local latency (benchmark agent, 1 thread) of the written ``.tflite``."""
    from edgekit.agent.runner import run_local

    timing = run_local(path, threads=1, runs=30, warmup=3)["timing_ms"]
    return {"size_bytes": Path(path).stat().st_size, "latency_ms_p50": round(timing["p50"], 4),
            "latency_ms_mean": round(timing["mean"], 4)}


def render_mixed(summary: dict) -> str:
    """One line for humans: what was written, which layers stayed float, accuracy, size, latency."""
    kept = ", ".join(summary["kept_float"]) or "none"
    line = f"wrote {summary['output']}: {summary['size_bytes']:,} bytes, int8 with float layers: {kept}"
    if "accuracy" in summary:
        line += (f"; accuracy {100 * summary['accuracy']:.2f} % (float {100 * summary['float_accuracy']:.2f} %, "
                 f"full int8 {100 * summary['full_int8_accuracy']:.2f} %, drop {summary['drop_points']:.2f} points)")
    return line + f"; local latency p50 {summary['latency_ms_p50']:.3f} ms"
