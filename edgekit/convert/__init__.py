"""Keras model -> TFLite flatbuffer: loading, conversion, full-integer verification.

Importing this package does not import TensorFlow; its functions do.
"""

from edgekit.convert.converter import check_options, convert_model
from edgekit.convert.file import ConversionResult, convert_file
from edgekit.convert.keras_loader import input_signature, load_keras_model, output_names
from edgekit.vocab import IO_TYPES, QUANTIZE_MODES  # re-exported: the conversion API's vocabulary

__all__ = ["IO_TYPES", "QUANTIZE_MODES", "ConversionResult", "check_options", "convert_file", "convert_model",
           "input_signature", "load_keras_model", "output_names"]
