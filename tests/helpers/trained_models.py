"""Models the tests train, trained once per machine and kept on disk under a hash of what makes their weights.

Every fixture that trains asks :func:`trained` for its model: the first caller trains and saves it, every
later caller (another test, another pytest-xdist worker, the next test run) loads the file. A file lock
makes parallel workers train a model once. The key covers the builder's module source and
``edgekit/models.py`` (the reference models and how edgekit compiles them), the training data's bytes,
the epochs, batch size, sample count and seed, and the TensorFlow/Keras versions: change any of them and
the model is trained anew. ``EDGEKIT_TEST_CACHE=DIR`` moves the cache from ``~/.cache/edgekit-tests``;
deleting it is always safe.
"""

from __future__ import annotations

import fcntl
import hashlib
import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import edgekit.models

if TYPE_CHECKING:
    import keras

# Read at import: the ssh tests point HOME at a temp dir while they run.
CACHE = Path(os.environ.get("EDGEKIT_TEST_CACHE") or Path.home() / ".cache" / "edgekit-tests")


def trained(build: Callable[[], "keras.Model"], data: Path, *, epochs: int, batch_size: int = 32,
            samples: int | None = None, seed: int = 0) -> Path:
    """The ``.keras`` file of ``build()`` (a compiled model) fit on ``data`` (an .npz of ``x``, ``y``)."""
    path = CACHE / f"{build.__name__}-{_key(build, data, epochs, batch_size, samples, seed)}.keras"
    if path.is_file():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be training it right now
        if not path.is_file():
            _train(build, data, epochs, batch_size, samples, seed, path)
    return path


def digits_classifier() -> "keras.Model":
    """edgekit's reference digits CNN, compiled the way edgekit trains classifiers."""
    return edgekit.models.compile_classifier(edgekit.models.digits_cnn())


def _train(build, data: Path, epochs: int, batch_size: int, samples: int | None, seed: int, path: Path) -> None:
    import keras

    keras.utils.set_random_seed(seed)
    arrays = np.load(data)
    model = build()
    model.fit(arrays["x"][:samples], arrays["y"][:samples], epochs=epochs, batch_size=batch_size, verbose=0)
    partial = path.with_name(f".{path.name}.{os.getpid()}.keras")  # a killed run leaves no half-written model
    model.save(partial)
    os.replace(partial, path)


def _key(build, data: Path, *settings: object) -> str:
    import keras
    import tensorflow as tf

    digest = hashlib.sha256()
    for part in (Path(inspect.getsourcefile(build)).read_bytes(), Path(edgekit.models.__file__).read_bytes(),
                 build.__qualname__.encode(), Path(data).read_bytes(), repr(settings).encode(),
                 tf.__version__.encode(), keras.__version__.encode()):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()[:16]
