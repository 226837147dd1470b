"""``edgekit inspect``: what is inside a .tflite file, read by edgekit's own parser (no TensorFlow)."""

from __future__ import annotations

import click

from edgekit.cli.output import emit_json, json_option


def _parse_nm(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, int] | None:
    """``N:M`` -> (n, m) with 0 <= n <= m, m >= 1."""
    if value is None:
        return None
    try:
        n, m = (int(part) for part in value.split(":"))
    except ValueError:
        raise click.BadParameter(f"'{value}' is not N:M (two integers, e.g. 2:4)") from None
    if m < 1 or not 0 <= n <= m:
        raise click.BadParameter(f"'{value}': need 0 <= N <= M and M >= 1, e.g. 2:4")
    return n, m


@click.command("inspect")
@click.argument("model", type=click.Path(path_type=str))
@click.option("--nm", callback=_parse_nm, metavar="N:M",
              help="Also check N:M structured sparsity (at most N non-zeros per M input channels); 2:4 is always checked.")
@click.option("--tensors/--no-tensors", default=True, show_default=True,
              help="Include the per-tensor table of constant (weight) tensors.")
@click.option("--arena", is_flag=True,
              help="Also measure the TensorFlow Lite Micro tensor arena (the RAM a microcontroller reserves; LUT "
                   "storage enlarges it: kernels are decoded into it).")
@json_option
def inspect_cmd(model: str, nm: tuple[int, int] | None, tensors: bool, arena: bool, as_json: bool) -> None:
    """Show what is inside a .tflite file, read without TensorFlow.

    Inputs/outputs and their quantization, the op histogram, custom ops, whether
    MODEL is full-integer, and per weight tensor its bytes, zeros, unique values (per
    output channel too) and N:M group sparsity. Works on any TFLite file, including
    ones with custom ops or sparse tensors that no runtime here can run.
    """
    from edgekit.inspect import inspect_model, render_text
    from edgekit.inspect.weights import DEFAULT_NM

    patterns = DEFAULT_NM + ((nm,) if nm is not None and nm not in DEFAULT_NM else ())
    report = inspect_model(model, nm=patterns)
    measured = None
    if arena:
        from edgekit.export.arena import estimate_arena

        measured = estimate_arena(model)
    if as_json:
        emit_json({**report.to_dict(tensors=tensors), **({"arena": measured.to_dict()} if measured else {})})
    else:
        click.echo(render_text(report, tensors=tensors), nl=False)
        if measured:
            click.echo(f"\ntensor arena  {measured.describe()}")
