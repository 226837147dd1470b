"""The search space of ``edgekit tune``, read from the optimize stage registry.

Every registered stage contributes a switch (``"prune"``: is the stage in the recipe) and
its :class:`~edgekit.optimize.stages.Param` s (``"prune.sparsity"``); the converter adds
``convert.quantize`` and ``convert.per_tensor``. The space is *conditional*: a stage's
parameters are drawn only when the stage is on, and a stage that an earlier chosen stage
excludes (``Stage.excludes``) is not drawn at all, so every sampled recipe passes
:func:`~edgekit.optimize.stages.check_order` and no trial is wasted on a refused combination.

A user narrows the space (``[tune.space]`` in edgekit.toml, ``--space NAME=VALUE``):
a scalar fixes a parameter, ``[low, high]`` narrows a number, a list of choices narrows a
categorical one. Sampling goes through a ``suggest`` object with Optuna's trial methods,
so the space code knows nothing of the sampler.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from edgekit.errors import UsageError
from edgekit.optimize.stages import Param, check_order, get_stage, stage_names, stages

# the converter's side of a recipe: modes that keep a model small (float16/none are not compression)
CONVERT_PARAMS = (Param("quantize", "categorical", choices=("int8", "int16x8", "dynamic")),
                  Param("per_tensor", "bool"))
PER_TENSOR_MODES = ("int8", "int16x8")


class Suggest(Protocol):
    """The part of an ``optuna.Trial`` the space draws from."""

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float: ...
    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False) -> int: ...
    def suggest_categorical(self, name: str, choices: Any) -> Any: ...


@dataclass(frozen=True)
class Dimension:
    """One parameter of the space: a registry :class:`Param` under its full name, maybe narrowed or fixed."""

    name: str              # "prune", "prune.sparsity", "convert.quantize"
    param: Param
    fixed: Any = None      # a value the user fixed (not drawn)
    is_fixed: bool = False

    def draw(self, suggest: Suggest) -> Any:
        p = self.param
        if self.is_fixed:
            return self.fixed
        if p.kind == "float":
            return suggest.suggest_float(self.name, float(p.low), float(p.high), log=p.log)
        if p.kind == "int":
            return suggest.suggest_int(self.name, int(p.low), int(p.high), log=p.log)
        if p.kind == "bool":
            return suggest.suggest_categorical(self.name, (False, True))
        return suggest.suggest_categorical(self.name, tuple(p.choices))


@dataclass(frozen=True)
class Space:
    """All dimensions by full name, in the registry's order."""

    dims: dict[str, Dimension]

    def sample(self, suggest: Suggest) -> dict[str, Any]:
        """The flat parameters of one recipe (only those that apply: a stage's own only when it is on)."""
        params: dict[str, Any] = {}
        chosen = [name for name in stage_names() if self.dims[name].is_fixed and self.dims[name].fixed]
        for stage in stages():
            if any(_clash(stage.name, other) for other in chosen if other != stage.name):
                params[stage.name] = False
                continue
            if self.dims[stage.name].draw(suggest):
                if stage.name not in chosen:
                    chosen.append(stage.name)
                params[stage.name] = True
                for tunable in stage.tunables:
                    name = f"{stage.name}.{tunable.name}"
                    params[name] = self.dims[name].draw(suggest)
            else:
                params[stage.name] = False
        params["convert.quantize"] = self.dims["convert.quantize"].draw(suggest)
        if params["convert.quantize"] in PER_TENSOR_MODES:
            params["convert.per_tensor"] = self.dims["convert.per_tensor"].draw(suggest)
        return params

    def free(self) -> list[str]:
        return [name for name, dim in self.dims.items() if not dim.is_fixed]

    trains = True   # trials fine-tune: their epochs are watched (edgekit.tune.epoch_watch)

    def narrowed(self, overrides: dict[str, Any], where: Callable[[str], str] = lambda name: "") -> "Space":
        return narrow(self, overrides, where)

    def recipe(self, params: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        return recipe(params)

    def seeds(self, base_convert: dict[str, Any]) -> list[dict[str, Any]]:
        from edgekit.tune.seeds import seed_recipes

        return seed_recipes(self, base_convert)


def _clash(a: str, b: str) -> bool:
    return a in get_stage(b).excludes or b in get_stage(a).excludes


def full_space() -> Space:
    """Every dimension the registry declares, nothing narrowed."""
    dims: dict[str, Dimension] = {}
    for stage in stages():
        dims[stage.name] = Dimension(stage.name, Param(stage.name, "bool"))
        for tunable in stage.tunables:
            dims[f"{stage.name}.{tunable.name}"] = Dimension(f"{stage.name}.{tunable.name}", tunable)
    for param in CONVERT_PARAMS:
        dims[f"convert.{param.name}"] = Dimension(f"convert.{param.name}", param)
    return Space(dims)


def narrow(space: Space, overrides: dict[str, Any], where: Callable[[str], str] = lambda name: "") -> Space:
    """``space`` with the user's fixes and ranges applied; UsageError naming the parameter otherwise.

    ``where(name)``: the message prefix for ``name`` (``edgekit.toml:12: `` for [tune.space]).
    """
    dims = narrow_dims(space.dims, overrides, where)
    forced = [name for name in stage_names() if dims[name].is_fixed and dims[name].fixed]
    try:
        check_order(forced)
    except UsageError as exc:
        raise UsageError(f"{where(forced[-1])}tune: stages fixed on cannot share a recipe: {exc}") from None
    return Space(dims)


def narrow_dims(dims: dict[str, Dimension], overrides: dict[str, Any],
                where: Callable[[str], str]) -> dict[str, Dimension]:
    """``dims`` with the user's fixes and ranges applied (any source's space)."""
    dims = dict(dims)
    for name, value in overrides.items():
        dim = dims.get(name)
        if dim is None:
            raise UsageError(f"{where(name)}unknown tune parameter '{name}' (known: {', '.join(dims)})")
        dims[name] = _narrowed(dim, value, where(name))
    return dims


def _narrowed(dim: Dimension, value: Any, where: str) -> Dimension:
    p, name = dim.param, dim.name
    if p.kind == "bool":
        if not isinstance(value, bool):
            raise UsageError(f"{where}tune parameter '{name}' is true or false, got {value!r}")
        return dataclasses.replace(dim, fixed=value, is_fixed=True)
    if p.kind in ("float", "int"):
        number = (int, float) if p.kind == "float" else (int,)
        ok = lambda v: isinstance(v, number) and not isinstance(v, bool)  # noqa: E731
        if isinstance(value, list):
            if len(value) != 2 or not all(ok(v) for v in value) or not value[0] <= value[1]:
                raise UsageError(f"{where}tune parameter '{name}': a range is [low, high] with low <= high "
                                 f"({p.kind}s), got {value!r}")
            low, high = value
            if low < p.low or high > p.high:
                raise UsageError(f"{where}tune parameter '{name}': [{low}, {high}] leaves its range "
                                 f"[{p.low}, {p.high}]")
            if low == high:
                return dataclasses.replace(dim, fixed=low, is_fixed=True)
            return dataclasses.replace(dim, param=dataclasses.replace(p, low=low, high=high))
        if not ok(value) or not p.low <= value <= p.high:
            raise UsageError(f"{where}tune parameter '{name}' must be a {p.kind} in [{p.low}, {p.high}] "
                             f"or a range [low, high], got {value!r}")
        return dataclasses.replace(dim, fixed=value, is_fixed=True)
    choices = value if isinstance(value, list) else [value]
    unknown = [c for c in choices if c not in p.choices]
    if unknown or not choices:
        raise UsageError(f"{where}tune parameter '{name}' takes {', '.join(map(str, p.choices))} "
                         f"(one, or a list of them), got {value!r}")
    if len(choices) == 1:
        return dataclasses.replace(dim, fixed=choices[0], is_fixed=True)
    return dataclasses.replace(dim, param=dataclasses.replace(p, choices=tuple(choices)))


def recipe(params: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Flat parameters -> (``[[optimize]]`` tables in registry order, ``[convert]`` fields).

    Stage settings the search does not vary keep their config defaults.
    """
    steps = []
    for stage in stages():
        if not params.get(stage.name):
            continue
        table: dict[str, Any] = {"step": stage.name}
        for tunable in stage.tunables:
            table.update(tunable.fields(params[f"{stage.name}.{tunable.name}"]))
        steps.append(table)
    convert = {"quantize": params["convert.quantize"],
               "per_tensor": bool(params.get("convert.per_tensor", False))}
    return steps, convert


def keras_space(config) -> Space:
    """The space of a Keras source (``config`` is not read: every stage applies)."""
    return full_space()


# the search space of each kind of source; a .tflite source's lives in edgekit.tune.tflite_space
SPACES: dict[str, str] = {"keras": "edgekit.tune.space:keras_space", "tflite": "edgekit.tune.tflite_space:tflite_space"}


def space_for(config):
    """The full search space of ``config``'s source (a .tflite one is only converted)."""
    import importlib

    module, function = SPACES["tflite" if config.is_tflite else "keras"].split(":")
    return getattr(importlib.import_module(module), function)(config)


__all__ = ["CONVERT_PARAMS", "Dimension", "SPACES", "Space", "full_space", "keras_space", "narrow", "narrow_dims",
           "recipe", "space_for"]
