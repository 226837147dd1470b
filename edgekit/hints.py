"""Every edgekit command line that edgekit suggests as a fix, built in one place.

A suggested command that fails is worse than none, so messages do not spell commands out
by hand: they take them from :data:`HINTS`, whose builders produce only flag combinations
the command accepts (``--io-type int8`` always with ``--quantize int8 --calibration SPEC``).
Words in capitals (``MODEL.keras``, ``SPEC``, ``MODEL``) are what the user fills in;
``tests/core/test_fix_hints.py`` fills them with real files and runs every hint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from edgekit.vocab import CALIBRATED_MODES

MODEL_KERAS = "MODEL.keras"   # the Keras model the .tflite was converted from
SPEC = "SPEC"                 # representative inputs (see --calibration)
MODEL = "MODEL"               # a .tflite file


@dataclass(frozen=True)
class Hint:
    """One kind of suggested command: ``build`` turns the message's values into the command line."""

    name: str
    build: Callable[..., str]
    outcome: str   # what running it does, which the test checks


def convert_command(output: str, *, quantize: str = "none", io_type: str = "float32") -> str:
    """``edgekit convert`` to ``output`` in the given mode; the flags satisfy the converter's own checks."""
    if io_type != "float32":
        quantize = "int8"   # non-float I/O exists only for full-integer models
    flags = [] if quantize == "none" else ["--quantize", quantize]
    if quantize in CALIBRATED_MODES:
        flags += ["--calibration", SPEC]
    if io_type != "float32":
        flags += ["--io-type", io_type]
    return " ".join(["edgekit convert", MODEL_KERAS, "-o", output, *flags])


HINTS: dict[str, Hint] = {hint.name: hint for hint in (
    Hint("convert", convert_command, "writes the .tflite file"),
    Hint("bench", lambda: f"edgekit bench {MODEL}", "records a run in the history"),
    Hint("init", lambda: "edgekit init", "writes an edgekit.toml that builds"),
)}


def hint(name: str, *args, **values) -> str:
    """The command line of hint ``name`` for these values."""
    return HINTS[name].build(*args, **values)
