"""Low-rank factorization: Dense and Conv2D kernels replaced by chains of smaller plain layers.

:func:`plan_factorization` decides, per layer, the method and ranks or why the layer stays
whole; :func:`apply_plan` computes the factors and rebuilds the model; :func:`factorize`
does both. A layer is factorized only where its factors hold fewer weights than its
kernel. Layers that feed a model output (the classifier) stay whole unless given a rank
in ``layer_ranks``: they are small next to the layers before them, and their rank is
what separates the classes, so truncating them costs accuracy for little size.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import keras
import numpy as np

from edgekit.errors import UsageError
from edgekit.optimize.graph import flatten, leaf_layers
from edgekit.optimize.layers import compressible_weights
from edgekit.optimize.lowrank.config import LowRankConfig
from edgekit.optimize.lowrank.decompose import compose, spatial_pair, svd_pair, tucker2
from edgekit.optimize.lowrank.ranks import kernel_cost, matrix_shape, ranks_for_energy, ranks_for_ratio, ranks_given
from edgekit.optimize.lowrank.rebuild import factor_layers, replace_layers


@dataclass(frozen=True)
class LayerPlan:
    """One kernel layer: how it is factorized (``method`` None: kept whole, ``reason`` says why)."""

    layer: str
    type: str
    kernel_shape: tuple[int, ...]
    method: str | None
    ranks: tuple[int, ...]
    params_before: int           # kernel + bias
    params_after: int
    reason: str = ""
    energy: float | None = None  # retained: 1 - |K - K_r|^2 / |K|^2, set when the factors are computed

    def to_dict(self) -> dict:
        return {"layer": self.layer, "type": self.type, "kernel_shape": list(self.kernel_shape),
                "method": self.method, "ranks": list(self.ranks), "params_before": self.params_before,
                "params_after": self.params_after, "energy": self.energy, "reason": self.reason or None}


@dataclass
class LowRankResult:
    model: Any
    layers: list[LayerPlan]
    params_before: int
    params_after: int

    @property
    def factorized(self) -> list[LayerPlan]:
        return [plan for plan in self.layers if plan.method]

    @property
    def kept(self) -> list[LayerPlan]:
        return [plan for plan in self.layers if not plan.method]

    def summary(self) -> dict:
        before = sum(p.params_before for p in self.factorized)
        after = sum(p.params_after for p in self.factorized)
        return {"params_before": self.params_before, "params_after": self.params_after,
                "factorized_params_before": before, "factorized_params_after": after,
                "factorized_ratio": round(after / before, 4) if before else None,
                "layers": [plan.to_dict() for plan in self.layers]}


def factorize(model, config: LowRankConfig) -> LowRankResult:
    """The model with every layer that saves weights factorized as ``config`` says (weights not trained)."""
    return apply_plan(model, plan_factorization(model, config))


def plan_factorization(model, config: LowRankConfig) -> list[LayerPlan]:
    """A plan for every layer with a kernel, in model order."""
    layers = [layer for layer in leaf_layers(model) if compressible_weights(layer) and layer.weights]
    _check_overrides(model, layers, config)
    outputs = output_layers(model)
    return [_plan(layer, config, outputs.get(layer.name)) for layer in layers]


def apply_plan(model, plans: list[LayerPlan]) -> LowRankResult:
    """Compute the factors of the planned layers and rebuild ``model`` with them."""
    layers = {layer.name: layer for layer in leaf_layers(model)}
    taken = set(layers)
    chains, factors, done = {}, {}, []
    for plan in plans:
        if plan.method:
            layer = layers[plan.layer]
            kernel = np.asarray(layer.kernel)
            factors[plan.layer] = _factors(kernel, plan.method, plan.ranks)
            chains[plan.layer] = factor_layers(layer, plan.method, plan.ranks, taken)
            plan = replace(plan, energy=_retained(kernel, factors[plan.layer]))
        done.append(plan)
    new_model = replace_layers(model, chains, factors) if chains else flatten(model)
    return LowRankResult(new_model, done, model.count_params(), new_model.count_params())


def method_for(layer, conv: str) -> str:
    """``svd`` for Dense and 1x1 Conv2D kernels, ``conv`` (tucker | spatial) for larger windows."""
    if isinstance(layer, keras.layers.Dense) or tuple(layer.kernel_size) == (1, 1):
        return "svd"
    return conv


def output_layers(model) -> dict[str, str]:
    """Kernel layers whose result reaches a model output through weightless layers only -> that output's name."""
    from edgekit.convert.keras_loader import output_names

    found = {}
    functional = flatten(model)
    for tensor, name in zip(functional.outputs, output_names(model)):
        current = tensor
        while True:
            operation, node_index, _ = current._keras_history
            if not getattr(operation, "weights", None) or not compressible_weights(operation):
                inputs = operation._inbound_nodes[node_index].input_tensors
                if len(inputs) != 1 or isinstance(operation, keras.layers.InputLayer):
                    break
                current = inputs[0]
                continue
            found[operation.name] = name
            break
    return found


