"""``edgekit history`` and ``edgekit compare``: the recorded benchmark runs."""

from __future__ import annotations

import click

from edgekit.cli.output import emit_json, info, json_option


@click.command()
@click.option("--target", help="Only runs on this target (e.g. local, rpi4).")
@click.option("--host", help="Only runs on this host.")
@click.option("--model", help="Only runs of this model: file name or sha256 prefix.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Newest N runs.")
@click.option("--all", "trials", is_flag=True, help="Include the runs of tune trials (left out by default).")
@json_option
def history(target: str | None, host: str | None, model: str | None, limit: int, trials: bool,
            as_json: bool) -> None:
    """List recorded benchmark runs, newest first; the runs of one build (one label) together."""
    from edgekit.hints import hint
    from edgekit.results import ResultStore, list_history
    from edgekit.results.report import render_history

    store = ResultStore()
    found = list_history(store, limit=limit, target=target, host=host, model=model, trials=trials)
    if as_json:
        emit_json(found.runs)
    elif found.runs:
        click.echo(render_history(found.runs))
    else:
        info(f"no recorded runs match in {store.path}; '{hint('bench')}' records one")
    if found.hidden:
        info(f"{found.hidden} trial run(s) not shown; --all lists them")


@click.command()
@click.argument("run_a", type=int, metavar="A")
@click.argument("run_b", type=int, metavar="B")
@json_option
def compare(run_a: int, run_b: int, as_json: bool) -> None:
    """Compare run B against run A (run ids from 'edgekit history'): latency, memory, size."""
    from edgekit.results import ResultStore
    from edgekit.results.report import compare_runs, render_compare

    store = ResultStore()
    a, b = store.get(run_a), store.get(run_b)
    metrics = compare_runs(a, b)
    if as_json:
        emit_json({"a": _without_result(a), "b": _without_result(b), "metrics": metrics})
    else:
        click.echo(render_compare(a, b, metrics))


def _without_result(run: dict) -> dict:
    return {key: value for key, value in run.items() if key != "result"}
