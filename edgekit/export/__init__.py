"""Exports of a .tflite model for other toolchains (C arrays for TensorFlow Lite Micro)."""

from edgekit.export.c_array import CArrayExport, export_c_array, render_c_array

__all__ = ["CArrayExport", "export_c_array", "render_c_array"]
