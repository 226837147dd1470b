"""Choose which channels survive: per pruning group, drop the lowest-scoring ``ratio``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgekit.optimize.filters.channels import ChannelPlan


@dataclass(frozen=True)
class PruneGroup:
    """Producers whose channels are tied (through Add & co) and are pruned as one."""

    layers: tuple[str, ...]
    channels: int           # independent channels (one per tied class)
    kept: int
    fixed: bool             # reaches an output/input/unknown layer: left whole


def select_channels(plan: ChannelPlan, scores: dict[str, np.ndarray],
                    ratios: dict[str, float]) -> tuple[np.ndarray, list[PruneGroup]]:
    """A keep flag per channel id, and the groups with what each kept.

    Ids that are not a producer's (model inputs, unknown layers) are always fixed, so
    they stay True. A group's ratio is the smallest of its members' ratios.
    """
    keep = np.ones(len(plan.parent), dtype=bool)
    fixed_roots = plan.fixed_roots()
    groups = []
    for members in _producer_groups(plan):
        roots = {}  # root -> summed score of the channels tied to it
        for name in members:
            for channel, score in zip(plan.producer_ids[name], scores[name]):
                root = plan.find(int(channel))
                roots[root] = roots.get(root, 0.0) + float(score)
        fixed = any(root in fixed_roots for root in roots)
        ratio = min(ratios[name] for name in members)
        n_keep = len(roots) if fixed else max(1, int(round(len(roots) * (1.0 - ratio))))
        if n_keep < len(roots):
            order = sorted(roots, key=lambda r: (-roots[r], r))
            dropped = set(order[n_keep:])
            for name in members:
                ids = plan.producer_ids[name]
                keep[ids] = [plan.find(int(i)) not in dropped for i in ids]
        groups.append(PruneGroup(tuple(members), len(roots), n_keep, fixed))
    return keep, groups


def _producer_groups(plan: ChannelPlan) -> list[list[str]]:
    """Connected components of producers that share at least one tied channel class."""
    owner: dict[int, str] = {}
    parent = {name: name for name in plan.producer_ids}

    def find(name: str) -> str:
        while parent[name] != name:
            name = parent[name]
        return name

    for name, ids in plan.producer_ids.items():
        for channel in ids:
            root = plan.find(int(channel))
            if root in owner:
                parent[find(name)] = find(owner[root])
            else:
                owner[root] = name
    components: dict[str, list[str]] = {}
    for name in plan.producer_ids:
        components.setdefault(find(name), []).append(name)
    return list(components.values())
