"""Settings of the filters stage (no TensorFlow: edgekit.toml and --help read them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from edgekit.errors import UsageError

FILTER_CRITERIA = ("l1", "l2", "bn")  # filter ranking: L1/L2 norm, BatchNorm |gamma|


@dataclass
class FilterPruneConfig:
    """``ratio`` of the channels to remove from every prunable layer, unless overridden per layer."""

    ratio: float = 0.0
    layer_ratios: dict[str, float] = field(default_factory=dict)
    criterion: str = "l1"          # l1 | l2 | bn (BatchNorm |gamma|)

    def __post_init__(self) -> None:
        for name, value in [("--filters", self.ratio)] + [
                (f"--filters-layer-ratios {layer}", r) for layer, r in self.layer_ratios.items()]:
            if not 0.0 <= value < 1.0:
                raise UsageError(f"{name}: ratio {value} is out of range; use 0 <= ratio < 1")
        if self.criterion not in FILTER_CRITERIA:
            raise UsageError(f"filter criterion '{self.criterion}' is unknown; use one of {', '.join(FILTER_CRITERIA)}")
