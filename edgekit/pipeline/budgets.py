"""Budgets: the limits a built model must meet, each with its own exit code for CI.

A CI job can tell from the exit code alone which limit broke; the line printed for each
violated budget reads like ``budget max_size_kb: 71.3 > 64``. When several are violated
the build exits with the code of the first in the table below and prints them all.

Quality budgets follow the task of each model output (:mod:`edgekit.tasks`):
``min_accuracy`` and ``max_accuracy_drop`` apply to classification outputs (top-1
accuracy) and multi-label outputs (binary accuracy), ``max_mae`` and ``max_mse`` to
regression outputs. With several outputs a budget applies to every output of its kind
and the worst one counts (:func:`quality_measurements`). A budget set for a model with
no output of its kind is not measured (exit code 17).

Latency budgets read the median: ``max_latency_ms`` is the p50 of the timed runs (single
outliers move a mean on small models above even the p90), ``max_p90_ms`` its 90th
percentile. Latency and memory measured on another machine than the target's (a Coral
build benchmarked on ``local``) are *off-target*: reported, never "ok", never failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from edgekit.errors import EdgekitError

# name -> (exit code, unit, comparison): "max" fails when value > limit, "min" when value < limit.
BUDGETS: dict[str, tuple[int, str, str]] = {
    "max_size_kb": (10, "KB", "max"),
    "max_gzip_kb": (11, "KB", "max"),
    "min_accuracy": (12, "", "min"),
    "max_accuracy_drop": (13, "", "max"),
    "max_mae": (18, "", "max"),
    "max_mse": (19, "", "max"),
    "max_latency_ms": (14, "ms", "max"),
    "max_p90_ms": (20, "ms", "max"),
    "max_peak_memory_mb": (15, "MB", "max"),
    "max_arena_kb": (16, "KB", "max"),
}
# Budgets whose measurements vary from run to run: reported in the manifest's timing section.
TIMING_BUDGETS = ("max_latency_ms", "max_p90_ms", "max_peak_memory_mb")
NOT_MEASURED_CODE = 17


@dataclass(frozen=True)
class Verdict:
    """One budget checked against one measurement."""

    name: str
    limit: float
    value: float | None   # None: could not be measured
    note: str = ""
    off_target: bool = False   # measured elsewhere than on the target: shown, not judged

    @property
    def code(self) -> int:
        return BUDGETS[self.name][0] if self.value is not None else NOT_MEASURED_CODE

    @property
    def ok(self) -> bool:
        if self.value is None:
            return False
        kind = BUDGETS[self.name][2]
        return self.value <= self.limit if kind == "max" else self.value >= self.limit

    @property
    def fails(self) -> bool:
        """Whether this verdict fails the build (an off-target measurement never does)."""
        return not self.ok and not self.off_target

    def line(self) -> str:
        """``budget max_size_kb: 71.3 > 64`` (violated), ``... <= 64 ok``, or ``... <= 5 off-target (...)``."""
        if self.value is None:
            return f"budget {self.name}: not measured ({self.note})"
        kind = BUDGETS[self.name][2]
        sign = (">" if kind == "max" else "<") if not self.ok else ("<=" if kind == "max" else ">=")
        text = f"budget {self.name}: {_fmt(self.value)} {sign} {_fmt(self.limit)}"
        verdict = " off-target, not checked" if self.off_target else "" if not self.ok else " ok"
        return text + verdict + (f" ({self.note})" if self.note else "")

    def to_dict(self) -> dict:
        return {"budget": self.name, "limit": self.limit, "value": self.value, "ok": self.ok,
                "off_target": self.off_target, "exit_code": self.code, "note": self.note}


class BudgetExceeded(EdgekitError):
    """One or more budgets are violated; the exit code is the first violated budget's."""

    def __init__(self, verdicts: list[Verdict]):
        self.verdicts = [v for v in verdicts if v.fails]
        self.exit_code = self.verdicts[0].code
        super().__init__("; ".join(v.line() for v in self.verdicts))


def check_budgets(limits: dict[str, float | None], measured: dict[str, float | None],
                  notes: dict[str, str] | None = None, off_target: Sequence[str] = ()) -> list[Verdict]:
    """A verdict for every budget that has a limit, in the order of :data:`BUDGETS`.

    ``off_target``: the budgets whose measurement was not taken on the target's device.
    """
    notes = notes or {}
    return [Verdict(name, float(limits[name]), measured.get(name), notes.get(name, ""), name in off_target)
            for name in BUDGETS if limits.get(name) is not None]


def passed(verdicts: list[Verdict]) -> bool:
    """Whether a build with these verdicts passes (off-target ones do not count)."""
    return not any(v.fails for v in verdicts)


def quality_measurements(metrics: dict, baseline: dict | None = None
                         ) -> tuple[dict[str, float | None], dict[str, str]]:
    """The quality budgets' values from ``EvalResult.metrics``: the worst output of each kind.

    ``baseline`` (the metrics of the reference model, e.g. the float one; same outputs in
    the same order) gives ``max_accuracy_drop``, output by output. Returns (measured,
    notes); a budget with no output of its kind is None, with a note saying why.
    """
    heads = _heads(metrics)
    scored = [i for i, head in enumerate(heads) if head["task"] != "regression"]
    errors = [head for head in heads if head["task"] == "regression"]
    drops = ([_accuracy(_heads(baseline)[i]) - _accuracy(heads[i]) for i in scored]
             if baseline is not None else [])
    measured = {"min_accuracy": min((_accuracy(heads[i]) for i in scored), default=None),
                "max_accuracy_drop": max(drops, default=None),
                "max_mae": max((head["mae"] for head in errors), default=None),
                "max_mse": max((head["mse"] for head in errors), default=None)}
    notes = {name: "the model has no classification or multi-label output"
             for name in ("min_accuracy", "max_accuracy_drop") if not scored}
    notes.update({name: "the model has no regression output" for name in ("max_mae", "max_mse") if not errors})
    return measured, notes


def _heads(metrics: dict) -> list[dict]:
    """The per-output metrics in output order (one output: the metrics themselves)."""
    return list(metrics["outputs"].values()) if "outputs" in metrics else [metrics]


def _accuracy(head: dict) -> float:
    """Top-1 accuracy of a classifier, binary accuracy of a multi-label output."""
    return head["accuracy"] if head["task"] == "classification" else head["binary_accuracy"]


def enforce(verdicts: list[Verdict]) -> None:
    """Raise :class:`BudgetExceeded` if any verdict failed."""
    if not passed(verdicts):
        raise BudgetExceeded(verdicts)


def _fmt(value: float) -> str:
    return f"{value:.4g}" if abs(value) < 1 else f"{value:.1f}".rstrip("0").rstrip(".")
