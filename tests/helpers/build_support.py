"""The shipped digits build example, made quick for tests, and a real `edgekit build` process."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from helpers.support import ROOT, run_edgekit

EXAMPLE = ROOT / "examples" / "digits" / "edgekit.toml"


def project(tmp_path: Path, target: str = "local", optimize: bool = False, **budgets: float) -> Path:
    """The shipped example with tiny epochs (CI time) and absolute data paths; budgets overridden.

    Without ``optimize`` the [[optimize]] step is left out (variants float32 and int8), so
    these tests exercise the pipeline itself; the shipped example is built as is below.
    """
    text = EXAMPLE.read_text()
    if not optimize:  # the unpruned model does not gzip below the example's 128 KB
        text = re.sub(r"(?ms)^\[\[optimize\]\].*?(?=^\[convert\])", "", text)
        budgets.setdefault("max_gzip_kb", 160)
    text = text.replace("../../calibration/", f"{ROOT / 'calibration'}/")
    text = text.replace("epochs = 10", "epochs = 4")  # [train]; [finetune] keeps the shared default
    text = re.sub(r"(?m)^runs = \d+", "runs = 10", text)
    text = text.replace('name = "local"', f'name = "{target}"')
    for name, value in budgets.items():
        text = re.sub(rf"(?m)^{name} = \S+", f"{name} = {value}", text)
    path = tmp_path / "edgekit.toml"
    path.write_text(text)
    return path


def build(config: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    """A real ``edgekit build`` process; its benchmark is recorded in a results DB next to ``out``."""
    env = {**os.environ, "EDGEKIT_RESULTS_DB": str(out.parent / "results.db")}
    return run_edgekit("build", config, "--out", out, *extra, timeout=600, env=env)
