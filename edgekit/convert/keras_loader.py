"""Loading the Keras models users bring: ``.keras`` (Keras 3), legacy ``.h5``, SavedModel dirs."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from edgekit.errors import ModelFormatError, first_line
from edgekit.fileio import existing_path
from edgekit.quiet import quiet_output

if TYPE_CHECKING:
    import keras

_KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
# How Keras (.keras / legacy .h5) reports a class of the user's code it cannot find.
_UNKNOWN_CLASS = re.compile(r"Could not locate (?:class|function) '([^']+)'|Unknown [a-z ]+: '([^']+)'")


def load_keras_model(path: str | Path, user_code: Sequence[str] = ()) -> "keras.Model":
    """The model at ``path``; ModelFormatError naming the file if it is not one.

    ``user_code``: ``.py`` files or module names defining the model's custom classes
    (:func:`edgekit.convert.user_code.load_user_code`; the CLI's ``--custom-objects`` /
    ``--import`` register them before the command runs). A SavedModel directory (Keras 3
    cannot load those) is wrapped in a ``TFSMLayer`` so that it converts, evaluates and
    calibrates like any other Keras model.
    """
    if user_code:
        from edgekit.convert.user_code import load_user_code

        load_user_code(user_code)
    path = existing_path(path)
    if path.is_dir():
        return _load_saved_model(path)
    if path.suffix.lower() not in _KERAS_SUFFIXES:
        raise ModelFormatError(f"{path}: not a Keras model; give a .keras file, a legacy .h5 file "
                               "or a SavedModel directory")
    _check_container(path)
    try:
        with quiet_output():  # also hides TensorFlow's start-up log lines
            import keras

            return keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises ValueError, OSError, zipfile errors, ... for bad files
        unknown = _UNKNOWN_CLASS.search(str(exc))
        if unknown:
            raise ModelFormatError(f"{path}: the model uses '{unknown.group(1) or unknown.group(2)}', which is not "
                                   "defined here; define/import the class with --custom-objects FILE.py or "
                                   "--import MODULE") from None
        raise ModelFormatError(f"{path}: cannot load as a Keras model ({first_line(exc)}); "
                               "give a model saved with model.save()") from None


def _check_container(path: Path) -> None:
    """A .keras file is a zip archive: say so before Keras reports a text file as "File not found"."""
    if path.suffix.lower() == ".keras" and not zipfile.is_zipfile(path):
        raise ModelFormatError(f"{path}: not a Keras model (a .keras file is a zip archive, this one is not); "
                               "give a model saved with model.save()")


def input_signature(model: "keras.Model") -> tuple[list[tuple], list[str]]:
    """Per-sample input shapes (``None`` for free dims) and input names of ``model``."""
    shapes = [tuple(t.shape[1:]) for t in model.inputs]
    names = [t.name.split(":")[0] for t in model.inputs]
    return shapes, names


def output_names(model: "keras.Model") -> list[str]:
    """The names of ``model``'s outputs, in order: the keys a compiled loss dict and ``y_<name>`` labels use."""
    names = getattr(model, "output_names", None)  # Functional; a Sequential has one output, its last layer's
    return list(names) if names else [t._keras_history.operation.name for t in model.outputs]


def _load_saved_model(path: Path) -> "keras.Model":
    if not (path / "saved_model.pb").is_file():
        raise ModelFormatError(f"{path}: a directory without saved_model.pb is not a SavedModel; "
                               "give a .keras file, a legacy .h5 file or a SavedModel directory")
    try:
        with quiet_output():
            import keras
            import tensorflow as tf

            loaded = tf.saved_model.load(str(path))
            specs = loaded.signatures["serving_default"].structured_input_signature[1]
            endpoint = "serve" if hasattr(loaded, "serve") else "serving_default"
            inputs = {name: keras.Input(shape=spec.shape[1:], dtype=spec.dtype.name, name=name)
                      for name, spec in sorted(specs.items())}
            layer = keras.layers.TFSMLayer(str(path), call_endpoint=endpoint)
            outputs = layer(next(iter(inputs.values())) if len(inputs) == 1 else inputs)
    except (KeyError, ValueError, OSError) as exc:
        raise ModelFormatError(f"{path}: cannot load the SavedModel's serving signature ({first_line(exc)})") from None
    if isinstance(outputs, dict):
        outputs = [outputs[key] for key in sorted(outputs)]
    return keras.Model(list(inputs.values()), outputs, name=path.name)

