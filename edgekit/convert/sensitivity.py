"""Per-layer int8 sensitivity, and the mixed-precision search built on it.

For every layer (as the TFLite ops it became) two int8 variants are measured against
the float model: *only* this layer quantized, and *all but* this layer quantized. The
first says how much damage the layer does on its own (output SQNR / accuracy), the
second how much keeping it float would recover. ``auto_mixed`` keeps the layers with
the best recovery in float until the accuracy drop is within the bound.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from edgekit.errors import UsageError
from edgekit.convert import selective


@dataclass
class LayerSensitivity:
    layer: str
    aliases: list[str]               # layers fused into the same TFLite ops (BatchNorm, ReLU, ...)
    only_accuracy: float | None      # this layer alone int8
    only_sqnr_db: float              # output SQNR vs float logits, this layer alone int8
    all_but_accuracy: float | None   # everything int8 except this layer
    all_but_sqnr_db: float


@dataclass
class SensitivityReport:
    float_accuracy: float | None
    int8_accuracy: float | None
    int8_sqnr_db: float
    layers: list[LayerSensitivity] = field(default_factory=list)   # most sensitive first

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class MixedResult:
    tflite: bytes
    kept_float: list[str]
    float_accuracy: float
    accuracy: float
    full_int8_accuracy: float

    @property
    def drop(self) -> float:
        return 100.0 * (self.float_accuracy - self.accuracy)


class _Evaluator:
    """Runs TFLite variants of one calibrated model on one data set, compared with float."""

    def __init__(self, model, x, y, calibration, per_tensor: bool = False):
        self.x, self.y, self.per_tensor = x, y, per_tensor
        self.calibrated = selective.calibrate(model, calibration)
        candidates = [layer.name for layer in model.layers if type(layer).__name__ != "InputLayer"]
        self.units, self.aliases = _units(selective.layer_nodes(self.calibrated, candidates))
        self.all_nodes = sorted({n for nodes in self.units.values() for n in nodes})
        self.reference = selective.predict(self.calibrated, x)   # the float model (ranges recorded only)

    def run(self, keep_float: set[str]) -> tuple[np.ndarray, bytes]:
        tflite = selective.quantize(self.calibrated, keep_float, per_tensor=self.per_tensor)
        return selective.predict(tflite, self.x), tflite

    def accuracy(self, logits: np.ndarray) -> float | None:
        return None if self.y is None else float((logits.argmax(-1) == self.y).mean())

    def nodes(self, layers) -> set[str]:
        return {node for layer in layers for node in self.units[layer]}


def analyze(model, x, y, calibration) -> SensitivityReport:
    """Measure every layer's int8 sensitivity on ``(x, y)``; ``y`` may be None (SQNR only)."""
    ev = _Evaluator(model, x, y, calibration)
    full, _ = ev.run(set())
    report = SensitivityReport(ev.accuracy(ev.reference), ev.accuracy(full), sqnr_db(ev.reference, full))
    for layer, nodes in ev.units.items():
        only, _ = ev.run(set(ev.all_nodes) - set(nodes))
        all_but, _ = ev.run(set(nodes))
        report.layers.append(LayerSensitivity(
            layer, ev.aliases[layer], ev.accuracy(only), sqnr_db(ev.reference, only),
            ev.accuracy(all_but), sqnr_db(ev.reference, all_but)))
    report.layers.sort(key=lambda s: (s.only_sqnr_db, -(s.all_but_accuracy or 0.0)))
    return report


