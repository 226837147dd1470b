"""``edgekit distill``: train a small student from a teacher model (knowledge distillation)."""

from __future__ import annotations

import click

from edgekit.cli.budget_options import budget, budget_options
from edgekit.cli.model_options import user_code_options
from edgekit.cli.output import emit_json, json_option
from edgekit.errors import UsageError
from edgekit.vocab import LOSSES


@click.command()
@click.argument("teacher", type=click.Path(dir_okay=True))
@click.option("--student", type=click.Path(dir_okay=False), default=None,
              help="The student: a .keras file with the teacher's inputs and output shapes.")
@click.option("--width-multiplier", type=float, default=None, metavar="W",
              help="The student: the teacher with every layer's filters/units x W (0 < W <= 1), "
                   "started from the teacher's strongest channels.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The student .keras file.")
@click.option("--train-data", required=True, metavar="SPEC",
              help="Training data (.npz with x and y, .npy, a directory); without labels, give --alpha 1.")
@click.option("--val-data", metavar="SPEC", default=None, help="Labelled data for accuracy before/after.")
@click.option("--epochs", type=int, required=True, help="Training epochs of the student.")
@click.option("--alpha", type=float, default=0.5, show_default=True,
              help="The teacher's share of the loss: (1 - A) * loss(labels) + A * T^2 * KL(teacher || student).")
@click.option("--temperature", type=float, default=4.0, show_default=True, help="Softmax temperature T (> 0).")
@click.option("--batch-size", type=int, default=32, show_default=True)
@click.option("--learning-rate", type=float, default=1e-3, show_default=True, help="Adam's learning rate.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--loss", "losses", multiple=True, type=click.Choice(LOSSES),
              help="The labels' loss when TEACHER was saved without one (default: inferred from the labels).")
@budget_options
@user_code_options
@json_option
def distill(teacher, student, width_multiplier, output, train_data, val_data, epochs, alpha, temperature, batch_size,
            learning_rate, seed, losses, max_drop, max_epochs, as_json):
    """Train a student from TEACHER (a Keras model) and save it as OUTPUT (.keras)."""
    from edgekit.optimize.distill.config import DistillConfig

    if (student is None) == (width_multiplier is None):
        raise UsageError("give the student: --student S.keras or --width-multiplier W (one of them)")
    config = DistillConfig(student=student, width_multiplier=width_multiplier, alpha=alpha, temperature=temperature)
    limits = budget(max_drop, max_epochs)
    from edgekit.cli.optimize import render
    from edgekit.cli.output import info
    from edgekit.optimize.distill.file import distill_file
    from edgekit.optimize.trainer import Finetune

    finetune = Finetune(epochs, batch_size, learning_rate, losses, seed)
    summary = distill_file(teacher, output, config, finetune, train=train_data, val=val_data, budget=limits,
                           progress=info)
    if as_json:
        emit_json(summary)
    else:
        click.echo(render(summary))
