"""Optimize a Keras model file, then convert the result to a ``.tflite`` file: one use case.

``edgekit optimize --tflite`` comes here. The optimize package already sits above the
convert package (it loads models with it), so this is the lowest layer that may chain the
two without importing upward. The conversion's settings are checked when
:class:`TfliteOutput` is made, before anything trains.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from edgekit.errors import UsageError
from edgekit.optimize.budget import Budget

if TYPE_CHECKING:  # the engine imports Keras
    from edgekit.optimize.engine import Recipe


@dataclass(frozen=True)
class TfliteOutput:
    """The ``.tflite`` file to convert the optimized model into, and how to quantize it."""

    path: str | Path | None
    quantize: str = "int8"
    per_tensor: bool = False

    def __post_init__(self) -> None:
        if self.path is None:
            if self.per_tensor:
                raise UsageError("--per-tensor applies to the --tflite file; add --tflite OUT.tflite")
            return
        from edgekit.convert import check_options

        check_options(self.quantize, "float32", True, self.per_tensor)  # calibration: given, else the training data


def optimize_and_convert(model_path: str | Path, output: str | Path, recipe: Recipe, *, tflite: TfliteOutput | None = None,
                         train, val=None, calibration=None, budget: Budget | None = None,
                         progress: Callable[[str], None] = lambda message: None) -> dict:
    """:func:`~edgekit.optimize.file.optimize_file`, then (with ``tflite.path``) the optimized model converted,
    calibrated on ``calibration`` or else the training data; the summary's ``tflite`` says what was written."""
    from edgekit.optimize.file import optimize_file

    summary = optimize_file(model_path, output, recipe, train=train, val=val, calibration=calibration,
                            budget=budget, progress=progress)
    if tflite is None or tflite.path is None:
        return summary
    from edgekit.convert import convert_file

    progress(f"converting {output} ({tflite.quantize}{', per-tensor weights' if tflite.per_tensor else ''}) ...")
    result = convert_file(output, tflite.path, quantize=tflite.quantize, calibration=calibration or train,
                          per_tensor=tflite.per_tensor)
    summary["tflite"] = {"output": result.output, "quantize": result.quantize, "per_tensor": tflite.per_tensor,
                         "size_bytes": result.size_bytes, "sha256": result.sha256}
    return summary
