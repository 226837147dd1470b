"""Model outputs computed by the device's own runtime: inputs pushed, the agent's ``run``, outputs fetched.

The inputs travel as one ``.npz`` (float32 ``x0, x1, ...``) pushed like a model (temporary
name, sha256 checked on the device, renamed into ``scratch/``); the agent writes the raw
outputs next to them atomically; edgekit fetches them over SFTP and removes every scratch
file it made, also when the run fails (a killed deploy's leftovers go with the next one's
``push.prepare``).
"""

from __future__ import annotations

import io
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import paramiko

from edgekit.errors import RemoteError, TransferError
from edgekit.remote import agent_run, push
from edgekit.remote.agent_session import AgentSession
from edgekit.remote.connection import Connection
from edgekit.targets import Target


@dataclass
class DeviceOutputs:
    """One file's outputs on the device, in the file's output order (dequantized to float32)."""

    outputs: list[np.ndarray]
    top1: list[list[int] | None]     # per output: the class of each sample (rows of scores), else None
    result: dict                     # the agent's `run` JSON: runtime, delegation, timing_ms, ...


@dataclass(frozen=True)
class Session:
    """Where and how to run the agent on one device (the open deploy's connection and layout)."""

    conn: Connection
    python: str
    agent: AgentSession
    layout: push.Layout
    target: Target
    timeout: float


def push_inputs(session: Session, inputs: list[np.ndarray]) -> str:
    """The inputs as one verified ``.npz`` in the device's scratch dir; its remote path."""
    with tempfile.TemporaryDirectory(prefix="edgekit-inputs-") as tmp:
        local = Path(tmp, "inputs.npz")
        np.savez(local, **{f"x{i}": np.asarray(x, np.float32) for i, x in enumerate(inputs)})
        sha256 = push.sha256_file(local)
        remote = session.layout.scratch(f"inputs-{sha256[:16]}.npz")
        push.push_file(session.agent, local, sha256, remote)
    return remote


def run(session: Session, model: str, inputs: str) -> DeviceOutputs:
    """``model`` (a path on the device) run on the pushed ``inputs`` by the device's runtime."""
    save = session.layout.scratch(f"outputs-{secrets.token_hex(6)}.npz")
    try:
        result = agent_run.run_outputs(session.agent, model, inputs, save,
                                       session.target, timeout=session.timeout)
        raw = _fetch(session.conn, save, result["saved"]["sha256"])
    finally:
        remove(session, save)
    outputs = [_dequantize(raw[f"y{k}"], head["quantization"]) for k, head in enumerate(result["outputs"])]
    return DeviceOutputs(outputs, [head["top1"] for head in result["outputs"]], result)


def remove(session: Session, *paths: str) -> None:
    """Best effort: a file that is gone already, or a connection that broke, leaves it to the next deploy."""
    for path in paths:
        try:
            session.conn.sftp.remove(path)
        except (OSError, EOFError, paramiko.SSHException, RemoteError):
            pass


def _fetch(conn: Connection, path: str, sha256: str) -> dict[str, np.ndarray]:
    buffer = io.BytesIO()
    try:
        conn.sftp.getfo(path, buffer)
    except (OSError, EOFError, paramiko.SSHException) as exc:
        raise TransferError(f"{conn.name}: cannot fetch the outputs {path}: {exc}; nothing was activated") from None
    import hashlib

    if hashlib.sha256(buffer.getvalue()).hexdigest() != sha256:
        raise TransferError(f"{conn.name}: the outputs {path} changed on the way; nothing was activated; deploy again")
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def _dequantize(values: np.ndarray, quantization: list) -> np.ndarray:
    scale, zero = quantization
    if values.dtype.kind in "iu" and scale:
        return ((values.astype(np.float32) - zero) * scale).astype(np.float32)
    return values.astype(np.float32)
