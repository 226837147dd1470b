"""Helpers of the tune tests: a tiny study setup (the shipped digits data, 1 training epoch, 1 fine-tuning
epoch, prune only) and a real ``edgekit tune`` process."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


# prune is the only stage and int8 the only mode: a trial is one fine-tuning epoch
PRUNE_ONLY = """
[tune.space]
distill = false
filters = false
lowrank = false
cluster = false
ternary = false
binary = false
qat = false
prune = true
"convert.quantize" = "int8"
"""


TRAIN_SAMPLES = 480   # of the shipped digits training set: a trial's epochs take a second


def small_train(digits_train: Path, folder: Path) -> Path:
    """The first TRAIN_SAMPLES samples of the shipped digits training set."""
    import numpy as np

    path = folder / "digits_train_small.npz"
    if not path.exists():
        data = np.load(digits_train)
        np.savez(path, x=data["x"][:TRAIN_SAMPLES], y=data["y"][:TRAIN_SAMPLES])
    return path


def tune_toml(folder: Path, digits_train: Path, digits_val: Path, extra: str = "",
              target: str = "runs = 5\nwarmup = 1", trials: int = 3) -> Path:
    """``folder/edgekit.toml`` of a tiny prune-only study; ``extra`` continues ``[budgets]`` (and may add tables),
    ``target`` is the body of ``[target]``."""
    folder.mkdir(parents=True, exist_ok=True)
    digits_train = small_train(digits_train, folder)
    path = folder / "edgekit.toml"
    path.write_text(f"""[model]
source = "builtin:digits_cnn"

[train]
epochs = 1

[data]
train = "{digits_train}"
val = "{digits_val}"

[finetune]
epochs = 1

[target]
{target}

[budgets]
min_accuracy = 0.3
{extra}
[tune]
trials = {trials}
{PRUNE_ONLY}""")
    return path


def collapsing_toml(folder: Path, digits_train: Path, digits_val: Path) -> Path:
    """The tiny prune-only study, fine-tuned 3 epochs at a learning rate that blows every trial's weights up
    (its accuracy falls to chance in the first epoch)."""
    path = tune_toml(folder, digits_train, digits_val, trials=2)
    path.write_text(path.read_text().replace("[finetune]\nepochs = 1", "[finetune]\nepochs = 3\nlearning_rate = 1000.0"))
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def start_tune(*args: str, env: dict | None = None) -> subprocess.Popen:
    """``edgekit tune ARGS`` as a real process (SIGINT deliverable: not inherited ignored)."""
    return subprocess.Popen([sys.executable, "-m", "edgekit", "tune", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"edgekit tune ended early: {proc.communicate()[1]}"
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.2)


def study(out: Path) -> dict:
    return json.loads((out / "tune.json").read_text())
