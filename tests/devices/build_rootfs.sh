#!/usr/bin/env bash
# Build the arm64 test-device root filesystem into DIR (run as root; qemu-aarch64 must be
# registered with binfmt_misc). The rig hashes this file, rootfs-packages.txt and
# rootfs-requirements.txt to key the cached tarball, so editing any of them rebuilds it.
# Usage: build_rootfs.sh DIR DEBIAN_MIRROR
set -euo pipefail
dir=$1 mirror=$2
here=$(cd "$(dirname "$0")" && pwd)
packages=$(grep -v '^\s*#' "$here/rootfs-packages.txt" | grep -v '^\s*$' | paste -sd, -)

debootstrap --arch=arm64 --variant=minbase --include="$packages" bookworm "$dir" "$mirror"

# pip needs name resolution and the host's CA bundle (the chroot's is not trusted by the
# proxying network here); both are build-time only.
cp /etc/resolv.conf "$dir/etc/resolv.conf"
cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/ca-certificates.crt"

# Commands in the chroot see a device's environment, not this machine's (pip settings etc.).
in_root() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 chroot "$dir" "$@"; }

# The device user, as on a Pi: `pi` with a venv holding the TFLite runtime. `*` (not `!`)
# so the account is usable by public key while sshd runs with UsePAM no.
in_root useradd --create-home --shell /bin/bash pi
in_root usermod -p '*' pi
install -m 0644 "$here/rootfs-requirements.txt" "$dir/tmp/requirements.txt"
in_root su pi -c 'python3 -m venv /home/pi/venv && /home/pi/venv/bin/pip install --no-cache-dir --disable-pip-version-check --cert /etc/ssl/certs/ca-certificates.crt -r /tmp/requirements.txt'
in_root /home/pi/venv/bin/python -c 'import numpy, tflite_runtime.interpreter'
rm -f "$dir/tmp/requirements.txt"

# Raspberry Pi firmware tool stand-in: `vcgencmd get_throttled` reports the value the test
# writes into /var/lib/edgekit-testdevice/throttled.
install -d "$dir/var/lib/edgekit-testdevice"
echo 0x0 > "$dir/var/lib/edgekit-testdevice/throttled"
cat > "$dir/usr/bin/vcgencmd" <<'STUB'
#!/bin/sh
# edgekit test device: stand-in for the Raspberry Pi firmware tool.
state=/var/lib/edgekit-testdevice
case "$1" in
  get_throttled) echo "throttled=$(cat "$state/throttled")" ;;
  measure_temp) awk '{printf "temp=%.1f'"'"'C\n", $1 / 1000}' /sys/class/thermal/thermal_zone0/temp ;;
  *) echo "error=2 error_msg=\"Command not registered\"" >&2; exit 255 ;;
esac
STUB
chmod 0755 "$dir/usr/bin/vcgencmd"

# sshd: public keys only; host keys are generated per device at start, not baked in.
rm -f "$dir"/etc/ssh/ssh_host_*
cat > "$dir/etc/ssh/sshd_config.d/edgekit-testdevice.conf" <<'CONF'
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
PrintMotd no
CONF
install -d -m 0755 "$dir/run/sshd"

# Smaller cache tarball: apt archives and lists are not needed on the device.
rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
