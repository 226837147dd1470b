"""``quantize_tflite_file``: a float ``.tflite`` + options -> a verified quantized ``.tflite``, written atomically.

The use case behind ``edgekit convert MODEL.tflite``: options are checked before any work,
the source is prepared for AEQ, quantized, run against the source on LiteRT (and checked
against the target profile when one is named), and only then written.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from edgekit.convert.compact import store
from edgekit.convert.tflite_source import calibration as cal
from edgekit.convert.tflite_source import check, engine, recipes, source
from edgekit.errors import InputFileError, UsageError
from edgekit.fileio import atomic_write_bytes, existing_path

if TYPE_CHECKING:
    from edgekit.data import Preprocess
    from edgekit.targets import Target

DEFAULT_CALIBRATION_SAMPLES = 200
VERIFY_SAMPLES = 64   # inputs both files run on (LiteRT, one at a time): the first of the SPEC's, or generated


@dataclass
class TfliteQuantization:
    """What was written and how it was checked; ``.to_dict()`` is the ``--json`` output."""

    model: str
    output: str
    mode: str
    summary: str
    size_bytes: int
    source_bytes: int
    sha256: str
    quantized_tensors: int
    io_types: list[str]                 # dtypes of the written file's inputs, then its outputs
    calibration: str | None
    verification: dict
    prepared: list[str] = field(default_factory=list)   # what edgekit changed in the source for AEQ
    kept_float: list[str] = field(default_factory=list)
    recipe_file: str | None = None
    per_tensor: bool = False
    target: str | None = None
    storage: dict | None = None         # a compact form: its size, the int8 file's, its check against it
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class TfliteOptions:
    """The request, checked by :meth:`mode` before the model is read."""

    quantize: str = "none"
    weights: str | None = None
    per_tensor: bool = False
    keep_float: Sequence[str] = ()
    recipe_file: str | Path | None = None
    storage: str = "int8"      # a storage form (edgekit.convert.storage) of the int8 file

    def mode(self) -> recipes.Mode | None:
        """The registry's mode (None with a recipe file, which replaces the other options)."""
        if self.recipe_file is not None:
            given = [flag for flag, on in (("--quantize", self.quantize != "none"), ("--weights", self.weights),
                                           ("--per-tensor", self.per_tensor), ("--keep-float", self.keep_float),
                                           ("--storage", self.storage != "int8")) if on]
            if given:
                raise UsageError(f"--recipe says how to quantize everything; drop {', '.join(given)}")
            return None
        if self.weights is not None and self.weights not in recipes.WEIGHT_BITS:
            raise UsageError(f"--weights {self.weights}: choose from {', '.join(recipes.WEIGHT_BITS)}")
        mode = recipes.get_mode(self.quantize, self.weights)
        self._check_storage(mode)
        return mode

    def _check_storage(self, mode: recipes.Mode) -> None:
        """A compact form re-stores a full-int8 file's int8 weights; the converter's own forms need a Keras model."""
        from edgekit.convert.storage import get_form

        form = get_form(self.storage, "convert")
        if form.needs_converter:
            raise UsageError(f"--storage {self.storage} is written by TensorFlow's converter from a Keras model; a "
                             "float .tflite source takes --storage int8 or int4 (and edgekit export --storage lut)")
        if self.storage != "int8" and mode is not recipes.find_mode("int8", "int8"):
            raise UsageError(f"--storage {self.storage} stores a full-int8 file's weights compactly; it needs "
                             f"--quantize int8 with int8 weights, not {mode.name}")


def is_tflite(path: str | Path) -> bool:
    """A ``.tflite`` file (edgekit convert dispatches on the suffix, as users name them)."""
    return Path(path).suffix.lower() == ".tflite"


def check_request(options: TfliteOptions) -> recipes.Mode | None:
    """MissingExtraError without AEQ, UsageError for options that mean nothing: before any work."""
    engine.require_aeq("edgekit convert of a .tflite model")
    return options.mode()


