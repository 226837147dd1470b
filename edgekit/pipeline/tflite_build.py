"""``edgekit build`` of a float ``.tflite`` source: AI Edge Quantizer converts it, nothing trains.

A file handed over without its Keras model (a model zoo's, a vendor's) can still be built,
measured and held to budgets. The source as it is is the ``float32`` variant (what the drop
and ``max_accuracy_drop`` compare with); :func:`~edgekit.convert.tflite_source.file.quantize_tflite_file`
makes the final one from the [convert] settings (quantize, weights, per_tensor, keep_float,
or a recipe file), calibrated on [data] calibration, verified against the source on LiteRT
and checked against the target profile before it is written (into the stage cache). From
evaluation on, the stages are the Keras build's (:mod:`edgekit.pipeline.build`), and so are
the manifest, report and history. [[optimize]] steps and the [convert] keys only a Keras
model takes are refused when edgekit.toml is read (:mod:`edgekit.pipeline.config`).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import TYPE_CHECKING

from edgekit.convert.tflite_source.engine import require_aeq
from edgekit.convert.tflite_source.file import TfliteOptions, quantize_tflite_file
from edgekit.pipeline import steps
from edgekit.pipeline.build import BuildResult, KerasBuild, Variant
from edgekit.pipeline.cache import stage_key

if TYPE_CHECKING:
    from edgekit.convert.tflite_source.recipes import Mode
    from edgekit.pipeline.config import BuildConfig
    from edgekit.targets import Target

BASELINE = "float32"
FILE = "model.tflite"
# what a large drop's warning suggests for AI Edge Quantizer's file, in edgekit.toml's words
QUANTIZATION_FIXES = ('[convert] keep_float = ["OP or tensor"] for the layers that lose most',
                      '[convert] weights = "int8" rather than int4', "[convert] per_tensor = false",
                      '[convert] quantize = "int16x8"')
# quantize_tflite_file's report fields the manifest leaves out: this machine's paths and the time it took
_NOT_REPRODUCIBLE = ("model", "output", "recipe_file", "seconds")
_IO_TYPES = {"int8": "int8", "int16x8": "int16"}   # what AEQ's static modes make the inputs (the others: float32)


def tflite_options(config: "BuildConfig") -> TfliteOptions:
    """The [convert] settings as :class:`TfliteOptions` (a recipe file replaces the others)."""
    convert = config.convert
    if convert.recipe is not None:
        return TfliteOptions(recipe_file=config.resolve(convert.recipe))
    return TfliteOptions(convert.quantize, convert.weights, convert.per_tensor, tuple(convert.keep_float or ()),
                         storage=convert.storage)


def variant_name(mode: "Mode | None") -> str:
    """The final variant's name, also its file name under variants/: the mode's (``int8 (int4 weights)`` ->
    ``int8-int4-weights``), or ``recipe``."""
    return "recipe" if mode is None else re.sub(r"[^A-Za-z0-9]+", "-", mode.name).strip("-")


class TfliteBuild(KerasBuild):
    """The build of a ``.tflite`` source: its variants come from AI Edge Quantizer, the rest as for Keras."""

    extra_versions = ("ai-edge-quantizer",)

    def run(self, write_manifest, write_report) -> BuildResult:
        cfg = self.config
        options = tflite_options(cfg)
        require_aeq("edgekit build of a .tflite source")   # one line before any work
        mode = options.mode()
        target = self._target(mode)
        inputs = self._input_hashes()
        final, conversion = self._quantize_stage(options, mode, target, inputs)
        baseline = Variant.of(BASELINE, Path(cfg.resolve(cfg.model.source)))
        return self._finish(target, inputs, [baseline, final], write_manifest, write_report, conversion=conversion,
                            fixes=QUANTIZATION_FIXES)

    def _target(self, mode: "Mode | None") -> "Target":
        """The target profile, refusing a mode it does not list before anything runs (the written file's
        weight forms are checked by quantize_tflite_file)."""
        name = self.config.target.name
        if mode is None:   # a recipe names no mode
            from edgekit.targets import load_target

            return load_target(name)
        return steps.check_target(name, quantize=mode.kind, io_type=_IO_TYPES.get(mode.kind, "float32"),
                                  where=self.config.path)

    def _input_specs(self) -> dict[str, str | None]:
        return {**super()._input_specs(), "recipe": self.config.convert.recipe}

    def _quantize_stage(self, options: TfliteOptions, mode: "Mode | None", target: "Target",
                        inputs: dict) -> tuple[Variant, dict]:
        """The final variant and its conversion report (without the verification, which is the variant's)."""
        cfg = self.config
        name = variant_name(mode)
        calibration = cfg.data.calibration or cfg.data.train
        key = stage_key("convert", model=inputs["model"]["sha256"],
                        options={**dataclasses.asdict(options), "recipe_file": inputs.get("recipe", {}).get("sha256")},
                        calibration=inputs.get("calibration", {}).get("sha256"), limit=cfg.data.calibration_limit,
                        target=target.name, versions=self.versions)
        record: dict = {}

        def write(path: Path) -> None:
            report = quantize_tflite_file(
                cfg.resolve(cfg.model.source), path, options,
                calibration=cfg.resolve(calibration) if calibration else None,
                calibration_samples=cfg.data.calibration_limit, target=target,
                label=f"{cfg.path}: [convert] {name} variant of {cfg.model.source}")
            record["conversion"] = self._as_written(report.to_dict(), calibration)

        with self.log.stage("convert", name) as state:
            hit = self._cached("convert", key, state)
            if hit is None:   # write() fills record before the cache stores it
                hit = self._store("convert", key, FILE, write, record)
        conversion = dict(hit[1]["conversion"])
        verification = conversion.pop("verification")
        self.log.note(f"  {conversion['mode']}: {conversion['quantized_tensors']} tensors quantized; verified on "
                      f"LiteRT against the source: max {verification['max_steps']:g} output steps over "
                      f"{verification['samples']} inputs")
        if conversion["prepared"]:
            self.log.note(f"  prepared for AI Edge Quantizer: {'; '.join(conversion['prepared'])}")
        return Variant.of(name, hit[0] / FILE, verification), conversion

    def _as_written(self, report: dict, calibration: str | None) -> dict:
        """The report without this machine's paths and times, the calibration SPEC as edgekit.toml gives it:
        what the manifest may hold (two builds of the same inputs write the same one)."""
        def written(text: str | None) -> str | None:
            return text.replace(self.config.resolve(calibration), calibration) if text and calibration else text

        kept = {key: value for key, value in report.items() if key not in _NOT_REPRODUCIBLE}
        kept["calibration"] = written(kept["calibration"])
        kept["verification"] = {**kept["verification"], "inputs": written(kept["verification"]["inputs"])}
        return kept
