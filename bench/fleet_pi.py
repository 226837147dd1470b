"""One deploy to an emulated Raspberry Pi, before and after: the device-side start-up where it is slowest.

Starts ONE emulated arm64 device with the test rig (tests/devices/rig.py: qemu-user, one core,
its own network namespace; needs root and binfmt_misc), deploys a small int8 model to it with
``edgekit deploy --target rpi4 --runs R`` into a fresh remote dir each time, alternating the
edgekit package of --before DIR and this checkout (same load for both), and stops the device
with the rig's own stop. Per deploy: the device's time from its "deploying" line to its result
line, and the phases of bench/fleet.py.

    python bench/fleet_pi.py --before DIR [--repeats 3] [--runs 50] [--index 41]

Writes bench/results/fleet_pi.json and rewrites bench/results/fleet.md with it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tests" / "devices")]

import fleet  # noqa: E402  (the loopback benchmark: model, one deploy's figures, the markdown)
import rig  # noqa: E402  (the device tier's rig)

from edgekit.fileio import atomic_write_text  # noqa: E402

REMOTE_DIR = ".edgekit-bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="a folder holding an older edgekit package")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--index", type=int, default=41, help="the rig's device number (10.250.N.2)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "fleet")
    args = parser.parse_args()
    rig.check_prerequisites()
    versions = {"before": args.before.resolve(), "after": ROOT}
    rows: dict[str, list[dict]] = {label: [] for label in versions}
    with tempfile.TemporaryDirectory(prefix="edgekit-fleet-pi-") as tmp:
        work = Path(tmp)
        model = fleet.build_model(work / "model.tflite")
        key = fleet.keygen(work / "id_ed25519", "edgekit-bench")
        device = rig.start_device(args.index, key.with_suffix(".pub").read_text())
        try:
            (work / "known_hosts").write_text(device.known_hosts_line)
            (work / "edgekit.toml").write_text(
                f'[devices.n1-dev0]\nhost = "{device.spec}"\ntarget = "rpi4"\ngroups = ["n1"]\n'
                f'remote_python = "{rig.DEVICE_PYTHON}"\nremote_dir = "~/{REMOTE_DIR}"\n')
            for repeat in range(args.repeats):
                for label, package in versions.items():
                    shutil.rmtree(device.root / "home" / rig.DEVICE_USER / REMOTE_DIR, ignore_errors=True)
                    row = fleet.run_fleet(model, work, 1, 1, args.runs, None, package)
                    rows[label].append(row)
                    print(label, json.dumps(row), flush=True)
        finally:
            rig.stop_device(device)
    results = {"runs": args.runs, "device": f"{device.arch}, qemu-user, 1 core (tests/devices/rig.py)",
               "per_device_s": {label: statistics.median(r["device_s"] for r in rs) for label, rs in rows.items()},
               "versions": rows}
    atomic_write_text(args.out.with_name(args.out.name + "_pi.json"), json.dumps(results, indent=2) + "\n")
    loopback = json.loads(args.out.with_suffix(".json").read_text())
    atomic_write_text(args.out.with_suffix(".md"), fleet.markdown(loopback, results))


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("bench/fleet_pi.py: needs root (the rig makes namespaces, mounts and cgroups)")
    main()
