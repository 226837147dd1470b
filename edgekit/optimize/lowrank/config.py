"""Settings of the lowrank stage (no TensorFlow: edgekit.toml and --help read them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from edgekit.errors import UsageError

# how a k x k Conv2D kernel is factorized: 1x1 -> kxk -> 1x1 (Tucker-2), or a kx1 + 1xk pair
LOW_RANK_CONV = ("tucker", "spatial")

DEFAULT_RATIO = 0.5


@dataclass
class LowRankConfig:
    """How small each factorized layer gets: a parameter ``ratio`` or a retained ``energy``, not both.

    ``ratio``: the factorized kernel keeps at most this fraction of the layer's kernel
    parameters (the rank follows from the shape). ``energy``: the smallest rank keeping this
    fraction of the kernel's squared singular values (per mode for Tucker-2). Neither given
    (and no ``layer_ranks``): ``ratio`` 0.5. ``layer_ranks``: an explicit rank per layer name
    (0 keeps the layer whole); it also factorizes a layer that feeds a model output, which
    is otherwise kept whole. ``conv``: how k x k Conv2D kernels are split (1x1 ones are
    always an SVD pair of 1x1 convolutions).
    """

    ratio: float | None = None
    energy: float | None = None
    layer_ranks: dict[str, int] = field(default_factory=dict)
    conv: str = "tucker"

    def __post_init__(self) -> None:
        if self.ratio is not None and self.energy is not None:
            raise UsageError("--lowrank and --lowrank-energy exclude each other; give a parameter ratio "
                             "or an energy to keep, not both")
        if self.ratio is None and self.energy is None and not self.layer_ranks:
            self.ratio = DEFAULT_RATIO
        if self.ratio is not None and not 0.0 < self.ratio <= 1.0:
            raise UsageError(f"--lowrank: ratio {self.ratio} is out of range; use 0 < ratio <= 1 "
                             "(the fraction of each factorized layer's kernel parameters to keep)")
        if self.energy is not None and not 0.0 < self.energy <= 1.0:
            raise UsageError(f"--lowrank-energy: energy {self.energy} is out of range; use 0 < energy <= 1 "
                             "(the fraction of squared singular values to keep, e.g. 0.9)")
        for name, rank in self.layer_ranks.items():
            if isinstance(rank, bool) or not isinstance(rank, int) or rank < 0:
                raise UsageError(f"--lowrank-layer-ranks {name}: rank {rank!r} must be a whole number >= 0 "
                                 "(0 keeps the layer whole)")
        if self.conv not in LOW_RANK_CONV:
            raise UsageError(f"--lowrank-conv '{self.conv}' is unknown; use one of {', '.join(LOW_RANK_CONV)}")
