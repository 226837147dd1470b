"""What every ``--op-profile`` test checks: the profile covers the model's operators, read independently."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from edgekit.inspect.reader import read_tflite

# The agent rounds each share to 3 decimals: a sum can miss 100 by that rounding, never by more.
SHARE_ROUNDING = 0.01


def model_op_types(model: str | Path) -> list[str]:
    """The main subgraph's operator types in run order, as edgekit's own flatbuffer reader sees them."""
    return [op.opcode for op in read_tflite(model).main.operators]


def assert_profiles_every_op(profile: dict, model: str | Path) -> None:
    """One row per operator in run order, shares summing to 100, a consistent summary by type."""
    types = model_op_types(model)
    ops = profile["ops"]
    assert [op["index"] for op in ops] == list(range(len(types)))
    assert [op["type"] for op in ops] == types
    assert all(op["ms"] > 0 and op["runs"] >= 1 for op in ops)
    assert abs(sum(op["share"] for op in ops) - 100) <= SHARE_ROUNDING
    assert abs(ops[-1]["cumulative"] - 100) <= SHARE_ROUNDING
    assert {t["type"]: t["count"] for t in profile["by_type"]} == Counter(types)
    assert abs(sum(t["share"] for t in profile["by_type"]) - 100) <= SHARE_ROUNDING
    assert abs(profile["sum_ms"] - sum(op["ms"] for op in ops)) <= 1e-4 * (len(ops) + 1)  # each rounded to 4 places
    assert profile["model_ms"] > 0 and profile["method"].startswith("each operator timed alone")
