"""A study that spends its epochs where they pay, end to end with real builds: a collapsed trial is cut after
its first epoch and shows as PRUNED in tune.json, the progress lines and the report; --timeout ends a study
early with its outputs written."""

from __future__ import annotations

import json
import os
import re

import pytest

from helpers.tune_support import collapsing_toml, study, tune_toml
from helpers.support import run_edgekit

pytestmark = pytest.mark.slow


def test_a_collapsed_trial_is_pruned_after_one_epoch_and_reported_as_pruned(tmp_path, digits_train, digits_val):
    config = collapsing_toml(tmp_path / "study", digits_train, digits_val)
    out = tmp_path / "out"
    proc = run_edgekit("tune", config, "--out", out, "--trials", "1", "--no-seed-recipes", "--json", timeout=600,
                       env={**os.environ, "EDGEKIT_RESULTS_DB": str(tmp_path / "results.db")})
    assert proc.returncode == 21, proc.stderr          # no trial met the budget: the outputs are written
    document = json.loads(proc.stdout)
    assert document == study(out)
    [trial] = document["trials"]
    assert trial["state"] == "PRUNED" and trial["result"] is None and not trial["feasible"]
    assert trial["pruned"]["epoch"] == 1 and trial["pruned"]["accuracy"] < 0.15
    assert trial["pruned"]["why"] == "below chance (10%) + 5%"
    assert document["trials_done"] == 1 and document["trials_pruned"] == 1 and document["trials_failed"] == 0
    assert document["pruner"] == "halving" and document["chosen"] is None and document["closest"] is None
    assert f"no trial met every budget; see {out / 'report.html'}" in proc.stderr  # no measured trial to be closest
    # the build stopped after the first of its 3 epochs: nothing converted, nothing benchmarked
    log = (out / "trials" / "0000" / "build.log").read_text()
    assert "epoch 2/3" not in log and "[build] convert" not in log
    assert "[tune] pruned after epoch 1" in log
    [line] = [line for line in proc.stderr.splitlines() if line.startswith("[1/1] trial 0: ")]
    pruned = f"PRUNED after epoch 1 (val acc {trial['pruned']['accuracy']:.1%}: below chance (10%) + 5%)"
    assert f"-> {pruned}" in line
    html = (out / "report.html").read_text()
    assert "class='pruned' data-trial='0'><title>trial 0: " in html and ">pruned:</text>" in html
    assert "1 pruned (halving" in html
    assert re.search(rf"<tr data-trial='0'>.*{re.escape(pruned)}</span></td></tr>", html)
    # the study's twin in the epoch study holds the one epoch reported, and ended PRUNED too
    from edgekit.tune.pruners import epoch_study

    [twin] = epoch_study(out / "tune.db").trials
    assert twin.state.name == "PRUNED" and twin.intermediate_values == {1: trial["pruned"]["accuracy"]}


def test_timeout_starts_no_new_trial_lets_the_running_one_end_and_writes_the_outputs(tmp_path, digits_train,
                                                                                      digits_val):
    config = tune_toml(tmp_path / "study", digits_train, digits_val, trials=3)
    out = tmp_path / "out"
    proc = run_edgekit("tune", config, "--out", out, "--timeout", "15", "--json", timeout=600,
                       env={**os.environ, "EDGEKIT_RESULTS_DB": str(tmp_path / "results.db")})
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert document["timed_out"] is True and document["timeout_s"] == 15
    # trials take seconds each: the limit falls while one runs (which ends), and no new one starts after it
    assert document["trials_requested"] == 3 and 1 <= document["trials_done"] < 3, document["trials_done"]
    assert document["trials"][0]["state"] == "COMPLETE" and document["chosen"] is not None
    assert "time limit of 15 s reached after " in proc.stderr and "no new trial" in proc.stderr
    assert (out / "model.tflite").exists() and (out / "edgekit.toml").exists()
    assert study(out)["timed_out"] is True


@pytest.mark.parametrize("args, needle", [
    (("--timeout", "0"), "--timeout must be > 0 seconds, got 0"),
    (("--pruner", "sometimes"), "invalid value for '--pruner': 'sometimes' is not one of 'halving', 'median'"),
])
def test_bad_search_flags_are_one_line(tmp_path, digits_train, digits_val, args, needle):
    config = tune_toml(tmp_path / "study", digits_train, digits_val)
    proc = run_edgekit("tune", config, "--out", tmp_path / "out", *args, timeout=120)
    assert proc.returncode == 2 and needle in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_bad_tune_timeout_in_the_file_names_the_line(tmp_path, digits_train, digits_val):
    config = tune_toml(tmp_path / "study", digits_train, digits_val)
    config.write_text(config.read_text().replace("[tune]\n", "[tune]\ntimeout = -3\n"))
    proc = run_edgekit("tune", config, "--out", tmp_path / "out", timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{config}:" in proc.stderr and "[tune] timeout must be > 0 seconds, got -3" in proc.stderr
