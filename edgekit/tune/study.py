"""The search driver: Optuna ask/tell over an executor, the study kept in ``OUT/tune.db``.

The driver asks the sampler for a trial, turns its parameters into a recipe
(:mod:`edgekit.tune.space`), hands the build to the executor and tells the sampler what came
back: objective values and the budgets' constraint values (``Trial.set_constraint``, which
both samplers read), or a failed trial. It keeps ``slots`` trials in flight.

Resume: the SQLite study survives Ctrl-C, a crash or a reboot. A trial still RUNNING in the
database when a study is resumed was cut off: it is marked FAIL (``stale``, not counted)
and its parameters are enqueued again, so ``--resume`` ends with N counted trials. With
one worker and a seed, a study is deterministic: the sampler is seeded, trials run one
after another, and every build is reproducible.

Epochs: each trial's worker reports its validation accuracy after every fine-tuning epoch
to the trial's twin in the epoch study (:mod:`edgekit.tune.pruners`), which cuts hopeless
trials (PRUNED, counted like any finished trial); the seed recipes are never cut. A time
limit (``timeout_s``) stops the asking for new trials; trials already running end normally,
so the outputs are those of a shorter study.

Numbering: a trial is known by one number everywhere, Optuna's ``trial.number`` (from 0, in
the order the trials were asked): the progress lines (``[4/4] trial 3: ...``, the bracket
counts finished trials), "chose trial 3", tune.json, the report, ``trials/0003`` and the
history label ``tune:STUDY#trial-3``. A re-run of a cut-off trial gets a new number.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from edgekit import interrupts
from edgekit.errors import Interrupted, UsageError
from edgekit.tune import objectives as obj
from edgekit.tune import pruners
from edgekit.tune import trial as trial_mod
from edgekit.tune.choice import choose
from edgekit.tune.executor import Job, Outcome
from edgekit.tune.executors import ExecutorSpec, make_executor
from edgekit.tune.misses import outcome_text
from edgekit.tune.space import Space

DB_FILE = "tune.db"
STUDY_NAME = "edgekit-tune"
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class TuneRequest:
    """One search: the base build config (its [budgets] are the constraints) and how to search."""

    config: Any                     # BuildConfig
    out: Path
    space: Space                    # or a TfliteSpace: edgekit.tune.space.space_for the config's source
    trials: int = 40
    executor: ExecutorSpec = ExecutorSpec()
    sampler: str = "nsga2"
    objectives: obj.Objectives = obj.Objectives()
    seed: int = 0
    seed_recipes: bool = True
    resume: bool = False
    pruner: str = pruners.DEFAULT
    timeout_s: float | None = None      # no new trial after this many seconds
    project: Path | None = None         # what moves with the study (relative paths): default the config's folder


@dataclass
class TrialRecord:
    """A finished (or cut-off) trial as tune.json and the report show it."""

    number: int
    state: str                      # COMPLETE | PRUNED | FAIL | RUNNING | WAITING
    params: dict[str, Any]
    values: list[float] | None = None
    constraints: list[float] | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    stale: bool = False
    pruned: dict[str, Any] | None = None    # {"epoch", "accuracy", "why"} of a PRUNED trial

    @property
    def feasible(self) -> bool:
        return self.state == "COMPLETE" and self.constraints is not None and obj.feasible(self.constraints)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"feasible": self.feasible}


@dataclass
class StudyResult:
    request: TuneRequest
    records: list[TrialRecord]
    seconds: float
    pareto: list[int] = field(default_factory=list)
    chosen: int | None = None
    timed_out: bool = False


def _sampler(name: str, seed: int, trials: int):
    """The budgets reach either sampler as the trials' constraints (``Trial.set_constraint``)."""
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True)
    # a small population: with 40 trials the default (50) would leave NSGA-II a random search
    return optuna.samplers.NSGAIISampler(seed=seed, population_size=max(4, min(20, trials // 4)))


def check_study(request: TuneRequest) -> None:
    """UsageError unless OUT holds a study exactly when --resume says it should."""
    db = request.out / DB_FILE
    if db.exists() and not request.resume:
        raise UsageError(f"{request.out}: holds a study already ({DB_FILE}); pass --resume to continue it "
                         "or choose another --out")
    if request.resume and not db.exists():
        raise UsageError(f"{request.out}: no study to resume ({DB_FILE} not found); run without --resume to start one")


def open_study(request: TuneRequest):
    """Create the study in OUT/tune.db, or load it with --resume (UsageError when that is not what exists)."""
    import optuna

    from edgekit.tune.storage import storage as rdb

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    check_study(request)
    db = request.out / DB_FILE
    request.out.mkdir(parents=True, exist_ok=True)
    storage = rdb(db.resolve())
    sampler = _sampler(request.sampler, request.seed, request.trials)
    directions = request.objectives.directions
    if request.resume:
        study = optuna.load_study(study_name=STUDY_NAME, storage=storage, sampler=sampler)
        if [d.name.lower() for d in study.directions] != directions:
            raise UsageError(f"{db}: the study has objectives {study.user_attrs.get('objectives')}, not "
                             f"{request.objectives.names}: resume it with the same --size and latency settings")
        return study
    study = optuna.create_study(study_name=STUDY_NAME, storage=storage, sampler=sampler, directions=directions)
    study.set_user_attr("objectives", request.objectives.names)
    if request.seed_recipes:
        convert = {"quantize": request.config.convert.quantize, "per_tensor": request.config.convert.per_tensor}
        for params in request.space.seeds(convert)[:request.trials]:
            study.enqueue_trial(params, user_attrs={"seed_recipe": True})
    return study


def requeue_stale(study, epochs) -> list[int]:
    """Trials left RUNNING by a stopped study: marked FAIL (stale), their twins in the epoch study ``epochs``
    too, and their parameters enqueued again."""
    import optuna

    running = (optuna.trial.TrialState.RUNNING,)
    stale = study.get_trials(deepcopy=False, states=running)
    for frozen in stale:  # another process's trial: Optuna has no public handle on it but the storage
        study._storage.set_trial_user_attr(frozen._trial_id, "stale", True)
        study._storage.set_trial_user_attr(frozen._trial_id, "error", "cut off (study stopped); re-run")
        study.tell(frozen.number, state=optuna.trial.TrialState.FAIL)
        again = {"rerun_of": frozen.number} | ({"seed_recipe": True} if frozen.user_attrs.get("seed_recipe") else {})
        study.enqueue_trial(frozen.params, user_attrs=again)
    for twin in epochs.get_trials(deepcopy=False, states=running):
        epochs.tell(twin.number, state=optuna.trial.TrialState.FAIL)
    return [frozen.number for frozen in stale]


def counted(study) -> int:
    """Finished trials that count toward N (stale ones were re-run)."""
    return sum(1 for t in study.get_trials(deepcopy=False) if t.state.is_finished() and not t.user_attrs.get("stale"))


def run_study(request: TuneRequest, progress: Callable[[str], None] = lambda line: None,
              on_trial: Callable[[list[TrialRecord]], None] = lambda records: None) -> StudyResult:
    """Run (or resume) the study to ``request.trials`` counted trials; ``on_trial`` after each (outputs)."""
    start = time.monotonic()
    study = open_study(request)
    db = (request.out / DB_FILE).resolve()
    epochs = pruners.epoch_study(db)
    rerun = requeue_stale(study, epochs) if request.resume else []
    if rerun:
        progress(f"resuming: trial(s) {', '.join(map(str, rerun))} were cut off; running them again")
    done = counted(study)
    if request.resume and done:
        progress(f"resuming: {done}/{request.trials} trials done")
    in_flight: dict[int, tuple[Any, Any]] = {}
    config_path = Path(request.config.path).resolve()
    timed_out = False
    with interrupts.deferred(), make_executor(request.executor) as executor:
        while (done < request.trials and not timed_out) or in_flight:
            if not timed_out and request.timeout_s is not None and time.monotonic() - start >= request.timeout_s:
                timed_out = True
                progress(f"time limit of {request.timeout_s:g} s reached after {done}/{request.trials} trials: "
                         f"no new trial; {len(in_flight)} running trial(s) end first")
            while not interrupts.requested() and not timed_out and done + len(in_flight) < request.trials \
                    and len(in_flight) < executor.slots:
                trial = study.ask()
                params = request.space.sample(trial)
                trial.set_user_attr("params", params)  # with the fixed ones, which Optuna does not record
                steps, convert = request.space.recipe(params)
                twin = epochs.ask()
                trial.set_user_attr("epoch_trial", twin.number)
                in_flight[trial.number] = (trial, twin)
                watch = {"db": str(db), "trial_id": twin._trial_id, "pruner": request.pruner,
                         "protected": bool(trial.user_attrs.get("seed_recipe")),
                         "ceiling": request.config.budgets.min_accuracy} if request.space.trains else None
                executor.submit(Job(trial.number, trial_mod.FUNCTION,
                                    trial_mod.payload(config_path, request.out / "trials" / f"{trial.number:04d}",
                                                      request.out / ".cache", request.out / ".locks", steps, convert,
                                                      request.config, watch),
                                    cpus=request.executor.cpus_per_trial, timeout_s=request.executor.timeout_s))
            if interrupts.requested():
                executor.close(cancel=True)
                on_trial(load_records(study))  # the cut-off trials show as RUNNING until a resume re-runs them
                raise Interrupted(f"edgekit tune: interrupted after {done}/{request.trials} trials; "
                                  f"`edgekit tune ... --out {request.out} --resume` continues the study")
            for outcome in executor.wait(timeout=POLL_SECONDS):
                trial, twin = in_flight.pop(outcome.number)
                _tell(study, trial, outcome, request.objectives)
                _tell_twin(epochs, twin, study._storage.get_trial(trial._trial_id), request.config.budgets.min_accuracy)
                done += 1
                records = load_records(study)
                progress(_line(done, request.trials, records, outcome.number, request.objectives))
                on_trial(records)
    records = load_records(study)
    result = StudyResult(request, records, time.monotonic() - start, timed_out=timed_out)
    result.pareto = pareto_set(records, request.objectives)
    result.chosen = choose(records, request.objectives)
    return result


def _tell(study, trial, outcome: Outcome, objectives: obj.Objectives) -> None:
    import optuna

    if outcome.ok and "pruned" in outcome.result:
        trial.set_user_attr("pruned", outcome.result["pruned"])
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        return
    if outcome.ok:
        try:
            values = objectives.values(outcome.result)
        except ValueError as exc:
            outcome = Outcome(outcome.number, error=str(exc))
        else:
            constraints = obj.constraints(outcome.result["verdicts"])
            for verdict, value in zip(outcome.result["verdicts"], constraints):
                trial.set_constraint(verdict["name"], value)
            trial.set_user_attr("result", outcome.result)
            trial.set_user_attr("constraints", constraints)
            study.tell(trial, values)
            return
    trial.set_user_attr("error", outcome.error)
    study.tell(trial, state=optuna.trial.TrialState.FAIL)


def _tell_twin(epochs, twin, told, ceiling: float | None) -> None:
    """The epoch study's twin ends as the trial did (a completed one with its final accuracy, capped at the
    bound as its epochs were: see :mod:`edgekit.tune.epoch_watch`)."""
    if told.state.name == "COMPLETE":
        accuracy = told.user_attrs["result"]["accuracy"]
        epochs.tell(twin, accuracy if ceiling is None or accuracy is None else min(accuracy, ceiling))
    else:
        epochs.tell(twin, state=told.state)


def load_records(study) -> list[TrialRecord]:
    return [TrialRecord(t.number, t.state.name, t.user_attrs.get("params", dict(t.params)), list(t.values) if t.values else None,
                        t.user_attrs.get("constraints"), t.user_attrs.get("result"), t.user_attrs.get("error"),
                        bool(t.user_attrs.get("stale")), t.user_attrs.get("pruned"))
            for t in study.get_trials(deepcopy=False)]


def pareto_set(records: list[TrialRecord], objectives: obj.Objectives) -> list[int]:
    """Trial numbers on the Pareto front of the trials that met every budget."""
    return obj.pareto([(r.number, r.values) for r in records if r.feasible], objectives.directions)


def describe(params: dict[str, Any]) -> str:
    """``distill(width_multiplier=0.5) > prune(sparsity=0.8, structure=runs) > ternary; int8``."""
    stages = [name for name, value in params.items() if "." not in name and value is True]
    parts = []
    for stage in stages:
        own = [f"{k.split('.', 1)[1]}={_short(v)}" for k, v in params.items() if k.startswith(stage + ".")]
        parts.append(f"{stage}({', '.join(own)})" if own else stage)
    convert = params.get("convert.quantize", "")
    if params.get("convert.per_tensor"):
        convert += " per-tensor"
    extra = [f"{k.split('.', 1)[1]}={_short(v)}" for k, v in params.items()   # what is not int8 / none
             if k.startswith("convert.") and k not in ("convert.quantize", "convert.per_tensor") and v not in (0, "int8")]
    if extra:   # a .tflite source's other [convert] keys
        convert += f" ({', '.join(extra)})"
    return (" > ".join(parts) or "no stage") + f"; {convert}"


def _short(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _summary(record: TrialRecord, objectives: obj.Objectives) -> str:
    r = record.result
    text = f"acc {r['accuracy']:.1%} {objectives.size} {objectives.size_kb(r):.1f} KB"
    if r.get("p50_ms") is not None:
        text += f" p50 {r['p50_ms']:.3g} ms"
    return text


def _line(done: int, total: int, records: list[TrialRecord], number: int, objectives: obj.Objectives) -> str:
    """``[4/4] trial 3: RECIPE -> acc ... gzip ... KB, misses max_gzip_kb 24 KB by 3.2 KB (best so far: ...)``:
    the bracket counts the study's progress, ``trial N`` is the trial's number everywhere else too."""
    record = next(r for r in records if r.number == number)
    outcome = outcome_text(record.to_dict())
    if record.state == "COMPLETE":
        outcome = f"{_summary(record, objectives)}, {outcome}"
    chosen = choose(records, objectives)
    best = next((r for r in records if r.number == chosen), None)
    best_text = f"trial {best.number}, {_summary(best, objectives)}" if best else "none meets every budget yet"
    return f"[{done}/{total}] trial {number}: {describe(record.params)} -> {outcome}  (best so far: {best_text})"


__all__ = ["DB_FILE", "StudyResult", "TrialRecord", "TuneRequest", "check_study", "choose", "describe",
           "load_records", "open_study", "pareto_set", "requeue_stale", "run_study"]
