"""Loading the user's own Keras classes so models that use them can be loaded.

A model saved with custom layers, losses or models names those classes in its config;
``keras.saving.load_model`` can only rebuild them if they are importable *and* known to
Keras. :func:`load_user_code` imports what the user names (``--custom-objects FILE.py``,
``--import MODULE``) and registers every Keras class it defines as a custom object.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType
from typing import Sequence

from edgekit.errors import UserCodeError, first_line


def load_user_code(specs: Sequence[str]) -> dict[str, type]:
    """Import each spec (a ``.py`` path or a dotted module name) and register its Keras classes.

    Every Layer, Model, Loss, Metric, Optimizer, Initializer, Regularizer, Constraint and
    LearningRateSchedule subclass a module defines becomes a custom object under its class
    name (and its registered ``package>Name``, if it used ``register_keras_serializable``).
    Returns what was registered.
    """
    import keras

    found: dict[str, type] = {}
    for spec in specs:
        found.update(_keras_classes(_import(spec)))
    keras.saving.get_custom_objects().update(found)
    return found


def _import(spec: str) -> ModuleType:
    path = Path(spec)
    is_file = path.suffix == ".py" or len(path.parts) > 1  # else a dotted module name
    try:
        return _import_file(path) if is_file else importlib.import_module(spec)
    except UserCodeError:
        raise
    except (Exception, SystemExit) as exc:  # the user's module may raise anything, even SystemExit
        where = f"--custom-objects {spec}" if is_file else f"--import {spec}"
        raise UserCodeError(f"{where}: cannot import it ({type(exc).__name__}: {first_line(exc)})") from None


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise UserCodeError(f"--custom-objects {path}: no such file; give the .py file that defines the classes")
    folder = str(path.resolve().parent)
    name = f"edgekit_user_code_{path.stem}_{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UserCodeError(f"--custom-objects {path}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    sys.path.insert(0, folder)  # so the file can import its siblings
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    finally:
        sys.path.remove(folder)
    return module


def _keras_classes(module: ModuleType) -> dict[str, type]:
    """The Keras-serializable classes ``module`` defines (not the ones it merely imports)."""
    import keras

    bases = (keras.layers.Layer, keras.losses.Loss, keras.metrics.Metric, keras.optimizers.Optimizer,
             keras.initializers.Initializer, keras.regularizers.Regularizer, keras.constraints.Constraint,
             keras.optimizers.schedules.LearningRateSchedule)
    found = {}
    for name, value in vars(module).items():
        if inspect.isclass(value) and issubclass(value, bases) and value.__module__ == module.__name__:
            found[name] = value
            registered = keras.saving.get_registered_name(value)
            if registered != value.__name__:
                found[registered] = value
    return found
