"""``edgekit.toml``: the declarative description of one build, loaded into typed sections.

Every table is a dataclass below; its fields are the keys the table accepts and their
annotations the types. A key that is not a field, or a value of the wrong type, is a
:class:`~edgekit.errors.ConfigError` naming the file, the line, the table and the key.
``tomllib`` reports no line numbers for values, so :func:`find_line` finds them by
scanning the source text for the key inside its table.
"""

from __future__ import annotations

import dataclasses
import re
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekit.errors import ConfigError, InputFileError, UsageError
from edgekit.vocab import IO_TYPES, QUANTIZE_MODES, SIZE_OBJECTIVES, TUNE_PRUNERS, TUNE_SAMPLERS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

BUILTIN_PREFIX = "builtin:"
BUILTIN_MODELS = ("digits_cnn",)


@dataclass(frozen=True)
class ModelSection:
    """Where the model comes from: a .keras/.h5/SavedModel path, or ``builtin:NAME`` trained on [data] train."""

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
    (a name, or a list with one per output), else the model's own compiled loss is used."""

    epochs: int = 2
    batch_size: int = 32
    learning_rate: float = 1e-4
    loss: str | list | None = None

    def finetune(self, seed: int = 0):
        """The optimize engine's :class:`~edgekit.optimize.trainer.Finetune` for these settings."""
        from edgekit.optimize.trainer import Finetune

        loss = () if self.loss is None else (self.loss,) if isinstance(self.loss, str) else tuple(self.loss)
        return Finetune(self.epochs, self.batch_size, self.learning_rate, loss, seed)


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
class TuneSection:
    """``edgekit tune``'s settings (``edgekit build`` ignores them); ``space``: parameters fixed or narrowed,
    e.g. ``"prune.sparsity" = [0.5, 0.9]``, ``ternary = false`` (checked by edgekit.tune.space)."""

    trials: int = 40
    workers: int = 1
    sampler: str = "nsga2"
    size: str = "gzip"               # the size objective: gzip or raw .tflite bytes
    latency: bool = False            # p50 latency as a third objective (always with a latency budget)
    seed: int | None = None          # the sampler's seed; default [train] seed
    trial_timeout: float | None = None
    timeout: float | None = None     # seconds: no new trial after it (running trials end)
    pruner: str = TUNE_PRUNERS[0]    # cuts hopeless trials by their per-epoch accuracy (edgekit.tune.pruners)
    seed_recipes: bool = True        # try the known-good recipes first (edgekit.tune.seeds)
    space: dict = field(default_factory=dict)


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
    tune: TuneSection = TuneSection()

    @property
    def is_builtin(self) -> bool:
        return self.model.source.startswith(BUILTIN_PREFIX)

    def resolve(self, spec: str) -> str:
        """A data/model path as given, made absolute relative to edgekit.toml's folder."""
        path = Path(spec).expanduser()
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
    if storage != "int8" and config.convert.quantize != "int8":
        raise UsageError(f"--storage {storage} needs [convert] quantize = \"int8\" in {config.path}, "
                         f"not '{config.convert.quantize}'")
    return dataclasses.replace(config, convert=dataclasses.replace(config.convert, storage=storage))


def load_config(path: str | Path) -> BuildConfig:
    """Read and validate an edgekit.toml."""
    path = Path(path)
    if path.is_dir():
        path = path / "edgekit.toml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read the build file ({exc.strerror or exc}); "
                             "create one with `edgekit init`") from exc
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return _Validator(path, text).build(raw)


class _Validator:
    """Turns the raw TOML dict into sections, with file:line in every message."""

    def __init__(self, path: Path, text: str):
        self.path, self.text = path, text

    def fail(self, table: str, key: str | None, message: str, index: int = 0) -> ConfigError:
        line = find_line(self.text, table, key, index)
        where = f"{self.path}:{line}" if line else str(self.path)
        return ConfigError(f"{where}: {message}")

    def build(self, raw: dict) -> BuildConfig:
        known = set(_TABLES) | {"optimize", "devices", "tune"}  # [devices.NAME]: edgekit.remote's inventory
        for key in raw:
            if key not in known:
                raise self.fail(key, None, f"unknown table [{key}] (known: {', '.join(sorted(known))})")
        sections = {name: self.section(cls, name, raw.get(name, {})) for name, cls in _TABLES.items()}
        steps = raw.get("optimize", [])
        if not isinstance(steps, list):
            raise self.fail("optimize", None, "optimize must be a list of [[optimize]] tables")
        config = BuildConfig(path=self.path, root=self.path.resolve().parent,
                             optimize=tuple(self.step(s, i) for i, s in enumerate(steps)),
                             tune=self.section(TuneSection, "tune", raw.get("tune", {})), **sections)
        self.check_order(config.optimize)
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

    def section(self, cls: type, name: str, table: Any):
        if not isinstance(table, dict):
            raise self.fail(name, None, f"{name} must be a table: write [{name}]")
        hints = typing.get_type_hints(cls)
        for key, value in table.items():
            if key not in hints:
                raise self.fail(name, key, f"unknown key '{key}' in [{name}] (known: {', '.join(hints)})")
            expected = _type_error(value, hints[key])
            if expected:
                raise self.fail(name, key, f"[{name}] {key} must be {expected}, got {_describe(value)}")
        return cls(**table)

    def step(self, table: Any, index: int) -> OptimizeStep:
        if not isinstance(table, dict):
            raise self.fail("optimize", None, "each [[optimize]] entry must be a table", index)
        from edgekit.optimize.stages import get_stage, stage_names

        table = dict(table)
        kind = table.pop("step", None)
        if kind not in stage_names():
            raise self.fail("optimize", "step" if kind is not None else None,
                            f"[[optimize]] #{index + 1}: step must be one of {', '.join(stage_names())}, "
                            f"got {_describe(kind) if kind is not None else 'nothing'}", index)
        hints = typing.get_type_hints(get_stage(kind).config)
        for key, value in table.items():
            if key not in hints:
                raise self.fail("optimize", key, f"unknown key '{key}' in [[optimize]] step '{kind}' "
                                f"(known: {', '.join(hints)})", index)
            expected = _type_error(value, hints[key])
            if expected:
                raise self.fail("optimize", key, f"[[optimize]] {kind}.{key} must be {expected}, "
                                f"got {_describe(value)}", index)
        step = OptimizeStep(kind, table)
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

    def check_values(self, config: BuildConfig) -> None:
        choices = (("convert", "quantize", config.convert.quantize, QUANTIZE_MODES),
                   ("convert", "io_type", config.convert.io_type, IO_TYPES))
        for table, key, value, allowed in choices:
            if value not in allowed:
                raise self.fail(table, key, f"[{table}] {key} must be one of {', '.join(allowed)}, got '{value}'")
        if config.convert.per_tensor and config.convert.quantize not in ("int8", "int16x8"):
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
        tune = config.tune
        for key, value, allowed in (("sampler", tune.sampler, TUNE_SAMPLERS), ("size", tune.size, SIZE_OBJECTIVES),
                                    ("pruner", tune.pruner, TUNE_PRUNERS)):
            if value not in allowed:
                raise self.fail("tune", key, f"[tune] {key} must be one of {', '.join(allowed)}, got '{value}'")
        for key in ("trials", "workers"):
            if getattr(tune, key) < 1:
                raise self.fail("tune", key, f"[tune] {key} must be at least 1, got {getattr(tune, key)}")
        for key in ("trial_timeout", "timeout"):
            if getattr(tune, key) is not None and getattr(tune, key) <= 0:
                raise self.fail("tune", key, f"[tune] {key} must be > 0 seconds, got {getattr(tune, key)}")
        for key, value in dataclasses.asdict(config.budgets).items():
            if value is not None and value < 0:
                raise self.fail("budgets", key, f"[budgets] {key} must not be negative, got {value}")


def find_line(text: str, table: str, key: str | None, index: int = 0) -> int | None:
    """1-based line of ``key`` in ``[table]`` (the ``index``-th ``[[table]]``), or of the header."""
    header = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    key_rx = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=") if key else None
    current, seen, header_line = None, -1, None
    for number, line in enumerate(text.splitlines(), 1):
        match = header.match(line)
        if match:
            current = match.group(1)
            if current == table:
                seen += 1
                if seen == index:
                    header_line = number
            continue
        if key_rx and current == table and seen == index and key_rx.match(line):
            return number
    return header_line


def _type_error(value: Any, annotation: Any) -> str | None:
    """What ``value`` should have been, or None when it fits ``annotation``."""
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)  # not dict[str, int]'s arguments
    options = [a for a in typing.get_args(annotation) if a is not type(None)] if union else [annotation]
    for option in options:
        origin = typing.get_origin(option) or option
        if origin is bool and isinstance(value, bool):
            return None
        if origin is int and isinstance(value, int) and not isinstance(value, bool):
            return None
        if origin is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return None
        if origin is str and isinstance(value, str):
            return None
        if origin in (tuple, list) and isinstance(value, list):
            return None
        if origin is dict and isinstance(value, dict):
            return None
        if option is Any:
            return None
    return " or ".join(_TYPE_NAMES.get(typing.get_origin(o) or o, str(o)) for o in options)


_TYPE_NAMES = {bool: "true/false", int: "an integer", float: "a number", str: "a string",
               tuple: "a list", list: "a list", dict: "a table"}


def _describe(value: Any) -> str:
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list",
            dict: "table"}.get(type(value), type(value).__name__)
    return f"{kind} {value!r}" if not isinstance(value, (list, dict)) else kind
