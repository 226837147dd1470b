"""``edgekit tune``: search the compression recipes for the smallest model that meets the budgets."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from edgekit.cli.finetune_options import seed_option
from edgekit.cli.output import emit_json, info, json_option, warn
from edgekit.optimize.finetune import FINETUNE
from edgekit.vocab import SIZE_OBJECTIVES, TUNE_PRUNERS, TUNE_SAMPLERS


@click.command("tune")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", default="tune", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output directory: tune.db (the study), tune.json, report.html, the chosen model and its "
                   "edgekit.toml, trials/.")
@click.option("--trials", type=int, default=None, metavar="N", help="Trials to run ([tune] trials, default 40).")
@click.option("--workers", type=int, default=None, metavar="N", help="Local worker processes ([tune] workers, default 1).")
@click.option("--ray", "ray_address", default=None, metavar="ADDRESS",
              help="Run trials as tasks on the Ray cluster at ADDRESS instead of local workers.")
@click.option("--resume", is_flag=True, help="Continue the study in --out (cut-off trials are run again).")
@seed_option(None, help="The sampler's seed (default: [train] seed).")
@click.option("--sampler", type=click.Choice(TUNE_SAMPLERS, case_sensitive=False), default=None,
              help="Optuna sampler: nsga2 (default) or tpe.")
@click.option("--size", type=click.Choice(SIZE_OBJECTIVES, case_sensitive=False), default=None,
              help="Minimise the gzip size (default) or the raw .tflite size.")
@click.option("--space", multiple=True, metavar="NAME=VALUE",
              help="Fix or narrow a parameter (repeatable): prune.sparsity=0.8, 'prune.sparsity=[0.5, 0.9]', "
                   "ternary=false.")
@click.option("--trial-timeout", type=float, default=None, metavar="S", help="A trial running longer fails.")
@click.option("--timeout", type=float, default=None, metavar="S",
              help="Start no trial after S seconds; running trials end, the outputs are written ([tune] timeout).")
@click.option("--pruner", type=click.Choice(TUNE_PRUNERS, case_sensitive=False), default=None,
              help="How trials are cut by their per-epoch validation accuracy ([tune] pruner, default halving).")
@click.option("--latency/--no-latency", default=None,
              help="Minimise p50 latency too ([tune] latency; always on with a latency budget).")
@click.option("--no-seed-recipes", is_flag=True, help="Do not start from the known-good recipes.")
@click.option("--train-data", default=None, metavar="SPEC", help="Keras MODEL form: training data.")
@click.option("--val-data", default=None, metavar="SPEC", help="MODEL form: validation data (accuracy).")
@click.option("--calibration", default=None, metavar="SPEC",
              help="MODEL form: int8 calibration (a Keras model's default: train; a .tflite needs it).")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help=f"MODEL form: fine-tuning epochs per stage (default {FINETUNE.epochs}, as [finetune]; hopeless "
                   "trials are cut early).")
@click.option("--target", default="local", show_default=True, help="MODEL form: target profile.")
@click.option("--device", default=None, metavar="HOST", help="MODEL form: measure latency on this device over SSH.")
@click.option("--min-accuracy", type=float, default=None, metavar="A", help="Budget: accuracy at least A (0..1).")
@click.option("--max-accuracy-drop", type=float, default=None, metavar="D", help="Budget: at most D below float.")
@click.option("--max-size-kb", type=float, default=None, metavar="S", help="Budget: .tflite at most S KB.")
@click.option("--max-gzip-kb", type=float, default=None, metavar="S", help="Budget: gzipped at most S KB.")
@click.option("--max-latency-ms", type=float, default=None, metavar="L", help="Budget: p50 latency at most L ms.")
@json_option
def tune(source: Path, out_dir: Path, trials, workers, ray_address, resume, seed, sampler, size, space,
         trial_timeout, timeout, pruner, latency, no_seed_recipes, train_data, val_data, calibration, epochs, target, device,
         min_accuracy, max_accuracy_drop, max_size_kb, max_gzip_kb, max_latency_ms, as_json: bool) -> None:
    """Find the smallest model meeting the budgets: SOURCE is an edgekit.toml, a Keras model with --train-data,
    or a float .tflite with --val-data and --calibration (AI Edge Quantizer's post-training options)."""
    from edgekit.tune.api import Overrides
    from edgekit.tune.source import SourceData, tune_source

    given = Overrides(trials=trials, workers=workers, ray=ray_address, sampler=sampler and sampler.lower(),
                      size=size and size.lower(), seed=seed, trial_timeout=trial_timeout, timeout=timeout,
                      pruner=pruner and pruner.lower(), latency=latency,
                      seed_recipes=False if no_seed_recipes else None, space=tuple(space), resume=resume,
                      budgets={"min_accuracy": min_accuracy, "max_accuracy_drop": max_accuracy_drop,
                               "max_size_kb": max_size_kb, "max_gzip_kb": max_gzip_kb,
                               "max_latency_ms": max_latency_ms})
    data = SourceData(train=train_data, val=val_data, calibration=calibration, epochs=epochs, target=target,
                      device=device)
    with contextlib.redirect_stdout(sys.stderr):
        document = tune_source(source, out_dir, given, info, data)
    chosen = next((t for t in document["trials"] if t["number"] == document["chosen"]), None)
    built = document.get("build") or {}
    if chosen is None:
        near = next((t for t in document["trials"] if t["number"] == document["closest"]), None)
        info("no trial met every budget" + (f"; closest: trial {near['number']}, {near['recipe']}: {near['outcome']}"
                                           if near else "") + f"; see {out_dir / 'report.html'}")
    elif built.get("error") is None:
        keras = f"{out_dir / 'model.keras'}, " if built.get("keras") else ""   # a .tflite source has none
        info(f"chose trial {chosen['number']}: {chosen['recipe']}; wrote {out_dir / 'model.tflite'} "
             f"(accuracy {built['accuracy']:.2%}, {built['gzip_bytes'] / 1024:.1f} KB gzip), "
             f"{keras}{out_dir / 'edgekit.toml'} (edgekit build rebuilds it), "
             f"{out_dir / 'report.html'}; Pareto set: trials {', '.join(map(str, document['pareto']))}")
        if not built["feasible"]:
            info("note: built again with TensorFlow's default threads, the chosen recipe misses a budget: "
                 + "; ".join(v["line"] for v in built["verdicts"] if not v["ok"] and not v["off_target"]))
        if document.get("drop"):
            warn(document["warning"])
            info(f"chosen model: {document['drop']['line']} (float32 → trial {chosen['number']})")
    if as_json:
        emit_json(document)
    from edgekit.errors import EdgekitError, NoModelMeetsBudgets

    if chosen is None:
        raise NoModelMeetsBudgets(f"no trial of {document['trials_done']} met every budget; relax [budgets] "
                                  "or run more --trials")
    if built.get("error") is not None:
        raise EdgekitError(f"the chosen recipe (trial {chosen['number']}) did not build again: {built['error']}; "
                           f"see {out_dir / 'build' / 'build.log'}")
