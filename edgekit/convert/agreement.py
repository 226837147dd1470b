"""Output agreement: a written model against its reference, on the same inputs, same runtime.

Converter and runtime paths exist that produce files which load and run but compute
wrong (per-tensor LUT tables on per-channel weights under TFLite Micro, per-channel
sparse int8 under tflite-runtime 2.14), so edgekit runs what it writes. Two measures,
per output: the largest difference in output quantization steps (the step of the
reference's int8 output, else 1/255 of the reference's range) and, for classifier outputs
(one row of scores per sample), how often the file picks a class the reference ranks best
(top-1 agreement, tie-aware: see :func:`top1_agreement`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgekit.errors import OutputMismatchError


@dataclass(frozen=True)
class Tolerance:
    """What a file may differ from its reference by: ``max_steps`` output quantization steps
    (None = not bounded: float references of an int8 file differ by rounding everywhere)
    and a top-1 agreement of at least ``min_top1`` on classifier outputs."""

    max_steps: float | None
    min_top1: float

    def describe(self) -> str:
        steps = "" if self.max_steps is None else f"at most {self.max_steps:g} output step(s), "
        return f"{steps}top-1 agreement >= {self.min_top1:.0%}"


LOSSLESS = Tolerance(max_steps=0.0, min_top1=1.0)     # an encoding of the same int8 weights
INT8_VS_FLOAT = Tolerance(max_steps=None, min_top1=0.9)


@dataclass(frozen=True)
class Agreement:
    """How closely a file's outputs follow its reference's; ``.to_dict()`` goes into ``--json``."""

    runtime: str
    reference: str         # "float" (the Keras model) or "int8" (the int8 file)
    samples: int
    max_steps: float       # worst output difference, in the reference's output quantization steps
    mean_steps: float
    top1: float | None     # None when no output is a classifier
    tolerance: Tolerance

    @property
    def ok(self) -> bool:
        steps_ok = self.tolerance.max_steps is None or self.max_steps <= self.tolerance.max_steps + 1e-6
        return steps_ok and (self.top1 is None or self.top1 >= self.tolerance.min_top1)

    def describe(self) -> str:
        top1 = "" if self.top1 is None else f", top-1 agreement {self.top1:.2%}"
        return (f"{self.runtime}: max {self.max_steps:g} / mean {self.mean_steps:.3f} output steps vs the "
                f"{self.reference} reference over {self.samples} samples{top1}")

    @classmethod
    def from_dict(cls, record: dict) -> "Agreement":
        """The Agreement a ``to_dict()`` record describes (a build caches its checks as JSON)."""
        return cls(record["runtime"], record["reference"], record["samples"], record["max_steps"],
                   record["mean_steps"], record["top1"], Tolerance(**record["tolerance"]))

    def to_dict(self) -> dict:
        return {"runtime": self.runtime, "reference": self.reference, "samples": self.samples,
                "max_steps": round(self.max_steps, 4), "mean_steps": round(self.mean_steps, 4),
                "top1": None if self.top1 is None else round(self.top1, 4),
                "tolerance": {"max_steps": self.tolerance.max_steps, "min_top1": self.tolerance.min_top1},
                "ok": self.ok}


def output_steps(flatbuffer: bytes | None, reference: list[np.ndarray]) -> list[float]:
    """Per output: the int8 quantization step of ``flatbuffer``'s output (or of the DEQUANTIZE
    feeding a float output); 1/255 of the reference's range when there is none."""
    steps = [float(np.ptp(r)) / 255 or 1.0 for r in reference]
    if flatbuffer is None:
        return steps
    from edgekit.inspect import read_tflite

    graph = read_tflite(flatbuffer).main
    producers = {out: op for op in graph.operators for out in op.outputs}
    for slot, index in enumerate(graph.outputs[:len(steps)]):
        tensor = graph.tensors[index]
        op = producers.get(index)
        if tensor.quantization is None and op is not None and op.opcode == "DEQUANTIZE":
            tensor = graph.tensors[op.inputs[0]]
        if tensor.quantization is not None and len(tensor.quantization.scales):
            steps[slot] = float(tensor.quantization.scales[0])
    return steps


