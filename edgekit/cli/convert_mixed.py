"""``edgekit convert --keep-float LAYER... / --auto-mixed MAX_DROP``: the options and the output line.

Kept apart from ``cli/convert.py``: the convert command adds ``@mixed_precision_options``
and hands over to :func:`edgekit.convert.mixed.convert_mixed_file` when one of them is
given; the checks and the conversion itself live there.
"""

from __future__ import annotations

from typing import Callable

import click

from edgekit.convert.mixed import check_mixed  # re-exported: the flags' rules, where tests look for them


def mixed_precision_options(command: Callable) -> Callable:
    """Add ``--keep-float``, ``--auto-mixed`` and ``--eval-data`` to a click command."""
    options = [
        click.option("--keep-float", "keep_float", multiple=True, metavar="LAYER",
                     help="With --quantize int8: leave this Keras layer in float (repeatable)."),
        click.option("--auto-mixed", "auto_mixed", type=float, default=None, metavar="MAX_DROP",
                     help="With --quantize int8: keep the most sensitive layers float until the accuracy "
                          "drop is at most MAX_DROP points."),
        click.option("--eval-data", "eval_data", default=None, metavar="SPEC",
                     help="Labelled data the accuracy before/after (and --auto-mixed) is measured on (default: the "
                          "calibration data, when it has labels)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def render_mixed(summary: dict) -> str:
    """One line for humans: what was written, which layers stayed float, accuracy, size, latency."""
    kept = ", ".join(summary["kept_float"]) or "none"
    mode = summary["quantize"]   # int8 for a Keras model; a .tflite source's AI Edge Quantizer mode
    line = f"wrote {summary['output']}: {summary['size_bytes']:,} bytes, {mode} with float layers: {kept}"
    if "accuracy" in summary:
        line += (f"; accuracy {100 * summary['accuracy']:.2f} % (float {100 * summary['float_accuracy']:.2f} %, "
                 f"full {mode} {100 * summary['full_int8_accuracy']:.2f} %, drop {summary['drop_points']:.2f} points)")
    return line + f"; local latency p50 {summary['latency_ms_p50']:.3f} ms"


__all__ = ["check_mixed", "mixed_precision_options", "render_mixed"]
