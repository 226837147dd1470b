"""Will a model run on a Coral Edge TPU, and which ops fall back to the CPU?

The Edge TPU runs only what Coral documents (g.co/coral/model-reqs): tensors quantized to
8 bits (int8/uint8), static shapes, at most 3 dimensions larger than 1 (the innermost),
and a fixed set of ops with per-op limits. ``edgetpu_compiler`` maps ops in execution
order and cuts the graph at the first op it cannot map: that op and every op after it
run on the CPU, even supported ones. Float-to-int QUANTIZE at a model input and
DEQUANTIZE at an output stay on the CPU without cutting the graph.

:func:`check_edgetpu` applies those rules to the flatbuffer (no compiler needed). When
``edgetpu_compiler`` is on PATH, :func:`run_edgetpu_compiler` compiles the model and
:func:`parse_compiler_log` reads its per-op table, which is authoritative.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAPPED = "Mapped to Edge TPU"
NOT_SUPPORTED = "Operation not supported"
BAD_DTYPE = "Operation is working on an unsupported data type"
AFTER_CUT = "More than one subgraph is not supported"
IO_CONVERSION = BAD_DTYPE + " (model I/O conversion: stays on the CPU, does not cut the graph)"

# Coral's supported-operations table (compiler 16): op -> documented limitation checked below.
SUPPORTED_OPS = frozenset({
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "EXPAND_DIMS",
    "FULLY_CONNECTED", "L2_NORMALIZATION", "LOGISTIC", "LSTM", "UNIDIRECTIONAL_SEQUENCE_LSTM",
    "MAXIMUM", "MAX_POOL_2D", "MEAN", "MINIMUM", "MUL", "PACK", "PAD", "PRELU", "QUANTIZE",
    "REDUCE_MAX", "REDUCE_MIN", "RELU", "RELU6", "RELU_N1_TO_1", "RESHAPE", "RESIZE_BILINEAR",
    "RESIZE_NEAREST_NEIGHBOR", "RSQRT", "SLICE", "SOFTMAX", "SPACE_TO_DEPTH", "SPLIT", "SQUEEZE",
    "SQUARED_DIFFERENCE", "STRIDED_SLICE", "SUB", "SUM", "TANH", "TRANSPOSE", "TRANSPOSE_CONV",
})
_EIGHT_BIT = ("int8", "uint8")


@dataclass(frozen=True)
class OpPlacement:
    """Where one operator would run, and why."""

    index: int
    opcode: str
    on_tpu: bool
    status: str

    def to_dict(self) -> dict:
        return {"index": self.index, "op": self.opcode, "on_tpu": self.on_tpu, "status": self.status}


@dataclass
class EdgeTPUReport:
    """The static check, plus the compiler's own verdict when it ran."""

    model_issues: list[str]
    ops: list[OpPlacement]
    compiler: dict | None = None
    compiler_note: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def cpu_ops(self) -> list[OpPlacement]:
        return [op for op in self.ops if not op.on_tpu]

    @property
    def compatible(self) -> bool:
        """Everything but float I/O conversions runs on the Edge TPU."""
        return not self.model_issues and all(op.status == IO_CONVERSION for op in self.cpu_ops)

    def to_dict(self) -> dict:
        return {"compatible": self.compatible, "model_issues": self.model_issues,
                "tpu_ops": len(self.ops) - len(self.cpu_ops), "cpu_ops": len(self.cpu_ops),
                "ops": [op.to_dict() for op in self.ops], "compiler": self.compiler,
                "compiler_note": self.compiler_note, "notes": self.notes}

    def lines(self) -> list[str]:
        """Human summary: verdict, model-level issues, the CPU ops with their reasons."""
        out = [f"Edge TPU: {len(self.ops) - len(self.cpu_ops)}/{len(self.ops)} ops mapped"
               + ("" if self.compatible else "; NOT fully compatible")]
        out += [f"  model: {issue}" for issue in self.model_issues]
        out += [f"  op {op.index} {op.opcode}: CPU ({op.status})" for op in self.cpu_ops]
        out.append(f"  compiler: {self.compiler_note}")
        return out


