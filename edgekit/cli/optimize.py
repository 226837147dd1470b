"""``edgekit optimize``: prune and/or cluster a Keras model, fine-tune it, optionally convert it."""

from __future__ import annotations

import warnings
from pathlib import Path

import click

from edgekit.cli.output import emit_json, info, json_option
from edgekit.cli.qat_options import qat_filter_options, stage_configs
from edgekit.errors import UsageError

_SPEC = "a .npz (x, y) or .npy file, a directory of them, or of images in one sub-directory per class"
_QUANTIZE = ("none", "float16", "dynamic", "int8", "int16x8")  # edgekit.convert.QUANTIZE_MODES


def _structured(ctx, param, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        n, m = (int(part) for part in value.split(":"))
    except ValueError:
        raise click.BadParameter(f"expected N:M such as 2:4, got {value!r}") from None
    return n, m


@click.command()
@click.argument("model", type=click.Path(dir_okay=True))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The optimized .keras file.")
@click.option("--train-data", required=True, metavar="SPEC", help=f"Labelled fine-tuning data: {_SPEC}.")
@click.option("--val-data", metavar="SPEC", default=None, help="Labelled data for accuracy before/after.")
@click.option("--epochs", type=int, default=10, show_default=True, help="Fine-tuning epochs per stage.")
@click.option("--batch-size", type=int, default=32, show_default=True)
@click.option("--learning-rate", type=float, default=1e-4, show_default=True, help="Adam's learning rate.")
@click.option("--prune", "sparsity", type=float, default=None, metavar="SPARSITY",
              help="Magnitude-prune kernels to this fraction of zeros, in [0, 1).")
@click.option("--prune-schedule", type=click.Choice(["polynomial", "constant"]), default=None,
              help="polynomial: sparsity ramps up from 0 (default); constant: from the first step.")
@click.option("--prune-block", "block_size", type=int, default=None, metavar="K",
              help="Prune whole runs of K consecutive input channels (TFLite's innermost axis) instead of single "
                   "weights: zero runs compress better, at some accuracy cost (needs --prune).")
@click.option("--prune-run-cost", "run_cost", type=float, default=None, metavar="C",
              help="Prefer long runs of zeros, which gzip codes in a few bits: each switch between kept and pruned "
                   "weights along a kernel row costs C pruning thresholds (0.3 is a good start; needs --prune).")
@click.option("--structured", callback=_structured, metavar="N:M", default=None,
              help="Structured N:M pruning along input channels instead of --prune, e.g. 2:4.")
@click.option("--cluster", "clusters", type=int, default=None, metavar="N",
              help="Cluster kernels to N shared values (N >= 2).")
@click.option("--cluster-init", type=click.Choice(["kmeans++", "linear", "density"]), default=None,
              help="Initial centroids (default kmeans++).")
@click.option("--preserve-sparsity", is_flag=True, help="Clustering keeps zeros at zero (after pruning).")
@click.option("--cluster-entropy", "entropy_cost", type=float, default=None, metavar="W",
              help="Entropy-constrained clustering: weights near a border join the more frequent cluster, so the "
                   "values gzip smaller (0.25 is a good start; needs --cluster).")
@qat_filter_options
@click.option("--tflite", type=click.Path(dir_okay=False), default=None, help="Also convert to this .tflite file.")
@click.option("--quantize", type=click.Choice(_QUANTIZE), default="int8", show_default=True,
              help="Quantization of the --tflite file.")
@click.option("--per-tensor", is_flag=True,
              help="Per-tensor int8 weight scales in the --tflite file (see `edgekit convert --per-tensor`).")
@click.option("--calibration", metavar="SPEC", default=None,
              help="Representative inputs for --quantize int8/int16x8 (default: the training data).")
@json_option
def optimize(model, output, train_data, val_data, epochs, batch_size, learning_rate, sparsity, prune_schedule,
             block_size, run_cost, structured, clusters, cluster_init, preserve_sparsity, entropy_cost, prune_filters,
             prune_filters_layer, filter_criterion, qat, tflite, quantize, per_tensor, calibration, as_json):
    """Prune and/or cluster MODEL (a Keras model), fine-tune it and save it as a plain .keras file."""
    filters, qat_config = stage_configs(prune_filters, prune_filters_layer, filter_criterion, qat)
    config = _config(sparsity, prune_schedule, structured, clusters, cluster_init, preserve_sparsity,
                     epochs, batch_size, learning_rate, filters, qat_config, block_size=block_size,
                     run_cost=run_cost, entropy_cost=entropy_cost)
    if Path(output).suffix != ".keras":
        raise UsageError(f"-o {output}: the optimized model is saved as Keras 3; give a path ending in .keras")
    if per_tensor and not tflite:
        raise UsageError("--per-tensor applies to the --tflite file; add --tflite OUT.tflite")
    if tflite:
        from edgekit.convert import check_options

        check_options(quantize, "float32", True, per_tensor)
    summary = _optimize(model, output, train_data, val_data, config, calibration or train_data)
    if tflite:
        summary["tflite"] = _convert(output, tflite, quantize, calibration or train_data, per_tensor)
    if as_json:
        emit_json(summary)
    else:
        click.echo(render(summary))


def _config(sparsity, schedule, structured, clusters, init, preserve_sparsity, epochs, batch_size, learning_rate,
            filters=None, qat=None, *, block_size=None, run_cost=None, entropy_cost=None):
    from edgekit.optimize.recipe import ClusterConfig, OptimizeConfig, PruneConfig

    if sparsity is not None and structured is not None:
        raise UsageError("--prune and --structured exclude each other: N:M fixes the sparsity at 1 - N/M")
    if schedule and sparsity is None:
        raise UsageError("--prune-schedule needs --prune SPARSITY")
    if block_size is not None and sparsity is None:
        raise UsageError("--prune-block needs --prune SPARSITY (N:M has its own fixed groups)")
    if run_cost is not None and sparsity is None:
        raise UsageError("--prune-run-cost needs --prune SPARSITY (N:M has its own fixed groups)")
    needs_clusters = [flag for flag, given in (("--cluster-init", init), ("--preserve-sparsity", preserve_sparsity),
                                               ("--cluster-entropy", entropy_cost is not None)) if given]
    if clusters is None and needs_clusters:
        raise UsageError(f"{needs_clusters[0]} needs --cluster N")
    if sparsity is None and structured is None and clusters is None and filters is None and qat is None:
        raise UsageError("nothing to do: give --prune SPARSITY, --structured N:M, --cluster N, "
                         "--prune-filters RATIO and/or --qat")
    prune = None
    if sparsity is not None or structured is not None:
        prune = PruneConfig(sparsity=sparsity if sparsity is not None else 0.5, schedule=schedule or "polynomial",
                            structured=structured, block_size=1 if block_size is None else block_size,
                            run_cost=run_cost or 0.0)
    cluster = ClusterConfig(clusters=clusters, init=init or "kmeans++", preserve_sparsity=preserve_sparsity,
                            entropy_cost=entropy_cost or 0.0) if clusters is not None else None
    return OptimizeConfig(prune=prune, cluster=cluster, filters=filters, qat=qat, epochs=epochs,
                          batch_size=batch_size, learning_rate=learning_rate)


def _optimize(model_path, output, train_spec, val_spec, config, calibration_spec) -> dict:
    from edgekit.convert import input_signature, load_keras_model
    from edgekit.convert.file import DEFAULT_CALIBRATION_SAMPLES
    from edgekit.data import load_dataset
    from edgekit.fileio import atomic_path
    from edgekit.optimize.layers import SkippedLayersWarning
    from edgekit.optimize.recipe import run_recipe

    model = load_keras_model(model_path)
    shapes, names = input_signature(model)
    train = load_dataset(train_spec, input_shapes=shapes, input_names=names, require_labels=True)
    val = load_dataset(val_spec, input_shapes=shapes, input_names=names, require_labels=True) if val_spec else None
    if config.qat is not None:  # QAT's final ranges = what `convert --calibration SPEC` will measure
        config.qat.calibration = load_dataset(calibration_spec, input_shapes=shapes, input_names=names,
                                              limit=DEFAULT_CALIBRATION_SAMPLES).x
    info(f"optimizing {model_path} on {len(train)} samples ...")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SkippedLayersWarning)
        result = run_recipe(model, config, train, val, progress=info)
    for warning in caught:
        if issubclass(warning.category, SkippedLayersWarning):
            info(f"warning: {warning.message}")
    with atomic_path(output) as tmp:
        result.model.save(tmp)
    return {"model": str(model_path), "output": str(output), **result.summary}


