"""``edgekit tune`` end to end with real builds: outputs, byte-identical rebuild, report, determinism,
interrupt-and-resume, a killed worker. Tiny settings (1 epoch, prune only); every trial is a real build."""

from __future__ import annotations

import html
import json
import math
import os
import re
import shutil
import signal
import subprocess

import pytest

from processes import descendants, wait_gone
from helpers.tune_support import sha256, small_train, start_tune, study, tune_toml, wait_for
from helpers.support import run_edgekit

from edgekit.optimize.stages import stage_names
from edgekit.tune.pidfile import read_pid

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def study_a(tmp_path_factory, digits_train, digits_val):
    """2 trials, one worker, seed 0 (tune.json, the chosen model, edgekit.toml, report.html)."""
    root = tmp_path_factory.mktemp("tune-a")
    config = tune_toml(root, digits_train, digits_val)
    proc = run_edgekit("tune", config, "--out", root / "out", "--seed", "0", "--trials", "2", "--json", timeout=600,
                       env={**os.environ, "EDGEKIT_RESULTS_DB": str(root / "results.db")})
    assert proc.returncode == 0, proc.stderr
    return root, root / "out", json.loads(proc.stdout), proc.stderr


def test_study_writes_trials_pareto_set_and_the_chosen_model(study_a):
    root, out, document, stderr = study_a
    assert document == {**study(out), "build": document["build"], "files": document["files"]}
    trials = document["trials"]
    assert [t["number"] for t in trials] == [0, 1] and document["trials_done"] == 2
    assert all(t["state"] == "COMPLETE" and t["params"]["prune"] for t in trials)
    assert trials[0]["params"]["prune.sparsity"] == 0.5  # the prune stage's example recipe came first
    for t in trials:
        verdict = t["result"]["verdicts"][0]
        assert verdict["name"] == "min_accuracy" and verdict["value"] == t["result"]["accuracy"]
        assert t["feasible"] == (t["result"]["accuracy"] >= 0.3)
        assert t["values"] == [t["result"]["accuracy"], t["result"]["gzip_bytes"] / 1024]
    feasible = [t for t in trials if t["feasible"]]
    chosen = min(feasible, key=lambda t: (t["result"]["gzip_bytes"], -t["result"]["accuracy"]))
    assert document["chosen"] == chosen["number"] and chosen["number"] in document["pareto"]
    for number in document["pareto"]:
        mine = next(t for t in trials if t["number"] == number)["values"]
        assert not any(o["values"][0] >= mine[0] and o["values"][1] <= mine[1] and o["values"] != mine
                       for o in feasible)
    # one worker trains like `edgekit build`: the chosen trial's file is the final one
    assert sha256(out / "model.tflite") == chosen["result"]["sha256"] == document["build"]["sha256"]
    assert (out / "model.keras").stat().st_size > 0
    assert document["drop"] == document["build"]["drop"] and document["drop"]["after"] == chosen["result"]["accuracy"]
    assert stderr.strip().splitlines()[-1].startswith(f"chosen model: {document['drop']['line']}")
    # one numbering: the bracket counts finished trials, "trial N" is tune.json's number (and trials/NNNN)
    lines = [re.match(r"\[(\d)/2\] trial (\d+): (.*)", line) for line in stderr.splitlines() if line.startswith("[")]
    assert [(m[1], int(m[2])) for m in lines] == [("1", 0), ("2", 1)]
    for m, t in zip(lines, trials):
        assert m[3].startswith(f"{t['recipe']} -> acc {t['result']['accuracy']:.1%} gzip ") and "(best so far: " in m[3]
        assert t["outcome"].startswith("meets every budget" if t["feasible"] else "misses min_accuracy 30% by ")
        assert f", {t['outcome']}  (best so far: " in m[3]  # the line says what --json and the report say
    assert f"chose trial {chosen['number']}: {chosen['recipe']}; wrote " in stderr


def test_emitted_edgekit_toml_rebuilds_the_chosen_model_byte_for_byte_after_the_project_moved(study_a, tmp_path):
    root, out, document, _ = study_a
    text = (out / "edgekit.toml").read_text()
    assert "[tune" not in text and "[[optimize]]" in text
    # the study's files are named relative to the emitted file: the project folder can be committed and moved
    assert 'train = "../digits_train_small.npz"' in text and str(root) not in text
    moved = tmp_path / "checkout"
    shutil.copytree(root, moved, ignore=shutil.ignore_patterns(".cache", "trials", "build", "tune.db"))
    proc = run_edgekit("build", "checkout/out/edgekit.toml", "--out", "rebuilt", timeout=600, cwd=tmp_path,
                       env={**os.environ, "EDGEKIT_RESULTS_DB": str(tmp_path / "results.db")})
    assert proc.returncode == 0, proc.stderr
    assert sha256(tmp_path / "rebuilt" / "model.tflite") == sha256(out / "model.tflite")


