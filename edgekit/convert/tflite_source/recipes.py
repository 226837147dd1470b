"""edgekit's quantization options for a ``.tflite`` source, as AI Edge Quantizer recipes.

A registry: each :class:`Mode` is one ``(--quantize, --weights)`` pair and the AEQ
``RecipeManager`` call that makes its recipe; ``--per-tensor`` picks the weight
granularity, ``--keep-float`` appends no-quantize entries (AEQ gives later entries
priority). Only what AEQ 0.10 does and a runtime ran correctly is offered: its int2
recipes were skipped silently or gave NaN, so they are not here. A recipe file (AEQ's
JSON format) is taken as written, for anything finer.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from edgekit.errors import InputFileError, UsageError

WEIGHT_BITS = ("int8", "int4")
TENSOR_SCOPE = "(^|;){};"   # AEQ matches a regex against an op's scope: its output tensor names, each + ";"


@dataclass(frozen=True)
class Mode:
    """One way to quantize a float .tflite with AEQ."""

    name: str            # for reports and errors: "dynamic", "weights-int4", "int8 (a8w4)", ...
    summary: str
    kind: str            # the target profiles' word for it (``quantizations``, edgekit.vocab.QUANTIZE_MODES)
    calibrated: bool     # needs representative inputs
    add: Callable        # (RecipeManager, granularity) -> None: adds the model-wide entry


def _dynamic(bits: int) -> Callable:
    return lambda rm, granularity: rm.add_dynamic_config(".*", "*", num_bits=bits, granularity=granularity)


def _weight_only(bits: int) -> Callable:
    return lambda rm, granularity: rm.add_weight_only_config(".*", "*", num_bits=bits, granularity=granularity)


def _static(activation_bits: int, weight_bits: int) -> Callable:
    return lambda rm, granularity: rm.add_static_config(".*", "*", activation_num_bits=activation_bits,
                                                        weight_num_bits=weight_bits, weight_granularity=granularity)


def _float16(rm, granularity) -> None:
    from ai_edge_quantizer.algorithm_manager import AlgorithmName

    rm.add_weight_only_config(".*", "*", num_bits=16, algorithm_key=AlgorithmName.FLOAT_CASTING)


# (--quantize, --weights) -> Mode. --weights alone (--quantize none) is weight-only: the op
# dequantizes its weights and computes in float.
MODES: dict[tuple[str, str], Mode] = {
    ("dynamic", "int8"): Mode("dynamic", "int8 weights, activations quantized on the fly", "dynamic", False,
                              _dynamic(8)),
    ("dynamic", "int4"): Mode("dynamic (int4 weights)", "int4 weights, activations quantized on the fly", "dynamic",
                              False, _dynamic(4)),
    ("none", "int8"): Mode("weights-int8", "int8 weights dequantized to float before each op", "dynamic", False,
                           _weight_only(8)),
    ("none", "int4"): Mode("weights-int4", "int4 weights dequantized to float before each op", "dynamic", False,
                           _weight_only(4)),
    ("float16", "float16"): Mode("float16", "float16 weights dequantized to float32 before each op", "float16",
                                 False, _float16),
    ("int8", "int8"): Mode("int8", "int8 weights and activations (calibrated)", "int8", True, _static(8, 8)),
    ("int8", "int4"): Mode("int8 (int4 weights)", "int4 weights, int8 activations (calibrated)", "int8", True,
                           _static(8, 4)),
    ("int16x8", "int8"): Mode("int16x8", "int8 weights, int16 activations (calibrated)", "int16x8", True,
                              _static(16, 8)),
}
DEFAULT_WEIGHTS = {"dynamic": "int8", "int8": "int8", "int16x8": "int8", "float16": "float16"}


def register(quantize: str, weights: str, mode: Mode) -> None:
    MODES[(quantize, weights)] = mode


def get_mode(quantize: str, weights: str | None) -> Mode:
    """The mode of ``--quantize``/``--weights``; UsageError naming the pairs that exist otherwise."""
    if quantize == "none" and weights is None:
        raise UsageError("a .tflite source is already float: give --quantize dynamic|float16|int8|int16x8, "
                         "or --weights int8|int4 for weight-only quantization")
    mode = find_mode(quantize, weights)
    if mode is None:
        pairs = ", ".join(f"--quantize {q}" + (f" --weights {w}" if w not in (DEFAULT_WEIGHTS.get(q), "float16")
                                               else "") for q, w in MODES)
        raise UsageError(f"--quantize {quantize} --weights {weights}: not offered for a .tflite source; "
                         f"choose from: {pairs}")
    return mode


def find_mode(quantize: str, weights: str | None) -> Mode | None:
    """The mode of a (quantize, weights) pair, weights defaulting to the mode's own; None if not offered."""
    return MODES.get((quantize, weights or DEFAULT_WEIGHTS.get(quantize, "")))


def build_recipe(mode: Mode, *, per_tensor: bool = False, keep_float: Sequence[str] = (),
                 tensor_names: Sequence[str] = ()) -> list[dict]:
    """The AEQ recipe of ``mode``; ``keep_float`` names TFLite ops (``CONV_2D``) or tensors of the model."""
    from ai_edge_quantizer import qtyping, recipe_manager
    from ai_edge_quantizer.algorithm_manager import AlgorithmName

    granularity = qtyping.QuantGranularity.TENSORWISE if per_tensor else qtyping.QuantGranularity.CHANNELWISE
    rm = recipe_manager.RecipeManager()
    mode.add(rm, granularity)
    ops = {op.value for op in qtyping.TFLOperationName}
    for name in keep_float:
        if name in ops:
            rm.add_quantization_config(".*", name, algorithm_key=AlgorithmName.NO_QUANTIZE)
        elif name in tensor_names:
            rm.add_quantization_config(TENSOR_SCOPE.format(re.escape(name)), "*",
                                       algorithm_key=AlgorithmName.NO_QUANTIZE)
        else:
            close = ([t for t in tensor_names if name.lower() in t.lower()][:3]
                     or difflib.get_close_matches(name, [*tensor_names, *ops], n=3))
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise UsageError(f"--keep-float {name}: neither a TFLite op (e.g. CONV_2D) nor a tensor of the model"
                             f"{hint}; edgekit inspect MODEL lists its tensors")
    return rm.get_quantization_recipe()


def load_recipe_file(path: str | Path) -> list[dict]:
    """An AEQ recipe (JSON list of entries), checked by AEQ itself; one line naming the file if it is not one."""
    from ai_edge_quantizer import recipe_manager

    try:
        recipe = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read the recipe: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not a JSON recipe: {exc}") from None
    try:
        recipe_manager.RecipeManager().load_quantization_recipe(recipe)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"{path}: not an AI Edge Quantizer recipe ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:200] if str(exc) else ''}); see the recipes AEQ ships") from None
    return recipe


def needs_calibration(recipe: list[dict]) -> bool:
    from ai_edge_quantizer import recipe_manager

    rm = recipe_manager.RecipeManager()
    rm.load_quantization_recipe(recipe)
    return rm.need_calibration()
