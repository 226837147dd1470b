"""``optimize_file``: a Keras model file in, an optimized plain ``.keras`` file out.

The use case behind ``edgekit optimize`` (and the per-trial step of a search): load the
model and the data against its inputs and outputs, run the recipe, report the layers the
stages could not compress, write the result atomically.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable, Sequence

from edgekit.errors import UsageError
from edgekit.optimize.budget import Budget
from edgekit.optimize.engine import Recipe, optimize
from edgekit.quality_drop import compression_fixes, drop_fields, measure


def optimize_file(model_path: str | Path, output: str | Path, recipe: Recipe, *, train, val=None,
                  calibration=None, budget: Budget | None = None,
                  progress: Callable[[str], None] = lambda message: None,
                  fixes: Sequence[str] | None = None) -> dict:
    """Optimize ``model_path`` with ``recipe`` into ``output`` (.keras); returns the summary.

    ``train``/``val``: data SPECs or Datasets with labels; ``calibration``: a SPEC or
    Dataset of the inputs the int8 converter will get (default: ``train``); ``budget``: the
    accuracy budget every stage must meet (see :func:`~edgekit.optimize.engine.optimize`).
    The summary's ``drop``/``warning`` (:mod:`edgekit.quality_drop`) name ``fixes`` past the
    threshold (default: more epochs, another learning rate, a lower strength of the recipe's stages).
    """
    from edgekit.convert import load_keras_model
    from edgekit.keras_file import saved_compile_config
    from edgekit.fileio import atomic_path
    from edgekit.optimize.layers import SkippedLayersWarning

    if Path(output).suffix != ".keras":
        raise UsageError(f"-o {output}: the optimized model is saved as Keras 3; give a path ending in .keras")
    model = load_keras_model(model_path)
    calibration = model_inputs(model, calibration if calibration is not None else train)
    train = labelled(model, train)
    val = labelled(model, val) if val is not None else None
    progress(f"optimizing {model_path} on {len(train)} samples ...")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SkippedLayersWarning)
        result = optimize(model, recipe, train, val, calibration=calibration, budget=budget, progress=progress,
                          compile_config=saved_compile_config(model_path))
    for warning in caught:
        if issubclass(warning.category, SkippedLayersWarning):
            progress(f"warning: {warning.message}")
    with atomic_path(output) as tmp:
        result.model.save(tmp)
    drop = measure(result.summary["metrics_before"], result.summary["metrics_after"],
                   fixes if fixes is not None else stage_fixes(recipe), missing="no --val-data given")
    return {"model": str(model_path), "output": str(output), **result.summary, **drop_fields(drop)}


def stage_fixes(recipe: Recipe) -> tuple[str, ...]:
    """The likely fixes of a drop: train longer or at another rate, or a lower strength of the recipe's stages."""
    from edgekit.optimize.stages import get_stage

    flags = [flag for step in recipe.steps for flag in get_stage(step.stage).enabling_flags()[:1]]
    return compression_fixes(" / ".join(flags) or "compression")


def labelled(model, data):
    """``data`` (a SPEC or Dataset) loaded against the model's inputs, with one label array per output."""
    from edgekit.convert import input_signature, output_names
    from edgekit.data import Dataset, load_dataset

    if isinstance(data, Dataset):
        return data
    shapes, names = input_signature(model)
    return load_dataset(data, input_shapes=shapes, input_names=names, require_labels=True,
                        output_names=output_names(model))


def model_inputs(model, data, limit: int | None = None):
    """The inputs of ``data`` (a SPEC or Dataset), as many samples as the converter calibrates on."""
    from edgekit.convert import input_signature
    from edgekit.convert.file import DEFAULT_CALIBRATION_SAMPLES
    from edgekit.data import Dataset, load_dataset

    if isinstance(data, Dataset):
        return data.x
    shapes, names = input_signature(model)
    return load_dataset(data, input_shapes=shapes, input_names=names,
                        limit=limit or DEFAULT_CALIBRATION_SAMPLES).x
