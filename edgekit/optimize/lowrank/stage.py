"""The lowrank stage: factorize Dense/Conv2D kernels into chains of smaller layers, then fine-tune."""

from __future__ import annotations

from edgekit.optimize.lowrank.config import LOW_RANK_CONV, LowRankConfig
from edgekit.optimize.stages import Backoff, Option, Param, Stage, per_layer


def _target(config: LowRankConfig) -> str:
    if config.energy is not None:
        return f"rank per layer keeping {config.energy:.0%} of the singular-value energy"
    if config.ratio is not None:
        return f"at most {config.ratio:.0%} of each kernel's weights"
    return "the given ranks only"


def apply(model, config: LowRankConfig, trainer):
    from edgekit.optimize.lowrank import factorize

    trainer.progress(f"lowrank: factorizing Dense/Conv2D kernels ({_target(config)}; k x k convolutions: "
                     f"{config.conv})")
    result = factorize(model, config)
    for plan in result.factorized:
        trainer.progress(f"  {plan.layer:<24} {plan.method:<7} rank {'x'.join(map(str, plan.ranks)):<9} "
                         f"params {plan.params_before:>9,} -> {plan.params_after:>9,}  energy {plan.energy:.3f}")
    for plan in result.kept:
        trainer.progress(f"  {plan.layer:<24} kept whole: {plan.reason}")
    summary = result.summary()
    trainer.reports["lowrank"] = summary
    trainer.progress(f"  parameters {result.params_before:,} -> {result.params_after:,} (factorized layers "
                     f"{summary['factorized_params_before']:,} -> {summary['factorized_params_after']:,})")
    if not result.factorized:
        trainer.progress("  no layer saves weights when factorized: the model is unchanged, not fine-tuned")
        return result.model
    trainer.fit(result.model)
    return result.model


_OPTIONS = (
    Option("ratio", "Factorize Dense/Conv2D kernels (truncated SVD, Tucker-2) so each keeps at most this fraction "
           "of its weights (0 < RATIO <= 1); layers that would not shrink and the classifier outputs are kept "
           "whole.", metavar="RATIO", enables=True, main=True, excludes=("energy",), renamed_from=("--low-rank",)),
    Option("energy", "Factorize with the smallest rank per layer that keeps this fraction of the kernel's squared "
           "singular values (0 < E <= 1).", metavar="E", enables=True, renamed_from=("--low-rank-energy",)),
    Option("layer_ranks", "Rank for one layer (repeatable; 0 keeps it whole; also factorizes an output layer); "
           "alone, only the named layers are factorized.", type=str, metavar="NAME=RANK", multiple=True,
           parse=per_layer(int, "NAME=RANK", "fc1=32"), enables=True, renamed_from=("--low-rank-layer",)),
    Option("conv", "How k x k Conv2D kernels are split: tucker (1x1 -> kxk -> 1x1) or spatial (kx1 -> 1xk).",
           type=str, choices=LOW_RANK_CONV, renamed_from=("--low-rank-conv",)),
)

STAGE = Stage(name="lowrank", config=LowRankConfig, apply=apply,
              summary="factorize Dense/Conv2D kernels into smaller layers (truncated SVD, Tucker-2) and fine-tune",
              example="step = \"lowrank\"\nratio = 0.5",
              options=_OPTIONS, tunables=(Param("ratio", "float", 0.2, 0.9),), backoff=Backoff("ratio", none=1.0))
