"""Click options shared by every command that reads a data SPEC (convert, eval, optimize, ...)."""

from __future__ import annotations

from typing import Callable

import click

from edgekit.data.dataset import Preprocess

SPEC_HELP = ("a .npz (x, y) or .npy file, a directory of them, or a directory of PNG/JPEG images "
             "(one sub-directory per class for labels); see calibration/README.md")


def preprocess_options(func: Callable) -> Callable:
    """Add ``--scale``, ``--mean`` and ``--std`` (image preprocessing) to a command."""
    options = [
        click.option("--scale", type=float, default=None, metavar="S",
                     help="Image pixels (0..255) are multiplied by S, e.g. 0.00392 for 0..1."),
        click.option("--mean", type=float, default=None, metavar="M", help="Image pixels become (x - M) / STD."),
        click.option("--std", type=float, default=None, metavar="STD", help="See --mean."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def preprocess_from(scale: float | None, mean: float | None, std: float | None) -> Preprocess:
    """The :class:`Preprocess` the options describe (UsageError on a bad combination)."""
    return Preprocess(scale=scale, mean=mean, std=std)
