"""``python3 -m tests.devices.rig_cli build|start N|stop|status``: the test devices by hand.

``start`` authorizes a client key kept in the state dir (created on first use) and writes
a known_hosts file next to it, then prints the ``edgekit deploy`` line that reaches them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from tests.devices import rig

CLIENT_KEY = rig.STATE_DIR / "client" / "id_ed25519"
KNOWN_HOSTS = rig.STATE_DIR / "client" / "known_hosts"


def client_key() -> Path:
    """The key the devices authorize for ``pi`` (kept across start/stop)."""
    if not CLIENT_KEY.exists():
        CLIENT_KEY.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "edgekit-testdevices",
                        "-f", str(CLIENT_KEY)], check=True)
    return CLIENT_KEY


def start(count: int, x86: int, armv7: int, memory_mb: int) -> None:
    rig.stop_all()
    key = client_key().with_suffix(".pub").read_text()
    devices = [rig.start_device(i, key, memory_mb=memory_mb) for i in range(1, count + 1)]
    devices += [rig.start_device(i, key, arch="x86_64", memory_mb=memory_mb)
                for i in range(count + 1, count + 1 + x86)]
    devices += [rig.start_device(i, key, arch="armv7l", memory_mb=memory_mb)
                for i in range(count + x86 + 1, count + x86 + 1 + armv7)]
    KNOWN_HOSTS.write_text("".join(d.known_hosts_line for d in devices))
    status()
    arm = devices[0]
    print(f"\nssh -i {CLIENT_KEY} -o UserKnownHostsFile={KNOWN_HOSTS} {arm.spec}\n"
          f"edgekit deploy MODEL.tflite --target rpi4 --host {arm.spec} -i {CLIENT_KEY} "
          f"--known-hosts {KNOWN_HOSTS} --remote-python {rig.DEVICE_PYTHON} --runs 5 --warmup 1")


def status() -> None:
    devices = rig.running_devices()
    if not devices:
        print("no test devices")
    for device in devices:
        up = "up" if device.pids() else "DOWN"
        limit = f"{device.memory_limit_mb()} MB" if device.cgroup("memory").exists() else "-"
        print(f"{device.name}  {device.spec:<18} {device.arch:<8} {device.hostname:<14} {up:<5} "
              f"{len(device.pids())} procs, memory limit {limit}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tests/devices/rig.sh", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build (or reuse) the cached arm64 rootfs")
    p_start = sub.add_parser("start", help="(re)start N arm64 devices at 10.250.1.2 .. 10.250.N.2")
    p_start.add_argument("count", type=int)
    p_start.add_argument("--x86", type=int, default=0, help="also start this many x86 devices after them")
    p_start.add_argument("--armv7", type=int, default=0,
                         help="and this many 32-bit Pi 3 (armv7l, target rpi3) devices after those")
    p_start.add_argument("--memory-mb", type=int, default=rig.DEFAULT_MEMORY_MB)
    sub.add_parser("stop", help="stop every device, remove namespaces, mounts, cgroups")
    sub.add_parser("status", help="list the devices")
    args = parser.parse_args(argv)
    try:
        rig.check_prerequisites()
        if args.command == "build":
            print(rig.ensure_rootfs())
        elif args.command == "start":
            start(args.count, args.x86, args.armv7, args.memory_mb)
        elif args.command == "stop":
            rig.stop_all()
        else:
            status()
    except (rig.RigUnavailable, rig.RigError) as err:
        print(f"rig: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