def check_edgetpu(source: str | Path | bytes) -> EdgeTPUReport:
    """Apply Coral's documented requirements to a .tflite model."""
    from edgekit.inspect import read_tflite

    graph = read_tflite(source).subgraphs[0]
    issues = _model_issues(graph)
    ops, cut = [], False
    for index, op in enumerate(graph.operators):
        if _is_io_conversion(graph, op):
            ops.append(OpPlacement(index, op.opcode, False, IO_CONVERSION))
            continue
        status = AFTER_CUT if cut else (_unsupported(graph, op) or MAPPED)
        cut = cut or status != MAPPED
        ops.append(OpPlacement(index, op.opcode, status == MAPPED, status))
    notes = ["limits that need op options (fused activations, dilation, slice masks) are left "
             "to edgetpu_compiler"]
    return EdgeTPUReport(issues, ops, notes=notes)


def _model_issues(graph) -> list[str]:
    issues = []
    dynamic = [t.name for t in graph.tensors if any(d < 0 for d in t.shape_signature)]
    if dynamic:
        issues.append(f"dynamic shapes ({', '.join(dynamic[:3])}): the Edge TPU needs static "
                      "shapes; convert with a fixed batch size")
    floats = [t for t in graph.tensors if not t.is_constant and t.dtype not in _EIGHT_BIT
              and t.index not in (*graph.inputs, *graph.outputs)]
    if floats:
        issues.append(f"not fully 8-bit quantized: {len(floats)} activation tensor(s) such as "
                      f"'{floats[0].name}' are {floats[0].dtype}; convert with quantize = \"int8\"")
    return issues


def _unsupported(graph, op) -> str | None:
    """Coral's status for an op that cannot be mapped, or None when it can."""
    if op.opcode not in SUPPORTED_OPS:
        return NOT_SUPPORTED
    tensors = [graph.tensors[t] for t in [*op.inputs, *op.outputs] if t >= 0]
    if any(not t.is_constant and t.dtype not in _EIGHT_BIT for t in tensors):
        return BAD_DTYPE
    for t in tensors:
        if not t.is_constant and any(d > 1 for d in t.shape[:-3]):
            return f"tensor '{t.name}' {[int(d) for d in t.shape]}: only the 3 innermost dimensions may exceed 1"
    check = _LIMITS.get(op.opcode)
    return check(graph, op) if check else None


def _fully_connected(graph, op):
    out = graph.tensors[op.outputs[0]].shape
    return None if sum(d > 1 for d in out) <= 1 else f"output {list(out)} is not one-dimensional"


def _softmax(graph, op):
    shape = graph.tensors[op.inputs[0]].shape
    if sum(d > 1 for d in shape) > 1 or int(np.prod(shape)) > 16000:
        return f"input {list(shape)}: only a 1-D input of at most 16000 elements is supported"
    return None


def _reduction(graph, op, xy_only: bool = False):
    axes = graph.tensors[op.inputs[1]].data
    rank = len(graph.tensors[op.inputs[0]].shape)
    if axes is None:
        return "reduction axes are not constant"
    axes = {int(a) % rank for a in np.ravel(axes)}
    if 0 in axes:
        return "reduction over the batch dimension"
    if xy_only and rank == 4 and not axes <= {1, 2}:
        return f"reduction over axes {sorted(axes)}: only x and/or y (1, 2)"
    return None


def _pad(graph, op):
    pads = graph.tensors[op.inputs[1]].data
    if pads is None:
        return "paddings are not constant"
    pads = np.asarray(pads).reshape(-1, 2)
    if pads[0].any() or (len(pads) == 4 and pads[3].any()):
        return "padding outside x and y"
    return None


def _concatenation(graph, op):
    consts = [graph.tensors[t] for t in op.inputs if graph.tensors[t].is_constant]
    if consts and (len(op.inputs) != 2 or any(t.data is None or np.any(t.data) for t in consts)):
        return "a constant input is only supported as the second of 2 inputs and all zeros"
    return None


def _squeeze(graph, op):
    strip = lambda shape: list(shape)[next((i for i, d in enumerate(shape) if d != 1), len(shape)):]
    src, dst = graph.tensors[op.inputs[0]].shape, graph.tensors[op.outputs[0]].shape
    return None if strip(src) == strip(dst) else f"squeezing {list(src)} needs a relayout"


def _strided_slice(graph, op):
    strides = graph.tensors[op.inputs[3]].data if len(op.inputs) > 3 else None
    if strides is None or np.any(np.asarray(strides) != 1):
        return "strides must all be 1"
    return None


