"""The recipes a study tries first: known-good starting points, so a short search starts from them.

A sampler's first trials are random; with 40 trials and a dozen parameters that is most
of the budget. So the driver enqueues, before anything is sampled, the combined recipes
below (the compression toolbox's best hand-written recipe on the digits benchmark,
prune + cluster, and a W 0.4 student made binary: 1-bit weights recover in a couple of
epochs where a ternary stage needs ten, and the smallest model the 40-trial digits search
found was a W 0.43 student made binary), then each registry stage's own ``example`` alone. A seed's settings are
moved inside the user's narrowed space (clipped, or left to the sampler where the user
narrowed them out), so a seed never breaks a ``[tune.space]`` rule.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from edgekit.optimize.stages import Stage, stages
from edgekit.tune.space import Space

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# stage -> its settings ("structure" etc. are tunable names, the rest come from the stage's example)
COMBINED: tuple[dict[str, dict[str, Any]], ...] = (
    {"distill": {"width_multiplier": 0.5}, "prune": {"sparsity": 0.8, "structure": "runs"}, "ternary": {}},
    {"prune": {"sparsity": 0.8, "structure": "runs"}, "cluster": {"clusters": 8, "preserve_sparsity": True}},
    {"distill": {"width_multiplier": 0.4}, "binary": {}},
)


def seed_recipes(space: Space, base_convert: dict[str, Any]) -> list[dict[str, Any]]:
    """Flat parameter dicts (as :meth:`Space.sample` makes) to enqueue, fitted to ``space``, no duplicates."""
    examples = [{stage.name: {}} for stage in stages()]
    seeds: list[dict[str, Any]] = []
    for chosen in (*COMBINED, *examples):
        params = _fit(_flat(chosen, base_convert), space)
        if params is not None and params not in seeds:
            seeds.append(params)
    return seeds


def _flat(chosen: dict[str, dict[str, Any]], base_convert: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {"convert.quantize": base_convert.get("quantize", "int8"),
                              "convert.per_tensor": bool(base_convert.get("per_tensor", False))}
    for stage in stages():
        params[stage.name] = stage.name in chosen
        if stage.name in chosen:
            settings = {**_example(stage), **chosen[stage.name]}
            for tunable in stage.tunables:
                params[f"{stage.name}.{tunable.name}"] = settings.get(tunable.name, _default(stage, tunable))
    return params


def _example(stage: Stage) -> dict[str, Any]:
    return {k: v for k, v in tomllib.loads(stage.example).items() if k != "step"}


def _default(stage: Stage, tunable) -> Any:
    """The setting a stage runs with when not told otherwise (a preset's: the choice that sets nothing)."""
    if tunable.presets:
        return next(choice for choice, fields in tunable.presets.items() if not fields)
    field = next((f for f in dataclasses.fields(stage.config) if f.name == tunable.name), None)
    if field is not None and field.default is not dataclasses.MISSING and field.default is not None:
        return field.default
    return tunable.choices[0] if tunable.choices else (tunable.low + tunable.high) / 2 if tunable.low is not None \
        else False


def _fit(params: dict[str, Any], space: Space) -> dict[str, Any] | None:
    """``params`` moved inside ``space``; None when a fixed stage switch contradicts it (it is then no seed)."""
    fitted = {}
    for name, value in params.items():
        dim = space.dims[name]
        if dim.is_fixed:
            if dim.param.kind == "bool" and name in {s.name for s in stages()} and value != dim.fixed:
                return None
            continue
        p = dim.param
        if p.kind in ("float", "int"):
            value = min(max(value, p.low), p.high)
        elif p.kind == "categorical" and value not in p.choices:
            continue
        fitted[name] = value
    return fitted


__all__ = ["COMBINED", "seed_recipes"]
