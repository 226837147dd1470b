"""tfmot's keyword arguments accepted by edgekit's Python API, where they mean the same thing.

Code written for ``tfmot.sparsity.keras`` / ``tfmot.clustering.keras`` / ``tfmot.quantization.keras``
calls ``prune_low_magnitude(model, pruning_schedule=...)`` or ``cluster_weights(model,
cluster_centroids_init=CentroidInitialization.LINEAR)``; edgekit's names are ``schedule=`` and
``init="linear"``. One table per entry point maps tfmot's name to edgekit's (and its value, where the
spelling differs); a tfmot argument whose meaning differs is refused in one line that names the
edgekit equivalent, so a port never silently computes something else. docs/tfmot.md is the table
for readers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edgekit.errors import UsageError


@dataclass(frozen=True)
class Renamed:
    """tfmot's argument is edgekit's ``name``, its value converted by ``value`` (which may refuse it)."""

    name: str
    value: Callable[[str, Any], Any] = lambda function, value: value


@dataclass(frozen=True)
class Refused:
    """tfmot's argument has no edgekit counterpart of the same meaning: ``instead`` says what to use."""

    instead: str


def _schedule(function: str, schedule: Any) -> Any:
    """An edgekit schedule as it is; a tfmot ``PolynomialDecay``/``ConstantSparsity`` rebuilt from its config."""
    from edgekit.optimize.pruning import schedule as schedules

    if isinstance(schedule, schedules.PruningSchedule):
        return schedule
    config = getattr(schedule, "get_config", lambda: None)()
    kind = getattr(schedules, str((config or {}).get("class_name")), None)
    if kind not in (schedules.PolynomialDecay, schedules.ConstantSparsity):
        raise UsageError(f"{function}: pruning_schedule={type(schedule).__name__} is not a schedule edgekit knows; "
                         "use edgekit.optimize.pruning.PolynomialDecay or ConstantSparsity (tfmot's arguments)")
    return kind(**config["config"])


def _block_size(function: str, block: Any) -> int:
    """tfmot's ``(rows, 1)`` block of a Dense kernel ``(in, out)`` is ``rows`` consecutive inputs: edgekit's K."""
    if isinstance(block, int):
        return block
    rows, cols = block
    if cols != 1:
        raise UsageError(f"{function}: tfmot's block_size={tuple(block)} groups {cols} output units; edgekit's "
                         f"block_size=K prunes runs of K consecutive input channels, tfmot's (K, 1)")
    return rows


def _pooling(function: str, pooling: Any) -> None:
    if str(pooling).upper() != "AVG":
        raise UsageError(f"{function}: block_pooling_type={pooling!r}: edgekit ranks blocks by their mean "
                         "magnitude (tfmot's 'AVG'); leave it out")


CENTROID_INITS = {"KMEANS_PLUS_PLUS": "kmeans++", "LINEAR": "linear", "DENSITY_BASED": "density"}


def _centroid_init(function: str, init: Any) -> str:
    """tfmot's ``CentroidInitialization`` member (or its name) as edgekit's ``init``; edgekit's names pass."""
    name = str(getattr(init, "value", init)).rpartition(".")[2]
    if name in CENTROID_INITS.values():
        return name
    if name.upper() not in CENTROID_INITS:
        raise UsageError(f"{function}: cluster_centroids_init={name}: edgekit has no random centroids; use "
                         f"init= one of {', '.join(CENTROID_INITS.values())} (tfmot's "
                         f"{', '.join(CENTROID_INITS)})")
    return CENTROID_INITS[name.upper()]


TFMOT_ARGUMENTS: dict[str, dict[str, Renamed | Refused]] = {
    "prune_low_magnitude": {
        "to_prune": Renamed("model"),
        "pruning_schedule": Renamed("schedule", _schedule),
        "block_size": Renamed("block_size", _block_size),
        "block_pooling_type": Renamed("", _pooling),       # checked, then dropped: AVG is what edgekit does
        "sparsity_m_by_n": Renamed("n_of_m", lambda function, value: tuple(value)),
        "pruning_policy": Refused("choose the layers with select= (a layer class, a name regex or a predicate)"),
    },
    "cluster_weights": {
        "to_cluster": Renamed("model"),
        "cluster_centroids_init": Renamed("init", _centroid_init),
        "cluster_per_channel": Renamed("per_channel"),
    },
    "quantize_model": {
        "to_quantize": Renamed("model"),
        "quantized_layer_name_prefix": Refused("edgekit names each layer's activation quantizer NAME_quant; "
                                               "leave the prefix out"),
    },
}


def translate(function: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` of a call to ``function`` with tfmot's names replaced by edgekit's (see the table)."""
    table = TFMOT_ARGUMENTS[function]
    out: dict[str, Any] = {}
    for name, value in kwargs.items():
        rule = table.get(name)
        if isinstance(rule, Refused):
            raise UsageError(f"{function}: tfmot's {name}= has no edgekit equivalent of the same meaning; {rule.instead}")
        key, value = (name, value) if rule is None else (rule.name, rule.value(function, value))
        if not key:
            continue
        if key in out:
            raise UsageError(f"{function}: {key}= is given twice (tfmot's name and edgekit's); give one of them")
        out[key] = value
    return out


def accepts_tfmot_names(function: Callable) -> Callable:
    """Let ``function`` (an entry of :data:`TFMOT_ARGUMENTS`) be called with tfmot's keyword arguments."""

    @functools.wraps(function)
    def call(*args, **kwargs):
        return function(*args, **translate(function.__name__, kwargs))

    return call
