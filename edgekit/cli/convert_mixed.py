"""``edgekit convert --keep-float LAYER... / --auto-mixed MAX_DROP``: int8 with chosen layers in float.

Kept apart from ``cli/convert.py`` so the convert command only has to add the options
(``@mixed_precision_options``) and hand over to :func:`convert_mixed` when one is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import click

from edgekit.errors import UsageError


def mixed_precision_options(command: Callable) -> Callable:
    """Add ``--keep-float``, ``--auto-mixed`` and ``--eval-data`` to a click command."""
    command = click.option("--eval-data", "eval_data", default=None, metavar="SPEC",
                           help="Labelled data that --auto-mixed measures accuracy on "
                                "(default: the calibration data, if labelled).")(command)
    command = click.option("--auto-mixed", "auto_mixed", type=float, default=None, metavar="MAX_DROP",
                           help="With --quantize int8: keep the most sensitive layers float until the "
                                "accuracy drop is at most MAX_DROP points.")(command)
    command = click.option("--keep-float", "keep_float", multiple=True, metavar="LAYER",
                           help="With --quantize int8: leave this Keras layer in float (repeatable).")(command)
    return command


@dataclass
class MixedConversion:
    tflite: bytes
    kept_float: list[str]
    summary: dict = field(default_factory=dict)


def wants_mixed(keep_float, auto_mixed) -> bool:
    return bool(keep_float) or auto_mixed is not None


def convert_mixed(keras_model, *, quantize: str, io_type: str, keep_float, auto_mixed: float | None,
                  calibration, eval_data=None) -> MixedConversion:
    """Full-int8 conversion with ``keep_float`` layers (or the ones ``auto_mixed`` picks) in float."""
    from edgekit.optimize import sensitivity

    if quantize != "int8":
        flag = "--auto-mixed" if auto_mixed is not None else "--keep-float"
        raise UsageError(f"{flag} mixes float into an int8 model; use it with --quantize int8 (got {quantize})")
    if keep_float and auto_mixed is not None:
        raise UsageError("--keep-float and --auto-mixed exclude each other; give one of them")
    if io_type not in ("float32", "int8"):
        raise UsageError(f"--io-type {io_type}: mixed precision supports float32 or int8 inputs/outputs")
    if calibration is None:
        raise UsageError("--keep-float/--auto-mixed need --calibration data to calibrate the int8 layers")
    int8_io = io_type == "int8"
    if keep_float:
        tflite = sensitivity.keep_float(keras_model, list(keep_float), calibration.x, int8_io=int8_io)
        return MixedConversion(tflite, list(keep_float))
    data = eval_data or calibration
    if data.y is None:
        raise UsageError(f"--auto-mixed needs labelled data; {data.source} has no labels (give --eval-data SPEC)")
    result = sensitivity.auto_mixed(keras_model, data.x, data.y, calibration.x, auto_mixed)
    tflite = (sensitivity.keep_float(keras_model, result.kept_float, calibration.x, int8_io=True)
              if int8_io and result.kept_float else result.tflite)
    summary = {"float_accuracy": result.float_accuracy, "full_int8_accuracy": result.full_int8_accuracy,
               "accuracy": result.accuracy, "drop_points": round(result.drop, 3), "max_drop": auto_mixed,
               "within_bound": result.drop <= auto_mixed}
    return MixedConversion(tflite, result.kept_float, summary)


def measure(path) -> dict:
    """Size and local latency (benchmark agent, 1 thread) of the written ``.tflite``."""
    from pathlib import Path

    from edgekit.agent.runner import run_local

    timing = run_local(path, threads=1, runs=30, warmup=3)["timing_ms"]
    return {"size_bytes": Path(path).stat().st_size, "latency_ms_p50": timing["p50"], "latency_ms_mean": timing["mean"]}
