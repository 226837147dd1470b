"""``edgekit eval``: how well a model does on labelled data (accuracy, binary accuracy or MSE/MAE per output)."""

from __future__ import annotations

import click

from edgekit.cli.dataopts import SPEC_HELP, preprocess_from, preprocess_options
from edgekit.cli.model_options import user_code_options
from edgekit.cli.output import emit_json, info, json_option
from edgekit.vocab import LOSSES


@click.command("eval")
@click.argument("model", type=click.Path(dir_okay=True))
@click.option("--data", "data", required=True, metavar="SPEC", help=f"Labelled data: {SPEC_HELP}.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Use at most this many samples (fixed-seed choice).")
@click.option("--loss", type=click.Choice(LOSSES, case_sensitive=False), default=None,
              help="The loss the model is trained with (decides the metric of every output), for files that "
                   "do not say: .tflite files and uncompiled Keras models. Default: the compiled loss, else "
                   "guessed from the labels.")
@user_code_options
@preprocess_options
@json_option
def eval_cmd(model, data, limit, loss, scale, mean, std, as_json):
    """Score MODEL (.tflite, .keras, .h5 or a SavedModel directory) on SPEC: top-1 accuracy for
    classifiers, binary accuracy for multi-label outputs, MSE and MAE for regression."""
    from edgekit.evaluate import evaluate_model
    from edgekit.extras import require_tensorflow

    if not str(model).lower().endswith(".tflite"):
        require_tensorflow("edgekit eval of a Keras model")
    preprocess = preprocess_from(scale, mean, std)
    info(f"evaluating {model} on {data} ...")
    result = evaluate_model(model, data, preprocess=preprocess, limit=limit, loss=loss)
    if as_json:
        emit_json(result.to_dict())
        return
    heads = result.metrics.get("outputs")
    if heads is None:
        click.echo(f"{result.model}: {_describe(result.metrics, result.samples)} on {result.data}")
        return
    click.echo(f"{result.model} on {result.data}:")
    for name, head in heads.items():
        click.echo(f"  {name}: {_describe(head, result.samples)}")


def _describe(head: dict, samples: int) -> str:
    """``top-1 accuracy 98.61% (354/359)``, ``binary accuracy 93.20%`` or ``mse 0.0123, mae 0.0871``."""
    if head["task"] == "classification":
        return f"top-1 accuracy {100 * head['accuracy']:.2f}% ({head['correct']}/{samples})"
    if head["task"] == "multilabel":
        return f"binary accuracy {100 * head['binary_accuracy']:.2f}%"
    return f"mse {head['mse']:.4g}, mae {head['mae']:.4g}"
