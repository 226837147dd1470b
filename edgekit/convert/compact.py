"""Writing a storage form: make it from the int8 reference, run both, keep it only if they agree.

The use case behind ``--storage`` of ``edgekit convert`` / ``export`` / ``build``, and the
int8 guard of every calibrated conversion (the int8 file against the float Keras model
on the calibration samples, on LiteRT). Nothing here writes files: callers write the
bytes only after :func:`store` returned, so a refused form leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from edgekit.convert.agreement import INT8_VS_FLOAT, Agreement, check, compare, output_steps, verify
from edgekit.convert.storage import StorageJob, get_form

VERIFY_SAMPLES = 200   # the first N calibration samples: enough for top-1 agreement to 0.5%


@dataclass
class Stored:
    """A storage form's file and how it was checked."""

    storage: str
    flatbuffer: bytes
    int8_bytes: int
    tensors: list[dict] = field(default_factory=list)
    agreement: Agreement | None = None

    def to_dict(self) -> dict:
        return {"storage": self.storage, "size_bytes": len(self.flatbuffer), "int8_size_bytes": self.int8_bytes,
                "tensors": self.tensors, "agreement": None if self.agreement is None else self.agreement.to_dict()}


def store(storage: str, command: str, int8: bytes, inputs: list[np.ndarray], *, where: str,
          reconvert: Callable[..., bytes] | None = None, refuse: bool = True) -> Stored:
    """``int8`` in form ``storage`` (offered by ``command``), verified against ``int8`` on ``inputs``
    (``refuse=False``: kept even if they disagree; ``Stored.agreement`` says so)."""
    form = get_form(storage, command)
    if storage == "int8":
        return Stored(storage, int8, len(int8))
    flatbuffer, tensors = form.build(StorageJob(int8, where, reconvert))
    agreement = verify(int8, flatbuffer, inputs, runtime=form.runtime, tolerance=form.tolerance, where=where,
                       what=f"--storage {storage}", refuse=refuse)
    return Stored(storage, flatbuffer, len(int8), tensors, agreement)


def check_int8(model, flatbuffer: bytes, inputs: list[np.ndarray], where: str,
               classifier: bool = True, refuse: bool = True) -> Agreement | None:
    """The int8 file against the float Keras model on ``inputs`` (LiteRT); OutputMismatchError if they
    disagree beyond :data:`INT8_VS_FLOAT` (unless ``refuse=False``). None for multi-output models (their
    output order in the file is the converter's, not Keras's). ``classifier=False``: no top-1 agreement
    (regression)."""
    from edgekit.convert.runners import run_model

    if len(model.outputs) != 1:
        return None
    expected = np.asarray(model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0,
                                        batch_size=64), dtype=np.float64)
    actual = run_model("litert", flatbuffer, inputs, where)
    agreement = compare([expected], actual, output_steps(flatbuffer, [expected]), runtime="litert",
                        reference_kind="float", tolerance=INT8_VS_FLOAT, classifier=classifier)
    return check(agreement, where, "the int8 file", refuse=refuse)


def saved_as_classifier(model_path) -> bool:
    """Unless the .keras file was compiled with a non-crossentropy loss (mse, mae, ...), rows of
    scores are classes."""
    import json

    from edgekit.keras_file import saved_compile_config

    config = saved_compile_config(model_path)
    return config is None or "crossentropy" in json.dumps(config["loss"]).lower()


def verification_inputs(representative: np.ndarray | list[np.ndarray]) -> list[np.ndarray]:
    inputs = representative if isinstance(representative, list) else [representative]
    return [np.asarray(x[:VERIFY_SAMPLES], dtype=np.float32) for x in inputs]
