"""The stage cache: a stage whose inputs did not change is not redone.

A stage's key is the sha256 of its name, the content hashes of its input files, its
slice of the configuration and the versions of everything that could change its output
(edgekit, TensorFlow, the runtime). The stage's output files and a small JSON record
live in ``<cache>/<stage>-<key16>/``; a hit copies nothing, it hands back those paths.
An entry is written atomically (temp dir + rename), so an interrupted build leaves no
half entry that a later build could trust. Every hit marks its entry used (the record's
mtime), and :meth:`StageCache.evict` drops entries no build has used for a while.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any


def file_sha256(path: str | Path) -> str:
    """sha256 of a file, or of a directory's files (relative names + contents, sorted)."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        with open(file, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def stage_key(stage: str, **parts: Any) -> str:
    """A stable key over JSON-serialisable parts (hashes, config dicts, versions)."""
    blob = json.dumps({"stage": stage, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class StageCache:
    """Content-addressed store of stage outputs under one directory."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def entry(self, stage: str, key: str) -> Path:
        return self.root / f"{stage}-{key[:16]}"

    def get(self, stage: str, key: str) -> tuple[Path, dict] | None:
        """(entry dir, record) of a complete entry, or None."""
        entry = self.entry(stage, key)
        try:
            record = json.loads((entry / "record.json").read_text())
        except (OSError, ValueError):
            return None
        if record.get("key") != key:
            return None
        os.utime(entry / "record.json")  # used now: keeps it from eviction
        return entry, record

    def put(self, stage: str, key: str, files: dict[str, Path], record: dict) -> tuple[Path, dict]:
        """Store ``files`` (name -> path, moved or copied in) and ``record``; return like :meth:`get`."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{stage}-", dir=self.root))
        try:
            for name, src in files.items():
                copy = shutil.copytree if Path(src).is_dir() else shutil.copy2
                copy(src, tmp / name)
            (tmp / "record.json").write_text(json.dumps({**record, "key": key}, sort_keys=True))
            entry = self.entry(stage, key)
            if entry.exists():
                shutil.rmtree(entry, ignore_errors=True)
            try:
                os.replace(tmp, entry)
            except OSError:  # another build sharing the cache stored the same entry meanwhile
                shutil.rmtree(tmp, ignore_errors=True)
                hit = self.get(stage, key)
                if hit is None:
                    raise
                return hit
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return entry, {**record, "key": key}

    def evict(self, max_age_seconds: float) -> int:
        """Remove entries (and temp dirs of interrupted builds) unused for ``max_age_seconds``; return how many."""
        if not self.root.is_dir():
            return 0
        cutoff = time.time() - max_age_seconds
        removed = 0
        for entry in self.root.iterdir():
            marker = entry / "record.json"
            used = (marker if marker.exists() else entry).stat().st_mtime
            if entry.is_dir() and used < cutoff:
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
        return removed
