"""Inputs for a ``.tflite`` source: calibration and verification data, matched by signature input name.

A SPEC (the same files and directories as for Keras sources) is loaded against the
signature's inputs: a multi-input model's ``.npz`` names its arrays after them (or ``x0,
x1, ...`` in the file's input order). Without a SPEC, the modes that need no calibration are
verified on generated inputs, and the report says so: a fixed-seed uniform draw over
[-1, 1], the range most image models of the corpus normalise to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgekit.errors import UsageError

GENERATED_RANGE = (-1.0, 1.0)
GENERATED_SEED = 0


@dataclass(frozen=True)
class SignatureInputs:
    """A model's inputs as its signature names them, in the interpreter's input order."""

    key: str
    names: list[str]
    shapes: list[tuple]      # per sample (batch dimension dropped)
    dtypes: list[str]

    def describe_generated(self, samples: int) -> str:
        low, high = GENERATED_RANGE
        return f"generated: {samples} samples uniform in [{low:g}, {high:g}], seed {GENERATED_SEED}"


def signature_inputs(flatbuffer: bytes, key: str) -> SignatureInputs:
    from ai_edge_litert.interpreter import Interpreter

    from edgekit.quiet import quiet_output

    with quiet_output():
        interpreter = Interpreter(model_content=flatbuffer)
    by_index = {detail["index"]: name
                for name, detail in interpreter.get_signature_runner(key).get_input_details().items()}
    details = interpreter.get_input_details()
    return SignatureInputs(key, [by_index[d["index"]] for d in details],
                           [tuple(int(n) for n in d["shape"][1:]) for d in details],
                           [np.dtype(d["dtype"]).name for d in details])


def load_inputs(spec, inputs: SignatureInputs, limit: int | None,
                preprocess=None) -> tuple[list[np.ndarray], np.ndarray | None, str]:
    """The SPEC's inputs (one float32 array per model input), its class labels if it has one label
    array of integers (``y``, for accuracy), and its name for the report."""
    from edgekit.data import load_dataset

    data = load_dataset(spec, input_shapes=[list(s) for s in inputs.shapes], input_names=inputs.names, limit=limit,
                        preprocess=preprocess)
    labels = data.labels[0] if len(data.labels) == 1 and data.labels[0].dtype.kind in "iu" else None
    return [np.asarray(x, dtype=np.float32) for x in data.inputs], labels, f"{data.source} ({len(data)} samples)"


def generated_inputs(inputs: SignatureInputs, samples: int, where: str) -> list[np.ndarray]:
    """Fixed-seed uniform inputs; UsageError for integer inputs (token ids, ...), which need real data."""
    wrong = [name for name, dtype in zip(inputs.names, inputs.dtypes) if not dtype.startswith("float")]
    if wrong:
        raise UsageError(f"{where}: input '{wrong[0]}' is not float, so edgekit cannot make up inputs for it; "
                         "give --calibration SPEC with real samples")
    rng = np.random.default_rng(GENERATED_SEED)
    return [rng.uniform(*GENERATED_RANGE, size=(samples, *shape)).astype(np.float32) for shape in inputs.shapes]


def aeq_dataset(inputs: SignatureInputs, arrays: list[np.ndarray]) -> dict[str, list[dict[str, np.ndarray]]]:
    """AEQ's calibration data: one ``{input name: one-sample batch}`` per sample, under the signature key."""
    return {inputs.key: [{name: x[i:i + 1] for name, x in zip(inputs.names, arrays)} for i in range(len(arrays[0]))]}
