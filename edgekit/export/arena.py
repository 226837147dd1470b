"""How big a tensor arena a model needs under TensorFlow Lite Micro.

A microcontroller build must reserve the arena statically (``uint8_t arena[N]``), so the
number has to be known before flashing. Two methods, and the result always says which:

``tflite-micro``
    The ``tflite-micro`` Python package's interpreter allocates the model for real and
    its ``RecordingMicroAllocator`` reports the bytes used (head: the planned,
    non-persistent activation buffers; tail: persistent interpreter structures and
    per-op data). Exact for the host build; struct sizes are pointer-sized, so a 32-bit
    MCU needs somewhat less tail.

``planner``
    When that package is missing or cannot load the model: the lifetimes of the
    non-constant tensors in execution order are packed greedily by size (what TFLM's
    ``GreedyMemoryPlanner`` does) for the head, plus :data:`PLANNER_OVERHEAD` for the tail.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekit.errors import InputFileError

TFLM_METHOD = "tflite-micro"
PLANNER_METHOD = "planner"
ALIGNMENT = 16  # TFLM aligns every arena buffer to 16 bytes

# Persistent (tail) bytes the planner adds, measured on TFLM's host build (64-bit):
# per tensor a TfLiteEvalTensor, per op a NodeAndRegistration plus typical op data,
# per output channel of a per-channel quantized kernel a multiplier and a shift, and a
# fixed part for the interpreter, subgraph and I/O tensor structures.
PLANNER_OVERHEAD = {"per_tensor": 24, "per_op": 192, "per_quantized_channel": 8, "fixed": 1024}

# Runs in a child process: TFLM reports through MicroPrintf on the C stderr, and a
# model TFLM cannot load must not take the caller down with it.
_TFLM_CHILD = """
import sys
from tflite_micro import runtime
data = sys.stdin.buffer.read()
for size in (1 << 24, 1 << 28):
    try:
        interpreter = runtime.Interpreter.from_bytes(data, arena_size=size)
    except RuntimeError as exc:
        error = exc
        continue
    interpreter.print_allocations()
    sys.exit(0)
