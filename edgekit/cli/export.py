"""``edgekit export``: a .tflite model in a form another toolchain builds in (C array for TFLite Micro)."""

from __future__ import annotations

import click

from edgekit.cli.dataopts import SPEC_HELP
from edgekit.cli.output import emit_json, info, json_option, warn
from edgekit.cli.renamed import Command


@click.command("export", cls=Command, renamed={"-o": "--out"})  # -o is a file everywhere else
@click.argument("model", type=click.Path(dir_okay=False, path_type=str))
@click.option("--format", "fmt", type=click.Choice(["c-array"], case_sensitive=False), default="c-array",
              show_default=True,
              help="c-array: <name>.h/.cc with an aligned const byte array (TFLite Micro's convention).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=str), default=".",
              show_default=True, help="Directory to write the files into.")
@click.option("--name", default="model_data", show_default=True, help="File stem of the .h/.cc pair.")
@click.option("--symbol", default="g_model", show_default=True,
              help="C name of the array; the length is <symbol>_len.")
@click.option("--storage", default="int8", show_default=True, metavar="FORM",
              help="int8: the file as it is; lut: TFLite Micro look-up tables (per-channel value tables, 1-7-bit "
                   "indices; for clustered or ternary models), run against the input file under TFLM and refused "
                   "unless the outputs are identical.")
@click.option("--data", metavar="SPEC", default=None,
              help=f"Inputs for that check: {SPEC_HELP}. Default: seeded random inputs over the input's range.")
@click.option("--no-verify", "no_verify", is_flag=True,
              help="Write the files even if the storage form's outputs differ from the input file's: a warning "
                   "and \"verified\": false in --json instead of exit 5.")
@json_option
def export(model: str, fmt: str, out_dir: str, name: str, symbol: str, storage: str, data: str | None,
           no_verify: bool, as_json: bool) -> None:
    """Export MODEL.tflite for a microcontroller build and report the tensor arena it needs."""
    from edgekit.export.compact import export_model

    result = export_model(model, out_dir, storage=storage, data=data, name=name, symbol=symbol,
                          verify=not no_verify)
    warn(result.not_verified)
    if as_json:
        emit_json({"format": fmt, **result.to_dict()})
        return
    written = result.c_array
    info(f"wrote {written.header} and {written.source}")
    info(f"  {written.symbol}[{written.length}] ({written.symbol}_len), sha256 {written.sha256}")
    if result.int8_arena is not None:
        agreement = result.stored.agreement
        checked = (f"TFLM outputs identical on {agreement.samples} samples" if agreement.ok else
                   f"NOT verified (--no-verify): {agreement.describe()}")
        info(f"  storage {storage}: {written.length:,} bytes, {written.length / result.stored.int8_bytes:.1%} of the "
             f"input's {result.stored.int8_bytes:,}; {checked}")
        info(f"  tensor arena: {result.arena.describe()} (input file: {result.int8_arena.bytes} bytes; decoded "
             "kernels live in the arena)")
    else:
        info(f"  tensor arena: {result.arena.describe()}")
