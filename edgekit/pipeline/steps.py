"""The steps of a build as plain functions: ``edgekit build`` composes them, a tuning loop calls them per trial.

Each step takes files, data SPECs and settings and returns a Keras model, ``.tflite``
bytes or a dict. None of them caches, logs stages, checks budgets or writes artifacts:
:mod:`edgekit.pipeline.build` wraps them in its StageCache, StageLog, budgets and
manifest, and another caller can run them with other settings without a build around
them. TensorFlow is imported only when a step runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from edgekit.errors import ConfigError
from edgekit.pipeline.config import BUILTIN_PREFIX

if TYPE_CHECKING:
    import keras

    from edgekit.data import Dataset
    from edgekit.pipeline.config import FinetuneSection, OptimizeStep
    from edgekit.remote import Device
    from edgekit.results import ResultStore
    from edgekit.targets import Target

Progress = Callable[[str], None]


def _silent(message: str) -> None:
    """The default progress: a step says nothing unless its caller wants to show it."""


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TF's kernels deterministic (reproducible builds)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def train_builtin(source: str, train_spec: str | Path, *, epochs: int, batch_size: int, learning_rate: float,
                  seed: int) -> "keras.Model":
    """The model ``builtin:NAME`` trained from scratch on ``train_spec``, sized to the data's samples and labels."""
    from edgekit.data import load_dataset
    from edgekit.models import compile_classifier, digits_cnn

    train = load_dataset(train_spec, require_labels=True)
    builders = {"digits_cnn": digits_cnn}
    seed_everything(seed)
    model = builders[source[len(BUILTIN_PREFIX):]](input_shape=tuple(train.x.shape[1:]),
                                                   classes=int(train.y.max()) + 1)
    compile_classifier(model, learning_rate=learning_rate)
    model.fit(train.x, train.y, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    return model


def optimize_model(model: "keras.Model", steps: Sequence["OptimizeStep"], finetune: "FinetuneSection",
                   train: "Dataset", val: "Dataset | None", progress: Progress = _silent, *, seed: int = 0,
                   calibration: Any = None, compile_config: dict | None = None,
                   callbacks: Sequence[Any] = ()) -> tuple["keras.Model", dict]:
    """The [[optimize]] steps applied to ``model``: (plain Keras model, summary).

    The one place the pipeline calls the optimization engine, so a change of that engine's
    API touches only this function. ``calibration``: the inputs the int8 converter will get
    (QAT fixes its ranges on them); ``compile_config``: the ``compile()`` arguments the
    model was saved with (its loss is fine-tuned), else the loss follows from the labels;
    ``callbacks``: Keras callbacks every stage's fine-tuning also runs (they watch, they do not train).
    """
    import dataclasses

    from edgekit.optimize.engine import Recipe, optimize

    recipe = Recipe([step.as_step() for step in steps],
                    dataclasses.replace(finetune.finetune(seed), callbacks=tuple(callbacks)))
    result = optimize(model, recipe, train, val, calibration=calibration, compile_config=compile_config,
                      budget=finetune.budget(), progress=progress)
    return result.model, result.summary


def optimize_step(model_path: str | Path, steps: Sequence["OptimizeStep"], finetune: "FinetuneSection",
                  train_spec: str | Path, val_spec: str | Path, *, calibration_spec: str | Path,
                  calibration_limit: int, seed: int, progress: Progress = _silent,
                  callbacks: Sequence[Any] = ()) -> tuple["keras.Model", dict]:
    """Load the model and its data, seed, optimize: (model, JSON-ready summary for the manifest).

    ``calibration_spec``/``calibration_limit``: the samples :func:`convert_variant` will
    calibrate on, so a QAT step's ranges match the converter's; ``callbacks``: see :func:`optimize_model`.
    """
    from edgekit.convert import load_keras_model
    from edgekit.keras_file import saved_compile_config
    from edgekit.optimize.file import labelled, model_inputs

    model = load_keras_model(model_path)
    train, val = labelled(model, train_spec), labelled(model, val_spec)
    calibration = model_inputs(model, calibration_spec, calibration_limit)
    seed_everything(seed)
    optimized, summary = optimize_model(model, steps, finetune, train, val, progress, seed=seed,
                                        calibration=calibration, compile_config=saved_compile_config(model_path),
                                        callbacks=callbacks)
    return optimized, json.loads(json.dumps(summary, default=_jsonable))


def convert_variant(model_path: str | Path, *, quantize: str, io_type: str = "float32", per_tensor: bool = False,
                    calibration_spec: str | Path | None = None, calibration_limit: int = 200,
                    static_batch: bool = False, storage: str = "int8", verify: bool = True,
                    checked: Callable[[dict], None] = lambda agreement: None) -> bytes:
    """The ``.tflite`` bytes of the Keras model at ``model_path`` (deterministic: same inputs, same bytes).

    ``calibration_spec`` is read only for the calibrated modes (int8, int16x8), limited to
    ``calibration_limit`` samples. ``static_batch`` fixes the batch size to 1, which the
    Edge TPU compiler needs. ``storage`` other than int8 stores the weights compactly and
    runs the result against the int8 file on the calibration samples (OutputMismatchError,
    unless ``verify=False``); ``checked`` gets that check's figures (``Agreement.to_dict()``).
    """
    from edgekit.convert import convert_model, input_signature, load_keras_model
    from edgekit.convert.compact import store, verification_inputs
    from edgekit.convert.storage import FORMS
    from edgekit.data import load_dataset

    model = load_keras_model(model_path)
    if static_batch:
        model = _with_batch_one(model)
    representative = None
    if calibration_spec is not None:
        representative = load_dataset(calibration_spec, input_shapes=input_signature(model)[0],
                                      limit=calibration_limit).x
    per_tensor = per_tensor or FORMS[storage].per_tensor

    def reconvert(**extra) -> bytes:
        return convert_model(model, quantize=quantize, representative=representative, io_type=io_type,
                             per_tensor=per_tensor, **extra)

    flatbuffer = reconvert()
    if storage == "int8" or representative is None:
        return flatbuffer
    stored = store(storage, "convert", flatbuffer, verification_inputs(representative), where=str(model_path),
                   reconvert=reconvert, refuse=verify)
    checked(stored.agreement.to_dict())
    return stored.flatbuffer


def evaluate_variant(tflite_path: str | Path, val_spec: str | Path, loss=None) -> dict:
    """The task metrics of a ``.tflite`` file on labelled data (``EvalResult.metrics``): what the
    quality budgets compare. ``loss``: one name or one per output (the source model's), else inferred."""
    from edgekit.evaluate import evaluate_model

    return evaluate_model(tflite_path, val_spec, loss=loss).metrics


def arena_size(tflite_path: str | Path) -> dict:
    """The tensor arena the model needs under TFLite Micro, as ``{"bytes", "method", ...}`` (max_arena_kb)."""
    from edgekit.export.arena import estimate_arena

    return estimate_arena(tflite_path).to_dict()


def check_target(name: str, *, quantize: str, io_type: str, where: str | Path, storage: str = "int8") -> "Target":
    """The device profile ``name``, refusing a quantization, I/O type or storage form it cannot run (before
    any training)."""
    from edgekit.targets import load_target

    target = load_target(name)
    if quantize not in target.quantizations:
        raise ConfigError(f"{where}: [convert] quantize '{quantize}' does not suit target "
                          f"{target.name}: use one of {', '.join(target.quantizations)}")
    if storage not in target.storage:
        raise ConfigError(f"{where}: [convert] storage '{storage}' is not one target {target.name}'s runtime runs "
                          f"correctly: use one of {', '.join(target.storage)}")
    if target.delegate and io_type not in target.delegate.io_types:
        raise ConfigError(f"{where}: [convert] io_type '{io_type}' does not suit target "
                          f"{target.name}: use one of {', '.join(target.delegate.io_types)}")
    return target


def measure_latency(tflite_path: str | Path, target: "Target", device: "Device | None" = None, *,
                    threads: int | None = None, runs: int = 50, warmup: int = 5,
                    store: "ResultStore | None" = None, note: Progress = _silent) -> tuple[dict, str | None]:
    """Benchmark the model: (agent result, the device's name) on ``device``, else (result, None) on this machine.

    An unreachable device is not an error: latency is then measured locally and ``note``
    says why, so a build on a laptop still checks its other budgets. ``threads`` defaults
    to the target's on the device, and locally to the ``local`` profile's or 1. ``store``
    records the benchmark (see ``edgekit history``).
    """
    if threads is None and target.name == "local":
        threads = target.default_threads
    if device is not None:
        from edgekit.errors import RemoteError
        from edgekit.remote import ConnectOptions, deploy

        try:
            deployed = deploy(tflite_path, device, target=target, threads=threads, runs=runs, warmup=warmup,
                              options=ConnectOptions(), store=store)
            return deployed.result, device.name
        except RemoteError as err:
            note(f"device {device.name} unreachable: {err}")
    from edgekit.agent.runner import run_local
    from edgekit.results import LOCAL_HOST

    result = run_local(tflite_path, threads=threads or 1, runs=runs, warmup=warmup)
    if store is not None:
        store.record(result, target="local", host=LOCAL_HOST)
    return result, None


def _with_batch_one(model: "keras.Model") -> "keras.Model":
    """The same model with batch size 1: the Edge TPU needs static shapes."""
    import keras

    inputs = [keras.Input(batch_shape=(1, *t.shape[1:]), dtype=t.dtype) for t in model.inputs]
    clone = keras.models.clone_model(model, input_tensors=inputs if len(inputs) > 1 else inputs[0])
    clone.set_weights(model.get_weights())
    return clone


def _jsonable(value: Any) -> Any:
    """NumPy values as lists/numbers, anything else as its text (the summary goes into JSON)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


__all__ = ["arena_size", "check_target", "convert_variant", "evaluate_variant", "measure_latency", "optimize_model",
           "optimize_step", "seed_everything", "train_builtin"]
