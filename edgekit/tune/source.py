"""What ``edgekit tune SOURCE`` searches from: an edgekit.toml, a Keras model, or a float ``.tflite``.

Each kind says which SOURCE it is, which data options it takes (one line naming the
option otherwise, before anything runs) and which use case of :mod:`edgekit.tune.api`
runs it. A Keras model is fine-tuned, so it needs training data and TensorFlow; a
``.tflite`` is only converted by AI Edge Quantizer (no training, no TensorFlow), so it needs
validation and calibration data; an edgekit.toml names its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from edgekit.errors import UsageError


@dataclass(frozen=True)
class SourceData:
    """The command line's data and target options (the MODEL forms')."""

    train: str | None = None
    val: str | None = None
    calibration: str | None = None
    epochs: int | None = None
    target: str = "local"
    device: str | None = None

    def given(self) -> list[str]:
        return [flag for flag, value in (("--train-data", self.train), ("--val-data", self.val),
                                         ("--calibration", self.calibration), ("--epochs", self.epochs))
                if value is not None]


@dataclass(frozen=True)
class SourceKind:
    name: str
    matches: Callable[[Path], bool]
    check: Callable[[Path, SourceData, dict[str, float | None]], None]   # UsageError before any work
    run: Callable[..., dict[str, Any]]    # (source, out, given, progress, data) -> the tune.json document


def _is_keras(path: Path) -> bool:
    return path.suffix in (".keras", ".h5") or path.is_dir() and not (path / "edgekit.toml").exists()


def _is_tflite(path: Path) -> bool:
    from edgekit.convert.tflite_source.file import is_tflite

    return is_tflite(path)


def _needs_accuracy_budget(budgets: dict[str, float | None]) -> None:
    if budgets.get("min_accuracy") is None and budgets.get("max_accuracy_drop") is None:
        raise UsageError("tuning a model needs an accuracy budget: --min-accuracy A (or --max-accuracy-drop D)")


def _check_config(source: Path, data: SourceData, budgets) -> None:
    given = data.given()
    if given:
        raise UsageError(f"{'/'.join(given)} go with a Keras model or a .tflite file, not {source} (its [data] "
                         "names the data)")


def _check_keras(source: Path, data: SourceData, budgets) -> None:
    if not (data.train and data.val):
        raise UsageError(f"tuning the model {source} needs --train-data and --val-data")
    _needs_accuracy_budget(budgets)


def _check_tflite(source: Path, data: SourceData, budgets) -> None:
    wrong = [flag for flag, value in (("--train-data", data.train), ("--epochs", data.epochs)) if value is not None]
    if wrong:
        raise UsageError(f"{'/'.join(wrong)}: {source} is a .tflite file, which is converted, not trained; drop "
                         f"{' and '.join(wrong)}")
    if not (data.val and data.calibration):
        raise UsageError(f"tuning {source} needs --val-data (accuracy) and --calibration (the int8 modes calibrate "
                         "on it)")
    _needs_accuracy_budget(budgets)


def _run_config(source: Path, out: Path, given, progress, data: SourceData) -> dict[str, Any]:
    from edgekit.pipeline.config import load_config
    from edgekit.tune.api import tune_config

    config = load_config(source)
    if not config.is_tflite:
        _require_tensorflow()
    return tune_config(config, out, given, progress)


def _run_keras(source: Path, out: Path, given, progress, data: SourceData) -> dict[str, Any]:
    from edgekit.tune.api import tune_model

    _require_tensorflow()
    return tune_model(str(source), out, given, progress, train=data.train, val=data.val,
                      calibration=data.calibration, target=data.target, device=data.device, epochs=data.epochs)


def _run_tflite(source: Path, out: Path, given, progress, data: SourceData) -> dict[str, Any]:
    from edgekit.convert.tflite_source.engine import require_aeq
    from edgekit.tune.api import tune_tflite

    require_aeq("edgekit tune of a .tflite model")
    return tune_tflite(str(source), out, given, progress, val=data.val, calibration=data.calibration,
                       target=data.target, device=data.device)


def _require_optuna() -> None:
    from importlib.util import find_spec

    from edgekit.errors import MissingExtraError

    if find_spec("optuna") is None:
        raise MissingExtraError("edgekit tune needs Optuna, which this install lacks: pip install 'edgekit[tune]'")


def _require_tensorflow() -> None:
    from edgekit.extras import require_tensorflow

    require_tensorflow("edgekit tune")


# first match wins: an edgekit.toml (or a folder holding one) is the fallback
KINDS: list[SourceKind] = [
    SourceKind("tflite", _is_tflite, _check_tflite, _run_tflite),
    SourceKind("keras", _is_keras, _check_keras, _run_keras),
    SourceKind("config", lambda path: True, _check_config, _run_config),
]


def source_kind(source: Path) -> SourceKind:
    return next(kind for kind in KINDS if kind.matches(source))


def tune_source(source: str | Path, out: Path, given, progress: Callable[[str], None],
                data: SourceData = SourceData()) -> dict[str, Any]:
    """``edgekit tune SOURCE``: the kind's checks, then its search; returns the tune.json document."""
    source = Path(source)
    kind = source_kind(source)
    kind.check(source, data, given.budgets)
    _require_optuna()
    return kind.run(source, out, given, progress, data)


__all__ = ["KINDS", "SourceData", "SourceKind", "source_kind", "tune_source"]
