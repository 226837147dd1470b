"""The prune stage: magnitude pruning (unstructured, N:M, blocks, run-aware) fine-tuned on a schedule."""

from __future__ import annotations

from edgekit.optimize.pruning.config import PRUNE_SCHEDULES, PruneConfig
from edgekit.optimize.stages import Backoff, Option, Param, Stage

# PolynomialDecay reaches the final sparsity after this fraction of the fine-tuning steps,
# leaving the rest for the network to recover at the final sparsity.
_RAMP_FRACTION = 0.6


def _n_of_m(value: str) -> tuple[int, int]:
    from edgekit.errors import UsageError

    try:
        n, m = (int(part) for part in str(value).split(":"))
    except ValueError:
        raise UsageError(f"{value!r}: expected N:M such as 2:4") from None
    return n, m


def apply(model, config: PruneConfig, trainer):
    from edgekit.optimize.pruning import (ConstantSparsity, PolynomialDecay, UpdatePruningStep,
                                          prune_low_magnitude, strip_pruning)

    steps_per_epoch = trainer.steps_per_epoch
    ramp = int(steps_per_epoch * trainer.epochs * _RAMP_FRACTION)
    if config.schedule == "constant" or config.structured or ramp < 1:
        schedule = ConstantSparsity(config.sparsity if not config.structured else 0.5, 0,
                                    frequency=max(1, min(100, steps_per_epoch)))
    else:
        # the last pruning step must fall inside the ramp: a short fine-tune (1 epoch) otherwise
        # never reaches its final sparsity
        frequency = max(1, min(100, steps_per_epoch, ramp))
        schedule = PolynomialDecay(0.0, config.sparsity, 0, ramp // frequency * frequency, frequency=frequency)
    what = f"{config.structured[0]}:{config.structured[1]}" if config.structured else f"{config.sparsity:.0%}"
    details = f", blocks of {config.block_size} input channels" if config.block_size > 1 else ""
    details += f", run cost {config.run_cost:g}" if config.run_cost > 0 else ""
    trainer.progress(f"prune: {what} sparsity, "
                     f"{config.schedule if not config.structured else 'structured'} schedule{details}")
    wrapped = prune_low_magnitude(model, schedule, select=config.select, n_of_m=config.structured,
                                  block_size=config.block_size, run_cost=config.run_cost)
    trainer.fit(wrapped, callbacks=[UpdatePruningStep()])
    return strip_pruning(wrapped)


_OPTIONS = (
    Option("sparsity", "Magnitude-prune kernels to this fraction of zeros, in [0, 1).", metavar="SPARSITY",
           enables=True, main=True),
    Option("schedule", "polynomial: sparsity ramps up from 0; constant: from the first step.", type=str,
           choices=PRUNE_SCHEDULES, needs=("sparsity",)),
    Option("block_size", "Prune whole runs of K consecutive input channels (TFLite's innermost axis) instead of "
           "single weights: zero runs compress better, at some accuracy cost.", type=int, metavar="K",
           needs=("sparsity",), renamed_from=("--prune-block",)),
    Option("run_cost", "Prefer long runs of zeros, which gzip codes in a few bits: each switch between kept and "
           "pruned weights along a kernel row costs C pruning thresholds (0.3 is a good start).", metavar="C",
           needs=("sparsity",)),
    Option("structured", "Structured N:M pruning along input channels instead of --prune, e.g. 2:4.", type=str,
           metavar="N:M", parse=_n_of_m, enables=True, excludes=("sparsity",), renamed_from=("--structured",)),
)

# How the zeros are laid out: a search picks one kind of structure at a time (they exclude each other).
_STRUCTURE = Param("structure", "categorical", choices=("unstructured", "runs", "blocks", "2:4"),
                   presets={"unstructured": {}, "runs": {"run_cost": 0.3}, "blocks": {"block_size": 4},
                            "2:4": {"structured": [2, 4]}})

STAGE = Stage(name="prune", config=PruneConfig, apply=apply,
              summary="zero the smallest kernel weights (unstructured, N:M or blocks), fine-tuned on a schedule",
              example="step = \"prune\"\nsparsity = 0.5",
              options=_OPTIONS, tunables=(Param("sparsity", "float", 0.5, 0.95), _STRUCTURE),
              backoff=Backoff("sparsity", none=0.0, unless="structured"))
