#!/usr/bin/env bash
# One command for a new user: set up edgekit in .venv and run `edgekit demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/edgekit demo "$@"
