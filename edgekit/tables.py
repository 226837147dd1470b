"""Aligned plain-text tables for the human-readable reports of edgekit's commands."""

from __future__ import annotations

from collections.abc import Sequence


def format_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], *, align: str | None = None, indent: int = 2
) -> str:
    """Columns padded to their widest cell; numbers right-aligned, text left-aligned.

    ``align`` ("l"/"r" per column, e.g. ``"llrr"``) overrides the guess, for columns of
    pre-formatted numbers such as ``"12.5%"``. ``None`` cells print as ``-``. Returns
    the lines joined by newlines, without a trailing newline.
    """
    cells = [[_cell(value) for value in row] for row in rows]
    if align is not None:
        numeric = [a == "r" for a in align]
    else:
        numeric = [bool(rows) and all(_is_number(row[i]) for row in rows if row[i] is not None)
                   for i in range(len(headers))]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        padded = [v.rjust(w) if right else v.ljust(w) for v, w, right in zip(values, widths, numeric)]
        return (" " * indent + "  ".join(padded)).rstrip()

    return "\n".join([line(list(headers))] + [line(row) for row in cells])


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
