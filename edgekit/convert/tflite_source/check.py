"""A quantized file against its float ``.tflite`` source, on the runtime, before anything is written.

AEQ writes files that load and compute wrong (NaN from its int2 convolutions), files some
runtimes cannot prepare (per-channel int4 FULLY_CONNECTED on tflite-runtime 2.14 and TFLite
Micro), and, for ops or bit widths it does not support, the float model unchanged. So
both files run on LiteRT on the same inputs: outputs are compared in steps of 1/255 of the
source output's range (the int8 step an ideal quantizer would have), classifiers (rows
of probabilities) also by top-1 agreement; and the file's weight forms are checked against
the target profile's ``storage`` list when a target is named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from edgekit.convert.agreement import INT8_VS_FLOAT, Agreement, check, compare, output_steps
from edgekit.errors import ConversionError, OutputMismatchError, StorageError, UsageError

if TYPE_CHECKING:
    from edgekit.targets import Target

QUANTIZED_CONSTANTS = ("int8", "int4", "int16", "float16")   # constant dtypes only a quantizer writes here


@dataclass(frozen=True)
class Verification:
    """How the written file's outputs follow the source's, and on what inputs."""

    inputs: str
    agreement: Agreement
    median_steps: float
    accuracy: dict | None = None    # {"source": ..., "quantized": ...} on the SPEC's labels (first output)

    def to_dict(self) -> dict:
        return {"inputs": self.inputs, **self.agreement.to_dict(), "median_steps": round(self.median_steps, 4),
                "accuracy": self.accuracy}


def verify_against_source(source: bytes, candidate: bytes, inputs: list[np.ndarray], *, inputs_note: str,
                          where: str, what: str, labels: np.ndarray | None = None,
                          classifier: bool | None = None) -> Verification:
    """Both files on LiteRT; OutputMismatchError if the candidate's outputs are not finite where the
    source's are, or a classifier's top-1 agreement is below :data:`INT8_VS_FLOAT`. A model is a
    classifier when ``classifier`` says so, when class ``labels`` come with the inputs (then both
    files' accuracy is reported too), or when its outputs are rows of probabilities."""
    from edgekit.convert.runners import run_model

    reference = [np.asarray(r, dtype=np.float64) for r in run_model("litert", source, inputs, f"{where} (source)")]
    outputs = run_model("litert", candidate, inputs, where)
    for slot, (r, o) in enumerate(zip(reference, outputs)):
        broken = ~np.isfinite(o.reshape(r.shape)) & np.isfinite(r)
        if broken.any():
            raise OutputMismatchError(f"{where}: {what} refused: output {slot} is NaN/inf on LiteRT at "
                                      f"{int(broken.sum())} of {broken.size} values where the float source's is "
                                      "finite; nothing was written")
    steps = output_steps(None, reference)
    accuracy = None
    if labels is not None and reference[0].ndim == 2 and reference[0].shape[1] > int(labels.max()):
        accuracy = {"source": _accuracy(reference[0], labels), "quantized": _accuracy(outputs[0], labels)}
    if classifier is None:
        classifier = accuracy is not None or all(_probabilities(r) for r in reference)
    agreement = compare(reference, outputs, steps, runtime="litert", reference_kind="float",
                        tolerance=INT8_VS_FLOAT, classifier=classifier)
    diffs = np.concatenate([(np.abs(o.reshape(r.shape) - r) / s).ravel() for r, o, s in zip(reference, outputs, steps)])
    return Verification(inputs_note, check(agreement, where, what), float(np.median(diffs)), accuracy)


def require_quantized(prepared: bytes, candidate: bytes, where: str, what: str) -> int:
    """The number of quantized constants AEQ wrote; ConversionError when there are none (AEQ skips
    ops and bit widths it does not support without a word, and returns the float model)."""
    from edgekit.inspect import read_tflite

    def count(flatbuffer: bytes) -> int:
        return sum(t.is_constant and t.dtype in QUANTIZED_CONSTANTS for g in read_tflite(flatbuffer).subgraphs
                   for t in g.tensors)

    added = count(candidate) - count(prepared)
    if added <= 0:
        raise ConversionError(f"{where}: {what} quantized no tensor (AI Edge Quantizer supports none of this "
                              "model's ops in that mode, or --keep-float excluded them all); nothing was written")
    return added


def check_target(candidate: bytes, kind: str | None, target: "Target", where: str) -> None:
    """UsageError/StorageError if ``target``'s profile does not accept the mode (``kind``; None for a
    recipe file, which names no mode) or the file's weight forms."""
    from edgekit.inspect import read_tflite
    from edgekit.inspect.storage import check_storage

    if kind is not None and kind not in target.quantizations:
        raise UsageError(f"{where}: target {target.name} accepts {', '.join(target.quantizations)} models, not "
                         f"{kind}; choose another --quantize")
    try:
        check_storage(read_tflite(candidate), target.storage, where, f"target {target.name}")
    except StorageError as exc:
        raise StorageError(f"{exc}; nothing was written") from None


def _accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    return round(float(np.mean(scores.reshape(len(labels), -1).argmax(1) == labels)), 4)


def _probabilities(reference: np.ndarray) -> bool:
    """Rows of non-negative scores summing to 1: a classifier's softmax output."""
    if reference.ndim != 2 or reference.shape[1] < 2:
        return False
    return bool((reference >= 0).all() and np.allclose(reference.sum(axis=1), 1.0, atol=1e-3))