def quantize_tflite_file(model_path: str | Path, out_path: str | Path, options: TfliteOptions, *,
                         calibration: str | Path | None = None,
                         calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES,
                         preprocess: "Preprocess | None" = None, target: "Target | None" = None,
                         classifier: bool | None = None, label: str | None = None) -> TfliteQuantization:
    """Quantize ``model_path`` with AEQ, verify it against the source, write ``out_path``.

    ``label``: what refusals call the file (default ``out_path``; a build writes into its cache's
    temp dir, a name the user never gave)."""
    mode = check_request(options)
    started = time.perf_counter()
    where = str(model_path)
    if Path(out_path).resolve() == existing_path(model_path).resolve():
        raise InputFileError(f"{out_path}: is the source model; write the quantized file elsewhere (-o)")
    raw = Path(model_path).read_bytes()
    prepared = source.prepare(raw, where)
    if mode is None:
        recipe = recipes.load_recipe_file(options.recipe_file)
        calibrated, kind = recipes.needs_calibration(recipe), None
        name, summary = f"recipe {Path(options.recipe_file).name}", f"as {options.recipe_file} says"
    else:
        recipe = recipes.build_recipe(mode, per_tensor=options.per_tensor, keep_float=options.keep_float,
                                      tensor_names=source.tensor_names(prepared.flatbuffer))
        calibrated, name, summary, kind = mode.calibrated, mode.name, mode.summary, mode.kind
    what = f"the {name} file"
    inputs = cal.signature_inputs(prepared.flatbuffer, prepared.signature)
    if calibrated and calibration is None:
        raise UsageError(f"{name} quantization needs representative inputs: add --calibration SPEC "
                         f"(inputs {', '.join(inputs.names)})")
    labels = None
    if calibration is not None:
        arrays, labels, note = cal.load_inputs(calibration, inputs, calibration_samples, preprocess)
    else:
        arrays, note = cal.generated_inputs(inputs, VERIFY_SAMPLES, where), inputs.describe_generated(VERIFY_SAMPLES)
    quantized = engine.quantize(prepared.flatbuffer, recipe, cal.aeq_dataset(inputs, arrays) if calibrated else None,
                                where)
    count = check.require_quantized(prepared.flatbuffer, quantized, where, what)
    label = label or str(out_path)
    verify_inputs = [a[:VERIFY_SAMPLES] for a in arrays]
    stored = store(options.storage, "convert", quantized, verify_inputs, where=label)
    quantized = stored.flatbuffer
    if target is not None:
        check.check_target(quantized, kind, target, label)
    verification = check.verify_against_source(
        raw, quantized, verify_inputs, inputs_note=note, where=label, what=what,
        labels=None if labels is None else labels[:VERIFY_SAMPLES], classifier=classifier)
    atomic_write_bytes(out_path, quantized)
    return TfliteQuantization(
        model=where, output=str(out_path), mode=name, summary=summary, size_bytes=len(quantized),
        source_bytes=len(raw), sha256=hashlib.sha256(quantized).hexdigest(), quantized_tensors=count,
        io_types=_io_types(quantized), storage=stored.to_dict() if options.storage != "int8" else None,
        calibration=note if calibrated else None, verification=verification.to_dict(), prepared=prepared.changes,
        kept_float=list(options.keep_float), recipe_file=None if options.recipe_file is None else str(options.recipe_file),
        per_tensor=options.per_tensor, target=None if target is None else target.name,
        seconds=round(time.perf_counter() - started, 3))


def _io_types(flatbuffer: bytes) -> list[str]:
    """AEQ's static modes give the file int8 (int16x8: int16) inputs and outputs, the others keep float32."""
    from edgekit.inspect import read_tflite

    main = read_tflite(flatbuffer).main
    return [t.dtype for t in main.input_tensors() + main.output_tensors()]


def refuse_keras_only(io_type: str, no_verify: bool = False) -> None:
    """UsageError for ``edgekit convert`` options that mean something for Keras sources only."""
    if no_verify:
        raise UsageError("--no-verify applies to Keras sources; a .tflite source's file is always checked against "
                         "the source (drop --no-verify)")
    if io_type != "float32":
        raise UsageError(f"--io-type {io_type}: for a .tflite source the mode sets the inputs and outputs (float32, "
                         "or int8/int16 with --quantize int8/int16x8); drop --io-type")
