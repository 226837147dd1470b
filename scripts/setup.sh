#!/usr/bin/env bash
# Create .venv (if needed) and install edgekit into it: everything (edgekit[all]: TensorFlow,
# TFLite Micro) plus the given extras.
# Usage: bash scripts/setup.sh [EXTRAS]   e.g. bash scripts/setup.sh test
# Re-running is cheap: the install is skipped while pyproject.toml is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="all${1:+,$1}"
if ! python3 -c "import venv, ensurepip" 2>/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -q && apt-get install -y -q python3-venv
  else
    echo "setup: python3-venv is missing; run: sudo apt-get install python3-venv" >&2; exit 2
  fi
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
stamp=".venv/.edgekit-installed-$(sha256sum pyproject.toml | cut -c1-16)-${extras}"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[${extras}]"
  rm -f .venv/.edgekit-installed-*; touch "$stamp"
fi
