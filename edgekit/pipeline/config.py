"""``edgekit.toml``: the declarative description of one build, loaded into typed sections.

Every table is a dataclass below; its fields are the keys the table accepts and their
annotations the types. A key that is not a field, or a value of the wrong type, is a
:class:`~edgekit.errors.ConfigError` naming the file, the line, the table and the key
(read through :mod:`edgekit.tomlfile`). The file is parsed once: ``[devices.NAME]`` tables
become :attr:`BuildConfig.devices`, and the parsed file stays on the config
(:attr:`BuildConfig.file`) for the owners of other tables (``[tune]``: edgekit.tune.settings).
"""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgekit.errors import ConfigError, UsageError
from edgekit.hints import hint
from edgekit.optimize.finetune import FINETUNE, Finetune
from edgekit.tomlfile import TomlFile, describe, load_toml
from edgekit.vocab import IO_TYPES, QUANTIZE_MODES

if TYPE_CHECKING:
    from edgekit.remote.inventory import Device

BUILTIN_PREFIX = "builtin:"
BUILTIN_MODELS = ("digits_cnn",)


@dataclass(frozen=True)
class ModelSection:
    """Where the model comes from: a .keras/.h5/SavedModel path, ``builtin:NAME`` trained on [data] train,
    or a float .tflite that AI Edge Quantizer converts (nothing trains or optimizes)."""

    source: str = "builtin:digits_cnn"


@dataclass(frozen=True)
class TrainSection:
    """Training of a builtin model (and the seed of every random step of the build)."""

    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-3
    seed: int = 0


@dataclass(frozen=True)
class DataSection:
    """Data SPECs (paths relative to edgekit.toml): training, validation (accuracy), calibration (int8)."""

    train: str | None = None
    val: str | None = None
    calibration: str | None = None
    calibration_limit: int = 200


@dataclass(frozen=True)
class FinetuneSection:
    """Fine-tuning settings shared by the [[optimize]] steps; ``loss``: for a model saved without one
    (a name, or a list with one per output), else the model's own compiled loss is used;
    ``max_drop``/``max_epochs``: the accuracy budget every step must meet on [data] val
    (:mod:`edgekit.optimize.budget`; none by default); ``min_accuracy``: the budget as the
    accuracy every step keeps instead; ``backoff`` false: a step still over the budget after
    ``max_epochs`` is kept as asked (the file ``edgekit tune`` writes for its chosen trial)."""

    epochs: int = FINETUNE.epochs
    batch_size: int = FINETUNE.batch_size
    learning_rate: float | None = FINETUNE.learning_rate
    loss: str | list[str] | None = None
    max_drop: float | None = None
    max_epochs: int | None = None
    min_accuracy: float | None = None
    backoff: bool = True

    def finetune(self, seed: int = FINETUNE.seed) -> Finetune:
        """The optimize engine's :class:`~edgekit.optimize.finetune.Finetune` for these settings."""
        loss = () if self.loss is None else (self.loss,) if isinstance(self.loss, str) else tuple(self.loss)
        return Finetune(self.epochs, self.batch_size, self.learning_rate, loss, seed)

    def budget(self):
        """The engine's :class:`~edgekit.optimize.budget.Budget`, or None without ``max_drop``."""
        from edgekit.optimize.budget import make_budget

        return make_budget(self.max_drop, self.max_epochs, self.min_accuracy, self.backoff)


