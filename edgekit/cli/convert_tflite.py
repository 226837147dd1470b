"""``edgekit convert MODEL.tflite``: the options only a .tflite source takes, the hand-over and the output lines.

The convert command adds ``@tflite_source_options``; a ``.tflite`` MODEL then goes to
:func:`edgekit.convert.tflite_source.file.quantize_tflite_file` (AI Edge Quantizer, no
TensorFlow) instead of the Keras converter. The checks live in the library.
"""

from __future__ import annotations

import functools
from typing import Callable

import click

from edgekit.cli.output import emit_json, info
from edgekit.errors import UsageError

WEIGHTS = ("int8", "int4")


def tflite_source_options(command: Callable) -> Callable:
    """Add ``--weights`` and ``--recipe``; send a ``.tflite`` MODEL to the AEQ path."""

    @functools.wraps(command)
    def run(*args, weights: str | None = None, recipe: str | None = None, **kwargs):
        from edgekit.convert.tflite_source.file import is_tflite

        if is_tflite(kwargs["model"]):
            return convert_tflite(weights=weights, recipe=recipe, **kwargs)
        if weights or recipe:
            raise UsageError(f"{'--weights' if weights else '--recipe'} applies to .tflite sources (AI Edge "
                             "Quantizer); a Keras model takes --quantize")
        return command(*args, **kwargs)

    run = click.option("--recipe", type=click.Path(dir_okay=False), default=None, metavar="RECIPE.json",
                       help="With a .tflite MODEL: an AI Edge Quantizer recipe file, instead of --quantize/"
                            "--weights/--per-tensor/--keep-float.")(run)
    return click.option("--weights", type=click.Choice(WEIGHTS, case_sensitive=False), default=None,
                        help="With a .tflite MODEL: weight bits; alone, weight-only quantization (float compute); "
                             "with --quantize dynamic or int8, int4 weights.")(run)


def convert_tflite(*, model, output, quantize, calibration, calibration_samples, io_type, per_tensor, storage,
                   no_verify, scale, mean, std, keep_float, auto_mixed, eval_data, as_json, weights, recipe) -> None:
    from edgekit.cli.dataopts import preprocess_from
    from edgekit.convert.tflite_source.file import TfliteOptions, check_request, quantize_tflite_file, refuse_keras_only

    refuse_keras_only(io_type, no_verify)
    options = TfliteOptions(quantize=quantize, weights=weights, per_tensor=per_tensor, keep_float=tuple(keep_float),
                            recipe_file=recipe, storage=storage)
    check_request(options)   # a missing extra and option errors before any progress line
    preprocess = preprocess_from(scale, mean, std)
    if auto_mixed is not None:
        return convert_tflite_mixed(model, output, options, auto_mixed, calibration=calibration, eval_data=eval_data,
                                    calibration_samples=calibration_samples, preprocess=preprocess, as_json=as_json)
    if eval_data is not None:
        raise UsageError("--eval-data goes with --auto-mixed for a .tflite source (the file is checked against the "
                         "source on the --calibration data)")
    info(f"quantizing {model} with AI Edge Quantizer ...")
    result = quantize_tflite_file(model, output, options, calibration=calibration,
                                  calibration_samples=calibration_samples, preprocess=preprocess)
    if as_json:
        emit_json(result.to_dict())
        return
    click.echo(render(result.to_dict()))


def convert_tflite_mixed(model, output, options, max_drop: float, *, as_json: bool, **data) -> None:
    """``--auto-mixed`` on a .tflite source, printed as the Keras path's is."""
    from edgekit.cli.convert_mixed import render_mixed
    from edgekit.cli.output import warn
    from edgekit.convert.tflite_source.mixed import auto_mixed_tflite_file

    info(f"ranking the ops of {model} with AI Edge Quantizer (each quantized all but it) ...")
    summary = auto_mixed_tflite_file(model, output, options, max_drop, **data)
    warn(summary["warning"])
    if as_json:
        emit_json(summary)
        return
    click.echo(render_mixed(summary))
    click.echo(summary["drop"]["line"])


def render(result: dict) -> str:
    """What was written, how it compares with the source, and what edgekit changed for AEQ."""
    v = result["verification"]
    top1 = "" if v["top1"] is None else f", top-1 agreement {v['top1']:.2%}"
    lines = [f"wrote {result['output']}: {result['size_bytes']:,} bytes ({result['size_bytes'] / result['source_bytes']:.1%}"
             f" of the source's {result['source_bytes']:,}), {result['mode']}: {result['summary']}, "
             f"I/O {'/'.join(dict.fromkeys(result['io_types']))}; "
             f"{result['quantized_tensors']} tensors quantized, sha256 {result['sha256'][:16]}",
             f"  verified on LiteRT against the float source: max {v['max_steps']:g} / median {v['median_steps']:g} "
             f"output steps (1/255 of each output's range){top1} over {v['samples']} inputs from "
             f"{v['inputs']}{', also the calibration data' if result['calibration'] else ''}"]
    if v["accuracy"]:
        lines.append(f"  accuracy on its labels: source {v['accuracy']['source']:.2%}, quantized "
                     f"{v['accuracy']['quantized']:.2%}")
    if result["storage"]:
        stored = result["storage"]
        agreement = stored["agreement"]
        lines.append(f"  storage {stored['storage']}: {stored['size_bytes'] / stored['int8_size_bytes']:.1%} of the int8 "
                     f"file ({stored['int8_size_bytes']:,} bytes); verified on {agreement['runtime']} against it: max "
                     f"{agreement['max_steps']:g} output steps")
    if result["prepared"]:
        lines.append(f"  prepared for AI Edge Quantizer: {'; '.join(result['prepared'])}")
    return "\n".join(lines)
