"""The chosen trial as an edgekit.toml that ``edgekit build`` turns into the same .tflite, byte for byte.

The file is the study's base config with the trial's ``[[optimize]]`` steps and
``[convert]`` fields, the user's ``[devices.*]`` tables kept, and no ``[tune]`` table. Its
paths (model source, data, calibration, a stage's or [convert]'s files) are written relative
to the folder the file is written to, as a config a user commits beside their data is: the
study folder can be committed and built in CI from any checkout or working directory. Only
files inside the project (the folder of the study's own config, where the file is written
too) are moved with it: a path outside it (``/data/digits.npz``, a dataset in another
checkout) stays absolute, since a relative path to it would break when the project moves. A build is
reproducible (seeded training, deterministic ops, the same stage inputs), so building this
file again gives the chosen model's bytes; the tests check the sha256.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from edgekit.optimize.stages import get_stage
from edgekit.pipeline.config import BuildConfig

SECTIONS = ("model", "train", "data", "finetune", "convert", "target", "budgets", "export")


def build_toml(config: BuildConfig, steps: list[dict[str, Any]], convert: dict[str, Any], header: str,
               folder: Path | None = None, project: Path | None = None) -> str:
    """The text of the edgekit.toml for ``config`` with the recipe ``steps``/``convert``, to be written in
    ``folder`` (default: beside ``config``'s own file); paths inside ``project`` (default: ``config``'s
    folder) are written relative to ``folder``."""
    folder = Path(folder if folder is not None else config.root)
    project = Path(project if project is not None else config.root)
    place = lambda spec: relative_path(config.resolve(spec), folder, project)  # noqa: E731
    tables = config.to_dict()
    data = tables["data"]
    for key in ("train", "val", "calibration"):
        if data.get(key):
            data[key] = place(data[key])
    if not config.is_builtin:
        tables["model"]["source"] = place(config.model.source)
    tables["convert"].update(convert)
    if tables["convert"].get("recipe"):
        tables["convert"]["recipe"] = place(tables["convert"]["recipe"])
    steps = [{k: place(v) if k in get_stage(step["step"]).paths and v is not None else v for k, v in step.items()}
             for step in steps]
    lines = [f"# {line}" for line in header.splitlines()]
    for name in SECTIONS:
        lines += ["", f"[{name}]", *_pairs(tables[name])]
    for step in steps:
        lines += ["", "[[optimize]]", *_pairs(step)]
    for device in config.devices:  # [target] device may name one
        lines += ["", f"[devices.{_key(device.name)}]", *_pairs(device.to_table())]
    return "\n".join(lines) + "\n"


def relative_path(path: str | Path, folder: Path, project: str | Path) -> str:
    """``path`` relative to ``folder`` (POSIX separators) when both lie inside ``project``, else absolute."""
    target, base, root = (os.path.abspath(p) for p in (path, folder, project))
    if not all(os.path.commonpath([p, root]) == root for p in (target, base)):
        return target
    return Path(os.path.relpath(target, base)).as_posix()


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


__all__ = ["build_toml", "relative_path"]