@dataclass(frozen=True)
class OptimizeStep:
    """One [[optimize]] table: ``step`` plus that step's parameters (checked against its config class)."""

    step: str
    params: dict[str, Any] = field(default_factory=dict)

    def settings(self):
        """The step's edgekit.optimize config object (TOML arrays become tuples)."""
        from edgekit.optimize.stages import get_stage

        return get_stage(self.step).config(**{k: tuple(v) if isinstance(v, list) else v
                                              for k, v in self.params.items()})

    def as_step(self):
        """The engine's :class:`~edgekit.optimize.stages.Step` for this table."""
        from edgekit.optimize.stages import Step

        return Step(self.step, self.settings())

    def files(self) -> list[str]:
        """The files this step reads (a distill step's student), as written."""
        from edgekit.optimize.stages import get_stage

        return [self.params[key] for key in get_stage(self.step).paths if self.params.get(key) is not None]

    def resolved(self, resolve) -> "OptimizeStep":
        """This step with its file settings passed through ``resolve`` (relative to edgekit.toml)."""
        from edgekit.optimize.stages import get_stage

        paths = get_stage(self.step).paths
        return OptimizeStep(self.step, {key: resolve(value) if key in paths and value is not None else value
                                        for key, value in self.params.items()})


@dataclass(frozen=True)
class ConvertSection:
    """How each variant becomes a .tflite; ``per_tensor`` shares one weight scale per tensor (int8 only),
    which keeps clustered/pruned weights on few distinct codes and so compresses far better."""

    quantize: str = "int8"
    io_type: str = "float32"
    per_tensor: bool = False
    storage: str = "int8"        # int8 | int4 | sparse (edgekit.convert.storage), verified against int8
    verify: bool = True          # false: keep a storage form whose outputs disagree (manifest: "verified": false)
    # .tflite sources only (AI Edge Quantizer, edgekit.convert.tflite_source): weight bits (alone: weight-only),
    # ops or tensors kept float, or an AEQ recipe file that replaces quantize/weights/per_tensor/keep_float
    weights: str | None = None
    keep_float: tuple[str, ...] | None = None
    recipe: str | None = None


@dataclass(frozen=True)
class TargetSection:
    """Device profile (targets/*.toml); ``device`` is an inventory name or user@host for latency."""

    name: str = "local"
    device: str | None = None
    threads: int | None = None
    runs: int = 50
    warmup: int = 5


@dataclass(frozen=True)
class BudgetsSection:
    """Limits the final model must meet; each violated one fails the build with its own exit code."""

    max_size_kb: float | None = None
    max_gzip_kb: float | None = None
    min_accuracy: float | None = None
    max_accuracy_drop: float | None = None
    max_mae: float | None = None          # regression outputs (the worst head counts)
    max_mse: float | None = None
    max_latency_ms: float | None = None   # p50 of the timed runs
    max_p90_ms: float | None = None
    max_peak_memory_mb: float | None = None
    max_arena_kb: float | None = None


@dataclass(frozen=True)
class ExportSection:
    c_array: bool = False
    name: str = "model_data"
    symbol: str = "g_model"


@dataclass(frozen=True)
class BuildConfig:
    """A validated edgekit.toml. Paths in [data] and [model] are resolved against ``root``."""

    path: Path
    root: Path
    model: ModelSection
    train: TrainSection
    data: DataSection
    finetune: FinetuneSection
    optimize: tuple[OptimizeStep, ...]
    convert: ConvertSection
    target: TargetSection
    budgets: BudgetsSection
    export: ExportSection
    devices: tuple[Device, ...] = ()   # its [devices.NAME] tables (edgekit.remote.inventory)
    file: TomlFile | None = field(default=None, compare=False, repr=False)  # for owners of other tables

    @property
    def is_builtin(self) -> bool:
        return self.model.source.startswith(BUILTIN_PREFIX)

    @property
    def is_tflite(self) -> bool:
        """A .tflite source: built by edgekit.pipeline.tflite_build (AI Edge Quantizer, no Keras model)."""
        from edgekit.convert.tflite_source.file import is_tflite

        return is_tflite(self.model.source)

    def resolve(self, spec: str) -> str:
        """A data/model path as given, made absolute relative to edgekit.toml's folder."""
        path = Path(os.path.expanduser(spec))  # ~name of no user stays as written (Path's raises)
        return str(path if path.is_absolute() else (self.root / path))

    def optimize_steps(self) -> tuple[OptimizeStep, ...]:
        """The [[optimize]] steps with their file settings made absolute relative to edgekit.toml."""
        return tuple(step.resolved(self.resolve) for step in self.optimize)

    def to_dict(self) -> dict:
        """The resolved configuration as written (paths as the user gave them): for the manifest."""
        out = {name: dataclasses.asdict(getattr(self, name)) for name in _TABLES}
        out["optimize"] = [{"step": s.step, **s.params} for s in self.optimize]
        return out


