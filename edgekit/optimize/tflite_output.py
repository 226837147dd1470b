"""Optimize a Keras model file, then convert the result to a ``.tflite`` file: one use case.

``edgekit optimize --tflite`` comes here. The optimize package already sits above the
convert package (it loads models with it), so this is the lowest layer that may chain the
two without importing upward. The conversion's settings are checked when
:class:`TfliteOutput` is made, before anything trains. Under an accuracy budget the written
``.tflite`` is held to it too (quantization can cost the last sample that mattered): it is
scored against the source model on the budget's validation data before it is renamed into place.
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

    from edgekit.fileio import atomic_path

    progress(f"converting {output} ({tflite.quantize}{', per-tensor weights' if tflite.per_tensor else ''}) ...")
    with atomic_path(tflite.path) as written:  # renamed into place only within the budget
        result = convert_file(output, written, quantize=tflite.quantize, calibration=calibration or train,
                              per_tensor=tflite.per_tensor)
        budget_drop = None if budget is None else _file_within_budget(model_path, output, written, tflite.path,
                                                                      budget, val=val, train=train,
                                                                      seed=recipe.finetune.seed)
    summary["tflite"] = {"output": str(tflite.path), "quantize": result.quantize, "per_tensor": tflite.per_tensor,
                         "size_bytes": result.size_bytes, "sha256": result.sha256,
                         **({"budget_drop": budget_drop} if budget_drop is not None else {})}
    return summary


def _file_within_budget(source: str | Path, optimized: str | Path, written: Path, final: str | Path, budget: Budget,
                        *, val, train, seed: int) -> dict:
    """The written file's drop from ``source`` on the budget's validation data (``val``, else the held-out split
    of ``train`` the engine used); BudgetNotMet past ``budget.max_drop`` (the optimized .keras stays)."""
    from edgekit.convert import output_names
    from edgekit.convert.keras_loader import load_keras_model
    from edgekit.errors import BudgetNotMet
    from edgekit.evaluate import evaluate_model, saved_losses
    from edgekit.optimize.budget import hold_out
    from edgekit.optimize.file import labelled
    from edgekit.quality_drop import measure

    model = load_keras_model(source)
    data = labelled(model, val) if val is not None else hold_out(labelled(model, train), seed)[1]
    losses = saved_losses(source, output_names(model))
    before, after = (evaluate_model(path, data, loss=losses).metrics for path in (source, written))
    drop = measure(before, after, ())
    if drop.points is not None and drop.points > budget.max_drop + 1e-9:
        raise BudgetNotMet(f"{final}: {drop.line()}, over --max-drop {budget.max_drop:g} on {data.source} "
                           f"(the optimized {optimized} is within it and is kept); not written: convert it with "
                           f"`edgekit convert {optimized} --auto-mixed {budget.max_drop:g}` or lower the recipe's "
                           "strength")
    return drop.to_dict()
