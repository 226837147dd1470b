"""What each install of edgekit costs: venv size and install time, base vs ``[all]``.

    PYTHONPATH=.:tests python bench/install_size.py [--extras all]

Builds this checkout's wheel (as tests/install does), makes a venv without pip for each of
``edgekit`` and ``edgekit[EXTRAS]`` from the interpreter this venv was made from, installs the
wheel with this venv's pip from the configured index, and measures the venv (``du``-style:
the bytes of every file) and the distributions in it. Results: ``bench/results/install_size.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from helpers.install_support import BASE_PYTHON, build_wheel, clean_env

OUT = Path(__file__).resolve().parent / "results" / "install_size.json"
LIST = "import importlib.metadata as m; print('\\n'.join(sorted(d.metadata['Name'].lower() for d in m.distributions())))"


def measure(wheel: Path, extras: str, where: Path) -> dict:
    venv = where / (extras or "base")
    subprocess.run([str(BASE_PYTHON), "-m", "venv", "--without-pip", str(venv)], check=True)
    spec = f"{wheel}[{extras}]" if extras else str(wheel)
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", spec],
                   check=True, env=clean_env(), capture_output=True)
    seconds = time.monotonic() - started
    size = sum(p.stat().st_size for p in venv.rglob("*") if p.is_file() and not p.is_symlink())
    names = subprocess.run([str(venv / "bin" / "python"), "-c", LIST], check=True, capture_output=True,
                           text=True).stdout.split()
    return {"install": f"edgekit[{extras}]" if extras else "edgekit", "venv_mb": round(size / 2**20),
            "install_seconds": round(seconds), "distributions": len(names),
            "tensorflow": "tensorflow" in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extras", default="all")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(Path(tmp))
        rows = [measure(wheel, "", Path(tmp)), measure(wheel, args.extras, Path(tmp))]
    result = {"python": sys.version.split()[0], "platform": sys.platform, "rows": rows}
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