def _convert(keras_path, tflite, quantize, calibration, per_tensor) -> dict:
    from edgekit.convert import convert_file

    info(f"converting {keras_path} ({quantize}{', per-tensor weights' if per_tensor else ''}) ...")
    result = convert_file(keras_path, tflite, quantize=quantize, calibration=calibration, per_tensor=per_tensor)
    return {"output": result.output, "quantize": result.quantize, "per_tensor": per_tensor,
            "size_bytes": result.size_bytes, "sha256": result.sha256}


def render(summary: dict) -> str:
    """The human-readable summary: one row per compressed layer, then totals."""
    lines = [f"{'layer':<28} {'type':<16} {'params':>9} {'sparsity':>9} {'unique':>7}"]
    for row in summary["layers"]:
        lines.append(f"{row['layer']:<28} {row['type']:<16} {row['params']:>9,} {row['sparsity']:>9.1%} "
                     f"{row['unique_values']:>7,}")
    params = summary["params"]
    lines.append(f"parameters: {params['total']:,} total, {params['nonzero']:,} non-zero "
                 f"({1 - params['nonzero'] / max(params['total'], 1):.1%} zeros)")
    if summary["accuracy_before"] is not None:
        lines.append(f"accuracy: {summary['accuracy_before']:.4f} before, {summary['accuracy_after']:.4f} after")
    lines.append(f"wrote {summary['output']} in {summary['seconds']:.1f} s")
    if "tflite" in summary:
        t = summary["tflite"]
        lines.append(f"wrote {t['output']}: {t['size_bytes']:,} bytes, quantize {t['quantize']}")
    return "\n".join(lines)
