#!/usr/bin/env bash
# Build the 32-bit (armhf, armv7l) test-device root filesystem into DIR: a Raspberry Pi 3
# on 32-bit Raspberry Pi OS. Run as root; qemu-arm must be registered with binfmt_misc.
# Same device as build_rootfs.sh (arm64), except where armhf differs: PyPI has no numpy<2
# wheel for armv7l (Raspberry Pi OS gets one from piwheels), so numpy is Debian's 1.24 and
# the venv sees it (--system-site-packages); tflite-runtime 2.14 has a cp311 armv7l wheel.
# The rig hashes this file alone to key the cached tarball (rootfs-armhf-<hash>.tar).
# Usage: build_rootfs_armhf.sh DIR DEBIAN_MIRROR
set -euo pipefail
dir=$1 mirror=$2

debootstrap --arch=armhf --variant=minbase \
  --include=python3,python3-venv,python3-pip,python3-numpy,openssh-server,ca-certificates bookworm "$dir" "$mirror"

cp /etc/resolv.conf "$dir/etc/resolv.conf"   # pip: build-time only
cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/ca-certificates.crt"
in_root() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 chroot "$dir" "$@"; }

in_root useradd --create-home --shell /bin/bash pi
in_root usermod -p '*' pi
in_root su pi -c 'python3 -m venv --system-site-packages /home/pi/venv && /home/pi/venv/bin/pip install --no-cache-dir --disable-pip-version-check --cert /etc/ssl/certs/ca-certificates.crt tflite-runtime==2.14.0'
in_root /home/pi/venv/bin/python -c 'import numpy, tflite_runtime.interpreter; assert numpy.__version__.startswith("1.")'

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

rm -f "$dir"/etc/ssh/ssh_host_*
cat > "$dir/etc/ssh/sshd_config.d/edgekit-testdevice.conf" <<'CONF'
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
PrintMotd no
CONF
install -d -m 0755 "$dir/run/sshd"
rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