def analyze_file(model_path, data, calibration, *, limit: int | None = None, calibration_limit: int = 256,
                 progress=lambda message: None) -> SensitivityReport:
    """:func:`analyze` of a Keras model file on labelled ``data`` (SPEC, at most ``limit`` samples), int8
    calibrated on ``calibration`` (SPEC, at most ``calibration_limit`` samples) -- ``edgekit sensitivity``."""
    from edgekit.convert.keras_loader import input_signature, load_keras_model
    from edgekit.data import load_dataset

    model = load_keras_model(model_path)
    shapes, names = input_signature(model)
    evaluation = load_dataset(data, input_shapes=shapes, input_names=names, limit=limit)
    representative = load_dataset(calibration, input_shapes=shapes, input_names=names, limit=calibration_limit)
    samples = len(evaluation.x[0]) if isinstance(evaluation.x, list) else len(evaluation.x)
    progress(f"sensitivity: {len(model.layers)} layers, {samples} samples")
    return analyze(model, evaluation.x, evaluation.y, representative.x)


def keep_float(model, layers: list[str], calibration, *, int8_io: bool = False, per_tensor: bool = False) -> bytes:
    """Full-int8 ``.tflite`` except the named Keras layers, which stay float (``per_tensor``: one
    scale per weight tensor)."""
    calibrated = selective.calibrate(model, calibration)
    names = [layer.name for layer in model.layers]
    unknown = [name for name in layers if name not in names]
    if unknown:
        raise UsageError(f"--keep-float: model '{model.name}' has no layer {', '.join(map(repr, unknown))}")
    nodes = selective.layer_nodes(calibrated, layers)
    empty = [name for name in layers if not nodes[name]]
    if empty:
        raise UsageError(f"--keep-float: layer {', '.join(map(repr, empty))} has no op of its own in the "
                         "TFLite model (it is folded into another layer); name that layer instead")
    return selective.quantize(calibrated, {n for ns in nodes.values() for n in ns}, int8_io=int8_io,
                              per_tensor=per_tensor)


def auto_mixed(model, x, y, calibration, max_drop: float, *, per_tensor: bool = False) -> MixedResult:
    """Keep the fewest most-recovering layers float so accuracy drops at most ``max_drop`` points
    (every variant measured with the weight scales the file will have: ``per_tensor`` or per channel)."""
    if y is None:
        raise UsageError("--auto-mixed needs labelled data (--data with labels) to measure the accuracy drop")
    if not 0.0 <= max_drop < 100.0:
        raise UsageError(f"--auto-mixed: MAX_DROP must be between 0 and 100 points, got {max_drop}")
    ev = _Evaluator(model, x, y, calibration, per_tensor)
    float_acc = ev.accuracy(ev.reference)
    full, tflite = ev.run(set())
    full_acc = ev.accuracy(full)
    ranking = sorted(ev.units, key=lambda layer: -_recovery(ev, layer))
    kept: list[str] = []
    acc = full_acc
    for layer in ranking:
        if 100.0 * (float_acc - acc) <= max_drop:
            break
        kept.append(layer)
        logits, tflite = ev.run(ev.nodes(kept))
        acc = ev.accuracy(logits)
    return MixedResult(tflite, kept, float_acc, acc, full_acc)


def _recovery(ev: _Evaluator, layer: str) -> float:
    logits, _ = ev.run(ev.nodes([layer]))
    return ev.accuracy(logits) + 1e-6 * sqnr_db(ev.reference, logits)


def sqnr_db(reference: np.ndarray, test: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio of ``test`` against ``reference`` in dB (higher is better)."""
    noise = float(np.sum((reference - test) ** 2))
    signal = float(np.sum(reference ** 2))
    return float("inf") if noise == 0 else round(10.0 * np.log10(max(signal, 1e-30) / noise), 3)


def _units(nodes: dict[str, list[str]]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """One unit per distinct op set (a BatchNorm fused into its conv is not a layer of its own),
    and for each unit the other layers that became the same ops."""
    units: dict[str, list[str]] = {}
    aliases: dict[str, list[str]] = {}
    owner: dict[tuple[str, ...], str] = {}
    for layer, layer_nodes in nodes.items():
        key = tuple(sorted(layer_nodes))
        if not layer_nodes:
            continue
        if key in owner:
            aliases[owner[key]].append(layer)
        else:
            owner[key] = layer
            units[layer], aliases[layer] = layer_nodes, []
    return units, aliases

