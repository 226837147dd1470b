"""``edgekit build``: edgekit.toml -> trained, optimized, converted, measured, checked model.

Stages, in order (each cached by :mod:`edgekit.pipeline.cache` unless it measures time; a
``.tflite`` source has no model and optimize stages: :mod:`edgekit.pipeline.tflite_build`):

  model     train ``builtin:NAME`` on [data] train, or load the given Keras model
  optimize  the [[optimize]] steps (``steps.optimize_model`` calls the optimization engine)
  convert   each variant: float32, [convert] quantize of the plain model, and of the optimized one
  evaluate  every variant on [data] val by its task: top-1 accuracy, binary accuracy, or MAE/MSE
  arena     tensor arena under TFLite Micro (for max_arena_kb and the C export)
  edgetpu   Coral targets only: Edge TPU compatibility (and edgetpu_compiler when installed)
  bench     latency + peak memory on the target's device if reachable, else on ``local``
  budgets   every [budgets] limit checked; artifacts written, then violations raised

Reproducible: training and fine-tuning are seeded and run with TensorFlow's op
determinism, so two builds of the same inputs give byte-identical .tflite files and the
same manifest apart from its ``timing`` section.

What each stage computes is a public function of :mod:`edgekit.pipeline.steps`; this
module adds only what makes it a build: cache keys, stage log lines, budgets, artifacts.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ContextManager

from edgekit.fileio import atomic_path, atomic_write_bytes
from edgekit.pipeline import steps
from edgekit.pipeline.budgets import TIMING_BUDGETS, Verdict, check_budgets, quality_measurements
from edgekit.pipeline.cache import StageCache, file_sha256, stage_key
from edgekit.pipeline.config import BuildConfig
from edgekit.pipeline.history import record_build, run_tag
from edgekit.pipeline.progress import StageLog
from edgekit.quality_drop import Drop, compression_fixes, measure
from edgekit.vocab import CALIBRATED_MODES

FINAL_FILE = "model.tflite"
# what a large drop's warning suggests for a trained and compressed model, in edgekit.toml's words
COMPRESSION_FIXES = compression_fixes("strength in [[optimize]]", epochs="[finetune] epochs",
                                      learning_rate="[finetune] learning_rate")
CACHE_MAX_AGE_DAYS = 14  # stage-cache entries unused this long are removed after a build


@dataclass
class Variant:
    """One converted model the build produced (the last one is the final model)."""

    name: str
    path: Path
    sha256: str
    size_bytes: int
    gzip_bytes: int
    metrics: dict | None = None     # EvalResult.metrics on [data] val
    timing_ms: dict | None = None   # the agent's latency percentiles where the build measured it
    agreement: dict | None = None   # a storage form's check against its int8 file (Agreement.to_dict())

    @classmethod
    def of(cls, name: str, path: Path, agreement: dict | None = None) -> "Variant":
        """The variant ``name`` whose file is ``path``, with its hash and sizes."""
        data = path.read_bytes()
        return cls(name, path, file_sha256(path), len(data), len(gzip.compress(data, 9, mtime=0)),
                   agreement=agreement)

    @property
    def quality(self) -> tuple[str, float]:
        """The first output's headline metric: ("accuracy", 0.98), ("binary_accuracy", ...) or ("mae", ...)."""
        from edgekit.tasks import headline

        return headline(self.metrics)

    @property
    def accuracy(self) -> float | None:
        """Top-1 (or binary) accuracy of the first output; None for a regression model."""
        name, value = self.quality
        return value if name != "mae" else None

    def to_dict(self) -> dict:
        return {"name": self.name, "file": f"variants/{self.path.name}", "sha256": self.sha256,
                "size_bytes": self.size_bytes, "gzip_bytes": self.gzip_bytes, "accuracy": self.accuracy,
                "metrics": self.metrics, "agreement": self.agreement}

    @property
    def not_verified(self) -> str | None:
        """The warning for a storage form kept although its check failed ([convert] verify = false)."""
        from edgekit.convert.agreement import Agreement, not_verified

        return None if self.agreement is None else not_verified(self.name, [Agreement.from_dict(self.agreement)])


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
    history: list[dict] = field(default_factory=list)   # builds of this config into this out dir, oldest first
    keras_path: Path | None = None   # the Keras model the final variant was converted from (in the cache)
    conversion: dict | None = None   # a .tflite source's AI Edge Quantizer conversion (mode, what was prepared)
    fixes: tuple[str, ...] = COMPRESSION_FIXES   # what the drop's warning suggests

    @property
    def final(self) -> Variant:
        return self.variants[-1]

    @property
    def baseline(self) -> Variant:
        return self.variants[0]

    @property
    def drop(self) -> Drop:
        """The final model against the float32 baseline on [data] val (:mod:`edgekit.quality_drop`)."""
        return measure(self.baseline.metrics, self.final.metrics, self.fixes)


