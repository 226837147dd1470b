"""The qat stage: fine-tune with int8 rounding in the loop, so full-int8 conversion loses nothing more."""

from __future__ import annotations

from edgekit.optimize.qat.config import QATConfig
from edgekit.optimize.stages import NoBackoff, Option, Stage


def apply(model, config: QATConfig, trainer):
    """Clusters from an earlier cluster stage stay <= N values per channel, zeros stay zero."""
    from edgekit.optimize.qat import finish_qat, quantize_model

    cluster = trainer.earlier("cluster")
    clusters = cluster.clusters if cluster is not None else config.preserve_clusters
    trainer.progress("qat: int8 fake quantization (per-channel weights, per-tensor activations), BatchNorm folded"
                     + (f", clusters kept at <= {clusters} values" if clusters else ""))
    wrapped = quantize_model(model, preserve_clusters=clusters, ema_decay=config.ema_decay)
    trainer.fit(wrapped)
    if config.calibration is None and trainer.calibration is not None:  # what the converter will be given
        return finish_qat(wrapped, trainer.calibration).model
    return finish_qat(wrapped, config.representative(trainer.train.x)).model


_OPTIONS = (Option(None, "Finish with quantization-aware training for full-int8 (convert the result "
                    "with --quantize int8).", type=bool, enables=True),)

STAGE = Stage(name="qat", config=QATConfig, apply=apply,
              summary="quantization-aware training for full-int8 (last: nothing may move the int8 grid after it)",
              example="step = \"qat\"",
              options=_OPTIONS, last=True,
              backoff=NoBackoff("QAT has no strength to lower: it trains the model for the int8 grid the "
                                "converter uses anyway; drop the qat step to compare"))
