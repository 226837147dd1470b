"""``run_build``: the use case ``edgekit build`` and every tune trial call; it picks the build for the
source -- a Keras model (build.py) or a float .tflite (tflite_build.py) -- and runs it. ``build_file``:
the same from an edgekit.toml with the command line's overrides."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Any, Callable, ContextManager, Sequence

from edgekit.pipeline.build import BuildResult, KerasBuild
from edgekit.pipeline.config import BuildConfig, load_config, with_storage
from edgekit.pipeline.progress import StageLog
from edgekit.pipeline.tflite_build import TfliteBuild


def run_build(config: BuildConfig, out_dir: str | Path, log: StageLog | None = None, *,
              cache_dir: str | Path | None = None,
              bench_guard: Callable[[], ContextManager] = contextlib.nullcontext,
              trial: str | None = None, epoch_callbacks: Sequence[Any] = ()) -> BuildResult:
    """Run every stage, write the artifacts, and return the result (budgets are not enforced here).

    ``cache_dir`` (default ``OUT/.cache``) lets several builds share stage results (a search's
    trials train the base model once); ``bench_guard()`` is held around the benchmark, so
    builds running side by side can take turns on one device. ``trial`` names the tune trial
    this build is: its benchmark is recorded as that trial's run, not as a build's; ``epoch_callbacks``:
    Keras callbacks the optimize stage's fine-tuning runs (a search watches its trials' epochs).
    """
    from edgekit.pipeline.manifest import write_manifest
    from edgekit.pipeline.report import write_report

    out = Path(out_dir)
    builder = TfliteBuild if config.is_tflite else KerasBuild  # a float .tflite: AI Edge Quantizer converts it
    return builder(config, out, log or StageLog(), Path(cache_dir) if cache_dir else out / ".cache",
                   bench_guard, trial, tuple(epoch_callbacks)).run(write_manifest, write_report)


def build_file(config_path: str | Path, out_dir: str | Path, *, storage: str | None = None,
               seed: int | None = None) -> BuildResult:
    """:func:`run_build` of the edgekit.toml at ``config_path`` with ``edgekit build``'s overrides: ``storage``
    ([convert] storage) and ``seed`` ([train] seed). A Keras source needs TensorFlow, said before anything runs;
    a float .tflite source is converted by AI Edge Quantizer, without it."""
    from edgekit.extras import require_tensorflow

    config = load_config(config_path)
    if not config.is_tflite:
        require_tensorflow("edgekit build")
    if storage is not None:
        config = with_storage(config, storage)
    if seed is not None:
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, seed=seed))
    return run_build(config, out_dir)
