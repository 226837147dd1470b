"""``edgekit tune``'s use cases: search from an edgekit.toml, or from a Keras model and data SPECs.

Both end in :func:`tune`: settings are [tune] of the file, then the command line's; budgets
are the file's [budgets], then the command line's. Every setting is checked (one line,
file:line for the file's) before the study database or any output is created.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any, Callable

from edgekit.errors import UsageError
from edgekit.fileio import atomic_write_text
from edgekit.pipeline.config import BuildConfig, load_config
from edgekit.tune.executors import ExecutorSpec
from edgekit.tune.objectives import Objectives
from edgekit.optimize.finetune import FINETUNE
from edgekit.tune.reach import trained_to_the_bound
from edgekit.tune.settings import tune_settings
from edgekit.tune.space import space_for

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LATENCY_BUDGETS = ("max_latency_ms", "max_p90_ms")
BASE_FILE = "tune-base.toml"    # the edgekit.toml a model-and-data tune writes for its trials
DATA_FLAGS = {"train": "--train-data", "val": "--val-data", "calibration": "--calibration"}   # [data] key -> option


@dataclasses.dataclass(frozen=True)
class Overrides:
    """The command line's settings; None = the file's [tune] value."""

    trials: int | None = None
    workers: int | None = None
    ray: str | None = None
    sampler: str | None = None
    size: str | None = None
    seed: int | None = None
    trial_timeout: float | None = None
    timeout: float | None = None
    pruner: str | None = None
    latency: bool | None = None
    seed_recipes: bool | None = None
    space: tuple[str, ...] = ()              # NAME=VALUE (VALUE in TOML: 0.8, [0.5, 0.9], false, "runs")
    budgets: dict[str, float] = dataclasses.field(default_factory=dict)
    resume: bool = False


def parse_space(items: tuple[str, ...]) -> dict[str, Any]:
    """``("prune.sparsity=[0.5, 0.9]", "ternary=false")`` -> {name: value}; UsageError for a bad item."""
    values = {}
    for item in items:
        name, sep, text = item.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            values[name.strip()] = tomllib.loads(f"v = {text.strip()}")["v"]
        except (ValueError, RecursionError, tomllib.TOMLDecodeError):  # a value nested too deeply recurses
            raise UsageError(f"--space {item!r}: expected NAME=VALUE with a TOML value, e.g. prune.sparsity=0.8, "
                             "'prune.sparsity=[0.5, 0.9]', ternary=false, 'prune.structure=\"runs\"'") from None
    return values


def request_for(config: BuildConfig, out: Path, given: Overrides):
    """The :class:`~edgekit.tune.study.TuneRequest` for ``config`` and the command line (checked)."""
    from edgekit.tune.study import TuneRequest

    settings = tune_settings(config)
    pick = lambda name: getattr(given, name) if getattr(given, name) is not None else getattr(settings, name)  # noqa: E731
    for name, value in given.budgets.items():
        if value is not None and value < 0:
            raise UsageError(f"--{name.replace('_', '-')} must not be negative, got {value:g}")
    budgets = dataclasses.replace(config.budgets, **{k: v for k, v in given.budgets.items() if v is not None})
    config = dataclasses.replace(config, budgets=budgets)
    space = space_for(config).narrowed(settings.space, lambda name: _where(config, name))
    space = space.narrowed(parse_space(given.space), lambda name: f"--space {name}: ")
    if space.trains:
        config = trained_to_the_bound(config)
    trials = pick("trials")
    if trials < 1:
        raise UsageError(f"--trials must be at least 1, got {trials}")
    if given.timeout is not None and given.timeout <= 0:
        raise UsageError(f"--timeout must be > 0 seconds, got {given.timeout:g}")
    latency = bool(pick("latency")) or any(getattr(budgets, name) is not None for name in LATENCY_BUDGETS)
    seed = pick("seed")
    return TuneRequest(config=config, out=out, space=space, trials=trials,
                       executor=ExecutorSpec(workers=pick("workers"), ray_address=given.ray,
                                             timeout_s=pick("trial_timeout")),
                       sampler=pick("sampler"), objectives=Objectives(size=pick("size"), latency=latency),
                       seed=seed if seed is not None else config.train.seed, seed_recipes=pick("seed_recipes"),
                       resume=given.resume, pruner=pick("pruner"), timeout_s=pick("timeout"))


def _where(config: BuildConfig, name: str) -> str:
    """``edgekit.toml:12: [tune.space] `` for a parameter of the file's [tune.space]."""
    return f"{config.file.where('tune.space', name) if config.file else config.path}: [tune.space] "


