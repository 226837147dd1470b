"""``edgekit export --storage``: a TFLite Micro C array in a verified storage form.

The model's bytes are checked against what TFLite Micro runs correctly (a third-party
file with one LUT table per tensor on per-channel weights is refused before anything
else), turned into the requested form (``lut``: :mod:`edgekit.convert.storage.lut`),
run against the input file under TFLM's own interpreter and written only if the outputs
are identical. Inputs: the given data, else seeded random inputs spanning the input's
whole int8 range (the forms are lossless, so any input tells a wrong decode).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekit.errors import InputFileError

# What TFLite Micro runs correctly (tflite-micro's Python interpreter; see docs/architecture.md).
TFLM_STORAGE = ("int8", "int4", "lut")
RANDOM_SAMPLES = 32


@dataclass
class CompactExport:
    c_array: object          # CArrayExport
    stored: object           # edgekit.convert.compact.Stored
    arena: object            # ArenaEstimate of the written form
    int8_arena: object | None  # ArenaEstimate of the input file (None when storage is int8)

    @property
    def verified(self) -> bool | None:
        """Whether the form's outputs matched the input file's; None for int8 (nothing to check)."""
        return None if self.stored.agreement is None else self.stored.agreement.ok

    @property
    def not_verified(self) -> str | None:
        """The warning for a form written although its check failed (``verify=False``)."""
        from edgekit.convert.agreement import not_verified

        return not_verified(self.c_array.source, [self.stored.agreement])

    def to_dict(self) -> dict:
        return {**self.c_array.to_dict(), **self.stored.to_dict(), "arena": self.arena.to_dict(),
                "int8_arena": None if self.int8_arena is None else self.int8_arena.to_dict(),
                "verified": self.verified, "not_verified": self.not_verified}


def export_model(model_path: str | Path, out_dir: str | Path, *, storage: str = "int8", data=None,
                 name: str = "model_data", symbol: str = "g_model", verify: bool = True) -> CompactExport:
    """Check, convert to ``storage``, verify on TFLM and write the C array of ``model_path``
    (``verify=False``: written even if its outputs differ; ``verified``/``not_verified`` say so)."""
    from edgekit.convert.compact import store
    from edgekit.convert.storage import get_form
    from edgekit.export.arena import estimate_arena
    from edgekit.export.c_array import render_c_array, write_c_array
    from edgekit.inspect import read_tflite
    from edgekit.inspect.storage import check_storage

    get_form(storage, "export")
    path = Path(model_path)
    try:
        flatbuffer = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read the model ({exc.strerror or exc})") from exc
    render_c_array(b"", source_name=path.name, name=name, symbol=symbol)   # bad --name/--symbol: before any work
    model = read_tflite(path)
    check_storage(model, TFLM_STORAGE, str(path), "TFLite Micro")
    inputs = _inputs(model, path, data) if storage != "int8" else []
    stored = store(storage, "export", flatbuffer, inputs, where=str(path), refuse=verify)
    written = write_c_array(stored.flatbuffer, path.name, out_dir, name=name, symbol=symbol)
    arena = estimate_arena(stored.flatbuffer)
    return CompactExport(written, stored, arena, None if storage == "int8" else estimate_arena(flatbuffer))


def _inputs(model, path: Path, data) -> list[np.ndarray]:
    graph = model.main
    tensors = graph.input_tensors()
    shapes = [tuple(t.shape[1:]) for t in tensors]
    if data is not None:
        from edgekit.data import load_dataset

        dataset = load_dataset(data, input_shapes=shapes, limit=200)
        return [np.asarray(x, np.float32) for x in dataset.inputs]
    rng = np.random.default_rng(0)
    inputs = []
    for tensor, shape in zip(tensors, shapes):
        q = tensor.quantization
        if q is not None and len(q.scales):
            low, high = (-128 - q.zero_points[0]) * q.scales[0], (127 - q.zero_points[0]) * q.scales[0]
        else:   # float input quantized inside the model: use the QUANTIZE op's range
            low, high = _quantize_range(graph, tensor.index)
        inputs.append(rng.uniform(low, high, size=(RANDOM_SAMPLES, *shape)).astype(np.float32))
    return inputs


def _quantize_range(graph, index: int) -> tuple[float, float]:
    for op, _ in graph.consumers().get(index, []):
        out = graph.tensors[op.outputs[0]]
        if op.opcode == "QUANTIZE" and out.quantization is not None and len(out.quantization.scales):
            scale, zero = float(out.quantization.scales[0]), int(out.quantization.zero_points[0])
            return (-128 - zero) * scale, (127 - zero) * scale
    return -1.0, 1.0
