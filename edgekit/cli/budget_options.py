"""``--max-drop`` / ``--max-epochs``: the accuracy budget of the commands that fine-tune (optimize, distill)."""

from __future__ import annotations

from typing import Callable

import click


def budget_options(command: Callable) -> Callable:
    """Add ``--max-drop P`` and ``--max-epochs N`` to a click command."""
    command = click.option("--max-epochs", type=int, default=None, metavar="N",
                           help="With --max-drop: fine-tune a stage for at most N epochs while it is over budget "
                                "(default: 3x --epochs).")(command)
    return click.option("--max-drop", type=float, default=None, metavar="P",
                        help="Accuracy budget: every stage ends within P points of the model's accuracy (regression: "
                             "P% more MAE) on --val-data (else on a held-out 20% of --train-data), training longer "
                             "or backing the stage's strength off if it must; exit 22 if no setting meets it.")(command)


def budget(max_drop: float | None, max_epochs: int | None):
    """The engine's :class:`~edgekit.optimize.budget.Budget`, or None without --max-drop."""
    from edgekit.optimize.budget import make_budget

    return make_budget(max_drop, max_epochs)


def attempt_lines(summary: dict) -> list[str]:
    """One line per setting the budget tried: ``attempt prune sparsity 0.8: 12 epoch(s), drop 1.39: over``."""
    if "attempts" not in summary:
        return []
    from edgekit.optimize.budget import describe

    lines = [f"budget: max drop {summary['max_drop']:g} on {summary['validation']}"]
    for a in summary["attempts"]:
        lines.append(f"attempt {a['stage']} {describe(a['setting'])}: {a['epochs']} epoch(s), drop {a['drop']:.2f}: "
                     f"{'met' if a['met'] else 'over'}")
    return lines
