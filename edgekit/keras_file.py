"""What a ``.keras`` file says about itself, read from its ``config.json`` (stdlib only).

``keras.models.load_model(compile=False)`` (how edgekit loads models) drops the compile
config, and a report should not need TensorFlow to name layers, so both read the zip
directly. Any layer of edgekit may use this: it imports only edgekit's text reader.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from edgekit.errors import ConfigError
from edgekit.textfile import parse_json


def saved_config(path: str | Path) -> dict | None:
    """The file's ``config.json``; None if it is not a readable ``.keras`` zip (loading reports why)."""
    path = Path(path)
    if path.suffix.lower() != ".keras" or not path.is_file():
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            data = archive.read("config.json")
    except Exception:  # noqa: BLE001 - a damaged zip raises many kinds (BadZipFile, zlib.error, EOFError, ...)
        return None
    try:
        config = parse_json(data, f"{path}:config.json")
    except ConfigError:
        return None
    return config if isinstance(config, dict) else None


def saved_compile_config(path: str | Path) -> dict | None:
    """The serialized ``compile()`` arguments the file was saved with; None if it has no loss."""
    config = (saved_config(path) or {}).get("compile_config") or {}
    return config if config.get("loss") is not None else None


def layer_names(path: str | Path) -> list[str]:
    """Every layer name in the file, nested models included; [] if it is not a readable ``.keras`` file."""
    names: list[str] = []
    _collect(saved_config(path) or {}, names)
    return names


def _collect(node: Any, names: list[str]) -> None:
    """The names of a model config's layers (entries of ``config.layers``), recursing into nested models."""
    config = node.get("config") if isinstance(node, dict) else None
    if not isinstance(config, dict):
        return
    if isinstance(config.get("name"), str):
        names.append(config["name"])
    for layer in config.get("layers") or ():
        _collect(layer, names)


# The optimizers whose learning rate the fine-tuning (Adam) can take over as it is: the Adam family.
_ADAM_FAMILY = ("adam", "adamw", "adamax", "nadam")


def saved_learning_rate(compile_config: dict | None) -> tuple[str, float] | None:
    """``(optimizer class, learning rate)`` of a compile config saved with an Adam-family optimizer
    and a constant learning rate; None otherwise (no optimizer, SGD's rates do not carry over to
    Adam, and a schedule's rate at the end of training is not in the file)."""
    optimizer = (compile_config or {}).get("optimizer")
    if isinstance(optimizer, str):
        return None  # a bare name ("adam"): the file keeps no learning rate
    name = str((optimizer or {}).get("class_name", ""))
    rate = ((optimizer or {}).get("config") or {}).get("learning_rate")
    if name.lower() not in _ADAM_FAMILY or isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate <= 0:
        return None
    return name, float(rate)
