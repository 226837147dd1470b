"""Is a model full-integer? The check ``inspect`` reports and converters can reuse.

Full-integer means every operator reads and writes only integer tensors (int8, int16,
int32, ... and bool), except the I/O conversion a float-interface model keeps at its
edges: a QUANTIZE of a subgraph input and a DEQUANTIZE producing a subgraph output.
That is what Edge TPUs and integer-only microcontrollers need.
"""

from __future__ import annotations

from edgekit.inspect.model import Operator, Subgraph, TFLiteModel


def float_operators(model: TFLiteModel) -> list[tuple[int, Operator]]:
    """(subgraph index, operator) of every operator that computes with a float tensor."""
    return [(graph.index, op) for graph in model.subgraphs for op in graph.operators if _is_float_op(graph, op)]


def is_full_integer(model: TFLiteModel) -> bool:
    return not float_operators(model)


def has_integer_io(model: TFLiteModel) -> bool:
    """True when every input and output of the main subgraph is an integer tensor."""
    return not any(t.is_float for t in model.main.input_tensors() + model.main.output_tensors())


def _is_float_op(graph: Subgraph, op: Operator) -> bool:
    if op.opcode == "QUANTIZE" and op.inputs and op.inputs[0] in graph.inputs:
        return False
    if op.opcode == "DEQUANTIZE" and op.outputs and all(o in graph.outputs for o in op.outputs):
        return False
    return any(graph.tensors[i].is_float for i in op.inputs + op.outputs if i >= 0)
