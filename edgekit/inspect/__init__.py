"""Read and report on TFLite files with edgekit's own flatbuffer parser (no TensorFlow).

    from edgekit.inspect import read_tflite, inspect_model, render_text
    model = read_tflite("model.tflite")          # TFLiteModel: subgraphs, tensors, operators
    report = inspect_model(model)                # InspectReport: .to_dict() for JSON
    print(render_text(report))
"""

from edgekit.inspect.integer import float_operators, has_integer_io, is_full_integer
from edgekit.inspect.model import (
    DimensionMetadata,
    Operator,
    Quantization,
    SignatureDef,
    Sparsity,
    Subgraph,
    Tensor,
    TFLiteModel,
)
from edgekit.inspect.reader import read_tflite
from edgekit.inspect.report import InspectReport, IOTensor, inspect_model, render_text
from edgekit.inspect.weights import NMStats, WeightStats

__all__ = [
    "read_tflite", "inspect_model", "render_text", "InspectReport", "IOTensor", "TFLiteModel", "Subgraph",
    "Tensor", "Operator", "Quantization", "Sparsity", "DimensionMetadata", "SignatureDef", "WeightStats",
    "NMStats", "float_operators", "is_full_integer", "has_integer_io",
]
