"""Keras layer names for TFLite tensors, so a report says ``fc1`` where the file says ``digits_cnn_1/fc1_1/MatMul``.

The converter names a kernel after the ops that traced it: ``<model>/<layer>_<n>/<op>``
(Keras 3 appends ``_<n>`` to name scopes). :func:`layer_names` reads the layer names of a
``.keras`` file from its ``config.json`` (stdlib only: no TensorFlow for a report), and
:func:`layer_of` finds the one a tensor name belongs to.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any, Iterable

_SCOPE_SUFFIX = re.compile(r"_\d+$")


def layer_names(keras_path: str | Path) -> list[str]:
    """Every layer name in a ``.keras`` file, nested models included; [] if it is not a readable .keras zip."""
    try:
        with zipfile.ZipFile(keras_path) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return []
    names: list[str] = []
    _collect(config, names)
    return names


def layer_of(tensor_name: str, names: Iterable[str]) -> str | None:
    """The innermost Keras layer named in ``tensor_name``'s scopes, or None when none matches."""
    known = set(names)
    found = None
    for part in tensor_name.split(";")[0].split("/"):
        for candidate in (part, _SCOPE_SUFFIX.sub("", part)):
            if candidate in known:
                found = candidate
                break
    return found


def _collect(node: Any, names: list[str]) -> None:
    """The names of a model config's layers (entries of ``config.layers``), recursing into nested models."""
    config = node.get("config") if isinstance(node, dict) else None
    if not isinstance(config, dict):
        return
    if isinstance(config.get("name"), str):
        names.append(config["name"])
    for layer in config.get("layers") or ():
        _collect(layer, names)
