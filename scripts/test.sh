#!/usr/bin/env bash
# The test suite (CONTRIBUTING.md). System packages (as root) and .venv first, then:
#   bash scripts/test.sh [PYTEST ARGS]       the full gate (CI): unit tier, then device tier
#   bash scripts/test.sh fast [PYTEST ARGS]  the developer loop: no slow and no device tests
#   bash scripts/test.sh extended [ARGS]     the large architectures the gate leaves out (minutes each)
# Both run the unit tests on pytest-xdist workers; trained test models are cached in
# ~/.cache/edgekit-tests (tests/helpers/trained_models.py), so a second run trains nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=full
if [ "${1:-}" = fast ] || [ "${1:-}" = extended ]; then mode=$1; shift; fi
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
# Two workers: the machine CI runs on has 2 cores. No test shares anything fixed (free ports,
# one Ray cluster and temp dir each; what all workers need is made under a file lock): CONTRIBUTING.md.
workers=(-n "${EDGEKIT_TEST_WORKERS:-2}" --dist loadgroup)
if [ "$mode" = fast ]; then
  echo "== fast loop (not slow, not device) =="
  exec .venv/bin/python -m pytest -m "not slow and not device and not extended" "${workers[@]}" --durations=10 "$@"
fi
if [ "$mode" = extended ]; then
  echo "== extended tier (large architectures) =="
  exec .venv/bin/python -m pytest -m extended "${workers[@]}" --durations=10 "$@"
fi
echo "== unit tier =="
.venv/bin/python -m pytest -m "not device and not extended" "${workers[@]}" --durations=25 "$@"
echo "== device tier (emulated arm64 devices) =="
.venv/bin/python -m pytest -m device "$@" || rc=$?
# pytest exits 5 when no test is selected; that is not a failure of the device tier.
[ "${rc:-0}" = 5 ] && rc=0
exit "${rc:-0}"