_TABLES: dict[str, type] = {
    "model": ModelSection, "train": TrainSection, "data": DataSection, "finetune": FinetuneSection,
    "convert": ConvertSection, "target": TargetSection, "budgets": BudgetsSection, "export": ExportSection,
}


def with_storage(config: BuildConfig, storage: str) -> BuildConfig:
    """``config`` with ``[convert] storage`` set from the command line (``edgekit build --storage``)."""
    from edgekit.convert.storage import get_form

    get_form(storage, "convert")
    if config.is_tflite:
        from edgekit.pipeline.tflite_build import tflite_options

        dataclasses.replace(tflite_options(config), storage=storage).mode()   # UsageError if the mode cannot take it
    elif storage != "int8" and config.convert.quantize != "int8":
        raise UsageError(f"--storage {storage} needs [convert] quantize = \"int8\" in {config.path}, "
                         f"not '{config.convert.quantize}'")
    return dataclasses.replace(config, convert=dataclasses.replace(config.convert, storage=storage))


def load_config(path: str | Path) -> BuildConfig:
    """Read and validate an edgekit.toml (a folder: its edgekit.toml)."""
    path = Path(path)
    if path.is_dir():
        path = path / "edgekit.toml"
    return _Validator(load_toml(path, "the build file", f"create one with `{hint('init')}`")).build()


# [convert] keys only one kind of source uses (a .tflite source: AI Edge Quantizer's options)
KERAS_ONLY = {
    "io_type": "for a .tflite source the mode sets the inputs and outputs (int8/int16 for quantize int8/int16x8)",
    "verify": "a .tflite source's file is always checked against the source",
}
TFLITE_ONLY = ("weights", "keep_float", "recipe")
_CONVERT_DEFAULTS = {f.name: f.default for f in dataclasses.fields(ConvertSection)}

# tables other parts of edgekit own: [devices] (read with the file, for the build's device) and [tune]
OTHER_TABLES = ("devices", "tune")


