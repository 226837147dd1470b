"""The stage registry: every compression stage edgekit can run, declared once.

A :class:`Stage` says what the stage is called, which dataclass holds its settings (its
fields are the keys of an ``[[optimize]]`` table), which command-line flags set them, how
it must be ordered, and its ``apply(model, config, trainer)``. The engine
(:mod:`edgekit.optimize.engine`), ``edgekit optimize``, ``edgekit.toml`` validation and
``edgekit init`` all read this one table, so a new stage is one folder with a
``stage.py`` plus one line in :data:`BUILTIN_STAGES`.

Declarations import no TensorFlow: a stage's ``apply`` imports Keras inside its body, so
loading the registry (``edgekit optimize --help``, edgekit.toml checks) stays fast.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from dataclasses import dataclass, fields
from typing import Any, Callable, Sequence

from edgekit.errors import UsageError

# The built-in stages, in the order the command line applies them.
BUILTIN_STAGES = (
    "edgekit.optimize.distill.stage",
    "edgekit.optimize.filters.stage",
    "edgekit.optimize.lowrank.stage",
    "edgekit.optimize.pruning.stage",
    "edgekit.optimize.clustering.stage",
    "edgekit.optimize.ternary.stage",
    "edgekit.optimize.binary.stage",
    "edgekit.optimize.qat.stage",
)


@dataclass(frozen=True)
class Option:
    """One command-line flag of a stage, bound to a field of the stage's config.

    The flag is not written here: it is ``--STAGE-FIELD`` (``--cluster-init`` sets the
    cluster stage's ``init``), or ``--STAGE`` for the stage's ``main`` option and for a
    switch (``field=None``, ``--qat``) that only turns the stage on, so flag, TOML key and
    config argument are one name. ``parse`` turns the flag's text into the field's value
    (``2:4`` -> ``(2, 4)``); ``enables``: giving the flag runs the stage; other flags of
    the stage need one of the enabling flags. ``needs`` and ``excludes`` name fields of
    the same stage. ``renamed_from``: the flag's spellings before it had its stage's name;
    they still work, with a deprecation line, for one release.
    """

    field: str | None
    help: str
    type: type = float
    choices: tuple[str, ...] = ()
    metavar: str | None = None
    multiple: bool = False
    parse: Callable[[Any], Any] | None = None
    enables: bool = False
    main: bool = False
    excludes: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()    # default: one of the stage's enabling options
    renamed_from: tuple[str, ...] = ()


@dataclass(frozen=True)
class Param:
    """One setting a search may vary (``edgekit tune``): a config field, or a preset of several.

    ``kind``: ``float``/``int`` in ``[low, high]`` (``log``: sampled on a log scale),
    ``categorical`` over ``choices``, or ``bool``. ``presets`` (categorical only) maps each
    choice to the config fields it sets, for a setting that is not one field (a prune
    structure is a run cost, a block size or N:M); without presets the value is the field.
    """

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    log: bool = False
    presets: dict[str, dict[str, Any]] | None = None

    def fields(self, value: Any) -> dict[str, Any]:
        """The config fields a sampled ``value`` sets."""
        return dict(self.presets[value]) if self.presets else {self.name: value}


@dataclass(frozen=True)
class Backoff:
    """How a stage is made weaker when it costs more accuracy than a budget allows
    (:mod:`edgekit.optimize.budget`): its ``field`` moves from the requested value toward
    ``none`` by binary search (on the tunable's scale: log for cluster counts; a switch has
    no setting between its two values). ``unless``: a config field that, when set, fixes the
    strength (N:M pruning ignores the sparsity; the int4 grid holds 16 values).

    ``none`` is the weakest setting. Where the stage changes nothing there (sparsity 0,
    256 clusters) it is never tried; ``try_none``: the stage still compresses at ``none``
    (ternary at the threshold nearest the float kernels, binary with its first and last
    layers kept), so ``none`` is tried last when no setting between meets the budget."""

    field: str
    none: Any
    unless: str | None = None
    try_none: bool = False

    def start(self, config: Any) -> Any:
        """The requested strength in ``config``, or None if it cannot be backed off."""
        value = getattr(config, self.field)
        if value is None or value == self.none or (self.unless and getattr(config, self.unless)):
            return None
        return value

    def fixed(self, config: Any) -> str:
        """Why ``config``'s strength cannot be backed off (when :meth:`start` is None)."""
        if self.unless and getattr(config, self.unless):
            return f"{self.unless} fixes its {self.field}"
        return f"its {self.field} is {getattr(config, self.field)}, nothing to back off"

    def setting(self, config: Any) -> dict[str, Any]:
        """The setting a back-off changes, as ``config`` has it (for the budget's report)."""
        return {self.field: getattr(config, self.field)}

    def between(self, failing: Any, passing: Any, stage: Stage) -> Any:
        """The setting halfway between ``failing`` and ``passing``; None once no setting lies between."""
        if isinstance(failing, bool):  # a switch: nothing between on and off
            return None
        param = next(p for p in stage.tunables if p.name == self.field)
        middle = math.sqrt(failing * passing) if param.log else (failing + passing) / 2
        middle = round(middle) if param.kind == "int" else round(middle, 4)
        return None if middle in (failing, passing) else middle


@dataclass(frozen=True)
class NoBackoff:
    """A stage with no strength to weaken, declared as such with the reason; a budget the stage
    misses says "cannot back off STAGE: REASON" in its attempts and its error."""

    why: str

    def start(self, config: Any) -> None:
        return None

    def fixed(self, config: Any) -> str:
        return self.why

    def setting(self, config: Any) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class Stage:
    """A compression stage: its name, settings, flags, ordering rule and implementation."""

    name: str
    config: type                   # a dataclass; checks its values in __post_init__ (UsageError)
    apply: Callable[[Any, Any, Any], Any]   # (model, config, trainer) -> model; imports Keras inside
    summary: str                   # one line: what the stage does (``edgekit init``, docs)
    example: str                   # an [[optimize]] table body for ``edgekit init``'s template
    options: tuple[Option, ...] = ()
    last: bool = False             # must be the final stage (QAT: nothing may move its int8 grid)
    excludes: tuple[str, ...] = () # stages that cannot share a recipe with this one (both set the kernels' values)
    paths: tuple[str, ...] = ()    # config fields naming files: edgekit.toml resolves them against its folder
                                   # and the build's cache keys on their contents
    tunables: tuple[Param, ...] = ()  # what ``edgekit tune`` varies when the stage is in a recipe
    # how an accuracy budget weakens the stage; every stage declares it, NoBackoff(why) if it cannot
    backoff: Backoff | NoBackoff = dataclasses.field(kw_only=True)

    def keys(self) -> tuple[str, ...]:
        """The keys an ``[[optimize]]`` table of this stage accepts."""
        return tuple(f.name for f in fields(self.config))

    def flag(self, option: Option) -> str:
        """``option``'s command-line flag, made from the stage's name and the option's field."""
        if option.main or option.field is None:
            return f"--{self.name}"
        return f"--{self.name}-{option.field.replace('_', '-')}"

    def flags(self) -> dict[str, Option]:
        """Flag -> option, in declaration order."""
        return {self.flag(option): option for option in self.options}

    def flag_of(self, field: str | None) -> str:
        """The flag of the option that sets ``field``."""
        return next(flag for flag, option in self.flags().items() if option.field == field)

    def enabling_flags(self) -> tuple[str, ...]:
        return tuple(flag for flag, option in self.flags().items() if option.enables)


@dataclass(frozen=True)
class Step:
    """One stage to run with its settings: an ``[[optimize]]`` table or a group of flags."""

    stage: str
    config: Any


_REGISTRY: dict[str, Stage] = {}


def register(stage: Stage) -> Stage:
    """Add ``stage`` (a plug-in may register its own); names are unique."""
    if stage.name in _REGISTRY and _REGISTRY[stage.name] is not stage:
        raise ValueError(f"an optimize stage named '{stage.name}' is already registered")
    _REGISTRY[stage.name] = stage
    return stage


def stages() -> tuple[Stage, ...]:
    """Every registered stage, built-ins first in their command-line order."""
    if not _REGISTRY:
        for module in BUILTIN_STAGES:
            register(importlib.import_module(module).STAGE)
    return tuple(_REGISTRY.values())


def stage_names() -> tuple[str, ...]:
    return tuple(s.name for s in stages())


def get_stage(name: str) -> Stage:
    """The stage called ``name``; UsageError listing the known ones otherwise."""
    found = {s.name: s for s in stages()}.get(name)
    if found is None:
        raise UsageError(f"unknown optimize stage '{name}' (known: {', '.join(stage_names())})")
    return found


def check_order(names: Sequence[str]) -> None:
    """Each stage at most once, none with a stage it excludes, a ``last`` stage only at the end (UsageError).

    Exclusions come first: moving a stage to the end cannot fix a pair that may not share a recipe."""
    for index, name in enumerate(names):
        stage = get_stage(name)
        if name in names[:index]:
            raise UsageError(f"optimize stage '{name}' is given twice; give each stage once")
        clash = next((other for other in names[:index]
                      if other in stage.excludes or name in get_stage(other).excludes), None)
        if clash:
            raise UsageError(f"optimize stages '{clash}' and '{name}' cannot be combined: both decide the values "
                             f"the kernels take; keep one of them")
    for index, name in enumerate(names):
        stage = get_stage(name)
        if stage.last and index != len(names) - 1:
            raise UsageError(f"optimize stage '{name}' must be the last stage, but "
                             f"'{names[index + 1]}' comes after it; move '{name}' to the end")


def steps_from_flags(given: dict[str, Any]) -> list[Step]:
    """The steps a set of command-line flags asks for, in the registry's order.

    ``given``: flag -> value for the flags the user gave (absent/None = not given). A flag
    of a stage that none of its enabling flags switched on is a UsageError naming both.
    """
    given = {flag: value for flag, value in given.items() if not (value is None or value is False or value == ())}
    steps = []
    for stage in stages():
        mine = {flag: option for flag, option in stage.flags().items() if flag in given}
        if not mine:
            continue
        for flag, option in mine.items():
            needs = tuple(map(stage.flag_of, option.needs)) or (() if option.enables else stage.enabling_flags())
            if needs and not any(need in given for need in needs):
                raise UsageError(f"{flag} needs {' or '.join(_with_metavar(stage, need) for need in needs)}")
            clash = next((other for other in map(stage.flag_of, option.excludes) if other in given), None)
            if clash:
                raise UsageError(f"{flag} and {clash} exclude each other; give one of them")
        values = {}
        for flag, option in mine.items():
            if option.field is not None:
                values[option.field] = _parsed(flag, option, given[flag])
        steps.append(Step(stage.name, stage.config(**values)))
    return steps


def renamed_flags() -> dict[str, str]:
    """Old spelling -> flag, for every stage flag that had another name before."""
    return {old: stage.flag(option) for stage in stages() for option in stage.options for old in option.renamed_from}


def _parsed(flag: str, option: Option, value: Any) -> Any:
    if option.parse is None:
        return value
    try:
        return option.parse(value)
    except UsageError as exc:
        raise UsageError(f"{flag} {exc}") from None


def per_layer(cast: Callable[[str], Any], form: str, example: str) -> Callable[[tuple[str, ...]], dict]:
    """An ``Option.parse`` for a repeatable per-layer flag: ``("conv2=0.5", ...)`` -> ``{"conv2": 0.5}``.

    ``form`` and ``example`` (``NAME=RATIO``, ``conv2=0.5``) make the one-line error.
    """

    def parse(items: tuple[str, ...]) -> dict[str, Any]:
        values = {}
        for item in items:
            name, sep, value = item.rpartition("=")
            try:
                if not sep or not name:
                    raise ValueError
                values[name] = cast(value)
            except ValueError:
                raise UsageError(f"{item!r}: expected {form}, e.g. {example}") from None
        return values

    return parse


def _with_metavar(stage: Stage, flag: str) -> str:
    option = stage.flags()[flag]
    return f"{flag} {option.metavar}" if option.metavar and option.type is not bool else flag
