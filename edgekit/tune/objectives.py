"""What a trial is judged by: the objective values and the budgets as Optuna constraints.

Objectives: accuracy (maximised), size in KB (the .tflite's or its gzip's, minimised) and,
when asked for, p50 latency in ms (minimised). Budgets are the build's own (``[budgets]``,
same names, same verdicts); each becomes one constraint value, relative to its limit,
which is <= 0 when met -- Optuna's convention for ``constraints_func``. A budget measured
off-target (latency on ``local`` for another device) is not judged, like in a build.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edgekit.pipeline.budgets import BUDGETS


@dataclass(frozen=True)
class Objectives:
    size: str = "gzip"        # "gzip" | "raw"
    latency: bool = False

    @property
    def names(self) -> list[str]:
        return ["accuracy", f"{self.size}_kb"] + (["p50_ms"] if self.latency else [])

    @property
    def directions(self) -> list[str]:
        return ["maximize", "minimize"] + (["minimize"] if self.latency else [])

    def values(self, result: dict[str, Any]) -> list[float]:
        """The objective values of a finished trial (ValueError when one was not measured)."""
        size = result["gzip_bytes"] if self.size == "gzip" else result["size_bytes"]
        values = [result["accuracy"], size / 1024] + ([result["p50_ms"]] if self.latency else [])
        if any(v is None for v in values):
            missing = [n for n, v in zip(self.names, values) if v is None]
            raise ValueError(f"not measured: {', '.join(missing)}")
        return [float(v) for v in values]

    def size_kb(self, result: dict[str, Any]) -> float:
        return (result["gzip_bytes"] if self.size == "gzip" else result["size_bytes"]) / 1024


def constraints(verdicts: list[dict[str, Any]]) -> list[float]:
    """One value per budget verdict: <= 0 met (or not judged), > 0 by how much it is missed (relative)."""
    values = []
    for verdict in verdicts:
        if verdict["off_target"]:
            values.append(0.0)
        elif verdict["value"] is None:
            values.append(1.0)
        else:
            kind = BUDGETS[verdict["name"]][2]
            gap = verdict["value"] - verdict["limit"] if kind == "max" else verdict["limit"] - verdict["value"]
            values.append(gap / max(abs(verdict["limit"]), 1e-9))
    return values


def feasible(values: list[float]) -> bool:
    return all(v <= 0 for v in values)


def pareto(points: list[tuple[int, list[float]]], directions: list[str]) -> list[int]:
    """The keys of the non-dominated points (values oriented by ``directions``)."""
    sign = [1.0 if d == "minimize" else -1.0 for d in directions]
    oriented = [(key, [s * v for s, v in zip(sign, values)]) for key, values in points]

    def dominates(a: list[float], b: list[float]) -> bool:
        return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))

    return [key for key, values in oriented if not any(dominates(other, values) for _, other in oriented)]


__all__ = ["Objectives", "constraints", "feasible", "pareto"]
