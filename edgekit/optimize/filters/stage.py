"""The filters stage: remove whole filters/units and rebuild a genuinely smaller model, fine-tuned."""

from __future__ import annotations

from edgekit.optimize.filters.config import FILTER_CRITERIA, FilterPruneConfig
from edgekit.optimize.stages import Backoff, Option, Param, Stage, per_layer


def apply(model, config: FilterPruneConfig, trainer):
    from edgekit.optimize.filters import prune_filters

    trainer.progress(f"filters: removing {config.ratio:.0%} of the filters/units of each layer "
                     f"(ranked by {config.criterion}" + (f", {len(config.layer_ratios)} override(s))"
                                                         if config.layer_ratios else ")"))
    result = prune_filters(model, config)
    trainer.progress(f"  parameters {result.params_before:,} -> {result.params_after:,}")
    trainer.fit(result.model)
    return result.model


_OPTIONS = (
    Option("ratio", "Remove this fraction of every Conv's filters and Dense's units (0 <= RATIO < 1) and rebuild "
           "a smaller model; the classifier outputs are never pruned.", metavar="RATIO", enables=True, main=True,
           renamed_from=("--prune-filters",)),
    Option("layer_ratios", "Per-layer override of --filters (repeatable); alone, only the named layers are "
           "pruned.", type=str, metavar="NAME=RATIO", multiple=True, parse=per_layer(float, "NAME=RATIO", "conv2=0.5"),
           enables=True, renamed_from=("--prune-filters-layer",)),
    Option("criterion", "Rank filters by L1 or L2 norm, or by the following BatchNorm's |gamma|.", type=str,
           choices=FILTER_CRITERIA, renamed_from=("--filter-criterion",)),
)

STAGE = Stage(name="filters", config=FilterPruneConfig, apply=apply,
              summary="remove a fraction of every layer's filters/units and rebuild a smaller model",
              example="step = \"filters\"\nratio = 0.25",
              options=_OPTIONS, tunables=(Param("ratio", "float", 0.1, 0.75),), backoff=Backoff("ratio", none=0.0))
