"""Every text file edgekit reads (edgekit.toml, inventories, target profiles, ssh_config, a
``.keras`` file's config.json) is read here: bytes, then UTF-8 text, then TOML or JSON.

These are files people edit by hand, so any byte may be in them. Whatever they hold, reading
ends in text or in one :class:`~edgekit.errors.ConfigError` line naming the file and where in
it (line and column) the problem is, never in a UnicodeDecodeError or RecursionError traceback.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from edgekit.errors import ConfigError, first_line


def read_text(path: str | os.PathLike, what: str, hint: str = "") -> str:
    """The UTF-8 text of ``path`` (a leading BOM dropped); ``what`` names the file in the error
    (``"a target profile"``), ``hint`` says how to fix a file that cannot be read at all."""
    try:
        data = Path(path).read_bytes()
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = getattr(exc, "strerror", None) or first_line(exc)
        raise ConfigError(f"{path}: cannot read {what}: {reason}{'; ' + hint if hint else ''}") from None
    return decode(data, path)


def decode(data: bytes, name: str | os.PathLike) -> str:
    """``data`` as text; a byte that is not UTF-8, or a NUL, is a ConfigError naming its line and column."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = position(data, exc.start)
        raise ConfigError(f"{name}: not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line}, column {column}); "
                          "save it as UTF-8") from None
    if "\0" in text:
        line, column = position(text, text.index("\0"))
        raise ConfigError(f"{name}: a NUL byte at line {line}, column {column}: not a text file")
    return text


def position(content: str | bytes, offset: int) -> tuple[int, int]:
    """1-based (line, column) of ``offset`` in ``content``."""
    newline = "\n" if isinstance(content, str) else b"\n"
    return content.count(newline, 0, offset) + 1, offset - (content.rfind(newline, 0, offset) + 1) + 1


def parse_json(data: bytes, name: str | os.PathLike) -> Any:
    """``data`` (UTF-8 JSON) as Python values; bad text or JSON is a ConfigError naming ``name`` and the line."""
    text = decode(data, name)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name}:{exc.lineno}: not valid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise ConfigError(f"{name}: not valid JSON: arrays or objects nested too deeply") from None
    except ValueError as exc:  # a number beyond int()'s digit limit
        raise ConfigError(f"{name}: not valid JSON: a value Python cannot hold ({first_line(exc)[:60]})") from None
