"""``edgekit demo``: the whole job on the shipped digits data, with no arguments (:func:`edgekit.demo.run_demo`)."""

from __future__ import annotations

from pathlib import Path

import click

from edgekit.cli.finetune_options import seed_option
from edgekit.cli.output import emit_json, info, json_option
from edgekit.demo.table import render_table
from edgekit.optimize.finetune import FINETUNE


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="edgekit-demo", show_default=True,
              help="Directory for the trained model, the .tflite files and report.json.")
@click.option("--epochs", type=click.IntRange(min=1), default=8, show_default=True,
              help="Training epochs of the CNN (from scratch, not a fine-tune).")
@seed_option(FINETUNE.seed)
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, help="Benchmark threads.")
@click.option("--runs", type=click.IntRange(min=1), default=200, show_default=True, help="Timed benchmark runs.")
@click.option("--warmup", type=click.IntRange(min=0), default=5, show_default=True, help="Benchmark warmup runs.")
@json_option
def demo(out_dir: str, epochs: int, seed: int, threads: int, runs: int, warmup: int, as_json: bool) -> None:
    """Train, convert (float32, int8), evaluate and benchmark a digits CNN; compare them."""
    from edgekit.demo import run_demo

    result = run_demo(out_dir, epochs=epochs, seed=seed, threads=threads, runs=runs, warmup=warmup, progress=info)
    if as_json:
        emit_json(result.to_dict())
        return
    click.echo(render_table(result.models))
    click.echo(f"\nartifacts in {result.out_dir}/: {result.keras_model.name}, "
               + ", ".join(Path(r["path"]).name for r in result.models) + ", report.json")
