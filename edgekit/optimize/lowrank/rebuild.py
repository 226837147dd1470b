"""Replace factorized layers with the chain of plain Keras layers that computes their factors.

The last layer of each chain is a copy of the original (same name, class, bias, activation,
regularizers), reshaped to read the previous factor: 1x1 for Tucker-2 and 1x1 SVD pairs,
1 x kw for the spatial split; Dense keeps its units. The layers before it have no bias and
no activation and take the original's strides, padding and dilation where the window is
(the k x k core, the kh x 1 convolution, the first 1x1). So the result saves and loads as
an ordinary ``.keras`` file and converts like any other model.
"""

from __future__ import annotations

import keras
import numpy as np

from edgekit.optimize.rewrite import fresh_copy, rebuild


def factor_layers(layer, method: str, ranks: tuple[int, ...], taken: set[str]) -> list:
    """The new layers, input side first; ``taken``: layer names in use (new names are added to it)."""
    config = layer.get_config()
    common = {"use_bias": False, "dtype": layer.dtype_policy, "trainable": layer.trainable}

    def name(suffix: str) -> str:
        base, number = f"{layer.name}_{suffix}", 1
        found = base
        while found in taken:
            number += 1
            found = f"{base}{number}"
        taken.add(found)
        return found

    if isinstance(layer, keras.layers.Dense):
        return [keras.layers.Dense(ranks[0], name=name("reduce"), **common), fresh_copy(layer)]
    conv = {"data_format": config["data_format"], **common}
    pointwise = {"kernel_size": (1, 1), "strides": (1, 1), "padding": "valid", "dilation_rate": (1, 1)}
    window = {key: config[key] for key in ("kernel_size", "strides", "padding", "dilation_rate")}
    if method == "svd":
        return [keras.layers.Conv2D(ranks[0], name=name("reduce"), **window, **conv),
                fresh_copy(layer, **pointwise)]
    if method == "tucker":  # a mode kept at full width has no 1x1 (see decompose.tucker2)
        (r_in, r_out), (channels, filters) = ranks, (layer.kernel.shape[2], config["filters"])
        reduce = [keras.layers.Conv2D(r_in, name=name("reduce"), **pointwise, **conv)] if r_in < channels else []
        if r_out == filters:
            return reduce + [fresh_copy(layer)]
        return reduce + [keras.layers.Conv2D(r_out, name=name("core"), **window, **conv),
                         fresh_copy(layer, **pointwise)]
    (kh, kw), (sh, sw), (dh, dw) = config["kernel_size"], config["strides"], config["dilation_rate"]
    return [keras.layers.Conv2D(ranks[0], (kh, 1), strides=(sh, 1), padding=config["padding"],
                                dilation_rate=(dh, 1), name=name("vertical"), **conv),
            fresh_copy(layer, kernel_size=(1, kw), strides=(1, sw), dilation_rate=(1, dw))]


def replace_layers(model, chains: dict[str, list], factors: dict[str, list[np.ndarray]]):
    """A flat copy of ``model`` where each layer named in ``chains`` is that chain, holding ``factors``."""

    def replace(layer):
        chain = chains.get(layer.name)
        return chain[-1] if chain else None

    def call(layer, *args, **kwargs):
        chain = chains.get(layer.name)
        if not chain or layer is not chain[-1]:
            return layer(*args, **kwargs)
        x = chain[0](*args, **kwargs)
        for part in chain[1:]:
            x = part(x)
        return x

    def copy_weights(old, new) -> None:
        *inner, last = factors[old.name]
        for part, kernel in zip(chains[old.name][:-1], inner):
            part.set_weights([kernel])
        new.set_weights([last] + ([np.asarray(old.bias)] if old.use_bias else []))

    return rebuild(model, replace, copy_weights, call)
