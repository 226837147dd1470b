"""``edgekit export``: a .tflite model in a form another toolchain builds in (C array for TFLite Micro)."""

from __future__ import annotations

import click

from edgekit.cli.output import emit_json, info, json_option


@click.command("export")
@click.argument("model", type=click.Path(dir_okay=False, path_type=str))
@click.option("--format", "fmt", type=click.Choice(["c-array"]), default="c-array", show_default=True,
              help="c-array: <name>.h/.cc with an aligned const byte array (TFLite Micro's convention).")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=str), default=".",
              show_default=True, help="Directory to write the files into.")
@click.option("--name", default="model_data", show_default=True, help="File stem of the .h/.cc pair.")
@click.option("--symbol", default="g_model", show_default=True,
              help="C name of the array; the length is <symbol>_len.")
@json_option
def export(model: str, fmt: str, out_dir: str, name: str, symbol: str, as_json: bool) -> None:
    """Export MODEL.tflite for a microcontroller build and report the tensor arena it needs."""
    from edgekit.export.arena import estimate_arena
    from edgekit.export.c_array import export_c_array

    result = export_c_array(model, out_dir, name=name, symbol=symbol)
    arena = estimate_arena(model)
    if as_json:
        emit_json({"format": fmt, **result.to_dict(), "arena": arena.to_dict()})
        return
    info(f"wrote {result.header} and {result.source}")
    info(f"  {result.symbol}[{result.length}] ({result.symbol}_len), sha256 {result.sha256}")
    info(f"  tensor arena: {arena.describe()}")
