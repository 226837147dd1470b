"""``edgekit eval``: top-1 accuracy of a model on labelled data."""

from __future__ import annotations

import click

from edgekit.cli.dataopts import SPEC_HELP, preprocess_from, preprocess_options
from edgekit.cli.output import emit_json, info, json_option


@click.command("eval")
@click.argument("model", type=click.Path(dir_okay=True))
@click.option("--data", "data", required=True, metavar="SPEC", help=f"Labelled data: {SPEC_HELP}.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Use at most this many samples (fixed-seed choice).")
@preprocess_options
@json_option
def eval_cmd(model, data, limit, scale, mean, std, as_json):
    """Top-1 accuracy of MODEL (.tflite, .keras, .h5 or a SavedModel directory) on SPEC."""
    from edgekit.evaluate import evaluate_model

    preprocess = preprocess_from(scale, mean, std)
    info(f"evaluating {model} on {data} ...")
    result = evaluate_model(model, data, preprocess=preprocess, limit=limit)
    if as_json:
        emit_json(result.to_dict())
        return
    click.echo(f"{result.model}: top-1 accuracy {100 * result.accuracy:.2f}% "
               f"({result.correct}/{result.samples}) on {result.data}")
