"""``convert_file``: model file + SPEC -> ``.tflite`` file, written atomically."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from edgekit.convert.converter import check_options, convert_model
from edgekit.convert.keras_loader import input_signature, load_keras_model
from edgekit.data import Dataset, Preprocess, load_dataset
from edgekit.fileio import atomic_write_bytes
from edgekit.vocab import CALIBRATED_MODES

DEFAULT_CALIBRATION_SAMPLES = 200


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

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def convert_file(model_path: str | Path, out_path: str | Path, *, quantize: str = "none",
                 calibration: Dataset | str | Path | None = None, io_type: str = "float32",
                 calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES,
                 preprocess: Preprocess | None = None, per_tensor: bool = False) -> ConversionResult:
    """Convert ``model_path`` and write ``out_path``; a SPEC is loaded against the model's inputs.

    Calibration data is ignored by the modes that do not need it.
    """
    check_options(quantize, io_type, calibration is not None, per_tensor)
    started = time.perf_counter()
    model = load_keras_model(model_path)
    shapes, names = input_signature(model)
    representative, cal_info = None, None
    if quantize in CALIBRATED_MODES:
        data = calibration if isinstance(calibration, Dataset) else load_dataset(
            calibration, input_shapes=shapes, input_names=names, limit=calibration_samples, preprocess=preprocess)
        representative = data.inputs if len(data.inputs) > 1 else data.inputs[0]
        cal_info = {"source": data.source, "samples": len(data)}
    flatbuffer = convert_model(model, quantize=quantize, representative=representative, io_type=io_type,
                               per_tensor=per_tensor, where=str(model_path))
    atomic_write_bytes(out_path, flatbuffer)
    return ConversionResult(
        model=str(model_path), output=str(out_path), quantize=quantize, io_type=io_type,
        size_bytes=len(flatbuffer), sha256=hashlib.sha256(flatbuffer).hexdigest(), calibration=cal_info,
        per_tensor=per_tensor, seconds=round(time.perf_counter() - started, 3),
        inputs=[{"name": n, "shape": [None, *s]} for n, s in zip(names, shapes)],
    )
