"""``edgekit build``: edgekit.toml -> trained, optimized, converted, measured, checked model.

Stages, in order (each cached by :mod:`edgekit.pipeline.cache` unless it measures time):

  model     train ``builtin:NAME`` on [data] train, or load the given Keras model
  optimize  the [[optimize]] steps through ``edgekit.optimize.recipe.run_recipe``
  convert   each variant: float32, [convert] quantize of the plain model, and of the optimized one
  evaluate  top-1 accuracy of every variant on [data] val
  arena     tensor arena under TFLite Micro (for max_arena_kb and the C export)
  edgetpu   Coral targets only: Edge TPU compatibility (and edgetpu_compiler when installed)
  bench     latency + peak memory on the target's device if reachable, else on ``local``
  budgets   every [budgets] limit checked; artifacts written, then violations raised

Reproducible: training and fine-tuning are seeded and run with TensorFlow's op
determinism, so two builds of the same inputs give byte-identical .tflite files and the
same manifest apart from its ``timing`` section.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from edgekit.errors import ConfigError
from edgekit.fileio import atomic_path, atomic_write_bytes
from edgekit.pipeline.budgets import TIMING_BUDGETS, Verdict, check_budgets
from edgekit.pipeline.cache import StageCache, file_sha256, stage_key
from edgekit.pipeline.config import BUILTIN_PREFIX, OPTIMIZE_STEPS, BuildConfig
from edgekit.pipeline.progress import StageLog

FINAL_FILE = "model.tflite"
CACHE_MAX_AGE_DAYS = 14  # stage-cache entries unused this long are removed after a build


@dataclass
class Variant:
    """One converted model the build produced (the last one is the final model)."""

    name: str
    path: Path
    sha256: str
    size_bytes: int
    gzip_bytes: int
    accuracy: float | None = None

    def to_dict(self) -> dict:
        return {"name": self.name, "file": f"variants/{self.path.name}", "sha256": self.sha256,
                "size_bytes": self.size_bytes, "gzip_bytes": self.gzip_bytes, "accuracy": self.accuracy}


@dataclass
class BuildResult:
    """Everything the manifest and the report are made of."""

    config: BuildConfig
    out_dir: Path
    inputs: dict[str, dict]
    variants: list[Variant]
    optimize_summary: dict | None
    layers: list[dict]
    arena: dict | None
    edgetpu: dict | None
    bench: dict | None
    bench_where: str
    verdicts: list[Verdict]
    versions: dict[str, str]
    stages: dict[str, dict] = field(default_factory=dict)
    exports: dict[str, Any] = field(default_factory=dict)
    manifest: dict = field(default_factory=dict)   # as written to manifest.json

    @property
    def final(self) -> Variant:
        return self.variants[-1]

    @property
    def baseline(self) -> Variant:
        return self.variants[0]


def run_build(config: BuildConfig, out_dir: str | Path, log: StageLog | None = None) -> BuildResult:
    """Run every stage, write the artifacts, and return the result (budgets are not enforced here)."""
    from edgekit.pipeline.manifest import write_manifest
    from edgekit.pipeline.report import write_report

    return _Build(config, Path(out_dir), log or StageLog()).run(write_manifest, write_report)


class _Build:
    def __init__(self, config: BuildConfig, out_dir: Path, log: StageLog):
        self.config, self.out, self.log = config, out_dir, log
        self.cache = StageCache(out_dir / ".cache")
        self.versions = _versions()

    # --- orchestration ------------------------------------------------------------------
    def run(self, write_manifest, write_report) -> BuildResult:
        cfg = self.config
        target = self._target()
        inputs = self._input_hashes()
        model_key, model_path = self._model_stage(inputs)
        variants_src = [("float32", model_key, model_path, "none")]
        if cfg.convert.quantize != "none":
            variants_src.append((cfg.convert.quantize, model_key, model_path, cfg.convert.quantize))
        summary = None
        if cfg.optimize:
            opt_key, opt_path, summary = self._optimize_stage(model_key, model_path, inputs)
            variants_src.append((f"optimized-{cfg.convert.quantize}", opt_key, opt_path, cfg.convert.quantize))
        static = target is not None and target.name.startswith("coral")
        variants = [self._convert_stage(name, key, path, quantize, inputs, static)
                    for name, key, path, quantize in variants_src]
        for variant in variants:
            variant.accuracy = self._evaluate_stage(variant, inputs)
        final = variants[-1]
        arena = self._arena_stage(final)
        edgetpu = self._edgetpu_stage(final) if static else None
        bench, where = self._bench_stage(final, target)
        verdicts = self._verdicts(variants, arena, bench, where)
        result = BuildResult(cfg, self.out, inputs, variants, summary, _layer_stats(final.path),
                             arena, edgetpu, bench, where, verdicts, self.versions)
        with self.log.stage("write", "artifacts"):
            self._write_variants(result)
            if cfg.export.c_array:
                from edgekit.export.c_array import export_c_array

                result.exports["c_array"] = export_c_array(
                    self.out / FINAL_FILE, self.out, name=cfg.export.name, symbol=cfg.export.symbol).to_dict()
            result.stages = dict(self.log.stages)
            result.manifest = write_manifest(result, self.out / "manifest.json")
            write_report(result, self.out / "report.html")
        evicted = self.cache.evict(CACHE_MAX_AGE_DAYS * 86400)
        if evicted:
            self.log.note(f"cache: removed {evicted} entries no build used in {CACHE_MAX_AGE_DAYS} days")
        return result

    # --- stages -------------------------------------------------------------------------
    def _cached(self, stage: str, key: str, state: dict):
        hit = self.cache.get(stage, key)
        state["cached"] = hit is not None
        return hit

    def _store(self, stage: str, key: str, name: str, write: Callable[[Path], None], record: dict | None = None):
        """Let ``write`` produce the stage's file ``name`` in a temp dir, then cache it."""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            write(path)
            return self.cache.put(stage, key, {name: path}, record or {})

    def _model_stage(self, inputs: dict) -> tuple[str, Path]:
        cfg = self.config
        builtin = cfg.is_builtin
        key = stage_key("model", source=cfg.model.source, train=dataclasses.asdict(cfg.train),
                        data=inputs.get("train", {}).get("sha256") if builtin else None,
                        model=inputs.get("model", {}).get("sha256"), versions=self.versions)
        with self.log.stage("model", cfg.model.source) as state:
            hit = self._cached("model", key, state)
            if hit is None:
                hit = self._store("model", key, "model.keras", self._train_builtin if builtin else self._load_user_model)
        return key, hit[0] / "model.keras"

    def _optimize_stage(self, model_key: str, model_path: Path, inputs: dict):
        cfg = self.config
        key = stage_key("optimize", model=model_key, steps=[dataclasses.asdict(s) for s in cfg.optimize],
                        finetune=dataclasses.asdict(cfg.finetune), seed=cfg.train.seed,
                        train=inputs["train"]["sha256"], val=inputs["val"]["sha256"], versions=self.versions)
        steps = ", ".join(s.step for s in cfg.optimize)
        with self.log.stage("optimize", steps) as state:
            hit = self._cached("optimize", key, state)
            if hit is None:
                from edgekit.data import load_dataset
                from edgekit.optimize.recipe import run_recipe

                model = _load_model(model_path)
                shapes = _input_shapes(model)
                train = load_dataset(cfg.resolve(cfg.data.train), input_shapes=shapes, require_labels=True)
                val = load_dataset(cfg.resolve(cfg.data.val), input_shapes=shapes, require_labels=True)
                _seed(cfg.train.seed)
                result = run_recipe(model, self._optimize_config(), train, val,
                                    progress=lambda msg: self.log.note(f"  {msg}"))
                summary = json.loads(json.dumps(result.summary, default=_jsonable))
                hit = self._store("optimize", key, "model.keras", result.model.save, {"summary": summary})
        return key, hit[0] / "model.keras", hit[1]["summary"]

    def _convert_stage(self, name: str, model_key: str, model_path: Path, quantize: str,
                       inputs: dict, static_batch: bool) -> Variant:
        cfg = self.config
        io_type = cfg.convert.io_type if quantize == "int8" else "float32"
        calibration = inputs.get("calibration", {}).get("sha256") if quantize in ("int8", "int16x8") else None
        per_tensor = cfg.convert.per_tensor and calibration is not None
        key = stage_key("convert", model=model_key, quantize=quantize, io_type=io_type, static=static_batch,
                        calibration=calibration, limit=cfg.data.calibration_limit, per_tensor=per_tensor,
                        versions=self.versions)
        with self.log.stage("convert", name) as state:
            hit = self._cached("convert", key, state)
            if hit is None:
                from edgekit.convert import convert_model
                from edgekit.data import load_dataset

                model = _load_model(model_path)
                if static_batch:
                    model = _with_batch_one(model)
                representative = None
                if calibration:
                    representative = load_dataset(cfg.resolve(cfg.data.calibration or cfg.data.train),
                                                  input_shapes=_input_shapes(model),
                                                  limit=cfg.data.calibration_limit).x
                data = convert_model(model, quantize=quantize, representative=representative, io_type=io_type,
                                     per_tensor=per_tensor)
                hit = self._store("convert", key, "model.tflite", lambda path: path.write_bytes(data))
        path = hit[0] / "model.tflite"
        data = path.read_bytes()
        return Variant(name, path, file_sha256(path), len(data), len(gzip.compress(data, 9, mtime=0)))

    def _evaluate_stage(self, variant: Variant, inputs: dict) -> float:
        cfg = self.config
        key = stage_key("evaluate", model=variant.sha256, val=inputs["val"]["sha256"], versions=self.versions)
        with self.log.stage("evaluate", variant.name) as state:
            hit = self._cached("evaluate", key, state)
            if hit is None:
                hit = self.cache.put("evaluate", key, {},
                                     {"accuracy": _tflite_accuracy(variant.path, cfg.resolve(cfg.data.val))})
        self.log.note(f"  {variant.name}: accuracy {hit[1]['accuracy']:.4f}, {variant.size_bytes / 1024:.1f} KB")
        return hit[1]["accuracy"]

    def _arena_stage(self, final: Variant) -> dict:
        from edgekit.export.arena import estimate_arena

        key = stage_key("arena", model=final.sha256, versions=self.versions)
        with self.log.stage("arena", "TFLite Micro") as state:
            hit = self._cached("arena", key, state)
            if hit is None:
                hit = self.cache.put("arena", key, {}, {"arena": estimate_arena(final.path).to_dict()})
        arena = hit[1]["arena"]
        self.log.note(f"  tensor arena {arena['bytes']} bytes by {arena['method']}")
        return arena

    def _edgetpu_stage(self, final: Variant) -> dict:
        from edgekit.inspect.edgetpu import check_with_compiler

        with self.log.stage("edgetpu", "compatibility"):
            report = check_with_compiler(final.path, self.out)
        for line in report.lines():
            self.log.note(f"  {line}")
        return report.to_dict()

    def _bench_stage(self, final: Variant, target) -> tuple[dict | None, str]:
        cfg = self.config
        threads = cfg.target.threads or (target.default_threads if target and target.name == "local" else None)
        with self.log.stage("bench", final.name):
            if cfg.target.device:
                measured = self._bench_remote(final, target, threads)
                if measured is not None:
                    return measured, cfg.target.device
            from edgekit.agent.runner import run_local

            result = run_local(final.path, threads=threads or 1, runs=cfg.target.runs, warmup=cfg.target.warmup)
            _record(result, target="local", host="local")
        where = "local"
        if cfg.target.name != "local":
            why = f"{cfg.target.device} unreachable" if cfg.target.device else "no [target] device configured"
            where = f"local, not {cfg.target.name}: {why}"
            self.log.note(f"  latency measured on {where}")
        return result, where

    def _bench_remote(self, final: Variant, target, threads: int | None) -> dict | None:
        """Latency on the configured device through the deploy API; None (said so) if unreachable."""
        from edgekit.errors import RemoteError
        from edgekit.remote import ConnectOptions, deploy
        from edgekit.results import ResultStore

        try:
            deployed = deploy(final.path, self._device(target), target=target, threads=threads,
                              runs=self.config.target.runs, warmup=self.config.target.warmup,
                              options=ConnectOptions(), store=ResultStore())
        except RemoteError as err:
            self.log.note(f"  device {self.config.target.device} unreachable: {err}")
            return None
        return deployed.result

    # --- helpers ------------------------------------------------------------------------
    def _device(self, target):
        """[target] device: a [devices.NAME] of this file or of the user's inventory, else [user@]host[:port]."""
        from edgekit.remote import Device, load_inventory

        spec = self.config.target.device
        for device in [*load_inventory(self.config.path), *load_inventory()]:
            if device.name == spec:
                return device
        return Device(name=spec, host=spec, target=target.name)

    def _target(self):
        from edgekit.targets import load_target

        convert = self.config.convert
        target = load_target(self.config.target.name)
        if convert.quantize not in target.quantizations:
            raise ConfigError(f"{self.config.path}: [convert] quantize '{convert.quantize}' does not suit target "
                              f"{target.name}: use one of {', '.join(target.quantizations)}")
        if target.delegate and convert.io_type not in target.delegate.io_types:
            raise ConfigError(f"{self.config.path}: [convert] io_type '{convert.io_type}' does not suit target "
                              f"{target.name}: use one of {', '.join(target.delegate.io_types)}")
        return target

    def _input_hashes(self) -> dict[str, dict]:
        from edgekit.errors import InputFileError

        cfg = self.config
        specs = {"train": cfg.data.train, "val": cfg.data.val, "calibration": cfg.data.calibration or cfg.data.train}
        if not cfg.is_builtin:
            specs["model"] = cfg.model.source
        hashes = {}
        for name, spec in specs.items():
            if not spec:
                continue
            path = Path(cfg.resolve(spec))
            if not path.exists():
                raise InputFileError(f"{cfg.path}: [{'model' if name == 'model' else 'data'}] "
                                     f"{'source' if name == 'model' else name} '{spec}' does not exist "
                                     f"(paths are relative to {cfg.root})")
            hashes[name] = {"spec": spec, "sha256": file_sha256(path),
                            "size_bytes": sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
                            if path.is_dir() else path.stat().st_size}
        return hashes

    def _train_builtin(self, path: Path) -> None:
        from edgekit.data import load_dataset
        from edgekit.models import compile_classifier, digits_cnn

        cfg = self.config
        train = load_dataset(cfg.resolve(cfg.data.train), require_labels=True)
        builders = {"digits_cnn": digits_cnn}
        _seed(cfg.train.seed)
        model = builders[cfg.model.source[len(BUILTIN_PREFIX):]](
            input_shape=tuple(train.x.shape[1:]), classes=int(train.y.max()) + 1)
        compile_classifier(model, learning_rate=cfg.train.learning_rate)
        model.fit(train.x, train.y, epochs=cfg.train.epochs, batch_size=cfg.train.batch_size,
                  shuffle=True, verbose=0)
        model.save(path)

    def _load_user_model(self, path: Path) -> None:
        from edgekit.convert import load_keras_model

        load_keras_model(self.config.resolve(self.config.model.source)).save(path)

    def _optimize_config(self):
        from edgekit.optimize.recipe import OptimizeConfig

        ft = self.config.finetune
        return OptimizeConfig(**{step.step: step.settings() for step in self.config.optimize}, epochs=ft.epochs,
                              batch_size=ft.batch_size, learning_rate=ft.learning_rate)

    def _verdicts(self, variants: list[Variant], arena: dict, bench: dict | None, where: str) -> list[Verdict]:
        final, baseline = variants[-1], variants[0]
        measured = {
            "max_size_kb": final.size_bytes / 1024, "max_gzip_kb": final.gzip_bytes / 1024,
            "min_accuracy": final.accuracy,
            "max_accuracy_drop": baseline.accuracy - final.accuracy,
            "max_arena_kb": arena["bytes"] / 1024,
            "max_latency_ms": bench["timing_ms"]["mean"] if bench else None,
            "max_peak_memory_mb": bench["memory_mb"]["peak_rss"] if bench else None,
        }
        notes = {name: f"measured on {where}" for name in TIMING_BUDGETS}
        notes["max_arena_kb"] = f"by {arena['method']}"
        notes["max_accuracy_drop"] = f"vs {baseline.name}"
        return check_budgets(dataclasses.asdict(self.config.budgets), measured, notes)

    def _write_variants(self, result: BuildResult) -> None:
        for variant in result.variants:
            atomic_write_bytes(self.out / "variants" / f"{variant.name}.tflite", variant.path.read_bytes())
            variant.path = self.out / "variants" / f"{variant.name}.tflite"
        with atomic_path(self.out / FINAL_FILE) as tmp:
            shutil.copyfile(result.final.path, tmp)


