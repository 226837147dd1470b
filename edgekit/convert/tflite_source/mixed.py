"""``edgekit convert MODEL.tflite --auto-mixed MAX_DROP``: the fewest ops kept float for a bounded accuracy drop.

The use case: the ops are ranked and chosen on the ``.tflite`` (:mod:`.sensitivity`), then
the file is written by :func:`~edgekit.convert.tflite_source.file.quantize_tflite_file` with
those ops as ``keep_float`` -- verified against the source like any other -- and summarised
as the Keras path's ``--auto-mixed`` is (:func:`edgekit.convert.mixed.convert_mixed_file`), so
one renderer prints both.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from edgekit.convert.tflite_source import calibration as cal
from edgekit.convert.tflite_source import sensitivity, source
from edgekit.convert.tflite_source.file import (DEFAULT_CALIBRATION_SAMPLES, TfliteOptions, check_request,
                                                quantize_tflite_file)
from edgekit.errors import UsageError

if TYPE_CHECKING:
    from edgekit.data import Preprocess


def auto_mixed_tflite_file(model_path: str | Path, out_path: str | Path, options: TfliteOptions, max_drop: float, *,
                           calibration: str | Path | None, eval_data: str | Path | None = None,
                           calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES,
                           preprocess: "Preprocess | None" = None) -> dict:
    """Rank the ops, keep the most recovering float until the drop is within ``max_drop`` points, write the file."""
    from edgekit.convert.file import CONVERSION_FIXES
    from edgekit.convert.mixed import measure
    from edgekit.quality_drop import Drop, drop_fields

    mode = check_request(options)
    if mode is None:
        raise UsageError("--auto-mixed writes its own per-op overrides; drop --recipe")
    if options.keep_float:
        raise UsageError("--keep-float and --auto-mixed exclude each other; give one of them")
    if options.storage != "int8":
        raise UsageError("--storage applies to whole-int8 files; drop --auto-mixed")
    where = str(model_path)
    prepared = source.prepare(Path(model_path).read_bytes(), where)
    inputs = cal.signature_inputs(prepared.flatbuffer, prepared.signature)
    if mode.calibrated and calibration is None:
        raise UsageError(f"{mode.name} quantization needs representative inputs: add --calibration SPEC")
    labelled = eval_data if eval_data is not None else calibration
    if labelled is None:
        raise UsageError("--auto-mixed needs labelled data to measure the accuracy drop: add --eval-data SPEC")
    x, labels, note = cal.load_inputs(labelled, inputs, None, preprocess)
    if labels is None:
        raise UsageError(f"--auto-mixed needs labelled data; {note} has no class labels (add --eval-data SPEC)")
    calibration_x = (cal.load_inputs(calibration, inputs, calibration_samples, preprocess)[0]
                     if mode.calibrated else [])
    result = sensitivity.auto_mixed(sensitivity.Measurement(prepared, mode, calibration_x, x, labels, where,
                                                            options.per_tensor), max_drop)
    written = quantize_tflite_file(model_path, out_path, dataclasses.replace(options, keep_float=tuple(result.kept_float)),
                                   calibration=calibration, calibration_samples=calibration_samples,
                                   preprocess=preprocess)
    drop = Drop("accuracy", result.float_accuracy, result.accuracy, CONVERSION_FIXES, on=note)
    summary = {"model": where, "output": str(out_path), "quantize": mode.name, "per_tensor": options.per_tensor,
               "kept_float": result.kept_float, "float_accuracy": result.float_accuracy,
               "full_int8_accuracy": result.full_int8_accuracy, "accuracy": result.accuracy,
               "drop_points": round(result.drop, 3), "max_drop": max_drop, "within_bound": result.drop <= max_drop,
               "eval_data": note, "verification": written.verification, "sha256": written.sha256}
    summary.update(measure(out_path), **drop_fields(drop))
    return summary
