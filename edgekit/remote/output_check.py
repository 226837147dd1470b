"""Deploy's output check: what the device's own runtime computes, before the model is activated.

Two checks, decided on the host before anything is sent (:func:`plan`), run on each device
by :func:`run` (after the push, before the switch):

- ``--eval DATA``: the labelled data goes with the model; the device's outputs are scored
  like ``edgekit eval`` scores the host's (LiteRT here), and compared with them: device
  accuracy beside host accuracy, and their top-1 agreement (tie-aware, as every check:
  :func:`edgekit.convert.agreement.top1_agreement`). A device
  that computes something else than the host (beyond :data:`DEVICE_VS_HOST`) is refused.
- a compact file (int4, sparse: :func:`edgekit.inspect.storage.storage_forms`) runs beside
  its int8 reference on the same inputs (``--eval`` data, else seeded random inputs over
  each input's range) and is refused beyond its storage form's tolerance: runtimes exist
  that load such a file and compute wrong (per-channel sparse on tflite-runtime 2.14). The
  reference is ``--reference`` (the int8 file the compact one was made from), else the
  compact file re-made as plain int8 on the host (:mod:`edgekit.convert.storage.expand`).

A refusal is an :class:`OutputMismatchError` (exit 5); the deploy removes the model it
uploaded and activates nothing.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from edgekit.convert.agreement import Agreement, Tolerance, compare
from edgekit.data import Preprocess, load_dataset
from edgekit.errors import DataError, OutputMismatchError, UsageError
from edgekit.inspect import read_tflite
from edgekit.inspect.storage import storage_forms
from edgekit.remote import device_outputs
from edgekit.remote.device_outputs import Session

# The same file on another build of the runtime: integer kernels may round one step apart.
DEVICE_VS_HOST = Tolerance(max_steps=2.0, min_top1=0.99)
RANDOM_SAMPLES = 64
# The storage form (edgekit.convert.storage) whose tolerance applies to each compact capability.
FORM_OF = {"int4": "int4", "int4-fc-per-channel": "int4", "sparse": "sparse", "sparse-per-channel": "sparse"}


@dataclass
class HostEval:
    """Labelled data and what the host's runtime (LiteRT) makes of it, prepared once for every device."""

    data: str
    inputs: list[np.ndarray]
    labels: list[np.ndarray]
    names: list[str]               # output names, in the order scores are reported
    order: list[int]               # for each of those outputs, its slot in the file's output order
    tasks: list
    predictions: list[np.ndarray]  # host outputs, in `names` order
    steps: list[float]             # one output quantization step per output (agreement unit)
    metrics: dict                  # like EvalResult.metrics

    @property
    def samples(self) -> int:
        return len(self.inputs[0])


@dataclass
class Plan:
    """What to check on every device, decided on the host."""

    inputs: list[np.ndarray]
    evaluation: HostEval | None = None
    reference: Path | None = None            # the int8 reference of a compact file
    reference_origin: str | None = None      # "given" (--reference) or "re-made as int8 on the host"
    forms: list[str] = field(default_factory=list)
    tolerance: Tolerance | None = None
    steps: list[float] = field(default_factory=list)   # the compact file's output steps (its output order)
    workdir: tempfile.TemporaryDirectory | None = None

    def close(self) -> None:
        if self.workdir is not None:
            self.workdir.cleanup()


def prepare_eval(model_path: str | Path, spec: str | Path, *, preprocess: Preprocess | None = None,
                 limit: int | None = None, loss: str | None = None) -> HostEval:
    """Load ``spec`` against the model (labels required; DataError in one line otherwise) and score it on LiteRT."""
    from edgekit.evaluate.evaluation import output_metrics, output_tasks
    from edgekit.evaluate.tflite import TFLiteModel

    model = TFLiteModel(model_path)
    dataset = load_dataset(spec, input_shapes=model.input_shapes, input_names=model.input_names,
                           output_names=model.output_names, require_labels=True, limit=limit, preprocess=preprocess)
    labels = dataset.labels
    if len(labels) != len(model.output_names):
        raise DataError(f"{dataset.source}: {len(labels)} label array(s) for the model's {len(model.output_names)} "
                        f"outputs ({', '.join(model.output_names)}); give one per output")
    inputs = [np.asarray(x, dtype=np.float32) for x in dataset.inputs]
    predictions = model.predict(inputs)
    tasks = output_tasks(loss, None, model.output_shapes, labels)
    metrics = output_metrics(tasks, predictions, labels, model.output_names, dataset.source)
    steps = [_step(d, p) for d, p in zip(model.output_details, predictions)]
    return HostEval(dataset.source, inputs, labels, list(model.output_names), model.file_slots, tasks, predictions,
                    steps, metrics)