def compare(reference: list[np.ndarray], outputs: list[np.ndarray], steps: list[float], *, runtime: str,
            reference_kind: str, tolerance: Tolerance, classifier: bool = True) -> Agreement:
    """The agreement of ``outputs`` with ``reference`` (one array per output, samples first).

    ``classifier=False`` (a regression model) leaves out top-1 agreement: a row of regression
    values has no "class" to agree on."""
    diffs = [np.abs(o.astype(np.float64).reshape(r.shape) - r) / s for r, o, s in zip(reference, outputs, steps)]
    worst = max(float(d.max()) for d in diffs)
    mean = float(np.mean([d.mean() for d in diffs]))
    classifiers = [(r, o, s) for r, o, s in zip(reference, outputs, steps)
                   if classifier and r.ndim == 2 and r.shape[1] > 1]
    top1 = None
    if classifiers:
        top1 = float(np.mean([np.mean(top1_agreement(r, o.reshape(r.shape), s)) for r, o, s in classifiers]))
    return Agreement(runtime, reference_kind, len(reference[0]), round(worst, 3), mean, top1, tolerance)


def top1_agreement(reference: np.ndarray, outputs: np.ndarray, step: float) -> np.ndarray:
    """Per sample (rows of class scores), whether the file's top-1 class is one the reference ranks best.

    Sample i agrees when ``reference[i, argmax(outputs[i])] >= max(reference[i]) - step``: the
    reference's score for the file's class is within one output quantization step of its best.
    ``step`` is the reference's output step (an int8 reference), else the file's (a float
    reference has none): classes the reference separates by less than one step are tied, since
    an int8 output cannot tell them apart, and picking either is no disagreement. A wrong file
    still fails: its class then scores well below the reference's best.
    """
    chosen = reference[np.arange(len(reference)), outputs.argmax(1)]
    return chosen >= reference.max(1) - step * (1 + 1e-6)


def check(agreement: Agreement, where: str, what: str, *, refuse: bool = True) -> Agreement:
    """``agreement`` if within its tolerance; else OutputMismatchError naming the file and the figures.

    ``refuse=False`` (``--no-verify``): the agreement either way; the caller writes the file and
    reports it as not verified (:func:`not_verified`)."""
    if refuse and not agreement.ok:
        raise OutputMismatchError(f"{where}: {what} refused, its outputs disagree with the {agreement.reference} "
                                  f"reference on {agreement.runtime} ({agreement.describe().split(': ', 1)[1]}; "
                                  f"allowed: {agreement.tolerance.describe()}); nothing was written")
    return agreement


def verify(reference: bytes, candidate: bytes, inputs: list[np.ndarray], *, runtime: str, tolerance: Tolerance,
           where: str, what: str, refuse: bool = True) -> Agreement:
    """Run both files on ``inputs`` with ``runtime``; the Agreement, or OutputMismatchError (see :func:`check`)."""
    from edgekit.convert.runners import run_model

    expected = run_model(runtime, reference, inputs, f"{where} (int8 reference)")
    actual = run_model(runtime, candidate, inputs, where)
    agreement = compare(expected, actual, output_steps(reference, expected), runtime=runtime,
                        reference_kind="int8", tolerance=tolerance)
    return check(agreement, where, what, refuse=refuse)


def not_verified(where: str, agreements: list[Agreement | None]) -> str | None:
    """The warning for a file written although its outputs failed a check (``--no-verify``); None if none failed."""
    failed = [a for a in agreements if a is not None and not a.ok]
    if not failed:
        return None
    return (f"{where} written but not verified: its outputs disagree with the " + "; and with the ".join(
        f"{a.reference} reference ({a.describe()}; allowed: {a.tolerance.describe()})" for a in failed)
        + "; it may compute wrong")
