"""The device tier's fixtures: two emulated arm64 Pis and one x86 box, started once per session.

Skipped (with the reason) only where the machine lacks root or binfmt_misc; any other rig
problem (a failed rootfs build, a device that will not start) is an error, not a skip.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import rig
from helpers.support import isolate_ssh_client, unavailable

ARM_MEMORY_MB = 384
OOM_MEMORY_MB = 192  # the memory test's device limit: the agent session (numpy + runtime) needs ~130 MB under qemu


def pytest_collection_modifyitems(items):
    """The README's device blocks start and stop the rig themselves: they run before the session's devices exist."""
    items.sort(key=lambda item: "test_readme_devices" not in item.nodeid)


@pytest.fixture(scope="session")
def rig_machine() -> None:
    """Prerequisites checked, leftovers of an earlier run removed, the rootfs cached."""
    try:
        rig.check_prerequisites()
    except rig.RigUnavailable as err:
        unavailable(f"emulated arm64 devices unavailable: {err}")
    rig.stop_all()
    rig.ensure_rootfs()


@pytest.fixture(scope="session")
def client_key(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("device-client") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "edgekit-device-tests", "-f", str(path)],
                   check=True)
    return path


@pytest.fixture(scope="session")
def devices(rig_machine, client_key):
    """``[pi1, pi2, pc3]``: arm64 at 10.250.1.2 and 10.250.2.2, x86_64 at 10.250.3.2."""
    key = client_key.with_suffix(".pub").read_text()
    started = []
    try:
        for index, arch in ((1, "aarch64"), (2, "aarch64"), (3, "x86_64")):
            started.append(rig.start_device(index, key, arch=arch, memory_mb=ARM_MEMORY_MB))
        yield started
    finally:
        rig.stop_all()


@pytest.fixture(scope="session")
def known_hosts(tmp_path_factory, devices) -> Path:
    path = tmp_path_factory.mktemp("device-known-hosts") / "known_hosts"
    path.write_text("".join(d.known_hosts_line for d in devices))
    return path


@pytest.fixture(autouse=True)
def isolated_client(tmp_path, monkeypatch):
    return isolate_ssh_client(tmp_path, monkeypatch)


@pytest.fixture(scope="session")
def ssh_flags(client_key, known_hosts) -> list[str]:
    return ["-i", str(client_key), "--known-hosts", str(known_hosts)]


def tiny_tflite(path: Path, *, width: int, seed: int) -> Path:
    """A real float TFLite model (8x8x1 -> Dense(width) -> Dense(10)); weights ~ 256*width bytes."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(width, activation="relu"), keras.layers.Dense(10)])
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return path


@pytest.fixture(scope="session")
def oom_limit_mb() -> int:
    return OOM_MEMORY_MB


def oversized_tflite(path: Path, *, megabytes: int) -> Path:
    """A real model whose tensors need ~``megabytes`` MB at inference (8x8 input, upsampled).

    Big weights would not do: the runtime maps them from the file, and file pages are
    reclaimable, so a 150 MB model runs in 128 MB. Activations are anonymous memory.
    """
    import keras
    import tensorflow as tf

    side = int((megabytes * 1024 * 1024 / (4 * 4)) ** 0.5) // 8 * 8  # input + 3 copies, float32
    inputs = keras.Input((8, 8, 1))
    up = keras.layers.UpSampling2D(size=side // 8)(inputs)
    model = keras.Model(inputs, keras.layers.Concatenate()([up, up, up]))
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return path


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> dict[str, Path]:
    """``a``, ``b``: tiny and different; ``oversized``: needs twice ``OOM_MEMORY_MB`` to run."""
    out = tmp_path_factory.mktemp("device-models")
    return {"a": tiny_tflite(out / "a.tflite", width=16, seed=1),
            "b": tiny_tflite(out / "b.tflite", width=24, seed=2),
            "oversized": oversized_tflite(out / "oversized.tflite", megabytes=2 * OOM_MEMORY_MB)}
