"""What ``edgekit history`` lists: the newest runs, trial runs left out unless asked, runs of one label together.

A tune study records a run per trial and a build one per build, all of ``model.tflite``;
listed one by one, newest first, they bury the benches and deploys a user looks for. So
trial runs are counted rather than shown by default, and the runs of one build (one label)
follow each other, placed where the newest of them falls; with ``--all`` so do the trial runs
of one study (``tune:STUDY#trial-N``: one group per STUDY), when studies ran side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgekit.results.store import KINDS, ResultStore

HIDDEN_KINDS = ("trial",)


@dataclass
class History:
    """The runs to list, in order, and how many trial runs matched but were left out."""

    runs: list[dict]
    hidden: int


def list_history(store: ResultStore, *, limit: int | None = 20, target: str | None = None, host: str | None = None,
                 model: str | None = None, trials: bool = False) -> History:
    """The newest ``limit`` runs matching the filters (trial runs only with ``trials``), grouped by label."""
    filters = {"target": target, "host": host, "model": model}
    kinds = None if trials else [kind for kind in KINDS if kind not in HIDDEN_KINDS]
    runs = store.runs(limit=limit, kinds=kinds, **filters)
    hidden = 0 if trials else store.count(kinds=HIDDEN_KINDS, **filters)
    return History(group_by_label(runs), hidden)


def group_by_label(runs: list[dict]) -> list[dict]:
    """``runs`` (newest first) with every labelled run moved up behind the newest run of its group:
    its label, or for a trial run its study."""
    groups: dict[object, list[dict]] = {}
    for run in runs:
        groups.setdefault(_group(run), []).append(run)
    return [run for group in groups.values() for run in group]


def _group(run: dict) -> object:
    if run["label"] is None:
        return ("run", run["id"])
    return run["label"].partition("#")[0] if run["kind"] == "trial" else run["label"]
