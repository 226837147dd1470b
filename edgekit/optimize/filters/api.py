"""Structured filter pruning: remove whole Conv filters / Dense units and rebuild a smaller model.

Unlike magnitude pruning (zeros in a dense tensor), the result has fewer channels, so
the ``.tflite`` is smaller and faster on any runtime without sparse kernels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edgekit.errors import UsageError
from edgekit.optimize.filters.config import FilterPruneConfig
from edgekit.optimize.filters.channels import trace_channels
from edgekit.optimize.filters.ranking import filter_scores
from edgekit.optimize.filters.rebuild import rebuild
from edgekit.optimize.filters.selection import PruneGroup, select_channels
from edgekit.optimize.graph import layer_graph, leaf_layers


@dataclass
class FilterPruneResult:
    model: Any
    groups: list[PruneGroup]
    channels: dict[str, tuple[int, int]]   # layer -> (before, after)
    params_before: int
    params_after: int

    def summary(self) -> dict:
        return {
            "params_before": self.params_before, "params_after": self.params_after,
            "params_ratio": round(self.params_after / max(self.params_before, 1), 4),
            "layers": {name: {"before": b, "after": a} for name, (b, a) in self.channels.items()},
            "groups": [{"layers": list(g.layers), "channels": g.channels, "kept": g.kept, "fixed": g.fixed}
                       for g in self.groups if len(g.layers) > 1 or g.fixed],
        }


def prune_filters(model, config: FilterPruneConfig) -> FilterPruneResult:
    """Rank channels, drop ``config.ratio`` of each group and return the rebuilt, smaller model."""
    graph = layer_graph(model)
    plan = trace_channels(graph)
    _check_overrides(model, plan, config)
    scores = {}
    for call in graph.calls:
        if call.layer.name in plan.producer_ids:
            scores[call.layer.name] = filter_scores(call.layer, config.criterion, _batchnorm_after(graph, call))
    ratios = {name: config.layer_ratios.get(name, config.ratio) for name in plan.producer_ids}
    keep, groups = select_channels(plan, scores, ratios)
    pruned = rebuild(model, graph, plan, keep)
    channels = {name: (len(ids), int(keep[ids].sum())) for name, ids in plan.producer_ids.items()}
    return FilterPruneResult(pruned, groups, channels, model.count_params(), pruned.count_params())


def _check_overrides(model, plan, config: FilterPruneConfig) -> None:
    names = {layer.name for layer in leaf_layers(model)}
    fixed_roots = plan.fixed_roots()
    for name, ratio in config.layer_ratios.items():
        if name not in names:
            raise UsageError(f"--filters-layer-ratios: model '{model.name}' has no layer '{name}'")
        if name not in plan.producer_ids:
            raise UsageError(f"--filters-layer-ratios: layer '{name}' has no filters or units to prune "
                             "(only Conv, SeparableConv and Dense layers do)")
        if ratio > 0 and any(plan.find(int(i)) in fixed_roots for i in plan.producer_ids[name]):
            raise UsageError(f"--filters-layer-ratios: layer '{name}' feeds the model's output "
                             "(or a layer edgekit cannot slice); its channels cannot be pruned")


def _batchnorm_after(graph, call):
    consumers = graph.consumers(call.outputs[0])
    if len(consumers) == 1 and type(consumers[0].layer).__name__ == "BatchNormalization":
        return consumers[0].layer
    return None
