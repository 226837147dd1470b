"""Pre-flight checks on the device, each failing with what to do about it.

Order matters: python and arch are checked before anything is written or uploaded (by the
deploy's start, :mod:`edgekit.remote.device_start`, which reports them with the errors
below); the runtime and free disk are asked of the agent's ``probe`` (so the answer is what
the benchmark itself will find).
"""

from __future__ import annotations

import json

from edgekit.errors import PreflightError
from edgekit.remote.agent_session import AgentSession
from edgekit.targets import Target

# pip package of each runtime name the agent knows.
PIP_PACKAGES = {"tflite_runtime": "tflite-runtime", "ai_edge_litert": "ai-edge-litert", "tensorflow.lite": "tensorflow"}
DISK_MARGIN_BYTES = 16 * 1024 * 1024


def python_missing(name: str, python: str) -> PreflightError:
    return PreflightError(f"{name}: Python '{python}' not found on the device; install Python 3 there "
                          "(e.g. 'sudo apt install python3') or pass --remote-python /path/to/python3")


def python_too_old(name: str, python: str, version: str) -> PreflightError:
    return PreflightError(f"{name}: '{python}' on the device is Python {version}, older than Python 3.7; "
                          "pass --remote-python pointing at a newer Python 3")


def wrong_arch(name: str, arch: str, target: Target) -> PreflightError:
    return PreflightError(f"{name}: the device is '{arch}' but target {target.name} expects "
                          f"'{target.expected_arch()}'; pick the matching --target (see 'edgekit targets list')")


def probe_runtime(agent: AgentSession, python: str, target: Target, remote_dir: str, needed_bytes: int) -> dict:
    """The agent's probe; PreflightError if no runtime imports or the disk is too full."""
    conn = agent.conn
    line, _, stderr = agent.exchange(["probe", "--dir", remote_dir, "--runtime", ",".join(target.runtimes)],
                                     timeout=conn.options.command_timeout, flag="--command-timeout",
                                     too_slow="is the device overloaded?")
    probe = _json(line)
    if probe is None or not probe.get("ok"):
        raise PreflightError(_probe_failure(conn.name, python, target, stderr, probe))
    if probe.get("runtime") is None:
        tried = "; ".join(f"{t['name']}: {t['error']}" for t in probe.get("runtimes_tried", []))
        raise PreflightError(f"{conn.name}: no TFLite runtime importable by {python} (tried {tried}); "
                             f"on the device run: {_pip_advice(python, target)}")
    free = int(probe.get("free_disk_bytes", 0))
    if free < needed_bytes + DISK_MARGIN_BYTES:
        raise PreflightError(f"{conn.name}: only {free / 1e6:.1f} MB free in {probe.get('disk_path', remote_dir)}, "
                             f"need {(needed_bytes + DISK_MARGIN_BYTES) / 1e6:.1f} MB; free some space or pass "
                             "--remote-dir on a larger filesystem")
    return probe


def _pip_advice(python: str, target: Target) -> str:
    packages = " or ".join(f"'{python} -m pip install {PIP_PACKAGES[name]}'" for name in target.runtimes[:2])
    return packages + (f" (and install {target.delegate.library} for the delegate)" if target.delegate else "")


def _probe_failure(host: str, python: str, target: Target, stderr: str, probe: dict | None) -> str:
    if "No module named 'numpy'" in stderr:
        return (f"{host}: numpy is not installed for {python} on the device; on the device run: "
                f"'{python} -m pip install numpy' then {_pip_advice(python, target)}")
    if probe is not None:
        error = probe.get("error", {})
        return f"{host}: the agent's probe failed: {error.get('kind')}: {error.get('message')}"
    tail = stderr.strip().splitlines()[-1] if stderr.strip() else "no output"
    return f"{host}: the agent's probe failed under {python}: {tail}"


def _json(stdout: str) -> dict | None:
    lines = [line for line in stdout.splitlines() if line.strip()]
    try:
        value = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