def plan(model_path: Path, *, evaluation: HostEval | None, reference: Path | None) -> Plan | None:
    """The checks ``model_path`` needs (None: none), with the reference made and the inputs chosen."""
    forms = compact_forms(model_path, reference)
    if not forms and evaluation is None:
        return None
    inputs = evaluation.inputs if evaluation is not None else random_inputs(model_path)
    checks = Plan(inputs=inputs, evaluation=evaluation, forms=forms)
    if not forms:
        return checks
    from edgekit.convert.storage import FORMS

    tolerances = [FORMS[FORM_OF[form]].tolerance for form in forms]
    checks.tolerance = Tolerance(max(t.max_steps for t in tolerances), min(t.min_top1 for t in tolerances))
    if reference is not None:
        checks.reference, checks.reference_origin = reference, "given"
    else:
        from edgekit.convert.storage.expand import to_int8
        from edgekit.extras import require_tensorflow

        require_tensorflow(f"re-making {model_path.name} as int8 to check it on the device (or pass --reference "
                           "with its int8 file)")
        checks.workdir = tempfile.TemporaryDirectory(prefix="edgekit-reference-")
        checks.reference = Path(checks.workdir.name, f"{model_path.stem}.int8.tflite")
        checks.reference.write_bytes(to_int8(model_path.read_bytes(), str(model_path)))
        checks.reference_origin = "re-made as int8 on the host"
    from edgekit.convert.agreement import output_steps
    from edgekit.convert.runners import run_model

    host = run_model("litert", checks.reference.read_bytes(), inputs, f"{checks.reference} (int8 reference)")
    checks.steps = output_steps(checks.reference.read_bytes(), host)
    return checks


def compact_forms(model_path: Path, reference: Path | None = None) -> list[str]:
    """The file's compact storage capabilities; UsageError for a ``reference`` of a file that has none."""
    forms = [form for form in storage_forms(read_tflite(model_path)) if form in FORM_OF]
    if reference is not None and not forms:
        raise UsageError(f"--reference {reference}: {Path(model_path).name} has no int4 or sparse kernels, so there "
                         "is no compact form to check against an int8 reference; drop --reference (--eval DATA "
                         "checks a plain file on the device against the host)")
    return forms


def random_inputs(model_path: Path, samples: int = RANDOM_SAMPLES) -> list[np.ndarray]:
    """Seeded float inputs spread over each input's range (its quantization range, else [0, 1))."""
    rng = np.random.default_rng(0)
    arrays = []
    for tensor in read_tflite(model_path).main.input_tensors():
        shape = (samples, *[max(1, int(d)) for d in tensor.shape[1:]])
        q = tensor.quantization
        if q is not None and len(q.scales) and tensor.dtype in ("int8", "uint8"):
            low, high = (-128, 127) if tensor.dtype == "int8" else (0, 255)
            scale, zero = float(q.scales[0]), int(q.zero_points[0])
            arrays.append(((rng.integers(low, high, size=shape, endpoint=True) - zero) * scale).astype(np.float32))
        else:
            arrays.append(rng.random(shape, dtype=np.float32))
    return arrays


