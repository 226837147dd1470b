"""The search space of ``edgekit tune`` over a float ``.tflite``: AI Edge Quantizer's post-training options.

Nothing trains, so a trial is one AEQ conversion, verified and measured by the build of a
``.tflite`` source (:mod:`edgekit.pipeline.tflite_build`). The parameters are the
``[convert]`` keys such a build takes:

- ``convert.quantize``: int8, int16x8, dynamic, or none (weight-only: the op computes in float);
- ``convert.weights``: int8 or int4, drawn for the modes the registry offers both for;
- ``convert.per_tensor``: one weight scale per tensor;
- ``convert.keep_float``: how many of the most sensitive ops stay float (0-3). The ops are
  ranked once per study on the source (int8, quantized all but each op, on [data] val:
  :mod:`edgekit.convert.tflite_source.sensitivity`), and the recipe names them, so the
  chosen trial's edgekit.toml lists the ops it keeps float;
- ``convert.storage``: int8 or int4 storage of a full-int8 file's weights.

Narrowing works as for a Keras source (``--space convert.quantize=int8``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

from edgekit.optimize.stages import Param
from edgekit.tune.space import Dimension, Suggest, narrow_dims

QUANTIZE = ("int8", "int16x8", "dynamic", "none")   # none = weight-only (the mode then comes from weights)
WEIGHTS = ("int8", "int4")
STORAGE = ("int8", "int4")     # the forms made from a .tflite's own bytes (sparse needs TensorFlow's converter)
MAX_KEPT = 3
# known-good starting points: full int8, the smaller int4-weight file, dynamic, int16 activations. The int4 and
# dynamic ones use per-tensor scales: AEQ's per-channel int4 and hybrid FULLY_CONNECTED kernels are forms the
# local and Raspberry Pi profiles refuse (tflite-runtime 2.14 fails on them), as is weight-only int4.
SEEDS: tuple[dict[str, Any], ...] = (
    {"convert.quantize": "int8", "convert.weights": "int8"},
    {"convert.quantize": "int8", "convert.weights": "int4", "convert.per_tensor": True},
    {"convert.quantize": "dynamic", "convert.weights": "int8", "convert.per_tensor": True},
    {"convert.quantize": "int16x8", "convert.weights": "int8"},
)


@dataclass(frozen=True)
class TfliteSpace:
    """All dimensions by full name; ``rank`` measures the ops to keep float (called once, when first needed)."""

    dims: dict[str, Dimension]
    rank: Callable[[], list[str]] = field(default=lambda: [], compare=False)
    trains: bool = False        # no fine-tuning epochs to watch
    _ranked: dict = field(default_factory=dict, compare=False, repr=False)

    def sample(self, suggest: Suggest) -> dict[str, Any]:
        from edgekit.convert.tflite_source.recipes import find_mode

        params: dict[str, Any] = {"convert.quantize": self.dims["convert.quantize"].draw(suggest)}
        quantize = params["convert.quantize"]
        offered = [w for w in WEIGHTS if find_mode(quantize, w) is not None]
        params["convert.weights"] = self.dims["convert.weights"].draw(suggest) if len(offered) > 1 else offered[0]
        params["convert.per_tensor"] = self.dims["convert.per_tensor"].draw(suggest)
        params["convert.keep_float"] = self.dims["convert.keep_float"].draw(suggest)
        full_int8 = quantize == "int8" and params["convert.weights"] == "int8"
        params["convert.storage"] = self.dims["convert.storage"].draw(suggest) if full_int8 else "int8"
        return params

    def free(self) -> list[str]:
        return [name for name, dim in self.dims.items() if not dim.is_fixed]

    def narrowed(self, overrides: dict[str, Any], where: Callable[[str], str] = lambda name: "") -> "TfliteSpace":
        return dataclasses.replace(self, dims=narrow_dims(self.dims, overrides, where), _ranked={})

    def recipe(self, params: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """No [[optimize]] steps; the [convert] keys of a .tflite source's build, the kept ops by name."""
        kept = params.get("convert.keep_float", 0)
        return [], {"quantize": params["convert.quantize"], "weights": params["convert.weights"],
                    "per_tensor": bool(params.get("convert.per_tensor", False)),
                    "keep_float": self.sensitive_ops()[:kept] if kept else [], "storage": params.get("convert.storage", "int8")}

    def sensitive_ops(self) -> list[str]:
        if "ops" not in self._ranked:
            self._ranked["ops"] = self.rank()
        return self._ranked["ops"]

    def seeds(self, base_convert: dict[str, Any]) -> list[dict[str, Any]]:
        """The SEEDS that fit the narrowed space, with the defaults of the other dimensions."""
        defaults = {"convert.per_tensor": False, "convert.keep_float": 0, "convert.storage": "int8"}
        out: list[dict[str, Any]] = []
        for seed in SEEDS:
            params = {**defaults, **seed}
            if all(self.dims[n].is_fixed and self.dims[n].fixed == v or not self.dims[n].is_fixed
                   and _within(self.dims[n].param, v) for n, v in params.items()):
                free = {n: v for n, v in params.items() if not self.dims[n].is_fixed}
                if free not in out:
                    out.append(free)
        return out


def _within(param: Param, value: Any) -> bool:
    if param.kind == "int":
        return param.low <= value <= param.high
    return param.kind == "bool" or value in param.choices


def tflite_space(config) -> TfliteSpace:
    """The space of ``config``'s .tflite source; its ops are ranked on [data] val when a trial first keeps one."""
    from edgekit.convert.tflite_source.sensitivity import weighted_ops

    path = config.resolve(config.model.source)
    with open(path, "rb") as handle:
        ops = len(weighted_ops(handle.read()))
    params = (Param("quantize", "categorical", choices=QUANTIZE), Param("weights", "categorical", choices=WEIGHTS),
              Param("per_tensor", "bool"), Param("keep_float", "int", low=0, high=min(ops, MAX_KEPT)),
              Param("storage", "categorical", choices=STORAGE))
    dims = {f"convert.{p.name}": Dimension(f"convert.{p.name}", p) for p in params}
    if ops == 0:
        dims["convert.keep_float"] = dataclasses.replace(dims["convert.keep_float"], fixed=0, is_fixed=True)
    return TfliteSpace(dims, rank=lambda: rank_config_ops(config))


def rank_config_ops(config) -> list[str]:
    """The source's weight-reading ops, most recovering first (int8, calibrated on [data] calibration)."""
    from pathlib import Path

    from edgekit.convert.tflite_source import calibration as cal
    from edgekit.convert.tflite_source import recipes, sensitivity, source

    where = str(config.model.source)
    prepared = source.prepare(Path(config.resolve(config.model.source)).read_bytes(), where)
    inputs = cal.signature_inputs(prepared.flatbuffer, prepared.signature)
    x, labels, note = cal.load_inputs(config.resolve(config.data.val), inputs, None)
    if labels is None:
        from edgekit.errors import UsageError

        raise UsageError(f"{note}: no class labels; tuning a .tflite source keeps ops float by their accuracy")
    calibration = config.data.calibration or config.data.val
    cx = cal.load_inputs(config.resolve(calibration), inputs, config.data.calibration_limit)[0]
    ranking = sensitivity.rank_ops(sensitivity.Measurement(prepared, recipes.get_mode("int8", "int8"), cx, x,
                                                           labels, where))
    return [op.op for op in ranking.ops]


__all__ = ["QUANTIZE", "SEEDS", "TfliteSpace", "tflite_space"]