def test_report_labels_every_trial_its_budget_lines_and_round_ticks(study_a):
    _, out, document, _ = study_a
    page = (out / "report.html").read_text()
    for t in document["trials"]:
        number, recipe, chosen = t["number"], html.escape(t["recipe"], quote=True), t["number"] == document["chosen"]
        # the dot: its number beside it, its recipe and outcome on hover
        dot = re.search(rf"<g class='trial[^']*' data-trial='{number}'><title>trial {number}(.*?)</title>(.*?)</g>",
                        page, re.S)
        assert dot and recipe in dot[1] and f"accuracy {t['result']['accuracy']:.2%}" in dot[1]
        assert f">{number} chosen</text>" in dot[2] if chosen else f">{number}</text>" in dot[2]
        # the table row: number, recipe, figures, outcome
        row = re.search(rf"<tr data-trial='{number}'( class=chosen)?>(.*?)</tr>", page)
        assert row and bool(row[1]) == chosen and f"<td>{recipe}</td>" in row[2]
        assert f"{t['result']['accuracy']:.2%}" in row[2] and f"{t['result']['gzip_bytes'] / 1024:.1f}" in row[2]
        assert f"{html.escape(t['outcome'], quote=True)}</span>" in row[2] and ("chosen</b>" in row[2]) == chosen
    assert ">min accuracy 30%</text>" in page  # the budget line says which budget it is
    percents = [float(v) for v in re.findall(r"class='tick'[^>]*>([\d.]+)%</text>", page)]
    steps = {round(b - a, 6) for a, b in zip(percents, percents[1:])}
    assert len(percents) >= 2 and len(steps) == 1
    step = steps.pop()
    assert round(step / 10 ** math.floor(math.log10(step)), 6) in (1, 2, 5)
    sizes = re.findall(r"class='tick'[^>]*>([\d.]+) KB</text>", page)
    assert len(sizes) >= 2 and all(len(v.replace(".", "").strip("0")) <= 2 for v in sizes), sizes


def test_report_shows_every_trial_the_front_and_the_budget_in_headless_chromium(study_a, tmp_path):
    _, out, document, _ = study_a
    html = (out / "report.html").read_text()
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.fail("chromium is not installed: apt-get install chromium (scripts/system-packages.txt)")
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
             "--disable-background-networking", "--disable-component-update", f"--user-data-dir={tmp_path / 'p'}"]
    dom = subprocess.run([*flags, "--dump-dom", (out / "report.html").as_uri()], check=True, capture_output=True,
                         text=True, timeout=120).stdout
    assert 'id="scatter"' in dom
    assert dom.count('class="trial') == 2
    assert dom.count(" pareto") == len(document["pareto"])
    assert 'class="budget" data-budget="min_accuracy"' in dom
    assert f'data-trial="{document["chosen"]}"' in dom and " chosen" in dom
    shot = tmp_path / "report.png"
    subprocess.run([*flags, f"--screenshot={shot}", "--window-size=1000,900", (out / "report.html").as_uri()],
                   check=True, capture_output=True, timeout=120)
    from PIL import Image

    pixels = {c for _, c in Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 20)}
    assert (0x4C, 0x6E, 0xF5) in pixels  # the Pareto front's colour is drawn


def test_one_worker_and_a_seed_give_the_same_trials(study_a, tmp_path, digits_train, digits_val):
    _, _, first, _ = study_a
    config = tune_toml(tmp_path, digits_train, digits_val)
    proc = run_edgekit("tune", config, "--out", tmp_path / "again", "--seed", "0", "--trials", "2", "--json",
                       timeout=600)
    assert proc.returncode == 0, proc.stderr
    again = json.loads(proc.stdout)["trials"]
    assert [(t["params"], t["values"]) for t in again] == [(t["params"], t["values"]) for t in first["trials"]]


