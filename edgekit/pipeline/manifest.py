"""``manifest.json``: what went into a build, what came out, and whether it met its budgets.

Everything outside the ``timing`` key is a pure function of the build's inputs, so two
builds of the same inputs produce manifests that are equal once ``timing`` is removed —
a CI job can diff them. Measurements that vary from run to run (latency, peak memory,
stage durations, cache hits) and the budgets checked against them live in ``timing``.
"""

from __future__ import annotations

import json
from pathlib import Path

from edgekit.fileio import atomic_write_text
from edgekit.pipeline.budgets import TIMING_BUDGETS, passed
from edgekit.pipeline.cache import file_sha256
from edgekit.quality_drop import drop_fields

SCHEMA = 1


def manifest_dict(result) -> dict:
    """The manifest of a :class:`~edgekit.pipeline.build.BuildResult`."""
    final, baseline = result.final, result.baseline
    verdicts = [v.to_dict() for v in result.verdicts if v.name not in TIMING_BUDGETS]
    timing_verdicts = [v.to_dict() for v in result.verdicts if v.name in TIMING_BUDGETS]
    bench = result.bench or {}
    return {
        "schema": SCHEMA,
        "versions": result.versions,
        "config": result.config.to_dict(),
        "inputs": result.inputs,
        "outputs": _outputs(result),
        "model": {
            "file": "model.tflite", "variant": final.name, "sha256": final.sha256,
            "size_bytes": final.size_bytes, "size_kb": round(final.size_bytes / 1024, 2),
            "gzip_bytes": final.gzip_bytes, "gzip_kb": round(final.gzip_bytes / 1024, 2),
            "accuracy": final.accuracy, "metrics": final.metrics,
            "accuracy_drop": (round(baseline.accuracy - final.accuracy, 6)
                              if final.accuracy is not None and baseline.accuracy is not None else None),
            "arena": result.arena,
            "layers": result.layers,
            "verified": final.agreement["ok"] if final.agreement is not None else None,
            "not_verified": final.not_verified,
        },
        **drop_fields(result.drop),
        "variants": [v.to_dict() for v in result.variants],
        "optimize": _without_seconds(result.optimize_summary),
        "conversion": result.conversion,
        "edgetpu": result.edgetpu,
        "budgets": verdicts,
        "passed": passed(result.verdicts),
        "timing": {
            "measured_on": result.bench_where,
            "latency_ms": bench.get("timing_ms"),
            "variants_latency_ms": {v.name: v.timing_ms for v in result.variants},
            "memory_mb": bench.get("memory_mb"),
            "runtime": bench.get("runtime"),
            "host": bench.get("host"),
            "budgets": timing_verdicts,
            "stages": result.stages,
            "optimize_stages": (result.optimize_summary or {}).get("stages"),
        },
    }


def write_manifest(result, path: str | Path) -> dict:
    manifest = manifest_dict(result)
    atomic_write_text(path, json.dumps(manifest, indent=2, default=str) + "\n")
    return manifest


def without_timing(manifest: dict) -> dict:
    """The reproducible part of a manifest (what two builds of the same inputs share)."""
    return {k: v for k, v in manifest.items() if k != "timing"}


def _without_seconds(value):
    """A copy without the ``seconds`` entries (durations belong to the timing section)."""
    if isinstance(value, dict):
        return {k: _without_seconds(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list):
        return [_without_seconds(v) for v in value]
    return value


def _outputs(result) -> dict:
    out = result.out_dir
    files = [out / "model.tflite", *(v.path for v in result.variants)]
    export = result.exports.get("c_array")
    if export:
        files += [Path(export["header"]), Path(export["source"])]
    return {str(p.relative_to(out)): {"sha256": file_sha256(p), "size_bytes": p.stat().st_size}
            for p in files}
