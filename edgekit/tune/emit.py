"""The chosen trial as an edgekit.toml that ``edgekit build`` turns into the same .tflite, byte for byte.

The file is the study's base config with the trial's ``[[optimize]]`` steps and
``[convert]`` fields, data and model paths made absolute (the file lives in OUT, not next
to the user's), the user's ``[devices.*]`` tables kept, and no ``[tune]`` table. A build is
reproducible (seeded training, deterministic ops, the same stage inputs), so building this
file again gives the chosen model's bytes; the tests check the sha256.
"""

from __future__ import annotations

import json
import math
from typing import Any

from edgekit.pipeline.config import BuildConfig

SECTIONS = ("model", "train", "data", "finetune", "convert", "target", "budgets", "export")


def build_toml(config: BuildConfig, steps: list[dict[str, Any]], convert: dict[str, Any], header: str) -> str:
    """The text of the edgekit.toml for ``config`` with the recipe ``steps``/``convert``."""
    tables = config.to_dict()
    data = tables["data"]
    for key in ("train", "val", "calibration"):
        if data.get(key):
            data[key] = config.resolve(data[key])
    if not config.is_builtin:
        tables["model"]["source"] = config.resolve(config.model.source)
    tables["convert"].update(convert)
    lines = [f"# {line}" for line in header.splitlines()]
    for name in SECTIONS:
        lines += ["", f"[{name}]", *_pairs(tables[name])]
    for step in steps:
        lines += ["", "[[optimize]]", *_pairs(step)]
    for device in config.devices:  # [target] device may name one
        lines += ["", f"[devices.{_key(device.name)}]", *_pairs(device.to_table())]
    return "\n".join(lines) + "\n"


def _pairs(table: dict[str, Any]) -> list[str]:
    return [f"{_key(key)} = {_value(value)}" for key, value in table.items() if value is not None]


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


__all__ = ["build_toml"]