def test_interrupted_study_resumes_to_n_trials_and_reruns_the_cut_off_trial(tmp_path, digits_train, digits_val):
    config = tune_toml(tmp_path, digits_train, digits_val)
    out = tmp_path / "out"
    proc = start_tune(config, "--out", out, "--trials", "2")
    wait_for(out / "trials" / "0000" / "worker.pid", proc)  # trial 0 is running
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "interrupted after 0/2 trials" in stderr and "--resume" in stderr
    assert [t["state"] for t in study(out)["trials"]] == ["RUNNING"]
    assert not (out / "model.tflite").exists()

    again = run_edgekit("tune", config, "--out", out)
    assert again.returncode == 2
    assert again.stderr.strip().splitlines()[-1].startswith("edgekit: error: ") and "--resume" in again.stderr

    resumed = run_edgekit("tune", config, "--out", out, "--trials", "2", "--resume", timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert "trial(s) 0 were cut off" in resumed.stderr
    document = study(out)
    trials = document["trials"]
    assert document["trials_done"] == 2 and len(trials) == 3
    cut, rerun = trials[0], trials[1]
    assert cut["state"] == "FAIL" and cut["stale"]
    assert rerun["state"] == "COMPLETE" and rerun["params"] == cut["params"]
    assert trials[2]["state"] == "COMPLETE"
    assert (out / "model.tflite").exists()


def test_a_killed_worker_fails_its_trial_and_the_study_goes_on(tmp_path, digits_model, digits_train, digits_val):
    out = tmp_path / "out"
    train = small_train(digits_train, tmp_path)
    proc = start_tune(digits_model, "--train-data", train, "--val-data", digits_val, "--epochs", "1",
                      "--min-accuracy", "0.3", "--trials", "2", "--out", out,
                      *[f"--space={name}={str(name == 'prune').lower()}" for name in stage_names()])
    pidfile = out / "trials" / "0000" / "worker.pid"
    wait_for(pidfile, proc)
    os.kill(read_pid(pidfile), signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    document = study(out)
    killed = document["trials"][0]
    assert killed["state"] == "FAIL" and killed["error"] == "worker killed by signal 9 before the trial finished"
    assert document["trials_done"] == 2 and document["trials_failed"] == 1
    assert document["trials"][1]["state"] == "COMPLETE" and document["chosen"] == 1
    assert document["trials"][1]["result"]["verdicts"][0]["limit"] == 0.3  # --min-accuracy reached the trial
    assert "FAILED: worker killed by signal 9" in stderr
    assert (out / "model.tflite").exists() and (out / "tune-base.toml").exists()
    assert "class='failed'" in (out / "report.html").read_text()


def test_kill_9_of_a_two_worker_study_leaves_no_process_and_resume_ends_it(tmp_path, digits_train, digits_val):
    config = tune_toml(tmp_path, digits_train, digits_val)
    out = tmp_path / "out"
    proc = start_tune(config, "--out", out, "--trials", "2", "--workers", "2")
    pidfiles = [out / "trials" / f"{number:04d}" / "worker.pid" for number in (0, 1)]
    for pidfile in pidfiles:
        wait_for(pidfile, proc)  # both trials are running
    tree = descendants(proc.pid)
    assert {read_pid(pidfile) for pidfile in pidfiles} <= tree

    second = run_edgekit("tune", config, "--out", out, "--trials", "2", "--resume", timeout=300)
    assert second.returncode == 2
    assert second.stderr.strip().splitlines() == [
        f"edgekit: error: {out}: another `edgekit tune` (pid {proc.pid}) is running this study; wait for it to "
        "end (or stop it) and run again, or choose another --out"]

    proc.kill()
    proc.communicate(timeout=30)
    assert not wait_gone(tree, timeout=5), "a process of the killed study still runs"
    cut_off = {pidfile.parent: files(pidfile.parent) for pidfile in pidfiles}

    resumed = run_edgekit("tune", config, "--out", out, "--trials", "2", "--workers", "2", "--resume", timeout=900)
    assert resumed.returncode == 0, resumed.stderr
    assert "trial(s) 0, 1 were cut off" in resumed.stderr
    document = study(out)
    assert document["trials_done"] == 2 and document["trials_failed"] == 0
    assert [t["stale"] for t in document["trials"]] == [True, True, False, False]
    assert (out / "model.tflite").exists()
    # nothing of the killed run wrote into its trials' folders after it died
    assert {folder: files(folder) for folder in cut_off} == cut_off


def files(folder):
    """Every file below ``folder`` with its size and modification time."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}
