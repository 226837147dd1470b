"""Deploy throughput: edgekit's upload (over SFTP at this size, see edgekit.remote.push) vs OpenSSH sftp/scp of
the same >= 10 MB model.

Starts a throwaway sshd on 127.0.0.1 (as the test suite does; needs root and
openssh-server), builds a ~28 MB float TFLite model (--width), then in the same run:

- ``edgekit`` deploy (--no-bench) into a fresh remote dir, REPEATS times: upload-only
  throughput and the whole deploy's wall time;
- ``sftp -b`` (put) and ``scp`` of the same file, REPEATS times each; their transfer time
  is the median wall time minus the median wall time of the same tool moving a 1-byte
  file (connection setup), so all three are compared on bytes moved per second;
- a second deploy of the same model into the same dir: bytes sent (goal 0).

    python bench/deploy_throughput.py [--repeats 7] [--width 96000]

Writes bench/results/deploy.json.
"""

from __future__ import annotations

import argparse
import getpass
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "remote")]

from remote_support import keygen, start_sshd  # noqa: E402  (the test suite's sshd launcher)

from edgekit.fileio import atomic_write_text  # noqa: E402
from edgekit.remote import ConnectOptions, Device, deploy  # noqa: E402


def build_model(path: Path, width: int) -> Path:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(width, activation="relu"), keras.layers.Dense(10)])
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return path


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def openssh_copy(tool: str, source: Path, work: Path, port: int, user: str, ssh_opts: list[str]) -> float:
    """Wall seconds of one ``sftp``/``scp`` upload of ``source`` (a fresh session each time)."""
    dest = work / f"{tool}-copy"
    if tool == "scp":
        return timed(["scp", "-q", "-P", str(port), *ssh_opts, str(source), f"{user}@127.0.0.1:{dest}"])
    batch = work / "put.batch"
    batch.write_text(f"put {source} {dest}\n")
    return timed(["sftp", "-q", "-P", str(port), *ssh_opts, "-b", str(batch), f"{user}@127.0.0.1"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--width", type=int, default=96000, help="hidden units: 96000 -> a ~28 MB model")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="edgekit-deploy-bench-"))
    key = keygen(work / "id_ed25519", "bench")
    (work / "authorized_keys").write_text(key.with_suffix(".pub").read_text())
    server = start_sshd(work / "sshd", work / "authorized_keys")
    known_hosts = work / "known_hosts"
    known_hosts.write_text(server.known_hosts_line)
    try:
        model = build_model(work / "big.tflite", args.width)
        size = model.stat().st_size
        user = getpass.getuser()
        ssh_opts = ["-i", str(key), "-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=yes",
                    "-o", "BatchMode=yes"]
        options = ConnectOptions(known_hosts=known_hosts, identity=key)

        edgekit_upload, edgekit_total = [], []
        for i in range(args.repeats):
            device = Device(name="loopback", host=f"{user}@127.0.0.1:{server.port}", target="local",
                            remote_python=sys.executable, remote_dir=str(work / f"device{i}"))
            start = time.perf_counter()
            result = deploy(model, device, bench=False, options=options)
            edgekit_total.append(time.perf_counter() - start)
            assert result.model_bytes_sent == size
            edgekit_upload.append(result.upload_seconds)
        start = time.perf_counter()
        again = deploy(model, device, bench=False, options=options)
        redeploy_seconds = time.perf_counter() - start

        tiny = work / "tiny.bin"
        tiny.write_bytes(b"x")
        sftp_wall, sftp_setup, scp_wall, scp_setup = [], [], [], []
        for _ in range(args.repeats):  # interleaved, so machine load hits every tool alike
            sftp_setup.append(openssh_copy("sftp", tiny, work, server.port, user, ssh_opts))
            sftp_wall.append(openssh_copy("sftp", model, work, server.port, user, ssh_opts))
            scp_setup.append(openssh_copy("scp", tiny, work, server.port, user, ssh_opts))
            scp_wall.append(openssh_copy("scp", model, work, server.port, user, ssh_opts))
    finally:
        server.stop()

    def mb_s(seconds: float) -> float:
        return round(size / 1e6 / seconds, 1)

    edgekit_mb_s = mb_s(statistics.median(edgekit_upload))
    sftp_mb_s = mb_s(statistics.median(sftp_wall) - statistics.median(sftp_setup))
    scp_mb_s = mb_s(statistics.median(scp_wall) - statistics.median(scp_setup))
    figures = {
        "model_bytes": size, "repeats": args.repeats,
        "edgekit": {"upload_mb_per_s": edgekit_mb_s, "upload_seconds": edgekit_upload,
                    "deploy_wall_seconds": [round(s, 3) for s in edgekit_total]},
        "openssh_sftp": {"mb_per_s": sftp_mb_s, "wall_seconds": [round(s, 3) for s in sftp_wall]},
        "openssh_scp": {"mb_per_s": scp_mb_s, "wall_seconds": [round(s, 3) for s in scp_wall]},
        "openssh_setup_seconds": {"sftp": round(statistics.median(sftp_setup), 3),
                                  "scp": round(statistics.median(scp_setup), 3)},
        "ratio_vs_sftp": round(edgekit_mb_s / sftp_mb_s, 2),
        "ratio_vs_scp": round(edgekit_mb_s / scp_mb_s, 2),
        "goal_ratio": 0.8,
        "redeploy": {"model_bytes_sent": again.model_bytes_sent, "wall_seconds": round(redeploy_seconds, 3),
                     "goal_model_bytes_sent": 0},
        "note": "loopback sshd on the same (shared, 2-core) machine: client and server compete for CPU",
    }
    out = ROOT / "bench" / "results" / "deploy.json"
    atomic_write_text(out, json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
