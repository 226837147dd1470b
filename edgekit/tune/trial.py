"""One trial = one build: the base edgekit.toml with the trial's recipe, built into the trial's folder.

:func:`run_trial` is what an executor runs in a worker (``"edgekit.tune.trial:run_trial"``):
plain data in, plain data out, so it runs the same in a local worker process and in a Ray
task. The build's stage cache is shared by all trials of a study, so the base model is
trained once; the benchmark is held under the device's bench lock, so latency trials for
one device take turns while the training of other trials goes on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from pathlib import Path
from typing import Any, Iterator

from edgekit.quality_drop import drop_fields

FUNCTION = "edgekit.tune.trial:run_trial"


def payload(config_path: Path, trial_dir: Path, cache_dir: Path, lock_dir: Path, steps: list[dict[str, Any]],
            convert: dict[str, Any], study_config, watch: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON-serialisable arguments of :func:`run_trial`: the study's budgets (command line included) and
    [finetune] (:mod:`edgekit.tune.reach`) from ``study_config``, the rest from the file ``config_path``;
    ``watch``: :class:`~edgekit.tune.epoch_watch.EpochWatch`'s arguments but the validation data, or None to
    train every epoch unwatched."""
    return {"config": str(config_path), "out": str(trial_dir), "cache": str(cache_dir), "locks": str(lock_dir),
            "optimize": steps, "convert": convert, "budgets": dataclasses.asdict(study_config.budgets),
            "finetune": dataclasses.asdict(study_config.finetune), "watch": watch}


def trial_config(config, steps: list[dict[str, Any]], convert: dict[str, Any], budgets: dict[str, Any],
                 finetune: dict[str, Any]):
    """``config`` (a BuildConfig) with the recipe's [[optimize]] steps and [convert] fields and the study's
    budgets and [finetune]."""
    from edgekit.pipeline.config import OptimizeStep

    optimize = tuple(OptimizeStep(table["step"], {k: v for k, v in table.items() if k != "step"}) for table in steps)
    return dataclasses.replace(config, optimize=optimize, convert=dataclasses.replace(config.convert, **convert),
                               budgets=dataclasses.replace(config.budgets, **budgets),
                               finetune=dataclasses.replace(config.finetune, **finetune))


def run_trial(job: dict[str, Any]) -> dict[str, Any]:
    """Build the trial's recipe; return its measurements and budget verdicts (budgets are not enforced),
    or ``{"pruned": {"epoch", "accuracy", "why"}}`` when its epochs were cut short."""
    from edgekit.pipeline.run import run_build
    from edgekit.pipeline.config import load_config
    from edgekit.pipeline.progress import StageLog
    from edgekit.tune.benchlock import bench_lock
    from edgekit.tune.pidfile import write_pid_file

    out = Path(job["out"])
    out.mkdir(parents=True, exist_ok=True)
    write_pid_file(out)
    config = trial_config(load_config(job["config"]), job["optimize"], job["convert"], job["budgets"], job["finetune"])
    device = config.target.device or "local"
    watch = job.get("watch")
    callbacks, pruned_error = [], ()   # a source that does not train (a .tflite) is not watched, and needs no Keras
    if watch:
        from edgekit.tune.epoch_watch import EpochPruned, EpochWatch

        callbacks, pruned_error = [EpochWatch(val_spec=str(config.resolve(config.data.val)), **watch)], EpochPruned
    with _log_to(out / "build.log") as emit:
        try:
            result = run_build(config, out, StageLog(emit), cache_dir=job["cache"],
                               bench_guard=lambda: bench_lock(Path(job["locks"]), device), epoch_callbacks=callbacks,
                               trial=f"tune:{out.resolve().parents[1].name}#trial-{int(out.name)}"  # STUDY/trials/NNNN
                               if out.name.isdigit() else None)  # STUDY/build, the chosen recipe's: recorded as a build
        except pruned_error as pruned:
            emit(f"[tune] {pruned}")
            return {"pruned": pruned.to_dict()}
    final = result.final
    timing = (result.bench or {}).get("timing_ms") or {}
    plain = next((v for v in result.variants if v.name == "int8"), None)
    return {
        "accuracy": final.accuracy, "baseline_accuracy": result.baseline.accuracy,
        "size_bytes": final.size_bytes, "gzip_bytes": final.gzip_bytes, "sha256": final.sha256,
        "p50_ms": timing.get("p50"), "bench_where": result.bench_where,
        # the base model's plain int8 conversion, timed beside the trial's (locally only): the latency reference
        "int8_p50_ms": (plain.timing_ms or {}).get("p50") if plain is not None and plain is not final else None,
        "keras": str(result.keras_path) if result.keras_path else None, "tflite": str(out / "model.tflite"),
        "verdicts": [{"name": v.name, "limit": v.limit, "value": v.value, "ok": v.ok, "off_target": v.off_target,
                      "line": v.line()} for v in result.verdicts],
        **drop_fields(result.drop),
    }


@contextlib.contextmanager
def _log_to(path: Path) -> Iterator:
    """The build's stage lines (and TensorFlow's chatter on fds 1/2) go to the trial's log, not the study's stderr."""
    with open(path, "a", encoding="utf-8") as log:
        saved = [os.dup(1), os.dup(2)]
        try:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)

            def emit(line: str) -> None:
                log.write(line + "\n")
                log.flush()

            yield emit
        finally:
            for fd, copy in zip((1, 2), saved):
                os.dup2(copy, fd)
                os.close(copy)


__all__ = ["FUNCTION", "payload", "run_trial", "trial_config"]
