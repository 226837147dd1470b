#!/usr/bin/env bash
# One command for the whole test suite: system packages (as root), .venv, unit tier, device tier.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then
  mapfile -t pkgs < <(grep -v '^\s*#' scripts/system-packages.txt | grep -v '^\s*$')
  missing=()
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
  export EDGEKIT_TESTS_STRICT=1  # prerequisites are installed: a test that cannot run them fails, not skips
else
  echo "test: not root; system packages are not installed (tests needing them will say so)" >&2
fi
bash scripts/setup.sh test
echo "== unit tier =="
.venv/bin/python -m pytest -m "not device" --durations=25 "$@"
echo "== device tier (emulated arm64 devices) =="
.venv/bin/python -m pytest -m device "$@" || rc=$?
# pytest exits 5 when no test is selected; that is not a failure of the device tier.
[ "${rc:-0}" = 5 ] && rc=0
exit "${rc:-0}"
