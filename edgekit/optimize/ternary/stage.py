"""The ternary stage: kernels trained to {-a, 0, +a} per output channel (Ternary Weight Networks)."""

from __future__ import annotations

from edgekit.optimize.ternary.config import DEFAULT_THRESHOLD, TernaryConfig
from edgekit.optimize.stages import Backoff, Option, Param, Stage


def apply(model, config: TernaryConfig, trainer):
    from edgekit.optimize.lowbit.training import train_low_bit

    return train_low_bit(model, 3, config.threshold, config.include_ends, config.select, trainer)


_OPTIONS = (
    Option(None, "Train kernels to three values {-a, 0, +a} per output channel (first and last "
           "layers kept at int8; int8 export holds <= 3 values per channel).", type=bool, enables=True),
    Option("threshold", "Weights below T x their channel's mean |w| become 0.", metavar="T"),
    Option("include_ends", "Also make the first and last layers ternary.", type=bool,
           renamed_from=("--ternary-ends",)),
)

STAGE = Stage(name="ternary", config=TernaryConfig, apply=apply,
              summary="kernels take three values {-a, 0, +a} per output channel (first/last layers kept)",
              example="step = \"ternary\"\nthreshold = 0.7",
              options=_OPTIONS, excludes=("cluster", "binary", "qat"),
              tunables=(Param("threshold", "float", 0.5, 1.0),),
              # Every threshold leaves three values; the default one is nearest the float kernels (least
              # squared error for Gaussian-like weights), so a budget moves the threshold toward it and tries it last.
              backoff=Backoff("threshold", none=DEFAULT_THRESHOLD, try_none=True))
