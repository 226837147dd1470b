"""The optional parts of edgekit (pip extras), and the one line that says how to get one.

The base install inspects, evaluates and benchmarks ``.tflite`` files and deploys them;
what trains or converts Keras models needs ``edgekit[tf]``. Commands check up front, so a
base install says what to install instead of failing deep inside with "No module named ...".
"""

from __future__ import annotations

from importlib.util import find_spec

from edgekit.errors import MissingExtraError

TF_MODULES = ("tensorflow", "keras")


def require_tensorflow(what: str) -> None:
    """MissingExtraError naming ``what`` (e.g. "edgekit convert") unless TensorFlow and Keras import."""
    missing = [name for name in TF_MODULES if find_spec(name) is None]
    if missing:
        raise MissingExtraError(f"{what} needs TensorFlow, which this install lacks (no module {', '.join(missing)}): "
                                f"pip install 'edgekit[tf]'")
