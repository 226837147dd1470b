"""``edgekit optimize``: run optimize stages on a Keras model, fine-tune it, optionally convert it.

The flags of the stages come from the stage registry (``cli/stage_options.py``); this
command parses them, hands them to :func:`edgekit.optimize.tflite_output.optimize_and_convert` (which
also converts the result with ``--tflite``) and prints.
"""

from __future__ import annotations

import click

from edgekit.cli.budget_options import attempt_lines, budget, budget_options
from edgekit.cli.finetune_options import finetune_options
from edgekit.cli.model_options import user_code_options
from edgekit.cli.output import emit_json, info, json_option, warn
from edgekit.cli.renamed import Command
from edgekit.cli.stage_options import given_flags, stage_options
from edgekit.errors import UsageError
from edgekit.optimize.stages import renamed_flags, stage_names, stages, steps_from_flags
from edgekit.vocab import LOSSES, QUANTIZE_MODES

_SPEC = "a .npz (x, y) or .npy file, a directory of them, or of images in one sub-directory per class"
_ORDER = ", ".join(stage_names())
_HELP = f"""Compress MODEL (a Keras model) with the given stages, fine-tune it and save it as a plain .keras file.

Stages run in the order {_ORDER} (an edgekit.toml [[optimize]] list runs in the order written).
"""


@click.command(cls=Command, renamed=renamed_flags(), help=_HELP)
@click.argument("model", type=click.Path(dir_okay=True))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The optimized .keras file.")
@click.option("--train-data", required=True, metavar="SPEC",
              help=f"Labelled fine-tuning data: {_SPEC}; several outputs: y_<output name> arrays.")
@click.option("--val-data", metavar="SPEC", default=None, help="Labelled data for the metrics before/after.")
@finetune_options
@click.option("--loss", "losses", multiple=True, type=click.Choice(LOSSES, case_sensitive=False),
              help="Fine-tuning loss when MODEL was saved without one (once for all outputs, or once per output "
                   "in output order); default: the model's own compiled loss, else inferred from the labels.")
@budget_options
@stage_options()
@click.option("--tflite", type=click.Path(dir_okay=False), default=None, help="Also convert to this .tflite file.")
@click.option("--quantize", type=click.Choice(QUANTIZE_MODES, case_sensitive=False), default="int8", show_default=True,
              help="Quantization of the --tflite file.")
@click.option("--per-tensor", is_flag=True,
              help="Per-tensor int8 weight scales in the --tflite file (see `edgekit convert --per-tensor`).")
@click.option("--calibration", metavar="SPEC", default=None,
              help="Representative inputs for --quantize int8/int16x8 and QAT (default: the training data).")
@user_code_options
@json_option
def optimize(model, output, train_data, val_data, epochs, batch_size, learning_rate, seed, losses, max_drop, max_epochs,
             tflite, quantize, per_tensor, calibration, as_json, **stage_flags):
    from edgekit.extras import require_tensorflow

    require_tensorflow("edgekit optimize")
    steps = steps_from_flags(given_flags(stage_flags))  # checks every value before TensorFlow is imported
    limits = budget(max_drop, max_epochs)
    if not steps:
        raise UsageError(f"nothing to do: give at least one stage's flags (stages, in the order they run: {_ORDER}; "
                         f"e.g. {', '.join(_enabling_examples())})")
    from edgekit.optimize.engine import Recipe
    from edgekit.optimize.finetune import Finetune

    recipe = Recipe(steps, Finetune(epochs, batch_size, learning_rate, losses, seed))
    from edgekit.optimize.tflite_output import TfliteOutput, optimize_and_convert

    summary = optimize_and_convert(model, output, recipe, tflite=TfliteOutput(tflite, quantize, per_tensor),
                                   train=train_data, val=val_data, calibration=calibration, budget=limits,
                                   progress=info)
    warn(summary["warning"])
    if as_json:
        emit_json(summary)
    else:
        click.echo(render(summary))


def _enabling_examples() -> list[str]:
    """One enabling flag per stage, with its value's name: ``--prune SPARSITY``."""
    examples = []
    for stage in stages():
        flag = stage.enabling_flags()[0]
        metavar = stage.flags()[flag].metavar
        examples.append(f"{flag} {metavar}" if metavar else flag)
    return examples


def render(summary: dict) -> str:
    """The human-readable summary: one row per compressed layer, then totals and the task's metrics."""
    lines = [f"{'layer':<28} {'type':<16} {'params':>9} {'sparsity':>9} {'unique':>7}"]
    for row in summary["layers"]:
        lines.append(f"{row['layer']:<28} {row['type']:<16} {row['params']:>9,} {row['sparsity']:>9.1%} "
                     f"{row['unique_values']:>7,}")
    params = summary["params"]
    lines.append(f"parameters: {params['total']:,} total, {params['nonzero']:,} non-zero "
                 f"({1 - params['nonzero'] / max(params['total'], 1):.1%} zeros)")
    if summary["metrics_before"] is not None:
        lines += _metric_lines(summary["metrics_before"], summary["metrics_after"])
    lines += attempt_lines(summary)
    lines.append(f"wrote {summary['output']} in {summary['seconds']:.1f} s")
    if "tflite" in summary:
        t = summary["tflite"]
        within = f"; from the source: {t['budget_drop']['line']}" if "budget_drop" in t else ""
        lines.append(f"wrote {t['output']}: {t['size_bytes']:,} bytes, quantize {t['quantize']}{within}")
    lines.append(summary["drop"]["line"])
    return "\n".join(lines)


def _metric_lines(before: dict, after: dict, prefix: str = "") -> list[str]:
    """``accuracy: 0.98 before, 0.97 after`` per metric; one block per output of a multi-output model."""
    if "outputs" in before:
        return [line for name in before["outputs"]
                for line in _metric_lines(before["outputs"][name], after["outputs"][name], f"{name} ")]
    return [f"{prefix}{key}: {before[key]:.4f} before, {after[key]:.4f} after"
            for key in before if key not in ("task", "correct")]
