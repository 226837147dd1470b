"""``edgekit sensitivity MODEL --data SPEC --calibration SPEC``: which layers int8 hurts most."""

from __future__ import annotations

import click

from edgekit.cli.model_options import user_code_options
from edgekit.cli.output import emit_json, info, json_option


@click.command()
@click.argument("model", type=click.Path(dir_okay=True))
@click.option("--data", "data_spec", required=True, help="Labelled evaluation data (SPEC: .npz, .npy, folder).")
@click.option("--calibration", "calibration_spec", required=True, help="Representative data for int8 calibration.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Use at most N evaluation samples.")
@click.option("--calibration-limit", type=click.IntRange(min=1), default=256, show_default=True,
              help="Use at most N calibration samples.")
@user_code_options
@json_option
def sensitivity(model: str, data_spec: str, calibration_spec: str, limit: int | None,
                calibration_limit: int, as_json: bool) -> None:
    """Quantize one layer at a time (and all but one) and report each layer's int8 damage.

    Most sensitive first: SQNR of the model's output (dB, vs the float model) with only
    that layer in int8, and accuracy with everything but that layer in int8 (what keeping
    it float would recover).
    """
    from edgekit.extras import require_tensorflow

    require_tensorflow("edgekit sensitivity")
    from edgekit.convert.sensitivity import analyze_file

    report = analyze_file(model, data_spec, calibration_spec, limit=limit, calibration_limit=calibration_limit,
                          progress=info)
    if as_json:
        emit_json(report.to_dict())
    else:
        click.echo(render_table(report))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}"


def render_table(report) -> str:
    """The report as a fixed-width table, most sensitive layer first."""
    lines = [f"float accuracy {_pct(report.float_accuracy)}  full int8 accuracy {_pct(report.int8_accuracy)}  "
             f"full int8 SQNR {report.int8_sqnr_db:.1f} dB",
             f"{'layer':<32} {'only-int8 SQNR dB':>17} {'only-int8 acc':>13} {'all-but acc':>11}  fused with"]
    for s in report.layers:
        lines.append(f"{s.layer:<32} {s.only_sqnr_db:>17.1f} {_pct(s.only_accuracy):>13} "
                     f"{_pct(s.all_but_accuracy):>11}  {', '.join(s.aliases)}".rstrip())
    return "\n".join(lines)
