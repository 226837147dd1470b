"""How long `edgekit build` takes on the shipped digits example: cold, then fully cached.

    python bench/pipeline_build.py        # writes bench/results/pipeline_build.json

The goal (issue 5): the example builds in minutes on 2 cores, and a rebuild with
unchanged inputs redoes no stage.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "digits" / "edgekit.toml"


def timed_build(out: Path) -> tuple[float, dict]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EDGEKIT_RESULTS_DB": str(out.parent / "results.db")}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "edgekit", "build", str(EXAMPLE), "--out", str(out), "--json"],
                          capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"build failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return seconds, json.loads(proc.stdout)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "build"
        cold, manifest = timed_build(out)
        cached, again = timed_build(out)
    stages = again["timing"]["stages"]
    result = {
        "example": str(EXAMPLE.relative_to(ROOT)),
        "cpu_count": os.cpu_count(), "machine": platform.machine(),
        "cold_seconds": round(cold, 1), "cached_seconds": round(cached, 1),
        "cold_stages": manifest["timing"]["stages"],
        "cached_stages_hit": sum(s["cached"] for s in stages.values()),
        "model": {k: manifest["model"][k] for k in ("variant", "size_kb", "gzip_kb", "accuracy")},
        "passed": manifest["passed"], "versions": manifest["versions"],
    }
    path = ROOT / "bench" / "results" / "pipeline_build.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("cold_seconds", "cached_seconds", "cached_stages_hit", "model")}))


if __name__ == "__main__":
    main()