def _seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TF's kernels deterministic."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _load_model(path: Path):
    import keras

    return keras.models.load_model(path, compile=False)


def _input_shapes(model) -> list[tuple]:
    return [tuple(t.shape[1:]) for t in model.inputs]


def _with_batch_one(model):
    """The same model with batch size 1: the Edge TPU needs static shapes."""
    import keras

    inputs = [keras.Input(batch_shape=(1, *t.shape[1:]), dtype=t.dtype) for t in model.inputs]
    clone = keras.models.clone_model(model, input_tensors=inputs if len(inputs) > 1 else inputs[0])
    clone.set_weights(model.get_weights())
    return clone


def _tflite_accuracy(model_path: Path, val_spec: str) -> float:
    from edgekit.evaluate import evaluate_model

    return float(evaluate_model(model_path, val_spec).accuracy)


def _layer_stats(model_path: Path) -> list[dict]:
    """Per kernel of the final model, in execution order: bytes and the fraction of zeros (pruning)."""
    from edgekit.inspect import inspect_model, read_tflite

    graph = read_tflite(model_path).subgraphs[0]
    first_use = {}
    for index, op in enumerate(graph.operators):
        for tensor in op.inputs:
            first_use.setdefault(tensor, index)
    kernels = [w for w in inspect_model(model_path).weights if w.is_kernel and w.subgraph == 0]
    kernels.sort(key=lambda w: first_use.get(w.tensor, len(graph.operators)))
    return [{"tensor": w.name, "op": w.used_by[0].split(":")[0] if w.used_by else "", "bytes": w.nbytes,
             "params": w.elements, "sparsity": w.zero_fraction or 0.0} for w in kernels]


def _record(result: dict, *, target: str, host: str) -> None:
    from edgekit.results import ResultStore

    ResultStore().record(result, target=target, host=host)


def _versions() -> dict[str, str]:
    from importlib import metadata

    import edgekit

    versions = {"edgekit": edgekit.__version__}
    for dist in ("tensorflow", "keras", "ai-edge-litert", "numpy", "tflite-micro"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return versions


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


__all__ = ["BuildResult", "Variant", "run_build", "FINAL_FILE", "OPTIMIZE_STEPS"]
