"""``[tune]`` of an edgekit.toml: ``edgekit tune``'s settings, read from the build's parsed file.

``edgekit build`` ignores the table; only a tune reads (and checks) it, with file:line in
every message like the build's own tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgekit.pipeline.config import BuildConfig
from edgekit.vocab import SIZE_OBJECTIVES, TUNE_PRUNERS, TUNE_SAMPLERS


@dataclass(frozen=True)
class TuneSection:
    """``edgekit tune``'s settings; ``space``: parameters fixed or narrowed, e.g. ``"prune.sparsity" =
    [0.5, 0.9]``, ``ternary = false`` (checked by edgekit.tune.space)."""

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


def tune_settings(config: BuildConfig) -> TuneSection:
    """The [tune] table of ``config``'s file, checked (defaults when the config has no file)."""
    if config.file is None:
        return TuneSection()
    table = config.file.table("tune")
    settings = table.section(TuneSection)
    for key, allowed in (("sampler", TUNE_SAMPLERS), ("size", SIZE_OBJECTIVES), ("pruner", TUNE_PRUNERS)):
        if getattr(settings, key) not in allowed:
            raise table.fail(key, f"[tune] {key} must be one of {', '.join(allowed)}, got '{getattr(settings, key)}'")
    for key in ("trials", "workers"):
        if getattr(settings, key) < 1:
            raise table.fail(key, f"[tune] {key} must be at least 1, got {getattr(settings, key)}")
    for key in ("trial_timeout", "timeout"):
        if getattr(settings, key) is not None and getattr(settings, key) <= 0:
            raise table.fail(key, f"[tune] {key} must be > 0 seconds, got {getattr(settings, key)}")
    return settings
