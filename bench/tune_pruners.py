"""Which pruner for ``edgekit tune``: replay a study's recorded epochs under each one.

``python bench/tune_pruners.py OUT`` reads OUT/tune.db of a study run with ``--pruner none``
(every trial trains all its epochs, the below-chance rule aside) and replays its finished
trials, in trial order, into a fresh in-memory study per pruner: a trial's epochs are
reported one by one and it stops where that pruner would have cut it. Every trial is
replayed as cuttable (in a real study the seed recipes are not), so that each pruner judges
every recorded curve. For each pruner it prints the epochs trained (against none) and the
trials that met every budget in the real study but would have been cut -- the cost of
pruning. Writes ``bench/results/tune_pruners.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def replay(name: str, trials: list[dict]) -> dict:
    import optuna

    from edgekit.tune.pruners import pruner

    study = optuna.create_study(direction="maximize", pruner=pruner(name))
    epochs, cut = 0, []
    for t in trials:
        trial = study.ask()
        pruned = False
        for step, value in sorted(t["curve"].items()):
            trial.report(value, step)
            epochs += 1
            if trial.should_prune():
                pruned = True
                break
        if pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            cut.append(t["number"])
        elif t["final"] is not None:
            study.tell(trial, t["final"])
        else:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return {"epochs": epochs, "cut": cut, "lost": [n for n in cut if next(t for t in trials if t["number"] == n)
                                                    ["feasible"]]}


def main() -> None:
    import optuna

    from edgekit.tune.pruners import EPOCH_STUDY, PRUNERS
    from edgekit.tune.storage import storage

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the folder of a study run with --pruner none")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    db = storage(args.out.resolve() / "tune.db")
    main_trials = optuna.load_study(study_name="edgekit-tune", storage=db).get_trials(deepcopy=False)
    twins = {t.number: t for t in optuna.load_study(study_name=EPOCH_STUDY, storage=db).get_trials(deepcopy=False)}
    document = json.loads((args.out / "tune.json").read_text())
    feasible = {t["number"]: t["feasible"] for t in document["trials"]}
    trials = [{"number": m.number, "recipe": next(t["recipe"] for t in document["trials"] if t["number"] == m.number),
               "feasible": feasible[m.number],
               "curve": dict(w.intermediate_values), "final": w.value}
              for m in main_trials if m.state.is_finished() and not m.user_attrs.get("stale")
              for w in [twins[m.user_attrs.get("epoch_trial", m.number)]]]
    results = {name: replay(name, trials) for name in PRUNERS}
    report = {"study": str(args.out), "trials": len(trials), "chosen": document["chosen"],
              "curves": {t["number"]: {"recipe": t["recipe"], "feasible": t["feasible"], "curve": t["curve"]}
                         for t in trials}, "pruners": results}
    (RESULTS / "tune_pruners.json").write_text(json.dumps(report, indent=2) + "\n")
    full = results["none"]["epochs"]
    lines = ["# Pruners replayed on a recorded digits study", "",
             f"`python bench/tune_pruners.py {args.out}`: {len(trials)} trials, every epoch recorded "
             "(`--pruner none`); chosen trial " + str(document["chosen"]), "",
             "| pruner | epochs trained | vs none | trials cut | cut although they met every budget |",
             "|---|---:|---:|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['epochs']} | {r['epochs'] / full:.0%} | {', '.join(map(str, r['cut'])) or '-'} "
                     f"| {', '.join(map(str, r['lost'])) or '-'} |")
    (RESULTS / "tune_pruners.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
