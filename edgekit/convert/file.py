"""``convert_file``: model file + SPEC -> ``.tflite`` file, written atomically."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from edgekit.convert.agreement import not_verified
from edgekit.convert.compact import check_int8, saved_as_classifier, store, verification_inputs
from edgekit.convert.converter import check_options, convert_model
from edgekit.convert.keras_loader import input_signature, load_keras_model, output_names
from edgekit.data import Dataset, Preprocess, load_dataset
from edgekit.errors import DataError, UsageError
from edgekit.fileio import atomic_path
from edgekit.quality_drop import Drop, drop_fields, measure
from edgekit.vocab import CALIBRATED_MODES

DEFAULT_CALIBRATION_SAMPLES = 200
# The likely fixes of an accuracy drop caused by quantization (edgekit.quality_drop's warning).
CONVERSION_FIXES = ("--keep-float LAYER or --auto-mixed MAX_DROP", "per-channel weights (no --per-tensor)",
                    "quantization-aware training (edgekit optimize --qat)")


@dataclass
class ConversionResult:
    model: str
    output: str
    quantize: str
    io_type: str
    size_bytes: int
    sha256: str
    calibration: dict | None = None   # {"source": SPEC, "samples": N}
    per_tensor: bool = False
    seconds: float = 0.0
    inputs: list[dict] = field(default_factory=list)
    storage: str | None = None              # the --storage form; None for unquantized modes
    int8_size_bytes: int | None = None      # the int8 reference's size, when a compact form was written
    tensors: list[dict] = field(default_factory=list)   # per-kernel records of the storage form
    agreement: list[dict] = field(default_factory=list) # int8 vs float, then the form vs int8
    verified: bool | None = None            # every check passed; None: no check ran (uncalibrated modes)
    not_verified: str | None = None         # verify=False and a check failed: the warning, with its figures
    drop: dict | None = None                # edgekit.quality_drop: the float model vs the written file
    warning: str | None = None              # the drop's warning past the threshold

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def convert_file(model_path: str | Path, out_path: str | Path, *, quantize: str = "none",
                 calibration: Dataset | str | Path | None = None, io_type: str = "float32",
                 calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES,
                 preprocess: Preprocess | None = None, per_tensor: bool = False,
                 storage: str = "int8", verify: bool = True,
                 eval_data: Dataset | str | Path | None = None) -> ConversionResult:
    """Convert ``model_path`` and write ``out_path``; a SPEC is loaded against the model's inputs.

    Calibration data is ignored by the modes that do not need it. Calibrated modes are
    verified before anything is written: the file against the float model on the
    calibration samples (OutputMismatchError when top-1 agreement falls below 90%), and a
    compact ``storage`` form (``edgekit.convert.storage``) against the int8 file.
    ``verify=False`` writes the file even so (``verified``/``not_verified`` say what failed).
    The drop (float model vs written file) is measured on ``eval_data``, else on labelled
    calibration samples; without labels the result says it was not measured.
    """
    check_options(quantize, io_type, calibration is not None, per_tensor)
    form = check_storage(storage, quantize)
    started = time.perf_counter()
    model = load_keras_model(model_path)
    shapes, names = input_signature(model)
    representative, cal_info, data = None, None, None
    if quantize in CALIBRATED_MODES:
        data = calibration if isinstance(calibration, Dataset) else load_dataset(
            calibration, input_shapes=shapes, input_names=names, limit=calibration_samples, preprocess=preprocess)
        representative = data.inputs if len(data.inputs) > 1 else data.inputs[0]
        cal_info = {"source": data.source, "samples": len(data)}
    labelled = _labelled(model, eval_data, data, preprocess)
    per_tensor = per_tensor or form.per_tensor

    def reconvert(**extra) -> bytes:
        return convert_model(model, quantize=quantize, representative=representative, io_type=io_type,
                             per_tensor=per_tensor, where=str(model_path), **extra)

    flatbuffer = reconvert()
    checked = {}
    if representative is not None:
        inputs = verification_inputs(representative)
        guard = check_int8(model, flatbuffer, inputs, str(out_path), saved_as_classifier(model_path), refuse=verify)
        stored = store(storage, "convert", flatbuffer, inputs, where=str(out_path), reconvert=reconvert,
                       refuse=verify)
        flatbuffer = stored.flatbuffer
        checks = [a for a in (guard, stored.agreement) if a is not None]
        checked = {"storage": storage, "tensors": stored.tensors,
                   "int8_size_bytes": stored.int8_bytes if storage != "int8" else None,
                   "agreement": [a.to_dict() for a in checks], "not_verified": not_verified(str(out_path), checks),
                   "verified": all(a.ok for a in checks) if checks else None}
    with atomic_path(out_path) as written:   # measured before it is renamed: a bad label file leaves nothing
        written.write_bytes(flatbuffer)
        checked.update(drop_fields(conversion_drop(model_path, written, labelled, output_names(model),
                                                   given=eval_data is not None)))
    return ConversionResult(
        model=str(model_path), output=str(out_path), quantize=quantize, io_type=io_type,
        size_bytes=len(flatbuffer), sha256=hashlib.sha256(flatbuffer).hexdigest(), calibration=cal_info,
        per_tensor=per_tensor, seconds=round(time.perf_counter() - started, 3),
        inputs=[{"name": n, "shape": [None, *s]} for n, s in zip(names, shapes)], **checked,
    )


def conversion_drop(model_path: str | Path, tflite_path: str | Path, data: Dataset | None, names: list[str], *,
                    given: bool) -> Drop:
    """The float model's metrics vs the .tflite file's on ``data`` (None: not measured). Labels of the
    calibration data (not ``given`` for this) that do not fit the model's outputs leave it unmeasured."""
    fixes = CONVERSION_FIXES
    missing = "no labelled data (give --eval-data SPEC)"
    if data is None:
        return measure(None, None, fixes, missing=missing)
    from edgekit.evaluate import evaluate_model, saved_losses

    losses = saved_losses(model_path, names)
    try:
        before, after = (evaluate_model(path, data, loss=losses).metrics for path in (model_path, tflite_path))
    except DataError as err:
        if given:
            raise
        return measure(None, None, fixes, missing=f"the calibration labels do not fit ({err}); give --eval-data SPEC")
    return measure(before, after, fixes, on=f"{data.source} ({len(data)} samples)")


def _labelled(model, eval_data, calibration: Dataset | None, preprocess: Preprocess | None) -> Dataset | None:
    """The labelled data the drop is measured on: ``eval_data`` (labels required), else the calibration
    data if it has one label array per output, else None."""
    names = output_names(model)
    if eval_data is not None:
        if isinstance(eval_data, Dataset):
            return eval_data
        shapes, inputs = input_signature(model)
        return load_dataset(eval_data, input_shapes=shapes, input_names=inputs, output_names=names,
                            require_labels=True, preprocess=preprocess)
    if calibration is not None and len(calibration.labels) == len(names):
        return calibration
    return None


def check_storage(storage: str, quantize: str):
    """The storage form (UsageError before any work if unknown or not int8)."""
    from edgekit.convert.storage import get_form

    form = get_form(storage, "convert")
    if storage != "int8" and quantize != "int8":
        raise UsageError(f"--storage {storage} stores full-integer weights compactly; it needs --quantize int8, "
                         f"not {quantize}")
    return form
