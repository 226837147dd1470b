"""A build's benchmark is recorded under the build's name and a tune trial's under the trial's (real builds)."""

from __future__ import annotations

from helpers.build_support import project
from edgekit.pipeline.run import run_build
from edgekit.pipeline.config import load_config
from edgekit.results import ResultStore, list_history
from edgekit.tune.trial import payload, run_trial


def test_build_and_trial_runs_carry_their_names(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEKIT_RESULTS_DB", str(tmp_path / "results.db"))
    app = tmp_path / "app"
    app.mkdir()
    config = project(app)   # float32 and int8: the final variant is int8
    config.write_text(config.read_text().replace("epochs = 4", "epochs = 1"))
    cache = tmp_path / "cache"   # shared, as a study's trials share it: the trial reuses the build's stages
    run_build(load_config(config), tmp_path / "out", cache_dir=cache)
    study = tmp_path / "study"
    run_trial(payload(config, study / "trials" / "0003", cache, study / ".locks", [], {}, load_config(config)))

    store = ResultStore()
    assert [(r["kind"], r["label"]) for r in store.runs()] == [
        ("trial", "tune:study#trial-3"), ("build", "build:app/edgekit.toml#int8")]
    shown = list_history(store)
    assert [r["kind"] for r in shown.runs] == ["build"] and shown.hidden == 1
