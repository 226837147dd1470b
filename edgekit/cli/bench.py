"""``edgekit bench``: benchmark a .tflite model on this machine (the ``local`` target)."""

from __future__ import annotations

import click

from edgekit.cli.output import emit_json, info, json_option


@click.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, help="Interpreter threads.")
@click.option("--runs", type=click.IntRange(min=1), default=50, show_default=True, help="Timed inferences.")
@click.option("--warmup", type=click.IntRange(min=0), default=5, show_default=True,
              help="Untimed inferences after the first one.")
@click.option("--runtime", "runtime", metavar="NAME[,NAME...]",
              help="TFLite runtimes to try, in order (tflite_runtime, ai_edge_litert, tensorflow.lite).")
@click.option("--delegate", metavar="LIB", help="Delegate library to load, e.g. libedgetpu.so.1 (as on a device).")
@click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default=True,
              help="Seconds before the benchmark is stopped.")
@click.option("--op-profile", is_flag=True,
              help="Also time each operator alone (like benchmark_model's --enable_op_profiling): its median, "
                   "its share of the operators' sum, a summary by op type.")
@json_option
def bench(model: str, threads: int, runs: int, warmup: int, runtime: str | None, delegate: str | None, timeout: float,
          op_profile: bool, as_json: bool) -> None:
    """Benchmark MODEL (.tflite) locally the way TFLite's benchmark_model does; records the run."""
    from edgekit.local_bench import bench_local

    runtimes = [name.strip() for name in runtime.split(",")] if runtime else None
    run_id, result = bench_local(model, threads=threads, runs=runs, warmup=warmup, runtimes=runtimes,
                                 delegate=delegate, timeout=timeout, op_profile=op_profile, progress=info)
    if as_json:
        emit_json({"run_id": run_id, "target": "local", **result})
    else:
        from edgekit.results.report import render_bench

        # The model as the user named it: the agent's absolute path says where this machine keeps it.
        click.echo(render_bench({**result, "model": {**result["model"], "path": model}}))
        if "op_profile" in result:
            from edgekit.results.op_profile import render_op_profile

            click.echo(render_op_profile(result["op_profile"]))
        info(f"recorded as run {run_id} (see 'edgekit history')")
