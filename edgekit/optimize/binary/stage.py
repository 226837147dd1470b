"""The binary stage: kernels trained to {-a, +a} per output channel (BinaryConnect, per-channel scale)."""

from __future__ import annotations

from edgekit.optimize.binary.config import BinaryConfig
from edgekit.optimize.stages import Backoff, Option, Stage


def apply(model, config: BinaryConfig, trainer):
    from edgekit.optimize.lowbit.training import train_low_bit

    return train_low_bit(model, 2, 0.0, config.include_ends, config.select, trainer)


_OPTIONS = (
    Option(None, "Train kernels to two values {-a, +a} per output channel (first and last layers "
           "kept at int8; int8 export holds <= 2 values per channel).", type=bool, enables=True),
    Option("include_ends", "Also make the first and last layers binary.", type=bool,
           renamed_from=("--binary-ends",)),
)

# Pruned zeros would be a third value: binary weights have none, so pruning first is refused.
STAGE = Stage(name="binary", config=BinaryConfig, apply=apply,
              summary="kernels take two values {-a, +a} per output channel (first/last layers kept)",
              example="step = \"binary\"",
              options=_OPTIONS, excludes=("prune", "cluster", "ternary", "qat"),
              # The values per channel are fixed at two; what a budget can give back is the first and last
              # layers (the most sensitive ones), kept at int8. Without include_ends there is nothing to back off.
              backoff=Backoff("include_ends", none=False, try_none=True))
