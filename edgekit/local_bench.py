"""Benchmark a ``.tflite`` file on this machine (the ``local`` target) and record the run: ``edgekit bench``."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence


def bench_local(model: str | Path, *, threads: int = 1, runs: int = 50, warmup: int = 5,
                runtimes: Sequence[str] | None = None, delegate: str | None = None, timeout: float = 600,
                op_profile: bool = False, store=None, progress: Callable[[str], None] = lambda message: None) -> tuple[int, dict]:
    """``(run id, result)``: the agent's benchmark of ``model`` under this Python, recorded in ``store``
    (default: the user's result store) so ``edgekit history`` lists it beside the devices' runs."""
    from edgekit.agent.runner import run_local
    from edgekit.inspect.reader import check_tflite_file
    from edgekit.results import LOCAL_HOST, ResultStore

    check_tflite_file(model)  # a file that is not a model: one line, before the progress line
    progress(f"benchmarking {model} ({threads} thread(s), {warmup} warmup + {runs} runs"
             + (", then each operator alone)" if op_profile else ")"))
    result = run_local(model, threads=threads, runs=runs, warmup=warmup, runtimes=runtimes, delegate=delegate,
                       timeout=timeout, op_profile=op_profile)
    run_id = (store if store is not None else ResultStore()).record(result, target="local", host=LOCAL_HOST)
    return run_id, result
