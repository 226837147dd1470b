"""Running AI Edge Quantizer: one recipe, optional calibration data -> quantized bytes, quietly.

AEQ prints progress bars and a size report and raises plain exceptions; edgekit keeps the
first off the console and turns the second into one line naming the file.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from edgekit.errors import ConversionError, MissingExtraError, first_line

CALIBRATION_THREADS = 2   # the machines edgekit runs on are small; min/max statistics do not depend on it


def require_aeq(what: str) -> None:
    """MissingExtraError unless ai_edge_quantizer imports."""
    from importlib.util import find_spec

    if find_spec("ai_edge_quantizer") is None:
        raise MissingExtraError(f"{what} needs AI Edge Quantizer, which this install lacks: "
                                "pip install 'edgekit[aeq]'")


def calibrate(flatbuffer: bytes, recipe: list[dict], calibration: dict, where: str) -> dict:
    """AEQ's min/max statistics of ``recipe``'s tensors on ``calibration``: a full-model recipe's serve every
    recipe that quantizes fewer ops (the per-op search quantizes once per op, calibrates once)."""
    from ai_edge_quantizer import quantizer

    with _aeq(where):
        return quantizer.Quantizer(bytearray(flatbuffer), recipe).calibrate(calibration,
                                                                            num_threads=CALIBRATION_THREADS)


def quantize(flatbuffer: bytes, recipe: list[dict], calibration: dict | None, where: str,
             statistics: dict | None = None) -> bytes:
    """``flatbuffer`` quantized by ``recipe``; calibrated on ``calibration`` (AEQ's signature dataset) if given,
    unless ``statistics`` (from :func:`calibrate`) are."""
    from ai_edge_quantizer import quantizer

    with _aeq(where):
        engine = quantizer.Quantizer(bytearray(flatbuffer), recipe)
        if statistics is None and calibration:
            statistics = engine.calibrate(calibration, num_threads=CALIBRATION_THREADS)
        result = engine.quantize(statistics, enable_progress_bar=False, enable_progress_report=False)
    return bytes(result.quantized_model)


@contextlib.contextmanager
def _aeq(where: str) -> Iterator[None]:
    """AEQ's console output kept off the console, its exceptions one line naming the file."""
    from edgekit.quiet import quiet_output

    try:
        with quiet_output():
            yield
    except Exception as exc:  # AEQ raises ValueError/RuntimeError/KeyError/NotImplementedError alike
        raise ConversionError(f"{where}: AI Edge Quantizer failed: {type(exc).__name__}: {first_line(exc)}") from None
