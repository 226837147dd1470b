"""Compact weight storage forms: the registry of ways a converted int8 file can store its weights.

Each :class:`StorageForm` says how to make its file from the int8 reference (``make``,
``module:function``, imported when used), which runtime verifies it and what tolerance
applies. ``convert``/``build`` offer the forms verified on LiteRT, ``export`` the ones
verified on TFLite Micro. Adding a form is one entry in :data:`BUILTIN_FORMS` plus its
module; target profiles list which forms their runtime runs correctly (``storage``).
Declarations import no TensorFlow.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from edgekit.convert.agreement import LOSSLESS, Tolerance
from edgekit.errors import UsageError


@dataclass
class StorageJob:
    """What a form's ``make`` gets: the int8 reference file and a way to convert again."""

    int8: bytes
    where: str
    reconvert: Callable[..., bytes] | None = None   # convert_model's keywords -> bytes (convert only)


@dataclass(frozen=True)
class StorageForm:
    name: str
    summary: str
    make: str                       # "module:function": (StorageJob) -> (bytes, [per-tensor records])
    runtime: str                    # the runner verifying it (edgekit.convert.runners)
    tolerance: Tolerance
    commands: tuple[str, ...]       # where it is offered: "convert" (also build) or "export"
    per_tensor: bool = False        # its int8 reference must use per-tensor weight scales
    needs_converter: bool = False   # made by converting a Keras model again (not from a .tflite's bytes)
    extra: dict[str, Any] = field(default_factory=dict)

    def build(self, job: StorageJob) -> tuple[bytes, list[dict]]:
        module, function = self.make.split(":")
        return getattr(importlib.import_module(module), function)(job)


# int4 rounds each weight to its grid point (within half an int8 step), so outputs may move by
# a few output steps; the classes must not.
INT4_TOLERANCE = Tolerance(max_steps=8.0, min_top1=0.99)

# The same int8 weights through a different kernel (block-sparse): rounding may differ by one step.
SPARSE_TOLERANCE = Tolerance(max_steps=1.0, min_top1=0.99)

BUILTIN_FORMS = (
    StorageForm("int8", "plain int8 weights (the reference every other form is checked against)",
                "edgekit.convert.storage.plain:identity", "litert", LOSSLESS, ("convert", "export")),
    StorageForm("int4", "int4 weights (two per byte) where a kernel's values fit the int4 grid, int8 activations",
                "edgekit.convert.storage.int4:make", "litert", INT4_TOLERANCE, ("convert",)),
    StorageForm("sparse", "int8 weights in TFLite's sparse encoding (1x16 blocks; per-tensor scales, which "
                "tflite-runtime 2.14 runs correctly)", "edgekit.convert.storage.sparse:make", "litert", SPARSE_TOLERANCE,
                ("convert",), per_tensor=True, needs_converter=True),
    StorageForm("lut", "TFLite Micro look-up tables: per-channel value tables, 1-7-bit indices",
                "edgekit.convert.storage.lut:make", "tflm", LOSSLESS, ("export",)),
)
FORMS: dict[str, StorageForm] = {form.name: form for form in BUILTIN_FORMS}


def register(form: StorageForm) -> None:
    FORMS[form.name] = form


def form_names(command: str) -> tuple[str, ...]:
    """The forms ``command`` ("convert" or "export") offers, in declaration order."""
    return tuple(name for name, form in FORMS.items() if command in form.commands)


def get_form(name: str, command: str) -> StorageForm:
    if name not in form_names(command):
        raise UsageError(f"--storage {name}: not a storage form of edgekit {command}; choose from "
                         f"{', '.join(form_names(command))}")
    return FORMS[name]