class _Validator:
    """Turns the parsed file into sections, with file:line in every message."""

    def __init__(self, file: TomlFile):
        self.file, self.path = file, file.path

    def fail(self, table: str, key: str | None, message: str, index: int = 0) -> ConfigError:
        return self.file.error(message, table, key, index)

    def build(self) -> BuildConfig:
        from edgekit.remote.inventory import devices_of

        raw = self.file.data
        known = [*_TABLES, "optimize", *OTHER_TABLES]
        for key in raw:
            if key not in known:
                raise self.fail(key, None, f"unknown table [{key}] (known: {', '.join(sorted(known))})")
        sections = {name: self.file.table(name).section(cls) for name, cls in _TABLES.items()}
        steps = raw.get("optimize", [])
        if not isinstance(steps, list):
            raise self.fail("optimize", None, "optimize must be a list of [[optimize]] tables")
        config = BuildConfig(path=self.path, root=self.path.resolve().parent,
                             optimize=tuple(self.step(s, i) for i, s in enumerate(steps)),
                             devices=tuple(devices_of(self.file)), file=self.file, **sections)
        self.check_order(config.optimize)
        self.check_source(config)
        self.check_values(config)
        self.check_files(config)
        return config

    def check_files(self, config: BuildConfig) -> None:
        """Files an [[optimize]] step names (a distill student) exist, before anything trains."""
        from edgekit.optimize.stages import get_stage

        for index, step in enumerate(config.optimize):
            for key in get_stage(step.step).paths:
                written = step.params.get(key)
                if written is not None and not Path(config.resolve(written)).is_file():
                    raise self.fail("optimize", key, f"[[optimize]] #{index + 1} ({step.step}): {written} not found "
                                    f"(paths are relative to {self.path.name}'s folder)", index)

    def step(self, table: Any, index: int) -> OptimizeStep:
        from edgekit.optimize.stages import get_stage, stage_names

        if not isinstance(table, dict):
            raise self.fail("optimize", None, "each [[optimize]] entry must be a table", index)
        kind = table.get("step")
        if kind not in stage_names():
            raise self.fail("optimize", "step" if kind is not None else None,
                            f"[[optimize]] #{index + 1}: step must be one of {', '.join(stage_names())}, "
                            f"got {describe(kind) if kind is not None else 'nothing'}", index)
        params = {key: value for key, value in table.items() if key != "step"}
        fields = self.file.table("optimize", params, index, prefix=f"[[optimize]] {kind}.")
        hints = typing.get_type_hints(get_stage(kind).config)
        fields.known(hints, f"[[optimize]] step '{kind}'")
        step = OptimizeStep(kind, {key: fields.get(key, hints[key]) for key in params})
        try:
            step.settings()  # value checks (ranges, combinations) now, not after training the model
        except UsageError as exc:
            raise self.fail("optimize", None, f"[[optimize]] #{index + 1} ({kind}): {exc}", index) from None
        return step

    def check_order(self, steps: tuple[OptimizeStep, ...]) -> None:
        """The stages' order rules (QAT last, each once) before anything trains."""
        from edgekit.optimize.stages import check_order

        for end in range(1, len(steps) + 1):  # the first prefix that breaks a rule names the step
            try:
                check_order([s.step for s in steps[:end]])
            except UsageError as exc:
                raise self.fail("optimize", "step", f"[[optimize]] #{end}: {exc}", end - 1) from None

    def check_source(self, config: BuildConfig) -> None:
        """The settings a source kind cannot use, and a .tflite source's AI Edge Quantizer mode."""
        if not config.is_tflite:
            for key in TFLITE_ONLY:
                if getattr(config.convert, key) != _CONVERT_DEFAULTS[key]:
                    raise self.fail("convert", key, f"[convert] {key} applies to .tflite sources (AI Edge "
                                    "Quantizer); a Keras model takes quantize")
            return
        if config.optimize:
            raise self.fail("optimize", "step", f"[[optimize]] #1 ({config.optimize[0].step}): needs a Keras model, "
                            "and [model] source is a .tflite file; drop the step or build from the Keras model")
        for key, why in KERAS_ONLY.items():
            if getattr(config.convert, key) != _CONVERT_DEFAULTS[key]:
                raise self.fail("convert", key, f"[convert] {key} applies to Keras sources: {why}; drop it")
        if config.convert.recipe is not None:
            self.check_recipe(config)
            return
        self.check_mode(config)

    def check_recipe(self, config: BuildConfig) -> None:
        """A recipe says how to quantize everything: no mode keys beside it, and the file is there."""
        written = self.file.data.get("convert", {})
        given = [key for key in ("quantize", "weights", "per_tensor", "keep_float") if key in written]
        if given:
            raise self.fail("convert", given[0], f"[convert] recipe says how to quantize everything; drop "
                            f"{', '.join(given)}")
        if not Path(config.resolve(config.convert.recipe)).is_file():
            raise self.fail("convert", "recipe", f"[convert] recipe: {config.convert.recipe} not found (paths are "
                            f"relative to {self.path.name}'s folder)")

    def check_mode(self, config: BuildConfig) -> None:
        """(quantize, weights) is one of the registry's modes, and a calibrated one has data to calibrate on."""
        from edgekit.convert.tflite_source.recipes import MODES, WEIGHT_BITS, find_mode

        quantize, weights = config.convert.quantize, config.convert.weights
        if weights is not None and weights not in WEIGHT_BITS:
            raise self.fail("convert", "weights", f"[convert] weights must be one of {', '.join(WEIGHT_BITS)}, "
                            f"got '{weights}'")
        if quantize == "none" and weights is None:
            raise self.fail("convert", "quantize", "[convert] quantize = \"none\": a .tflite source is already "
                            "float; set quantize to dynamic, float16, int8 or int16x8, or weights to int8 or int4")
        mode = find_mode(quantize, weights)
        if mode is None:
            pairs = ", ".join(q if w == "float16" else f"{q}/{w}" for q, w in MODES)
            raise self.fail("convert", "weights" if weights else "quantize",
                            f"[convert] quantize = \"{quantize}\"" + (f" with weights = \"{weights}\"" if weights
                                                                      else "")
                            + f" is not offered for a .tflite source (quantize/weights: {pairs})")
        if config.convert.storage != "int8":
            from edgekit.pipeline.tflite_build import tflite_options

            try:
                tflite_options(config).mode()
            except UsageError as exc:
                raise self.fail("convert", "storage", f"[convert] storage: {exc}") from None
        if mode.calibrated and not (config.data.calibration or config.data.train):
            raise self.fail("data", None, f"[data] calibration is needed: {mode.name} quantization of a .tflite "
                            "source calibrates on it")

    def check_values(self, config: BuildConfig) -> None:
        choices = (("convert", "quantize", config.convert.quantize, QUANTIZE_MODES),
                   ("convert", "io_type", config.convert.io_type, IO_TYPES))
        for table, key, value, allowed in choices:
            if value not in allowed:
                raise self.fail(table, key, f"[{table}] {key} must be one of {', '.join(allowed)}, got '{value}'")
        keras_per_tensor = config.convert.per_tensor and not config.is_tflite   # every AEQ mode takes it
        if keras_per_tensor and config.convert.quantize not in ("int8", "int16x8"):
            raise self.fail("convert", "per_tensor", "[convert] per_tensor needs quantize = \"int8\" or "
                            f"\"int16x8\", got '{config.convert.quantize}'")
        from edgekit.convert.storage import form_names

        if config.convert.storage not in form_names("convert"):
            raise self.fail("convert", "storage", f"[convert] storage must be one of {', '.join(form_names('convert'))}, "
                            f"got '{config.convert.storage}'")
        if config.convert.storage != "int8" and config.convert.quantize != "int8":
            raise self.fail("convert", "storage", f"[convert] storage = \"{config.convert.storage}\" needs quantize = "
                            f"\"int8\", got '{config.convert.quantize}'")
        source = config.model.source
        if source.startswith(BUILTIN_PREFIX) and source[len(BUILTIN_PREFIX):] not in BUILTIN_MODELS:
            raise self.fail("model", "source", f"[model] source: unknown builtin '{source}' "
                            f"(known: {', '.join(BUILTIN_PREFIX + m for m in BUILTIN_MODELS)})")
        if config.is_builtin and not config.data.train:
            raise self.fail("data", None, f"[data] train is needed to train {source}")
        if not config.data.val:
            raise self.fail("data", None, "[data] val is needed: accuracy is measured on it")
        if config.optimize and not config.data.train:
            raise self.fail("data", None, "[data] train is needed by the [[optimize]] steps")
        losses = config.finetune.loss
        for loss in [losses] if isinstance(losses, str) else losses or []:
            from edgekit.tasks import task_for_loss

            try:
                task_for_loss(loss)
            except UsageError as exc:
                raise self.fail("finetune", "loss", f"[finetune] loss: {exc}") from None
        try:
            config.finetune.budget()
        except UsageError as exc:
            key = next((key for key, start in (("max_epochs", "--max-epochs"), ("min_accuracy", "min_accuracy"))
                        if str(exc).startswith(start)), "max_drop")
            raise self.fail("finetune", key, f"[finetune] {key}: {exc}") from None
        for key, value in dataclasses.asdict(config.budgets).items():
            if value is not None and value < 0:
                raise self.fail("budgets", key, f"[budgets] {key} must not be negative, got {value}")
