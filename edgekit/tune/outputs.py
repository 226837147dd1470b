"""What a study leaves in OUT: tune.json, report.html, and the chosen model with its edgekit.toml.

``tune.json`` and ``report.html`` are rewritten after every trial (atomically), so a
stopped study still shows what it found; the chosen model (the smallest trial that met
every budget) is written when the study ends: an ``edgekit.toml`` for its recipe and the
``model.tflite`` and ``model.keras`` that ``edgekit build`` makes of it, byte for byte. When
the trials ran with fewer TensorFlow threads than a build uses (several workers, a Ray
cluster), the recipe is built once more as ``edgekit build`` would (``build/``).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any, Callable

from edgekit.fileio import atomic_path, atomic_write_text
from edgekit.tune.choice import closest, int8_p50, latency_note
from edgekit.tune.emit import build_toml, relative_path
from edgekit.tune.executor import Job
from edgekit.tune.misses import outcome_text
from edgekit.tune.objectives import constraints, feasible
from edgekit.tune.study import StudyResult, TrialRecord, TuneRequest, choose, describe, pareto_set

SCHEMA = 1


def study_dict(request: TuneRequest, records: list[TrialRecord], seconds: float | None = None,
               timed_out: bool = False) -> dict[str, Any]:
    """The tune.json document (``timed_out``: the study's time limit stopped it before its trials were done)."""
    objectives = request.objectives
    pareto = pareto_set(records, objectives)
    chosen = choose(records, objectives)
    counted = [r for r in records if r.state in ("COMPLETE", "PRUNED", "FAIL") and not r.stale]
    return {
        "schema": SCHEMA,
        "config": str(request.config.path),
        "objectives": dict(zip(objectives.names, objectives.directions)),
        "budgets": {k: v for k, v in _budgets(request).items() if v is not None},
        "sampler": request.sampler, "seed": request.seed, "executor": request.executor.kind,
        "workers": request.executor.workers, "trials_requested": request.trials,
        "trials_done": len(counted), "trials_failed": sum(1 for r in counted if r.state == "FAIL"),
        "trials_pruned": sum(1 for r in counted if r.state == "PRUNED"), "pruner": request.pruner,
        "timeout_s": request.timeout_s, "timed_out": timed_out,
        "seconds": round(seconds, 1) if seconds is not None else None,
        "pareto": pareto, "chosen": chosen, "closest": closest(records) if chosen is None else None,
        "int8_p50_ms": int8_p50(records), "latency_note": latency_note(records, chosen),
        "trials": [{**r.to_dict(), "recipe": describe(r.params), "outcome": outcome_text(r.to_dict())}
                   for r in records],
    }


def _budgets(request: TuneRequest) -> dict[str, Any]:
    return dataclasses.asdict(request.config.budgets)


def write_progress(request: TuneRequest, records: list[TrialRecord], seconds: float | None = None,
                   timed_out: bool = False) -> None:
    """tune.json and report.html as they stand."""
    from edgekit.tune.report import render_report

    document = study_dict(request, records, seconds, timed_out)
    atomic_write_text(request.out / "tune.json", json.dumps(document, indent=2) + "\n")
    atomic_write_text(request.out / "report.html", render_report(document))


def write_outputs(result: StudyResult, progress: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Everything, the chosen model included; returns the tune.json document (+ ``build``, ``files``)."""
    request = result.request
    write_progress(request, result.records, result.seconds, result.timed_out)
    document = study_dict(request, result.records, result.seconds, result.timed_out)
    if document["latency_note"]:
        progress(document["latency_note"])
    if result.chosen is not None:
        record = next(r for r in result.records if r.number == result.chosen)
        out = request.out
        steps, convert = request.space.recipe(record.params)
        project = request.project or request.config.root
        header = (f"Written by `edgekit tune` from {relative_path(request.config.path, out, project)}: trial {record.number}, "
                  f"{describe(record.params)}.\n`edgekit build` of this file gives the model.tflite beside it "
                  "byte for byte (on this machine, TensorFlow's default thread count).\n"
                  "Paths are relative to this file's folder.")
        config_path = out / "edgekit.toml"
        atomic_write_text(config_path, build_toml(request.config, steps, convert, header, folder=out, project=project))
        if default_threads(request):  # the trial was built exactly as `edgekit build` builds
            built = {**record.result, "feasible": True}
        else:
            progress(f"building the chosen recipe (trial {record.number}) with TensorFlow's default threads")
            built = build_chosen(request, config_path, steps, convert)
        document["build"] = built
        document.update(drop=built.get("drop"), warning=built.get("warning"))   # the chosen model's, as build says
        if built.get("error") is None:
            files = {"tflite": built["tflite"], "keras": built["keras"]}   # a .tflite source has no Keras model
            for kind, source in files.items():
                if source is not None:
                    with atomic_path(out / f"model.{kind}") as tmp:
                        shutil.copyfile(source, tmp)
            document["files"] = {**{kind: str(out / f"model.{kind}") for kind, source in files.items() if source},
                                 "config": str(config_path), "report": str(out / "report.html")}
        atomic_write_text(out / "tune.json", json.dumps(document, indent=2) + "\n")
    return document


def default_threads(request: TuneRequest) -> bool:
    """Whether the trials ran with TensorFlow's default thread count (one local worker)."""
    return request.executor.kind == "local" and request.executor.workers == 1


def build_chosen(request: TuneRequest, config_path: Path, steps: list[dict], convert: dict) -> dict[str, Any]:
    """``edgekit build`` of the emitted file, in a fresh worker with TensorFlow's default threads.

    Trials that ran with fewer threads (several workers, a Ray cluster) trained with float
    sums in another order; this build, with a cache of its own, is the one a user's
    ``edgekit build`` reproduces. (A single local worker's trials already are.)
    """
    from edgekit.tune.local_executor import LocalExecutor
    from edgekit.tune.trial import FUNCTION, payload

    job = Job(-1, FUNCTION, payload(config_path, request.out / "build", request.out / ".cache-build",
                                    request.out / ".locks", steps, convert, request.config))
    with LocalExecutor(workers=1) as executor:
        executor.submit(job)
        outcomes: list = []
        while not outcomes:
            outcomes = executor.wait()
    outcome = outcomes[0]
    if not outcome.ok:
        return {"error": outcome.error}
    built = dict(outcome.result)
    built["feasible"] = feasible(constraints(built["verdicts"]))
    return built


__all__ = ["study_dict", "write_outputs", "write_progress"]
