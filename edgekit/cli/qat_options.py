"""``edgekit optimize`` options for QAT and filter pruning (``--qat``, ``--prune-filters``).

Kept apart from ``cli/optimize.py``: that command adds ``@qat_filter_options`` and puts
:func:`stage_configs`'s result into ``OptimizeConfig(filters=..., qat=...)``.
"""

from __future__ import annotations

from typing import Callable

import click

from edgekit.errors import UsageError

CRITERIA = ("l1", "l2", "bn")   # literal copy of filters.ranking.CRITERIA: keeps --help free of Keras


def qat_filter_options(command: Callable) -> Callable:
    """Add ``--qat``, ``--prune-filters``, ``--prune-filters-layer`` and ``--filter-criterion``."""
    options = [
        click.option("--prune-filters", "prune_filters", type=float, default=None, metavar="RATIO",
                     help="Remove this fraction of every Conv's filters and Dense's units (0 <= RATIO < 1) "
                          "and rebuild a smaller model; the classifier outputs are never pruned."),
        click.option("--prune-filters-layer", "prune_filters_layer", multiple=True, metavar="NAME=RATIO",
                     help="Per-layer override of --prune-filters (repeatable)."),
        click.option("--filter-criterion", type=click.Choice(CRITERIA), default="l1", show_default=True,
                     help="Rank filters by L1 or L2 norm, or by the following BatchNorm's |gamma|."),
        click.option("--qat", is_flag=True, help="Finish with quantization-aware training for full-int8 "
                                                 "(convert the result with --quantize int8)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def stage_configs(prune_filters: float | None, prune_filters_layer: tuple[str, ...], filter_criterion: str,
                  qat: bool) -> tuple[object | None, object | None]:
    """``(FilterPruneConfig | None, QATConfig | None)`` from the options (UsageError on bad values)."""
    from edgekit.optimize.filters import FilterPruneConfig
    from edgekit.optimize.qat import QATConfig

    overrides = dict(_parse_override(item) for item in prune_filters_layer)
    if overrides and prune_filters is None:
        prune_filters = 0.0  # only the named layers are pruned
    filters = (FilterPruneConfig(prune_filters, overrides, filter_criterion)
               if prune_filters is not None else None)
    return filters, (QATConfig() if qat else None)


def _parse_override(item: str) -> tuple[str, float]:
    name, sep, value = item.rpartition("=")
    try:
        if not sep or not name:
            raise ValueError
        return name, float(value)
    except ValueError:
        raise UsageError(f"--prune-filters-layer {item!r}: expected NAME=RATIO, e.g. conv2=0.5") from None
