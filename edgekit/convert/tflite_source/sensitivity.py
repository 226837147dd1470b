"""Per-op sensitivity of a float ``.tflite`` to a quantization mode, and ``--auto-mixed`` on it.

The Keras path measures layers by converting the model again with some of them float
(:mod:`edgekit.convert.sensitivity`); a ``.tflite`` source has no layers, only ops, and AI
Edge Quantizer takes per-op overrides (a no-quantize entry for an op's output tensor, as
``--keep-float`` writes them). So each op that reads weights is measured as the Keras
path measures a layer: everything quantized except that op, on LiteRT, against the source
-- what keeping it float would recover. The model is calibrated once: a full recipe's
statistics serve every recipe that quantizes fewer ops.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

from edgekit.convert.sensitivity import MixedResult, sqnr_db
from edgekit.convert.tflite_source import calibration as cal
from edgekit.convert.tflite_source import engine, recipes
from edgekit.convert.tflite_source.source import Prepared, tensor_names
from edgekit.errors import UsageError


@dataclass
class OpSensitivity:
    op: str                 # the op's output tensor: the name --keep-float and [convert] keep_float take
    opcode: str
    all_but_accuracy: float
    all_but_sqnr_db: float


@dataclass
class OpRanking:
    """The source's and the fully quantized file's accuracy, and the ops, most recovering first."""

    mode: str
    float_accuracy: float
    quantized_accuracy: float
    ops: list[OpSensitivity] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Measurement:
    """What the ops are measured with: the prepared source, the mode, calibration and labelled data."""

    prepared: Prepared
    mode: recipes.Mode
    calibration: list[np.ndarray]          # one array per model input
    inputs: list[np.ndarray]               # labelled evaluation inputs
    labels: np.ndarray
    where: str
    per_tensor: bool = False


class _Evaluator:
    """Runs quantized variants of one source (calibrated once) on one labelled data set."""

    def __init__(self, m: Measurement):
        from edgekit.convert.runners import run_model

        self.m = m
        self.signature = cal.signature_inputs(m.prepared.flatbuffer, m.prepared.signature)
        self.tensor_names = tensor_names(m.prepared.flatbuffer)
        full = recipes.build_recipe(m.mode, per_tensor=m.per_tensor)
        self.statistics = (engine.calibrate(m.prepared.flatbuffer, full, cal.aeq_dataset(self.signature, m.calibration),
                                            m.where) if m.mode.calibrated else None)
        self.reference = np.asarray(run_model("litert", m.prepared.flatbuffer, m.inputs, m.where)[0], np.float64)

    def run(self, kept: Sequence[str]) -> tuple[np.ndarray, bytes]:
        from edgekit.convert.runners import run_model

        recipe = recipes.build_recipe(self.m.mode, per_tensor=self.m.per_tensor, keep_float=kept,
                                      tensor_names=self.tensor_names)
        quantized = engine.quantize(self.m.prepared.flatbuffer, recipe, None, self.m.where, self.statistics)
        outputs = run_model("litert", quantized, self.m.inputs, self.m.where)[0]
        return np.asarray(outputs, np.float64).reshape(self.reference.shape), quantized

    def accuracy(self, scores: np.ndarray) -> float:
        return float(np.mean(scores.reshape(len(self.m.labels), -1).argmax(1) == self.m.labels))


def rank_ops(m: Measurement) -> OpRanking:
    """Every op that reads weights, measured quantized-all-but-it; the most recovering first."""
    return _rank(_Evaluator(m))[0]


def _rank(ev: _Evaluator) -> tuple[OpRanking, bytes]:
    """The ranking, and the fully quantized file."""
    m = ev.m
    full, tflite = ev.run(())
    ops = []
    for op, opcode in weighted_ops(m.prepared.flatbuffer):
        scores, _ = ev.run((op,))
        ops.append(OpSensitivity(op, opcode, round(ev.accuracy(scores), 4), sqnr_db(ev.reference, scores)))
    ops.sort(key=lambda s: (-s.all_but_accuracy, -s.all_but_sqnr_db))
    return OpRanking(m.mode.name, round(ev.accuracy(ev.reference), 4), round(ev.accuracy(full), 4), ops), tflite


def auto_mixed(m: Measurement, max_drop: float) -> MixedResult:
    """Keep the most recovering ops float, one at a time, until accuracy is at most ``max_drop`` points
    below the source's (or every op is float): the Keras path's search on AEQ per-op overrides."""
    if not 0.0 <= max_drop < 100.0:
        raise UsageError(f"--auto-mixed: MAX_DROP must be between 0 and 100 points, got {max_drop}")
    ev = _Evaluator(m)
    ranking, tflite = _rank(ev)
    float_acc = ranking.float_accuracy
    kept: list[str] = []
    accuracy = ranking.quantized_accuracy
    for op in ranking.ops:
        if 100.0 * (float_acc - accuracy) <= max_drop:
            break
        kept.append(op.op)
        scores, tflite = ev.run(kept)
        accuracy = ev.accuracy(scores)
    return MixedResult(tflite, kept, float_acc, round(accuracy, 4), ranking.quantized_accuracy)


def weighted_ops(flatbuffer: bytes) -> list[tuple[str, str]]:
    """(output tensor, opcode) of each op that reads a float constant of rank >= 2 (a kernel), in order."""
    from edgekit.inspect import read_tflite

    graph = read_tflite(flatbuffer).main
    return [(graph.tensors[op.outputs[0]].name, op.opcode) for op in graph.operators
            if op.outputs and any(i >= 0 and graph.tensors[i].is_constant and graph.tensors[i].is_float
                                  and len(graph.tensors[i].shape) >= 2 for i in op.inputs)]

