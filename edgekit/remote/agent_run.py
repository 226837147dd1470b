"""Run the benchmark agent on the device in its own process, under a time limit.

The shell on the device starts the agent in the background and reports its pid first,
so that on timeout edgekit kills exactly that process; ``wait`` then turns a death by
signal into exit code 128+N, which :func:`parse_agent_output` reports as a crash.
"""

from __future__ import annotations

import shlex

from edgekit.agent.runner import bench_args, parse_agent_output, run_args
from edgekit.errors import AgentError, Interrupted, InterruptedAfterSwitch, RemoteError
from edgekit.remote.connection import CommandTimeout, Connection
from edgekit.targets import Target

PID_MARKER = "edgekit-agent-pid "
# The agent stops its timed runs after this share of the time limit (see agent.runner).
SOFT_LIMIT_SHARE = 0.6


def run_bench(conn: Connection, python: str, agent: str, model: str, target: Target, *, threads: int,
              runs: int, warmup: int, timeout: float, active: bool = False) -> dict:
    """The agent's bench result dict; AgentError on failure, crash or timeout (agent killed).

    ``active``: the model is already current (its errors say so: the device still runs it).
    """
    args = bench_args(model, threads=threads, runs=runs, warmup=warmup, runtimes=list(target.runtimes),
                      delegate=target.delegate.library if target.delegate else None,
                      max_seconds=timeout * SOFT_LIMIT_SHARE)
    return _run_agent(conn, python, agent, args, timeout=timeout, active=active,
                      too_slow="use fewer --runs or a longer time limit")


def run_outputs(conn: Connection, python: str, agent: str, model: str, inputs: str, save: str, target: Target, *,
                timeout: float) -> dict:
    """The agent's ``run`` result (the model's outputs saved on the device to ``save``); AgentError on failure."""
    args = run_args(model, inputs, save, threads=1, runtimes=list(target.runtimes),
                    delegate=target.delegate.library if target.delegate else None, max_seconds=timeout * SOFT_LIMIT_SHARE)
    return _run_agent(conn, python, agent, args, timeout=timeout, active=False,
                      too_slow="use fewer samples (--eval-limit) or a longer --bench-timeout")


def _run_agent(conn: Connection, python: str, agent: str, args: list[str], *, timeout: float, active: bool,
               too_slow: str) -> dict:
    command = (" ".join(shlex.quote(a) for a in (python, agent, *args)) + " </dev/null & pid=$!; "
               f"echo '{PID_MARKER}'$pid >&2; wait $pid")
    pids: list[str] = []
    try:
        result = conn.run(command, timeout=timeout, on_stderr_line=pids.append, interruptible=True)
    except Interrupted:
        _kill(conn, pids)
        raise (InterruptedAfterSwitch if active else Interrupted)(
            f"{conn.name}: interrupted while the agent ran the model; the agent was killed; "
            + ("the new model is active" if active else "nothing was activated")) from None
    except CommandTimeout:
        _kill(conn, pids)
        raise AgentError(f"{conn.name}: the agent did not finish within {timeout:g}s (--bench-timeout); "
                         f"the agent was killed; {too_slow}"
                         + ("; the model is active (it loaded and ran once)" if active else
                            "; nothing was activated")) from None
    stderr = "\n".join(line for line in result.stderr.splitlines() if not line.startswith(PID_MARKER))
    try:
        return parse_agent_output(result.stdout, result.status, stderr, where=conn.name)
    except AgentError as err:
        raise AgentError(f"{err}; " + ("the model stays active (it loaded and ran once before)" if active else
                                       "nothing was activated: the previous model stays current")) from None


def _kill(conn: Connection, pid_lines: list[str]) -> None:
    """Kill the agent whose pid the device reported (nothing else)."""
    pid = pid_lines[0][len(PID_MARKER):].strip() if pid_lines else ""
    if pid.isdigit():
        try:
            conn.run(f"kill -KILL {pid} 2>/dev/null; true", timeout=conn.connect_timeout)
        except RemoteError:
            pass  # the connection itself is gone; sshd will reap the process with the session
