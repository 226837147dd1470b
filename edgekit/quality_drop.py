"""What changing a model cost: its headline metric before and after, and one warning past a threshold.

Every command that changes a model (optimize, distill, convert, build, tune) ends with
:meth:`Drop.line`, and its ``--json`` carries :func:`drop_fields`: a compression that
collapses accuracy (a briefly trained CNN pruned and clustered to 37%) must never end
in silence with exit 0. Past :data:`WARN_POINTS` one warning names the likely fixes.
Without labelled data the line says so instead of showing a figure. Stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from edgekit.tasks import headline

WARN_POINTS = 5.0   # accuracy points lost (or % more regression error) past which a command warns



@dataclass(frozen=True)
class Drop:
    """The headline metric (:func:`edgekit.tasks.headline`) before and after a change; ``metric`` None: not
    measured, ``missing`` says why."""

    metric: str | None
    before: float | None = None
    after: float | None = None
    fixes: tuple[str, ...] = ()
    missing: str = "no labelled validation data given"
    on: str = ""            # the data it was measured on, when the command's output does not say it
    output: str = ""        # of a model with several outputs: the one that lost the most

    @property
    def regression(self) -> bool:
        return self.metric == "mae"

    @property
    def points(self) -> float | None:
        """How much worse the model got: accuracy points lost; for a regression, the error's increase in
        percent of the error before."""
        if self.metric is None:
            return None
        if self.regression:
            return 100 * (self.after - self.before) / max(self.before, 1e-12)
        return 100 * (self.before - self.after)

    @property
    def unit(self) -> str:
        return "%" if self.regression else " pt"

    def line(self) -> str:
        """``accuracy 97.50% → 95.60% (−1.90 pt)``; ``mae 0.1200 → 0.1500 (+25.00%)``; or why not measured."""
        if self.metric is None:
            return f"accuracy not measured: {self.missing}"
        on = f" on {self.on}" if self.on else ""
        if self.regression:
            return f"{self._named} {self.before:.4f} → {self.after:.4f} ({_signed(self.points)}{self.unit}){on}"
        return (f"{self._named} {100 * self.before:.2f}% → {100 * self.after:.2f}% "
                f"({_signed(-self.points)}{self.unit}){on}")

    def warning(self) -> str | None:
        """One line past :data:`WARN_POINTS`: how much was lost and the likely fixes; else None."""
        if self.points is None or self.points <= WARN_POINTS:
            return None
        lost = "grew" if self.regression else "dropped"
        return (f"{self._named} {lost} {self.points:.2f}{self.unit} (more than {WARN_POINTS:g}{self.unit}); "
                "likely fixes: " + ", ".join(self.fixes))

    @property
    def _named(self) -> str:
        return f"{self.output} {self.metric}" if self.output else self.metric

    def to_dict(self) -> dict:
        points = self.points
        return {"metric": self.metric, "output": self.output or None, "before": self.before, "after": self.after,
                "points": None if points is None else round(points, 4),
                "unit": None if points is None else self.unit.strip(), "line": self.line()}


def measure(before: dict | None, after: dict | None, fixes: Sequence[str], *, missing: str | None = None,
            on: str = "") -> Drop:
    """The drop between two evaluations' metrics (``EvalResult.metrics`` format); not measured if either is None.

    Of a model with several outputs, the output that lost the most, named: a head that collapses
    must warn even when the first head held (the accuracy budget judges the worst output too).
    """
    if before is None or after is None:
        return Drop(None, fixes=tuple(fixes), **({"missing": missing} if missing else {}))
    if "outputs" not in before:
        return Drop(*headline(before), headline(after)[1], tuple(fixes), on=on)
    drops = [Drop(*headline(before["outputs"][name]), headline(after["outputs"][name])[1], tuple(fixes), on=on,
                  output=name) for name in before["outputs"]]
    return max(drops, key=lambda drop: drop.points)  # the first of equals: the first output


def compression_fixes(strength: str, *, epochs: str = "--epochs", learning_rate: str = "--learning-rate",
                      max_drop: str = "--max-drop POINTS") -> tuple[str, ...]:
    """The likely fixes of a drop that fine-tuned compression caused, in the caller's words (flags, or
    edgekit.toml keys): train longer, at another rate, compress less, or stop at a given drop."""
    return (f"more {epochs}", f"another {learning_rate}", f"a lower {strength}", max_drop)


def drop_fields(drop: Drop) -> dict:
    """What ``--json`` (and the build manifest) carries: ``{"drop": {...}, "warning": str | None}``."""
    return {"drop": drop.to_dict(), "warning": drop.warning()}


def _signed(value: float) -> str:
    """``+1.90`` / ``−1.90`` (a minus sign, as people write a change)."""
    return f"{round(value, 2) + 0.0:+.2f}".replace("-", "−")   # + 0.0: no "−0.00"
