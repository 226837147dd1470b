"""Mixed precision: int8 with chosen (``keep_float``) or automatically chosen (``auto_mixed``) layers in float.

The use case behind ``edgekit convert --keep-float / --auto-mixed``, kept in the library so
any caller (the CLI, a build, a tuning loop) gets the same checks, file and summary.
Imports TensorFlow only when a function runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from edgekit.errors import UsageError

if TYPE_CHECKING:
    from edgekit.data import Preprocess


def wants_mixed(keep_float: Sequence[str], auto_mixed: float | None) -> bool:
    """Whether the request is a mixed-precision one (else a plain conversion)."""
    return bool(keep_float) or auto_mixed is not None


def check_mixed(quantize: str, io_type: str, keep_float: Sequence[str], auto_mixed: float | None) -> None:
    """Refuse combinations that cannot mean anything, before any model is loaded."""
    flag = "--auto-mixed" if auto_mixed is not None else "--keep-float"
    if quantize != "int8":
        raise UsageError(f"{flag} mixes float into an int8 model; use it with --quantize int8 (got {quantize})")
    if keep_float and auto_mixed is not None:
        raise UsageError("--keep-float and --auto-mixed exclude each other; give one of them")
    if io_type not in ("float32", "int8"):
        raise UsageError(f"--io-type {io_type}: {flag} supports float32 or int8 inputs/outputs")


def convert_mixed_file(model_path: str | Path, out_path: str | Path, *, quantize: str, io_type: str,
                       keep_float: Sequence[str], auto_mixed: float | None, calibration: str | Path | None,
                       calibration_samples: int, eval_data: str | Path | None = None,
                       preprocess: Preprocess | None = None, per_tensor: bool = False) -> dict:
    """Convert with layers kept float, write ``out_path`` atomically, return what was kept + size/latency."""
    from edgekit.convert.keras_loader import input_signature, load_keras_model
    from edgekit.data import load_dataset
    from edgekit.fileio import atomic_write_bytes
    from edgekit.convert import sensitivity
    from edgekit.convert.file import CONVERSION_FIXES
    from edgekit.quality_drop import Drop, drop_fields

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
        drop = Drop(None, fixes=CONVERSION_FIXES, missing="--keep-float measures none (--auto-mixed MAX_DROP does)")
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
        drop = Drop("accuracy", result.float_accuracy, result.accuracy, CONVERSION_FIXES,
                    on=f"{data.source} ({len(data)} samples)")
    atomic_write_bytes(out_path, tflite)
    summary.update(measure(out_path), **drop_fields(drop))
    return summary


def measure(path: str | Path) -> dict:
    """Size and local latency (benchmark agent, 1 thread) of the written ``.tflite``.

    Part of the summary because the point of keeping layers float is a size/latency/accuracy
    trade-off the user has to see.
    """
    from edgekit.agent.runner import run_local

    timing = run_local(path, threads=1, runs=30, warmup=3)["timing_ms"]
    return {"size_bytes": Path(path).stat().st_size, "latency_ms_p50": round(timing["p50"], 4),
            "latency_ms_mean": round(timing["mean"], 4)}


__all__ = ["check_mixed", "convert_mixed_file", "measure", "wants_mixed"]
