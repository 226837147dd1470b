"""The stage cache: atomic entries, hits mark use, entries unused for long are evicted."""

from __future__ import annotations

import os
import time

from edgekit.pipeline.cache import StageCache, stage_key

DAY = 86400


def _age(path, days: float) -> None:
    then = time.time() - days * DAY
    os.utime(path, (then, then))


def test_entries_unused_for_longer_than_the_limit_are_evicted(tmp_path):
    cache = StageCache(tmp_path / ".cache")
    old, used = stage_key("convert", model="a"), stage_key("convert", model="b")
    cache.put("convert", old, {}, {"size": 1})
    cache.put("convert", used, {}, {"size": 2})
    for key in (old, used):
        _age(cache.entry("convert", key) / "record.json", 20)
    assert cache.get("convert", used) is not None  # a hit marks the entry used now
    interrupted = tmp_path / ".cache" / ".convert-abc123"  # a temp dir an interrupted build left
    interrupted.mkdir()
    _age(interrupted, 20)
    fresh = tmp_path / ".cache" / ".convert-def456"  # one a running build may still be writing
    fresh.mkdir()

    assert cache.evict(14 * DAY) == 2
    assert cache.get("convert", old) is None
    assert cache.get("convert", used)[1]["size"] == 2
    assert not interrupted.exists() and fresh.exists()


def test_evicting_a_missing_cache_is_a_no_op(tmp_path):
    assert StageCache(tmp_path / "never").evict(0) == 0
