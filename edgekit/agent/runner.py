"""Run the benchmark agent locally in a subprocess and turn its output into a result dict.

The agent runs in its own process so that a model that crashes or hangs the TFLite
runtime cannot take the CLI down with it. :func:`parse_agent_output` is shared with the
SSH deploy code, which runs the same agent on a device.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from edgekit.agent.edgekit_agent import DEFAULT_RUNTIMES
from edgekit.errors import AgentError, UsageError
from edgekit.inspect.reader import check_tflite_file

AGENT_PATH: Path = Path(__file__).resolve().parent / "edgekit_agent.py"

# The agent stops its timed runs after this share of the caller's time limit, so a slow
# model still returns a (shorter) result before the subprocess is killed.
_SOFT_LIMIT_SHARE = 0.6


def bench_args(model_path: str, *, threads: int, runs: int, warmup: int,
               runtimes: Sequence[str] | None, delegate: str | None, max_seconds: float | None,
               op_profile: bool = False) -> list[str]:
    """The agent's ``bench`` command line (also what the deploy code runs on a device).

    ``op_profile``: each operator is timed alone too (the result's ``op_profile``)."""
    return ["bench", model_path, "--threads", str(threads), "--runs", str(runs), "--warmup", str(warmup),
            *_runtime_args(runtimes, delegate, max_seconds), *(["--op-profile"] if op_profile else [])]


def run_args(model_path: str, inputs: str, save: str, *, threads: int, runtimes: Sequence[str] | None,
             delegate: str | None, max_seconds: float | None) -> list[str]:
    """The agent's ``run`` command line: the model's outputs on the inputs file, saved to ``save``."""
    return ["run", model_path, "--inputs", inputs, "--save", save, "--threads", str(threads),
            *_runtime_args(runtimes, delegate, max_seconds)]


def _runtime_args(runtimes: Sequence[str] | None, delegate: str | None, max_seconds: float | None) -> list[str]:
    """The flags ``bench`` and ``run`` share: which runtime and delegate, and the time limit."""
    args = []
    if runtimes:
        args += ["--runtime", ",".join(runtimes)]
    if delegate:
        args += ["--delegate", delegate]
    if max_seconds is not None:
        args += ["--max-seconds", f"{max_seconds:g}"]
    return args


def run_local(model_path: str | Path, *, threads: int = 1, runs: int = 50, warmup: int = 5,
              runtimes: Sequence[str] | None = None, delegate: str | None = None,
              timeout: float = 600, op_profile: bool = False) -> dict:
    """Benchmark ``model_path`` with the agent under this Python; AgentError on any failure."""
    path = check_tflite_file(model_path)
    unknown = [name for name in runtimes or () if name not in DEFAULT_RUNTIMES]
    if unknown:
        raise UsageError(f"--runtime {','.join(unknown)}: unknown TFLite runtime; choose from "
                         f"{', '.join(DEFAULT_RUNTIMES)}")
    args = bench_args(str(path.resolve()), threads=threads, runs=runs, warmup=warmup, runtimes=runtimes,
                      delegate=delegate, max_seconds=timeout * _SOFT_LIMIT_SHARE, op_profile=op_profile)
    try:
        proc = subprocess.run([sys.executable, str(AGENT_PATH), *args], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AgentError(f"local: benchmarking {path} did not finish within {timeout:g}s; "
                         "use fewer --runs or a larger time limit") from None
    return parse_agent_output(proc.stdout, proc.returncode, proc.stderr, where="local")


def parse_agent_output(stdout: str, returncode: int, stderr: str, where: str) -> dict:
    """The agent's result dict, or AgentError naming ``where`` (``local`` or a host).

    ``returncode`` < 0 is a death by signal (subprocess convention); 128+N is how a
    remote shell reports the same.
    """
    signum = -returncode if returncode < 0 else (returncode - 128 if returncode > 128 else None)
    if signum == signal.SIGKILL:
        raise AgentError(f"{where}: the benchmark agent was killed with signal 9 (SIGKILL): most often the "
                         f"device ran out of memory (the kernel's OOM killer) -- try a smaller model or free "
                         f"memory on the device{_stderr_tail(stderr)}")
    if signum:
        raise AgentError(f"{where}: the model crashed the TFLite runtime with signal {signum} "
                         f"({_signal_name(signum)}){_stderr_tail(stderr)}")
    lines = [line for line in stdout.splitlines() if line.strip()]
    try:
        result = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        result = None
    if not isinstance(result, dict) or "ok" not in result:
        raise AgentError(f"{where}: the benchmark agent exited with code {returncode} without a result"
                         f"{_stderr_tail(stderr)}")
    if not result["ok"]:
        error = result.get("error") or {}
        raise AgentError(f"{where}: {error.get('kind', 'error')}: {error.get('message', 'no message')}")
    if returncode != 0:
        raise AgentError(f"{where}: the benchmark agent reported success but exited with code {returncode}")
    return result


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return "unknown signal"


def _stderr_tail(stderr: str, lines: int = 3) -> str:
    tail = " | ".join(line.strip() for line in stderr.strip().splitlines()[-lines:] if line.strip())
    return f"; stderr: {tail}" if tail else ""
