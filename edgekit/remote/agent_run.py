"""The agent's commands a deploy asks of a device: benchmark a model, run it on given inputs.

They go to the deploy's :class:`~edgekit.remote.agent_session.AgentSession` (one agent
process per deploy), each under a time limit after which the agent is killed.
"""

from __future__ import annotations

from edgekit.agent.runner import bench_args, run_args
from edgekit.remote.agent_session import AgentSession
from edgekit.targets import Target

# The agent stops its timed runs after this share of the time limit (see agent.runner).
SOFT_LIMIT_SHARE = 0.6


def run_bench(agent: AgentSession, model: str, target: Target, *, threads: int, runs: int, warmup: int,
              timeout: float, active: bool = False, op_profile: bool = False) -> dict:
    """The agent's bench result dict; AgentError on failure, crash or timeout (agent killed).

    ``active``: the model is already current (its errors say so: the device still runs it).
    ``op_profile``: each operator is timed alone too (the result's ``op_profile``).
    """
    args = bench_args(model, threads=threads, runs=runs, warmup=warmup, runtimes=list(target.runtimes),
                      delegate=target.delegate.library if target.delegate else None,
                      max_seconds=timeout * SOFT_LIMIT_SHARE, op_profile=op_profile)
    return agent.ask(args, timeout=timeout, active=active, too_slow="use fewer --runs or a longer time limit")


def run_outputs(agent: AgentSession, model: str, inputs: str, save: str, target: Target, *, timeout: float) -> dict:
    """The agent's ``run`` result (the model's outputs saved on the device to ``save``); AgentError on failure."""
    args = run_args(model, inputs, save, threads=1, runtimes=list(target.runtimes),
                    delegate=target.delegate.library if target.delegate else None, max_seconds=timeout * SOFT_LIMIT_SHARE)
    return agent.ask(args, timeout=timeout, too_slow="use fewer samples (--eval-limit) or a longer --bench-timeout")
