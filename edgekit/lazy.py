"""Package attributes imported on first use, so a package's light modules load without its heavy ones.

The compression packages export Keras-backed functions, yet their settings and stage
declarations must load without TensorFlow (``edgekit optimize --help``, edgekit.toml
checks). A package lists ``name -> module`` and gets a PEP 562 ``__getattr__``.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving ``exports[name]`` (a module path) on first access."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__
