#!/usr/bin/env bash
# Emulated Raspberry-Pi-like arm64 test devices, by hand (as root):
#   tests/devices/rig.sh build          build/reuse the cached rootfs (~5 min the first time)
#   tests/devices/rig.sh start N [--x86 K] [--memory-mb MB]
#   tests/devices/rig.sh status | stop
# Needs only the system python3 (stdlib); see the README's "Test devices" section.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 -m tests.devices.rig_cli "$@"