print(f"EDGEKIT_TFLM_ERROR {error}", file=sys.stderr)
sys.exit(1)
"""
_ALLOCATION = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")


@dataclass(frozen=True)
class ArenaEstimate:
    """The tensor arena a model needs, and how that figure was obtained."""

    bytes: int
    method: str        # TFLM_METHOD or PLANNER_METHOD
    head_bytes: int    # non-persistent: activations, planned
    tail_bytes: int    # persistent: interpreter structures, op data
    note: str = ""     # why the planner was used, or caveats

    @property
    def kb(self) -> float:
        return self.bytes / 1024

    def describe(self) -> str:
        text = f"{self.bytes} bytes ({self.kb:.1f} KB) by {self.method}"
        return f"{text}; {self.note}" if self.note else text

    def to_dict(self) -> dict:
        return {"bytes": self.bytes, "kb": round(self.kb, 2), "method": self.method,
                "head_bytes": self.head_bytes, "tail_bytes": self.tail_bytes, "note": self.note}


def estimate_arena(source: str | Path | bytes) -> ArenaEstimate:
    """Measure with tflite-micro when it can load the model, else plan it."""
    data = _read(source)
    try:
        return measure_with_tflm(data)
    except TFLMUnavailable as why:
        estimate = plan_arena(data)
        return ArenaEstimate(estimate.bytes, estimate.method, estimate.head_bytes,
                             estimate.tail_bytes, note=f"tflite-micro not used: {why}")


class TFLMUnavailable(Exception):
    """tflite-micro is not installed or could not allocate this model (the reason is the message)."""


def measure_with_tflm(data: bytes, timeout: float = 120) -> ArenaEstimate:
    """Allocate the model in tflite-micro's interpreter and read its recorded arena usage."""
    if importlib.util.find_spec("tflite_micro") is None:
        raise TFLMUnavailable("the tflite-micro package is not installed (pip install tflite-micro)")
    try:
        proc = subprocess.run([sys.executable, "-c", _TFLM_CHILD], input=data,
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise TFLMUnavailable(f"tflite-micro did not finish within {timeout:.0f} s") from exc
    log = proc.stderr.decode("utf-8", "replace")
    found = {kind: int(n) for kind, n in _ALLOCATION.findall(log)}
    if proc.returncode != 0 or set(found) != {"total", "head", "tail"}:
        raise TFLMUnavailable(f"tflite-micro could not load the model ({_tflm_reason(log)})")
    return ArenaEstimate(found["total"], TFLM_METHOD, found["head"], found["tail"])


def plan_arena(source: str | Path | bytes) -> ArenaEstimate:
    """Lifetime-based estimate: greedy-by-size packing of the activations plus overhead."""
    from edgekit.inspect import read_tflite

    graph = read_tflite(_read(source)).subgraphs[0]
    buffers = _activation_lifetimes(graph)
    head = plan_offsets(buffers)
    channels = sum(_quantized_channels(graph, op) for op in graph.operators)
    tail = (PLANNER_OVERHEAD["per_tensor"] * len(graph.tensors)
            + PLANNER_OVERHEAD["per_op"] * len(graph.operators)
            + PLANNER_OVERHEAD["per_quantized_channel"] * channels
            + PLANNER_OVERHEAD["fixed"])
    return ArenaEstimate(head + tail, PLANNER_METHOD, head, tail)


def plan_offsets(buffers: list[tuple[int, int, int]]) -> int:
    """Pack ``(size, first_op, last_op)`` buffers like TFLM's GreedyMemoryPlanner; return the high-water mark.

    Largest first, each buffer goes to the lowest aligned offset that does not overlap a
    placed buffer whose lifetime overlaps its own.
    """
    placed: list[tuple[int, int, int, int]] = []  # offset, size, first, last
    high_water = 0
    for size, first, last in sorted(buffers, key=lambda b: -b[0]):
        live = sorted((o, s) for o, s, f, l in placed if f <= last and first <= l)
        offset = 0
        for other_offset, other_size in live:
            if offset + size <= other_offset:
                break
            offset = max(offset, _align(other_offset + other_size))
        placed.append((offset, size, first, last))
        high_water = max(high_water, offset + size)
    return _align(high_water)


def _activation_lifetimes(graph) -> list[tuple[int, int, int]]:
    """(aligned size, first op, last op) of every tensor TFLM keeps in the arena's head."""
    last_op = max(len(graph.operators) - 1, 0)
    first: dict[int, int] = {i: 0 for i in graph.inputs}
    last: dict[int, int] = {i: last_op for i in graph.outputs}
    for index, op in enumerate(graph.operators):
        for t in op.outputs:
            if t >= 0:
                first.setdefault(t, index)
        for t in op.inputs:
            if t >= 0:
                first.setdefault(t, index)
                last[t] = max(last.get(t, index), index)
    lifetimes = []
    for t, start in first.items():
        tensor = graph.tensors[t]
        if tensor.is_constant:
            continue
        lifetimes.append((_align(_nbytes(tensor)), start, last.get(t, start)))
    return lifetimes


def _quantized_channels(graph, op) -> int:
    """Output channels of a per-channel quantized weight: each costs a multiplier + shift."""
    if op.opcode not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"):
        return 0
    outputs = [graph.tensors[t] for t in op.outputs if t >= 0]
    if not outputs or outputs[0].quantization is None:
        return 0
    shape = outputs[0].shape
    return int(shape[-1]) if len(shape) else 0


def _nbytes(tensor) -> int:
    count = int(np.prod([max(int(d), 1) for d in tensor.shape])) if len(tensor.shape) else 1
    return count * np.dtype(tensor.dtype).itemsize


def _align(n: int) -> int:
    return -(-n // ALIGNMENT) * ALIGNMENT


def _read(source: str | Path | bytes) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise InputFileError(f"{source}: cannot read the model ({exc.strerror or exc})") from exc


def _tflm_reason(log: str) -> str:
    """TFLite Micro's own reason (it prints it before raising), else the exception."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    reasons = [line for line in lines if line.startswith(("Failed", "Didn't", "Unsupported"))]
    if reasons:
        return reasons[0]
    return lines[-1].replace("EDGEKIT_TFLM_ERROR ", "") if lines else "no output"