def _plan(layer, config: LowRankConfig, output: str | None) -> LayerPlan:
    params = int(layer.count_params())
    kind = type(layer).__name__
    shape = tuple(int(d) for d in getattr(layer, "kernel", np.zeros(0)).shape)
    reason = _unsupported(layer)
    rank = config.layer_ranks.get(layer.name)
    if not reason and rank == 0:
        reason = "kept whole by --lowrank-layer-ranks NAME=0"
    if not reason and rank is None and config.ratio is None and config.energy is None:
        reason = "not named in --lowrank-layer-ranks (only the named layers are factorized)"
    if not reason and output and rank is None:
        reason = f"feeds the model output '{output}' (factorize it with --lowrank-layer-ranks {layer.name}=RANK)"
    if reason:
        return LayerPlan(layer.name, kind, shape, None, (), params, params, reason)
    method = method_for(layer, config.conv)
    if rank is not None:
        ranks = ranks_given(method, shape, rank)
    elif config.energy is not None:
        ranks = ranks_for_energy(method, np.asarray(layer.kernel), config.energy)
    else:
        ranks = ranks_for_ratio(method, np.asarray(layer.kernel), config.ratio)
    before, after = int(np.prod(shape)), kernel_cost(method, shape, ranks)
    if after >= before:
        return LayerPlan(layer.name, kind, shape, None, ranks, params, params,
                         f"{method} at rank {_ranks(ranks)} saves nothing ({after:,} >= {before:,} kernel weights)")
    return LayerPlan(layer.name, kind, shape, method, ranks, params, params - before + after)


def _unsupported(layer) -> str:
    """Why ``layer`` cannot be factorized, or ''."""
    kind = type(layer).__name__
    base = next((cls for cls in (keras.layers.Dense, keras.layers.Conv2D) if isinstance(layer, cls)), None)
    if base is None or type(layer).call is not base.call:
        return f"{kind} is not factorized (Dense and Conv2D are)"
    if getattr(layer, "lora_enabled", False):
        return "LoRA is enabled on it"
    if getattr(layer, "quantization_mode", None):
        return f"it is quantized ({layer.quantization_mode})"
    if base is keras.layers.Conv2D and layer.groups != 1:
        return f"grouped convolution (groups={layer.groups}): each group is its own kernel"
    return ""


def _check_overrides(model, layers, config: LowRankConfig) -> None:
    names = {layer.name for layer in leaf_layers(model)}
    kernels = {layer.name: layer for layer in layers}
    for name, rank in config.layer_ranks.items():
        if name not in names:
            raise UsageError(f"--lowrank-layer-ranks: model '{model.name}' has no layer '{name}'")
        reason = _unsupported(kernels[name]) if name in kernels else "it has no kernel"
        if rank and reason:
            raise UsageError(f"--lowrank-layer-ranks: layer '{name}' cannot be factorized: {reason}")


def _factors(kernel: np.ndarray, method: str, ranks: tuple[int, ...]) -> list[np.ndarray]:
    if method == "tucker":
        return tucker2(kernel, *ranks)
    if method == "spatial":
        return list(spatial_pair(kernel, ranks[0]))
    a, b = svd_pair(kernel.reshape(matrix_shape(kernel.shape)), ranks[0])
    if kernel.ndim == 2:
        return [a, b]
    return [a[None, None], b[None, None]]


def _retained(kernel: np.ndarray, parts: list[np.ndarray]) -> float:
    total = float(np.sum(kernel.astype(np.float64) ** 2))
    error = float(np.sum((kernel.astype(np.float64) - compose(parts).astype(np.float64)) ** 2))
    return round(1.0 - error / total, 4) if total else 1.0


def _ranks(ranks: tuple[int, ...]) -> str:
    return "x".join(str(r) for r in ranks)