def run(session: Session, checks: Plan, model: str, *, where: str, name: str) -> dict:
    """Both checks on one device; the report for the deploy's result, or OutputMismatchError."""
    inputs = device_outputs.push_inputs(session, checks.inputs)
    reference_remote = None
    try:
        ran = device_outputs.run(session, model, inputs)
        report: dict = {"sha256": ran.result["model"]["sha256"], "runtime": ran.result["runtime"],
                        "delegation": ran.result["delegation"], "samples": len(checks.inputs[0])}
        if checks.reference is not None:
            from edgekit.remote import push

            sha = push.sha256_file(checks.reference)
            reference_remote = session.layout.scratch(f"reference-{sha[:16]}.tflite")
            push.push_file(session.agent, checks.reference, sha, reference_remote)
            expected = device_outputs.run(session, reference_remote, inputs)
            agreement, decided = reference_agreement(expected.outputs, ran.outputs, checks.steps, checks.tolerance,
                                            _runtime(ran.result))
            report["reference"] = {"origin": checks.reference_origin, "storage": checks.forms,
                                   **agreement.to_dict(), "top1_samples": decided}
            _refuse_unless(agreement, where, name, f"its int8 reference ({checks.reference_origin})")
        if checks.evaluation is not None:
            report["eval"], agreement = _score(checks.evaluation, ran.outputs, _runtime(ran.result))
            _refuse_unless(agreement, where, name, "the host's LiteRT outputs")
    finally:
        device_outputs.remove(session, *(p for p in (inputs, reference_remote) if p))
    return report


def reference_agreement(expected: list[np.ndarray], outputs: list[np.ndarray], steps: list[float],
                        tolerance: Tolerance, runtime: str) -> tuple[Agreement, int]:
    """Steps over every sample; top-1 over the samples the tolerance can decide: where the reference's
    two best scores are more than twice the allowed steps apart. Seeded random inputs give many
    near-ties, which a difference the tolerance allows may flip. Returns the agreement and how many
    samples its top-1 figure counts."""
    everything = compare(expected, outputs, steps, runtime=runtime, reference_kind="int8", tolerance=tolerance)
    decisive = np.ones(len(expected[0]), dtype=bool)
    for reference, step in zip(expected, steps):
        if reference.ndim == 2 and reference.shape[1] > 1:
            top2 = np.sort(reference, axis=1)[:, -2:]
            decisive &= top2[:, 1] - top2[:, 0] > 2 * (tolerance.max_steps or 0) * step
    if everything.top1 is None or not decisive.any():
        return everything, len(decisive)
    subset = compare([r[decisive] for r in expected], [o.reshape(r.shape)[decisive] for r, o in zip(expected, outputs)],
                     steps, runtime=runtime, reference_kind="int8", tolerance=tolerance)
    return replace(everything, top1=subset.top1), int(decisive.sum())


def _score(evaluation: HostEval, device: list[np.ndarray], runtime: str) -> tuple[dict, Agreement]:
    """Device metrics beside the host's, and the device's agreement with the host's outputs."""
    from edgekit.evaluate.evaluation import output_metrics

    ordered = [device[slot] for slot in evaluation.order]
    metrics = output_metrics(evaluation.tasks, ordered, evaluation.labels, evaluation.names, evaluation.data)
    classifier = any(task.kind == "classification" for task in evaluation.tasks)
    agreement = compare(evaluation.predictions, ordered, evaluation.steps, runtime=runtime, reference_kind="host",
                        tolerance=DEVICE_VS_HOST, classifier=classifier)
    return {"data": evaluation.data, "samples": evaluation.samples, "device": metrics, "host": evaluation.metrics,
            "agreement": agreement.to_dict()}, agreement


def _refuse_unless(agreement: Agreement, where: str, name: str, against: str) -> None:
    if not agreement.ok:
        raise OutputMismatchError(
            f"{where}: {name} refused: on the device its outputs disagree with {against} "
            f"({agreement.describe()}; allowed: {agreement.tolerance.describe()}); nothing was activated, "
            "the previous model stays current")


def _runtime(result: dict) -> str:
    runtime = result.get("runtime") or {}
    return f"{runtime.get('name', 'runtime')} {runtime.get('version', '')}".strip()


def _step(detail: dict, predictions: np.ndarray) -> float:
    scale, _ = detail["quantization"]
    if np.dtype(detail["dtype"]).kind in "iu" and scale:
        return float(scale)
    return float(np.ptp(predictions)) / 255 or 1.0