class KerasBuild:
    extra_versions: tuple[str, ...] = ()   # distributions beyond _versions()'s that change this kind of build

    def __init__(self, config: BuildConfig, out_dir: Path, log: StageLog, cache_dir: Path,
                 bench_guard: Callable[[], ContextManager], trial: str | None, epoch_callbacks: tuple = ()):
        self.config, self.out, self.log = config, out_dir, log
        self.cache = StageCache(cache_dir)
        self.bench_guard = bench_guard
        self.trial = trial
        self.epoch_callbacks = epoch_callbacks
        self.versions = _versions(*self.extra_versions)

    # --- orchestration ------------------------------------------------------------------
    def run(self, write_manifest, write_report) -> BuildResult:
        cfg = self.config
        target = steps.check_target(cfg.target.name, quantize=cfg.convert.quantize, io_type=cfg.convert.io_type,
                                    where=cfg.path, storage=cfg.convert.storage)
        inputs = self._input_hashes()
        model_key, model_path = self._model_stage(inputs)
        variants_src = [("float32", model_key, model_path, "none")]
        if cfg.convert.quantize != "none":
            variants_src.append((cfg.convert.quantize, model_key, model_path, cfg.convert.quantize))
        summary = None
        if cfg.optimize:
            opt_key, opt_path, summary = self._optimize_stage(model_key, model_path, inputs)
            variants_src.append((f"optimized-{cfg.convert.quantize}", opt_key, opt_path, cfg.convert.quantize))
        static = _edgetpu(target)
        # [convert] storage shapes the final variant (the optimized one when there is one)
        variants = [self._convert_stage(name, key, path, quantize, inputs, static,
                                        cfg.convert.storage if i == len(variants_src) - 1 else "int8")
                    for i, (name, key, path, quantize) in enumerate(variants_src)]
        return self._finish(target, inputs, variants, write_manifest, write_report, optimize_summary=summary,
                            keras_path=variants_src[-1][2])

    def _finish(self, target, inputs: dict, variants: list[Variant], write_manifest, write_report, *,
                optimize_summary: dict | None = None, keras_path: Path | None = None, conversion: dict | None = None,
                fixes: tuple[str, ...] = COMPRESSION_FIXES) -> BuildResult:
        """Evaluate, measure, check and write the variants (the last is the final model), whatever the source."""
        cfg = self.config
        for variant in variants:
            variant.metrics = self._evaluate_stage(variant, inputs)
        final = variants[-1]
        arena = self._arena_stage(final)
        edgetpu = self._edgetpu_stage(final) if _edgetpu(target) else None
        bench, where, on_target = self._bench_stage(variants, target)
        verdicts = self._verdicts(variants, arena, bench, where, on_target)
        result = BuildResult(cfg, self.out, inputs, variants, optimize_summary, _layer_stats(final.path, keras_path),
                             arena, edgetpu, bench, where, verdicts, self.versions, keras_path=keras_path,
                             conversion=conversion, fixes=fixes)
        with self.log.stage("write", "artifacts"):
            self._write_variants(result)
            if cfg.export.c_array:
                from edgekit.export.c_array import export_c_array

                result.exports["c_array"] = export_c_array(
                    self.out / FINAL_FILE, self.out, name=cfg.export.name, symbol=cfg.export.symbol).to_dict()
            result.stages = dict(self.log.stages)
            result.manifest = write_manifest(result, self.out / "manifest.json")
            result.history = record_build(result)
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
                hit = self._store("model", key, "model.keras", lambda path: self._source_model().save(path))
        return key, hit[0] / "model.keras"

    def _optimize_stage(self, model_key: str, model_path: Path, inputs: dict):
        cfg = self.config
        files = {path: file_sha256(cfg.resolve(path)) for step in cfg.optimize for path in step.files()}
        key = stage_key("optimize", model=model_key, steps=[dataclasses.asdict(s) for s in cfg.optimize], files=files,
                        finetune=dataclasses.asdict(cfg.finetune), seed=cfg.train.seed,
                        train=inputs["train"]["sha256"], val=inputs["val"]["sha256"],
                        calibration=inputs["calibration"]["sha256"], limit=cfg.data.calibration_limit,
                        versions=self.versions)
        with self.log.stage("optimize", ", ".join(s.step for s in cfg.optimize)) as state:
            hit = self._cached("optimize", key, state)
            if hit is None:
                model, summary = steps.optimize_step(
                    model_path, cfg.optimize_steps(), cfg.finetune, cfg.resolve(cfg.data.train), cfg.resolve(cfg.data.val),
                    calibration_spec=cfg.resolve(cfg.data.calibration or cfg.data.train),
                    calibration_limit=cfg.data.calibration_limit, seed=cfg.train.seed, progress=self._indented,
                    callbacks=self.epoch_callbacks)
                hit = self._store("optimize", key, "model.keras", model.save, {"summary": summary})
        return key, hit[0] / "model.keras", hit[1]["summary"]

    def _convert_stage(self, name: str, model_key: str, model_path: Path, quantize: str,
                       inputs: dict, static_batch: bool, storage: str = "int8") -> Variant:
        cfg = self.config
        io_type = cfg.convert.io_type if quantize == "int8" else "float32"
        calibration = inputs.get("calibration", {}).get("sha256") if quantize in CALIBRATED_MODES else None
        per_tensor = cfg.convert.per_tensor and calibration is not None
        storage = storage if quantize == "int8" else "int8"
        key = stage_key("convert", model=model_key, quantize=quantize, io_type=io_type, static=static_batch,
                        calibration=calibration, limit=cfg.data.calibration_limit, per_tensor=per_tensor,
                        storage=storage, versions=self.versions, **({} if cfg.convert.verify else {"verify": False}))
        checks: list[dict] = []
        with self.log.stage("convert", name) as state:
            hit = self._cached("convert", key, state)
            if hit is None:
                data = steps.convert_variant(
                    model_path, quantize=quantize, io_type=io_type, per_tensor=per_tensor, static_batch=static_batch,
                    calibration_spec=cfg.resolve(cfg.data.calibration or cfg.data.train) if calibration else None,
                    calibration_limit=cfg.data.calibration_limit, storage=storage, verify=cfg.convert.verify,
                    checked=checks.append)
                hit = self._store("convert", key, "model.tflite", lambda path: path.write_bytes(data),
                                  {"agreement": checks[0] if checks else None})
        return Variant.of(name, hit[0] / "model.tflite", hit[1].get("agreement"))

    def _evaluate_stage(self, variant: Variant, inputs: dict) -> dict:
        cfg = self.config
        losses = self._losses
        key = stage_key("evaluate", model=variant.sha256, val=inputs["val"]["sha256"], losses=losses,
                        versions=self.versions)
        with self.log.stage("evaluate", variant.name) as state:
            hit = self._cached("evaluate", key, state)
            if hit is None:
                metrics = steps.evaluate_variant(variant.path, cfg.resolve(cfg.data.val), loss=losses)
                hit = self.cache.put("evaluate", key, {}, {"metrics": metrics})
        variant.metrics = hit[1]["metrics"]
        name, value = variant.quality
        self.log.note(f"  {variant.name}: {name} {value:.4f}, {variant.size_bytes / 1024:.1f} KB")
        return variant.metrics

    @functools.cached_property
    def _losses(self) -> list | None:
        """What each output was trained for: [finetune] loss, else the user's saved model's own, else inferred."""
        cfg = self.config
        if cfg.finetune.loss is not None:
            return [cfg.finetune.loss] if isinstance(cfg.finetune.loss, str) else list(cfg.finetune.loss)
        if cfg.is_builtin or cfg.is_tflite:
            return None
        from edgekit.convert import load_keras_model, output_names
        from edgekit.evaluate import saved_losses

        path = cfg.resolve(cfg.model.source)
        return saved_losses(path, output_names(load_keras_model(path)))

    def _arena_stage(self, final: Variant) -> dict:
        key = stage_key("arena", model=final.sha256, versions=self.versions)
        with self.log.stage("arena", "TFLite Micro") as state:
            hit = self._cached("arena", key, state)
            if hit is None:
                hit = self.cache.put("arena", key, {}, {"arena": steps.arena_size(final.path)})
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

    def _bench_stage(self, variants: list[Variant], target) -> tuple[dict | None, str, bool]:
        """The final model's (agent result, where it ran, whether that is the target's own kind of device).

        When it ran on this machine the other variants are measured after it (their
        ``timing_ms``), so the report can say what each one costs. On a device only the final
        model is measured: deploying the others would make them the device's rollback history.
        """
        from edgekit.results import ResultStore

        spec, final = self.config.target, variants[-1]
        with self.log.stage("bench", final.name), self.bench_guard():
            device = None
            if spec.device:  # SSH (paramiko) only when there is a device to reach
                from edgekit.remote import resolve_device

                device = resolve_device(spec.device, target=target.name, devices=self.config.devices)
            measure = functools.partial(steps.measure_latency, target=target, threads=spec.threads, runs=spec.runs,
                                        warmup=spec.warmup, note=self._indented)
            store = ResultStore().tagged(run_tag(self.config.path, final.name, self.trial))
            result, measured_on = measure(final.path, device=device, store=store)  # history: the build's model
            final.timing_ms = result["timing_ms"]
            if measured_on is None:
                for variant in variants[:-1]:
                    variant.timing_ms = measure(variant.path, device=None)[0]["timing_ms"]
        if measured_on is not None:
            return result, measured_on, True
        if spec.name == "local":
            return result, "local", True
        why = f"{spec.device} unreachable" if spec.device else "no [target] device configured"
        where = f"local, not {spec.name}: {why}"
        self.log.note(f"  latency measured on {where}: latency and memory budgets are not checked")
        return result, where, False

    # --- helpers ------------------------------------------------------------------------
    def _input_hashes(self) -> dict[str, dict]:
        from edgekit.errors import InputFileError

        cfg = self.config
        hashes = {}
        for name, spec in self._input_specs().items():
            if not spec:
                continue
            path = Path(cfg.resolve(spec))
            if not path.exists():
                raise InputFileError(f"{cfg.path}: {_INPUT_KEYS.get(name, f'[data] {name}')} '{spec}' does not exist "
                                     f"(paths are relative to {cfg.root})")
            hashes[name] = {"spec": spec, "sha256": file_sha256(path),
                            "size_bytes": sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
                            if path.is_dir() else path.stat().st_size}
        return hashes

    def _input_specs(self) -> dict[str, str | None]:
        """The files the build reads, by the name the manifest's ``inputs`` gives them."""
        cfg = self.config
        specs = {"train": cfg.data.train, "val": cfg.data.val, "calibration": cfg.data.calibration or cfg.data.train}
        if not cfg.is_builtin:
            specs["model"] = cfg.model.source
        return specs

    def _indented(self, message: str) -> None:
        """A step's own progress, indented under its stage line."""
        self.log.note(f"  {message}")

    def _source_model(self):
        """[model] source: ``builtin:NAME`` trained on [data] train, or the user's Keras model."""
        cfg = self.config
        if cfg.is_builtin:
            return steps.train_builtin(cfg.model.source, cfg.resolve(cfg.data.train), epochs=cfg.train.epochs,
                                       batch_size=cfg.train.batch_size, learning_rate=cfg.train.learning_rate,
                                       seed=cfg.train.seed)
        from edgekit.convert import load_keras_model

        return load_keras_model(cfg.resolve(cfg.model.source))

    def _verdicts(self, variants: list[Variant], arena: dict, bench: dict | None, where: str,
                  on_target: bool) -> list[Verdict]:
        final, baseline = variants[-1], variants[0]
        quality, notes = quality_measurements(final.metrics, baseline=baseline.metrics)
        measured = {
            **quality,
            "max_size_kb": final.size_bytes / 1024, "max_gzip_kb": final.gzip_bytes / 1024,
            "max_arena_kb": arena["bytes"] / 1024,
            "max_latency_ms": bench["timing_ms"]["p50"] if bench else None,
            "max_p90_ms": bench["timing_ms"]["p90"] if bench else None,
            "max_peak_memory_mb": bench["memory_mb"]["peak_rss"] if bench else None,
        }
        notes.update({name: f"measured on {where}" for name in TIMING_BUDGETS})
        notes["max_arena_kb"] = f"by {arena['method']}"
        notes.setdefault("max_accuracy_drop", f"vs {baseline.name}")
        return check_budgets(dataclasses.asdict(self.config.budgets), measured, notes,
                             off_target=() if on_target else TIMING_BUDGETS)

    def _write_variants(self, result: BuildResult) -> None:
        for variant in result.variants:
            atomic_write_bytes(self.out / "variants" / f"{variant.name}.tflite", variant.path.read_bytes())
            variant.path = self.out / "variants" / f"{variant.name}.tflite"
        with atomic_path(self.out / FINAL_FILE) as tmp:
            shutil.copyfile(result.final.path, tmp)


