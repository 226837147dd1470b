"""Real OpenSSH servers on 127.0.0.1 as the "devices", throwaway keys, and test models.

Each ``Sshd`` is ``/usr/sbin/sshd -D -e -f <generated sshd_config>`` on a free port with
its own host key; the user key in ``authorized_keys`` logs in as the current user. The
device's Python is this test run's interpreter (so the agent finds ai_edge_litert).
The client side runs with HOME in a temp dir and no SSH agent, so nothing of the real
user's ~/.ssh takes part.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

import pytest

from remote_support import SSHD, Sshd, keygen, start_sshd
from helpers.support import isolate_ssh_client, unavailable


@pytest.fixture(scope="session")
def ssh_root(tmp_path_factory) -> Path:
    if not SSHD.exists() or os.geteuid() != 0:
        unavailable("needs /usr/sbin/sshd (openssh-server, scripts/system-packages.txt) and root")
    return tmp_path_factory.mktemp("ssh")


@pytest.fixture(scope="session")
def user_key(ssh_root) -> Path:
    """The authorized client key (and its authorized_keys file next to it)."""
    key = keygen(ssh_root / "id_ed25519", "edgekit-test-user")
    (ssh_root / "authorized_keys").write_text(key.with_suffix(".pub").read_text())
    return key


@pytest.fixture(scope="session")
def sshd_pool(ssh_root, user_key):
    """Three sshd's ("devices"), started once per session."""
    servers = [start_sshd(ssh_root / f"sshd{i}", ssh_root / "authorized_keys") for i in range(3)]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def sshd(sshd_pool) -> Sshd:
    return sshd_pool[0]


@pytest.fixture(autouse=True)
def isolated_client(tmp_path, monkeypatch):
    return isolate_ssh_client(tmp_path, monkeypatch)


@pytest.fixture
def known_hosts(tmp_path, sshd_pool) -> Path:
    """A known_hosts file that trusts every sshd of the pool."""
    path = tmp_path / "known_hosts"
    path.write_text("".join(s.known_hosts_line for s in sshd_pool))
    return path


@pytest.fixture
def device_args(tmp_path, user_key, known_hosts):
    """``edgekit deploy`` flags for a pool device with its own fresh remote dir."""
    def args(server: Sshd, remote_dir: Path | None = None, *, port: int | None = None) -> list[str]:
        host = server.spec if port is None else f"{getpass.getuser()}@127.0.0.1:{port}"
        return ["--host", host, "--target", "local", "-i", str(user_key), "--known-hosts", str(known_hosts),
                "--remote-python", sys.executable, "--remote-dir", str(remote_dir or tmp_path / "device"),
                "--runs", "5", "--warmup", "1"]
    return args


def _convert(model) -> bytes:
    import tensorflow as tf

    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


@pytest.fixture(scope="session")
def remote_models(tmp_path_factory) -> dict[str, Path]:
    """Real float TFLite models: ``a``, ``b``, ``c``, ``d`` (tiny, all different), ``big`` (~14 MB of weights),
    ``v99`` (``a``'s graph with every op at version 99: inspect reads it, no runtime loads it) and
    ``custom`` (a CUSTOM op no stock runtime has, tests/helpers/tflite_zoo.py)."""
    import keras
    from tensorflow.lite.tools import flatbuffer_utils
    from helpers.tflite_zoo import custom_op

    out = tmp_path_factory.mktemp("remote-models")
    paths = {}
    for name, width, seed in (("a", 16, 1), ("b", 16, 2), ("c", 16, 4), ("d", 16, 5), ("big", 48000, 3)):
        keras.utils.set_random_seed(seed)
        model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                                  keras.layers.Dense(width, activation="relu"), keras.layers.Dense(10)])
        paths[name] = out / f"{name}.tflite"
        paths[name].write_bytes(_convert(model))
    future = flatbuffer_utils.convert_bytearray_to_object(bytearray(paths["a"].read_bytes()))
    for code in future.operatorCodes:
        code.version = 99
    paths["v99"] = out / "v99.tflite"
    paths["v99"].write_bytes(bytes(flatbuffer_utils.convert_object_to_bytearray(future)))
    paths["custom"] = custom_op(out)
    return paths