def _transpose(graph, op):
    perm = graph.tensors[op.inputs[1]].data
    if perm is None or int(np.ravel(perm)[0]) != 0:
        return "transposes the batch dimension"
    return None


def _resize(graph, op):
    shape = graph.tensors[op.inputs[0]].shape
    return None if len(shape) <= 3 or shape[0] == 1 else f"input {list(shape)} is not 3-dimensional"


_LIMITS = {
    "FULLY_CONNECTED": _fully_connected, "SOFTMAX": _softmax, "PAD": _pad,
    "MEAN": lambda g, o: _reduction(g, o, xy_only=True), "SUM": _reduction,
    "REDUCE_MAX": _reduction, "REDUCE_MIN": _reduction, "CONCATENATION": _concatenation,
    "SQUEEZE": _squeeze, "STRIDED_SLICE": _strided_slice, "TRANSPOSE": _transpose,
    "RESIZE_BILINEAR": _resize, "RESIZE_NEAREST_NEIGHBOR": _resize,
}


def _is_io_conversion(graph, op) -> bool:
    """Float->int QUANTIZE of a model input, or int->float DEQUANTIZE to a model output."""
    if op.opcode == "QUANTIZE":
        src = graph.tensors[op.inputs[0]]
        return op.inputs[0] in graph.inputs and src.dtype not in _EIGHT_BIT
    if op.opcode == "DEQUANTIZE":
        return op.outputs[0] in graph.outputs
    return False


# --- edgetpu_compiler --------------------------------------------------------------------

_TABLE_ROW = re.compile(r"^([A-Z][A-Z0-9_]+)\s+(\d+)\s+(\S.*?)\s*$")
_COUNTS = {
    "total_ops": re.compile(r"Total number of operations:\s*(\d+)"),
    "tpu_ops": re.compile(r"Number of operations that will run on Edge TPU:\s*(\d+)"),
    "cpu_ops": re.compile(r"Number of operations that will run on CPU:\s*(\d+)"),
    "subgraphs": re.compile(r"Number of Edge TPU subgraphs:\s*(\d+)"),
}


def parse_compiler_log(text: str) -> dict:
    """The per-op table and counts of ``edgetpu_compiler -s`` output."""
    ops = []
    for line in text.splitlines():
        match = _TABLE_ROW.match(line.strip())
        if match and match.group(1) != "Operator":
            op, count, status = match.groups()
            ops.append({"op": op, "count": int(count), "status": status, "on_tpu": status == MAPPED})
    result: dict = {key: int(m.group(1)) for key, rx in _COUNTS.items() if (m := rx.search(text))}
    result["ops"] = ops
    mapped = sum(o["count"] for o in ops if o["on_tpu"])
    result.setdefault("tpu_ops", mapped)
    result.setdefault("cpu_ops", sum(o["count"] for o in ops) - mapped)
    result["compiled"] = "Model compiled successfully" in text
    return result


def run_edgetpu_compiler(model_path: str | Path, out_dir: str | Path | None = None,
                         timeout: float = 300) -> tuple[dict | None, str]:
    """Compile with ``edgetpu_compiler`` when it is on PATH: (parsed log or None, a plain note)."""
    exe = shutil.which("edgetpu_compiler")
    if exe is None:
        return None, ("edgetpu_compiler is not on PATH: the ops above are edgekit's reading of "
                      "Coral's documented rules; the CPU-compatible model is used as is")
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([exe, "-s", "-o", str(out_dir or tmp), str(model_path)],
                              capture_output=True, text=True, timeout=timeout)
    log = parse_compiler_log(proc.stdout + proc.stderr)
    if proc.returncode != 0 or not log["compiled"]:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or ["no output"]
        return log, f"edgetpu_compiler failed (exit {proc.returncode}): {tail[0]}"
    return log, f"edgetpu_compiler: {log['tpu_ops']} ops mapped, {log['cpu_ops']} on CPU"


def check_with_compiler(model_path: str | Path, out_dir: str | Path | None = None) -> EdgeTPUReport:
    """The static check plus the compiler's verdict (or a note saying it is not available)."""
    report = check_edgetpu(model_path)
    report.compiler, report.compiler_note = run_edgetpu_compiler(model_path, out_dir)
    return report