def tune(request, progress: Callable[[str], None], prepare: Callable[[], None] = lambda: None) -> dict[str, Any]:
    """Run the study and write every output; returns the tune.json document.

    The study folder is locked from before the study is checked until its outputs are written
    (a second ``edgekit tune`` on it is refused), and workers an earlier run left running are
    stopped before any trial starts. ``prepare`` writes what the trials read, under the lock.
    """
    from edgekit.tune.executors import check_spec
    from edgekit.tune.outputs import write_outputs, write_progress
    from edgekit.tune.pidfile import reap
    from edgekit.tune.study import check_study, run_study
    from edgekit.tune.studylock import hold_study

    check_spec(request.executor)
    if request.resume:
        check_study(request)  # nothing to resume: said before the folder (and its lock file) is made
    with hold_study(request.out):
        check_study(request)
        stopped = reap(request.out)
        if stopped:
            pids = ", ".join(map(str, stopped))
            progress(f"stopped {len(stopped)} worker(s) an earlier run left running (pid {pids})")
        prepare()
        result = run_study(request, progress, on_trial=lambda records: write_progress(request, records))
        return write_outputs(result, progress)


def tune_config(config: str | Path | BuildConfig, out: Path, given: Overrides,
                progress: Callable[[str], None]) -> dict[str, Any]:
    """``edgekit tune CONFIG.toml`` (the file, or its loaded config)."""
    return tune(request_for(config if isinstance(config, BuildConfig) else load_config(config), out, given), progress)


def tune_model(model: str, out: Path, given: Overrides, progress: Callable[[str], None], *, train: str, val: str,
               calibration: str | None = None, target: str = "local", device: str | None = None,
               epochs: int | None = None) -> dict[str, Any]:
    """``edgekit tune MODEL.keras --train-data ... --val-data ...``: a base edgekit.toml written to OUT, then tune."""
    tables = _source_tables(model, target, device, train=train, val=val, calibration=calibration)
    tables["finetune"] = {"epochs": epochs if epochs is not None else FINETUNE.epochs}
    return _tune_base(tables, out, given, progress)


def tune_tflite(model: str, out: Path, given: Overrides, progress: Callable[[str], None], *, val: str,
                calibration: str, target: str = "local", device: str | None = None) -> dict[str, Any]:
    """``edgekit tune MODEL.tflite --val-data ... --calibration ...``: post-training options only (AI Edge
    Quantizer conversions, nothing trains); the base edgekit.toml's full int8 is the first seed."""
    tables = _source_tables(model, target, device, val=val, calibration=calibration)
    tables["convert"] = {"quantize": "int8"}
    return _tune_base(tables, out, given, progress)


def _source_tables(model: str, target: str, device: str | None, **data: str | None) -> dict[str, dict[str, Any]]:
    """[model], [data] and [target] of a base edgekit.toml; UsageError for a path that is not there."""
    for what, spec in (("MODEL", model), *((DATA_FLAGS[key], spec) for key, spec in data.items())):
        if spec is not None and not Path(spec).exists():
            raise UsageError(f"{what} {spec}: not found")
    return {"model": {"source": str(Path(model).resolve())},
            "data": {k: str(Path(v).resolve()) if v else None for k, v in data.items()},
            "target": {"name": target, "device": device}}


def _tune_base(tables: dict[str, dict[str, Any]], out: Path, given: Overrides,
               progress: Callable[[str], None]) -> dict[str, Any]:
    """Write ``tables`` as OUT's base edgekit.toml (checked first, written under the study's lock), then tune."""
    base = out / BASE_FILE
    text = "\n".join(f"[{name}]\n" + "\n".join(f"{k} = {_toml(v)}" for k, v in table.items() if v is not None)
                     for name, table in tables.items()) + "\n"
    config = load_config_text(base, text)
    # the paths the user typed are relative to where they ran: that folder moves with the study
    request = dataclasses.replace(request_for(config, out, given), project=Path.cwd())
    return tune(request, progress, prepare=lambda: atomic_write_text(base, text))


def load_config_text(path: Path, text: str) -> BuildConfig:
    """A BuildConfig from ``text`` as if it were the file ``path`` (checked before it is written)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / path.name
        probe.write_text(text, encoding="utf-8")
        config = load_config(probe)
    return dataclasses.replace(config, path=path, root=path.resolve().parent)


def _toml(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)


__all__ = ["Overrides", "parse_space", "request_for", "tune", "tune_config", "tune_model", "tune_tflite"]
