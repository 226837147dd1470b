"""What a build records: its headline figures per output directory, and the name its benchmark runs carry.

``history.jsonl`` beside ``manifest.json`` gets one line per build: when, which config
(path and content hash), and the final model's size, gzip size, quality and latency. The
report compares a build with the previous build of the same config. It lives outside the
manifest on purpose: the manifest is a pure function of the build's inputs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from edgekit.fileio import atomic_write_text
from edgekit.pipeline.cache import file_sha256
from edgekit.results import RunTag

HISTORY_FILE = "history.jsonl"
KEEP = 50          # lines kept per output directory


def record_build(result) -> list[dict]:
    """Append this build's figures to the out dir's history; return the builds of the same config, oldest first."""
    path = result.out_dir / HISTORY_FILE
    entries = _read(path)
    final = result.final
    timing = (result.bench or {}).get("timing_ms") or {}
    metric, value = final.quality
    entry = {
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": str(result.config.path.resolve()),
        "config_sha256": file_sha256(result.config.path),
        "variant": final.name,
        "size_bytes": final.size_bytes,
        "gzip_bytes": final.gzip_bytes,
        "metric": metric,
        "value": value,
        "p50_ms": timing.get("p50"),
        "p90_ms": timing.get("p90"),     # with runs: the noise of p50 (see edgekit.results.report)
        "runs": timing.get("runs"),
        "measured_on": result.bench_where,
    }
    entries = (entries + [entry])[-KEEP:]
    atomic_write_text(path, "".join(json.dumps(e, sort_keys=True) + "\n" for e in entries))
    return [e for e in entries if e.get("config") == entry["config"]]


def run_tag(config_path: Path, variant: str, trial: str | None = None) -> RunTag:
    """How ``edgekit history`` names the build's benchmark: ``build:DIR/edgekit.toml#VARIANT`` (the folder
    tells projects' edgekit.toml apart), or the tune trial's own name."""
    if trial is not None:
        return RunTag("trial", trial)
    config = Path(config_path).resolve()
    return RunTag("build", f"build:{config.parent.name}/{config.name}#{variant}")


def _read(path: Path) -> list[dict]:
    """The history so far; lines that are not JSON objects (a hand edit) are dropped, not fatal."""
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries
