"""The loss each output of a Keras model was compiled with, by name (see :mod:`edgekit.tasks`).

Keras 3 keeps what ``compile(loss=...)`` got: one loss for every output, a list in output
order or a dict by output name; each loss a name, a function or a ``keras.losses.Loss``.
A ``.keras`` file stores the same in its compile config, which ``load_model(compile=False)``
(as edgekit loads models) drops, so files are read directly. Neither needs Keras imported.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from edgekit.keras_file import saved_compile_config


def compiled_losses(model: Any) -> list[str | None] | None:
    """Loss names of a compiled in-memory Keras model, in output order; None if it is not compiled.

    An entry is None for an output a dict of losses leaves out (Keras does not train it).
    """
    if not getattr(model, "compiled", False) or getattr(model, "loss", None) is None:
        return None
    return _per_output(model.loss, output_names(model))


def output_names(model: Any) -> list[str]:
    """The names of a Keras model's outputs; a Sequential model's one output is its last layer."""
    names = getattr(model, "output_names", None)
    return list(names) if names else [model.layers[-1].name]


def saved_losses(path: str | Path, output_names: list[str]) -> list[str | None] | None:
    """:func:`compiled_losses` of a ``.keras`` file saved compiled; None for other files or none saved."""
    config = saved_compile_config(path)
    return None if config is None else _per_output(config["loss"], output_names)


def per_output(spec: Any, output_names: list[str]) -> list[Any]:
    """A compile setting (one for all outputs, a list in output order, a dict by name) as a list in output order."""
    if isinstance(spec, Mapping) and "class_name" not in spec:  # {output name: loss}
        return [spec.get(name) for name in output_names]
    if isinstance(spec, Sequence) and not isinstance(spec, str):
        return list(spec)
    return [spec] * len(output_names)


def _per_output(spec: Any, output_names: list[str]) -> list[str | None]:
    return [loss_name(loss) for loss in per_output(spec, output_names)]


def loss_name(loss: Any) -> str | None:
    """``"mse"``, a function's or Loss class's name; serialized: ``{"class_name": ..., "config": ...}``."""
    if loss is None or isinstance(loss, str):
        return loss
    if isinstance(loss, Mapping):
        return loss.get("config") if loss.get("class_name") == "function" else loss.get("class_name")
    if inspect.isfunction(loss):
        return loss.__name__
    name = type(loss).__name__  # MeanSquaredError, ...; a bare wrapper names its function
    return getattr(loss.fn, "__name__", name) if name == "LossFunctionWrapper" else name