def _edgetpu(target) -> bool:
    """Whether the target is a Coral Edge TPU (a static batch of 1, the Edge TPU check)."""
    return target is not None and target.name.startswith("coral")


def _layer_stats(model_path: Path, keras_path: Path | None) -> list[dict]:
    """Per kernel of the final model, in execution order: its Keras layer (None without a Keras model), bytes and
    the fraction of zeros (pruning)."""
    from edgekit.inspect import inspect_model, read_tflite
    from edgekit.inspect.keras_names import layer_of
    from edgekit.keras_file import layer_names

    graph = read_tflite(model_path).subgraphs[0]
    first_use = {}
    for index, op in enumerate(graph.operators):
        for tensor in op.inputs:
            first_use.setdefault(tensor, index)
    kernels = [w for w in inspect_model(model_path).weights if w.is_kernel and w.subgraph == 0]
    kernels.sort(key=lambda w: first_use.get(w.tensor, len(graph.operators)))
    names = layer_names(keras_path) if keras_path is not None else []
    return [{"tensor": w.name, "layer": layer_of(w.name, names), "op": w.used_by[0].split(":")[0] if w.used_by else "",
             "bytes": w.nbytes,
             "params": w.elements, "sparsity": w.zero_fraction or 0.0} for w in kernels]


def _versions(*extra: str) -> dict[str, str]:
    from importlib import metadata

    import edgekit

    versions = {"edgekit": edgekit.__version__}
    for dist in ("tensorflow", "keras", "ai-edge-litert", "numpy", "tflite-micro", *extra):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return versions


# the manifest's names of the inputs that are not [data] SPECs, as edgekit.toml spells their keys
_INPUT_KEYS = {"model": "[model] source", "recipe": "[convert] recipe"}

__all__ = ["BuildResult", "KerasBuild", "Variant", "FINAL_FILE"]
