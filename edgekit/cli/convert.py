"""``edgekit convert``: a Keras model -> a ``.tflite`` file."""

from __future__ import annotations

import click

from edgekit.cli.convert_mixed import mixed_precision_options, render_mixed
from edgekit.cli.convert_tflite import tflite_source_options
from edgekit.cli.dataopts import SPEC_HELP, preprocess_from, preprocess_options
from edgekit.cli.model_options import user_code_options
from edgekit.cli.output import emit_json, info, json_option, warn
from edgekit.vocab import CALIBRATED_MODES
from edgekit.vocab import IO_TYPES as _IO_TYPES, QUANTIZE_MODES as _QUANTIZE  # names tests compare


@click.command()
@click.argument("model", type=click.Path(dir_okay=True))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The .tflite file to write.")
@click.option("--quantize", type=click.Choice(_QUANTIZE, case_sensitive=False), default="none", show_default=True,
              help="none: float32; float16: float16 weights; dynamic: int8 weights; int8: full integer "
                   "(needs --calibration); int16x8: int16 activations, int8 weights (needs --calibration).")
@click.option("--calibration", metavar="SPEC", default=None, help=f"Representative inputs: {SPEC_HELP}.")
@click.option("--calibration-samples", type=click.IntRange(min=1), default=200, show_default=True,
              help="Use this many calibration samples (a fixed-seed choice: the same on every run).")
@click.option("--io-type", type=click.Choice(_IO_TYPES, case_sensitive=False), default="float32", show_default=True,
              help="Type of the model's inputs/outputs; int8/uint8 only with --quantize int8.")
@click.option("--per-tensor", is_flag=True,
              help="One int8 scale per weight tensor instead of per output channel: clustered models keep their "
                   "N shared codes and compress far better; may cost accuracy on unclustered models.")
@click.option("--storage", default="int8", show_default=True, metavar="FORM",
              help="How the int8 file stores its weights: int8; int4 (kernels on the int4 grid, e.g. clustered "
                   "with --cluster-int4-grid); sparse (1x16 zero blocks). A compact form is run against the int8 "
                   "file on the calibration samples and refused if their outputs disagree.")
@click.option("--no-verify", "no_verify", is_flag=True,
              help="Write the file even if its outputs disagree with the float model's (or a storage form's with "
                   "the int8 file's): a warning and \"verified\": false in --json instead of exit 5.")
@user_code_options
@preprocess_options
@mixed_precision_options
@tflite_source_options
@json_option
def convert(model, output, quantize, calibration, calibration_samples, io_type, per_tensor, storage, no_verify, scale,
            mean, std, keep_float, auto_mixed, eval_data, as_json):
    """Convert MODEL (.keras, legacy .h5 or a SavedModel directory) to TFLite, or quantize a float MODEL.tflite
    (AI Edge Quantizer, no TensorFlow)."""
    from edgekit.extras import require_tensorflow

    require_tensorflow("edgekit convert")
    from edgekit.convert import check_options, convert_file
    from edgekit.convert.file import check_storage
    from edgekit.convert.mixed import convert_mixed_file, wants_mixed
    from edgekit.fileio import existing_path

    check_options(quantize, io_type, calibration is not None, per_tensor)
    check_storage(storage, quantize)
    existing_path(model)
    preprocess = preprocess_from(scale, mean, std)
    if wants_mixed(keep_float, auto_mixed):
        if storage != "int8":
            from edgekit.errors import UsageError

            raise UsageError("--storage applies to whole-int8 files; drop --keep-float/--auto-mixed")
        summary = convert_mixed_file(model, output, quantize=quantize, io_type=io_type, keep_float=keep_float,
                                     auto_mixed=auto_mixed, calibration=calibration, eval_data=eval_data,
                                     calibration_samples=calibration_samples, preprocess=preprocess,
                                     per_tensor=per_tensor)
        warn(summary["warning"])
        if as_json:
            emit_json(summary)
        else:
            click.echo(render_mixed(summary))
            click.echo(summary["drop"]["line"])
        return
    if calibration and quantize not in CALIBRATED_MODES:
        info(f"note: --calibration is not used by --quantize {quantize}")
    info(f"converting {model} ({quantize}) ...")
    result = convert_file(model, output, quantize=quantize, calibration=calibration, io_type=io_type,
                          calibration_samples=calibration_samples, preprocess=preprocess, per_tensor=per_tensor,
                          storage=storage, verify=not no_verify, eval_data=eval_data)
    warn(result.not_verified)
    warn(result.warning)
    if as_json:
        emit_json(result.to_dict())
        return
    calibrated = f", calibrated on {result.calibration['samples']} samples" if result.calibration else ""
    click.echo(f"wrote {result.output}: {result.size_bytes:,} bytes, quantize {result.quantize}, "
               f"I/O {result.io_type}{', per-tensor weights' if per_tensor else ''}{calibrated}, sha256 {result.sha256[:16]}")
    if result.int8_size_bytes:
        click.echo(f"  storage {result.storage}: {result.size_bytes / result.int8_size_bytes:.1%} of the int8 file "
                   f"({result.int8_size_bytes:,} bytes)")
    for agreement in result.agreement:
        top1 = "" if agreement["top1"] is None else f", top-1 agreement {agreement['top1']:.2%}"
        checked = "verified" if agreement["ok"] else "NOT verified (--no-verify)"
        click.echo(f"  {checked} on {agreement['runtime']} against the {agreement['reference']} model: max "
                   f"{agreement['max_steps']:g} output steps{top1} ({agreement['samples']} samples)")
    click.echo(result.drop["line"])
