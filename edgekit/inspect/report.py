"""``inspect_model``: the report ``edgekit inspect`` prints, as data (``to_dict``) and as text."""

from __future__ import annotations

import gzip
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from edgekit.inspect.integer import float_operators, has_integer_io
from edgekit.inspect.model import Quantization, SignatureDef, Tensor, TFLiteModel
from edgekit.inspect.reader import Source, read_tflite
from edgekit.inspect.storage import lut_tensors, storage_forms
from edgekit.inspect.weights import DEFAULT_NM, NMStats, WeightStats, weight_stats
from edgekit.tables import format_table

REPORT_SCHEMA = 1


@dataclass
class IOTensor:
    """A model input or output as a caller must feed or read it."""

    name: str
    index: int
    dtype: str
    shape: tuple[int, ...]
    shape_signature: tuple[int, ...]
    quantization: Quantization | None

    @classmethod
    def of(cls, tensor: Tensor) -> "IOTensor":
        return cls(tensor.name, tensor.index, tensor.dtype, tensor.shape, tensor.shape_signature,
                   tensor.quantization)

    def to_dict(self) -> dict:
        return {"name": self.name, "index": self.index, "dtype": self.dtype, "shape": list(self.shape),
                "shape_signature": list(self.shape_signature),
                "quantization": self.quantization.to_dict() if self.quantization else None}


@dataclass
class InspectReport:
    path: str | None
    size_bytes: int
    schema_version: int
    description: str
    min_runtime_version: str | None
    metadata: list[str]
    signatures: list[dict]
    subgraphs: int
    inputs: list[IOTensor]
    outputs: list[IOTensor]
    op_histogram: dict[str, int]  # opcode -> count, most frequent first
    custom_ops: list[str]
    is_full_integer: bool
    integer_io: bool
    float_ops: list[str]  # "CONV_2D#3" (opcode#operator index; "@s" suffix outside subgraph 0)
    weights: list[WeightStats]  # one per constant buffer, file order
    nm_patterns: list[str]
    sparse_tensors: int
    model: TFLiteModel | None = field(default=None, repr=False)  # the parsed file, for reuse
    gzip_bytes: int | None = None       # gzip -9 of the whole file (what an over-the-air transfer costs)
    storage: dict[str, list[str]] = field(default_factory=dict)  # storage form -> tensors (inspect/storage.py)
    lut_tensors: list[dict] = field(default_factory=list)  # TFLM LUT-decoded kernels: bits, axis, bytes

    @property
    def kernel_entropy_bits(self) -> float | None:
        """Bits per weight an ideal per-tensor coder needs, over every kernel (>= 2 dims)."""
        kernels = [w for w in self.weights if w.is_kernel and w.entropy_bits is not None]
        total = sum(w.elements for w in kernels)
        return sum(w.entropy_bits * w.elements for w in kernels) / total if total else None

    @property
    def operator_count(self) -> int:
        return sum(self.op_histogram.values())

    @property
    def weight_bytes(self) -> int:
        return sum(w.nbytes for w in self.weights)

    @property
    def weight_sparsity(self) -> float | None:
        """Fraction of zeros over all kernels (constants with >= 2 dims; biases excluded)."""
        kernels = [w for w in self.weights if w.is_kernel and w.zeros is not None]
        elements = sum(w.elements for w in kernels)
        return sum(w.zeros for w in kernels) / elements if elements else None

    def nm_totals(self) -> list[NMStats]:
        """Each N:M pattern summed over every kernel that has input channels."""
        totals = []
        for pattern in self.nm_patterns:
            per_tensor = [s for w in self.weights for s in w.nm if s.pattern == pattern]
            if per_tensor:
                totals.append(sum(per_tensor[1:], per_tensor[0]))
        return totals

    def to_dict(self, *, tensors: bool = True) -> dict:
        out = {
            "schema": REPORT_SCHEMA,
            "path": self.path,
            "size_bytes": self.size_bytes,
            "schema_version": self.schema_version,
            "description": self.description,
            "min_runtime_version": self.min_runtime_version,
            "metadata": self.metadata,
            "signatures": self.signatures,
            "subgraphs": self.subgraphs,
            "inputs": [t.to_dict() for t in self.inputs],
            "outputs": [t.to_dict() for t in self.outputs],
            "operator_count": self.operator_count,
            "op_histogram": self.op_histogram,
            "custom_ops": self.custom_ops,
            "is_full_integer": self.is_full_integer,
            "integer_io": self.integer_io,
            "float_ops": self.float_ops,
            "sparse_tensors": self.sparse_tensors,
            "weight_tensors": len(self.weights),
            "weight_bytes": self.weight_bytes,
            "weight_sparsity": self.weight_sparsity,
            "nm": [s.to_dict() for s in self.nm_totals()],
            "gzip_bytes": self.gzip_bytes,
            "kernel_entropy_bits": self.kernel_entropy_bits,
            "storage": self.storage,
            "lut_tensors": self.lut_tensors,
        }
        if tensors:
            out["weights"] = [w.to_dict() for w in self.weights]
        return out


def inspect_model(source: Source | TFLiteModel, *, nm: tuple[tuple[int, int], ...] = DEFAULT_NM) -> InspectReport:
    """Read a ``.tflite`` (path, bytes or an already parsed model) and build its report.

    ``nm``: the N:M patterns to check, as (n, m) pairs; 2:4 by default.
    """
    model = source if isinstance(source, TFLiteModel) else read_tflite(source)
    main = model.main
    floats = float_operators(model)
    return InspectReport(
        path=os.fspath(model.path) if model.path is not None else None,
        size_bytes=model.size_bytes,
        schema_version=model.version,
        description=model.description,
        min_runtime_version=model.min_runtime_version(),
        metadata=sorted(model.metadata),
        signatures=[_signature(model, sig) for sig in model.signatures],
        subgraphs=len(model.subgraphs),
        inputs=[IOTensor.of(t) for t in main.input_tensors()],
        outputs=[IOTensor.of(t) for t in main.output_tensors()],
        op_histogram=dict(Counter(op.opcode for op in model.operators).most_common()),
        custom_ops=model.custom_ops,
        is_full_integer=not floats,
        integer_io=has_integer_io(model),
        float_ops=[f"{op.opcode}#{op.index}" + (f"@{g}" if g else "") for g, op in floats],
        weights=_weights(model, nm),
        nm_patterns=[f"{n}:{m}" for n, m in nm],
        sparse_tensors=sum(t.sparsity is not None for g in model.subgraphs for t in g.tensors),
        model=model,
        gzip_bytes=_gzip_size(source if isinstance(source, (bytes, bytearray, memoryview)) else model.path),
        storage=storage_forms(model),
        lut_tensors=lut_tensors(model),
    )


def _gzip_size(source) -> int | None:
    if source is None:
        return None
    data = bytes(source) if isinstance(source, (bytes, bytearray, memoryview)) else Path(source).read_bytes()
    return len(gzip.compress(data, 9))


def _signature(model: TFLiteModel, sig: SignatureDef) -> dict:
    """A signature with tensor names instead of indices (what a caller looks up)."""
    tensors = model.subgraphs[sig.subgraph_index].tensors

    def names(mapping: dict[str, int]) -> dict[str, str | None]:
        return {key: tensors[i].name if i < len(tensors) else None for key, i in mapping.items()}

    return {"key": sig.key, "subgraph": sig.subgraph_index, "inputs": names(sig.inputs), "outputs": names(sig.outputs)}


def _weights(model: TFLiteModel, nm) -> list[WeightStats]:
    """Stats of each constant buffer once (tensors may share a buffer)."""
    seen: set = set()
    stats = []
    for graph in model.subgraphs:
        readers = graph.consumers()
        for tensor in graph.tensors:
            key = tensor.buffer or (graph.index, tensor.index)  # buffer 0: data kept elsewhere
            if tensor.is_constant and key not in seen:
                seen.add(key)
                stats.append(weight_stats(graph.index, tensor, _users(readers, tensor.index), nm))
    return stats


# Ops that only change how a constant is stored (sparse -> dense, float16 -> float32).
_DECODING_OPS = frozenset({"DENSIFY", "DEQUANTIZE"})


def _users(readers: dict, index: int, seen: frozenset[int] = frozenset()) -> list:
    """The (operator, slot) pairs that use a constant, looking through DENSIFY/DEQUANTIZE."""
    found = []
    for op, slot in readers.get(index, []):
        decoded = op.outputs[0] if op.opcode in _DECODING_OPS and op.outputs else None
        if decoded is not None and decoded not in seen:
            found += _users(readers, decoded, seen | {index})
        else:
            found.append((op, slot))
    return found


# ---- text rendering -------------------------------------------------------------------


def render_text(report: InspectReport, *, tensors: bool = True, name_width: int = 48) -> str:
    """The human-readable report: summary lines, then aligned tables."""
    sections = [_summary(report), _io_table("inputs", report.inputs, name_width),
                _io_table("outputs", report.outputs, name_width), _op_table(report)]
    if report.lut_tensors:
        sections.append(_lut_table(report, name_width))
    if tensors and report.weights:
        sections.append(_weights_table(report, name_width))
    return "\n\n".join(sections) + "\n"


def _summary(report: InspectReport) -> str:
    integer = "yes" if report.is_full_integer else f"no ({_first(report.float_ops)} compute in float)"
    if report.is_full_integer:
        integer += ", integer I/O" if report.integer_io else ", float I/O (QUANTIZE/DEQUANTIZE at the edges)"
    sparsity = report.weight_sparsity
    lines = [
        ("model", report.path or "<bytes>"),
        ("size", f"{report.size_bytes:,} bytes"),
        ("schema", f"v{report.schema_version}, min runtime {report.min_runtime_version or '-'}"),
        ("description", report.description or "-"),
        ("signatures", ", ".join(s["key"] for s in report.signatures) or "-"),
        ("metadata", ", ".join(report.metadata) or "-"),
        ("subgraphs", f"{report.subgraphs}, {report.operator_count} operators"),
        ("full-integer", integer),
        ("custom ops", ", ".join(report.custom_ops) or "none"),
        ("sparse tensors", str(report.sparse_tensors)),
        ("gzip -9", "-" if report.gzip_bytes is None else f"{report.gzip_bytes:,} bytes "
                    f"({report.gzip_bytes / report.size_bytes:.1%} of the file)"),
        ("storage", ", ".join(f"{form} ({len(names)})" for form, names in report.storage.items()) or "-"),
        ("kernel entropy", "-" if report.kernel_entropy_bits is None else
                           f"{report.kernel_entropy_bits:.2f} bits per weight (values as stored: "
                           f"{_stored_bits(report):.2f})"),
        ("weights", f"{report.weight_bytes:,} bytes in {len(report.weights)} constant tensors"),
        ("weight sparsity", "-" if sparsity is None else f"{sparsity:.1%} zeros (tensors with >= 2 dims)"),
    ]
    for total in report.nm_totals():
        lines.append((f"{total.pattern} groups", f"{total.fraction_ok:.1%} of {total.groups:,} groups have "
                      f"<= {total.n} non-zeros (max {total.max_nonzeros} in a group of {total.m})"))
    width = max(len(k) for k, _ in lines)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in lines)


def _stored_bits(report: InspectReport) -> float:
    kernels = [w for w in report.weights if w.is_kernel and w.elements]
    return sum(w.nbytes for w in kernels) * 8 / max(1, sum(w.elements for w in kernels))


def _first(items: list[str], count: int = 3) -> str:
    return ", ".join(items[:count]) + (f" and {len(items) - count} more" if len(items) > count else "")


def _io_table(title: str, tensors: list[IOTensor], name_width: int) -> str:
    rows = [[_short(t.name, name_width), t.dtype, _shape(t.shape), _shape(t.shape_signature), _quant(t.quantization)]
            for t in tensors]
    return f"{title}\n" + format_table(["name", "dtype", "shape", "signature", "quantization"], rows)


def _op_table(report: InspectReport) -> str:
    custom = set(report.custom_ops)
    rows = [[op + (" (custom)" if op in custom else ""), count] for op, count in report.op_histogram.items()]
    return "operators\n" + format_table(["op", "count"], rows)


def _lut_table(report: InspectReport, name_width: int) -> str:
    rows = [[_short(t["tensor"], name_width), t["bits"], "tensor" if t["axis"] is None else t["axis"],
             t["values_per_table"], t["elements"], f"{t['stored_bytes']:,}", f"{t['stored_bits']:.2f}"]
            for t in report.lut_tensors]
    return "TFLM look-up-table kernels\n" + format_table(
        ["tensor", "index bits", "table axis", "values/table", "weights", "bytes", "bits/weight"], rows)


def _weights_table(report: InspectReport, name_width: int) -> str:
    patterns = report.nm_patterns
    headers = ["tensor", "dtype", "shape", "bytes", "zeros", "unique", "uniq/ch max", "uniq/ch mean", "bits/w",
               "entropy"]
    for pattern in patterns:
        headers += [f"{pattern} ok", f"{pattern} max"]
    rows = []
    for w in report.weights:
        nm = {s.pattern: s for s in w.nm}
        name = _short(w.name, name_width) + (" [sparse]" if w.sparse_encoded else "")
        row = [name, w.dtype, _shape(w.shape), f"{w.nbytes:,}", _pct(w.zero_fraction), w.unique_values,
               w.unique_per_channel_max, _fixed(w.unique_per_channel_mean), _fixed(w.stored_bits, 2),
               _fixed(w.entropy_bits, 2)]
        for pattern in patterns:
            stats = nm.get(pattern)
            row += [_pct(stats.fraction_ok), stats.max_nonzeros] if stats else [None, None]
        rows.append(row)
    align = "lllrrrrrrr" + "r" * 2 * len(patterns)
    notes = [f"  note: {_short(w.name, name_width)}: {w.note}" for w in report.weights if w.note]
    return "\n".join(["weights (constant tensors)", format_table(headers, rows, align=align), *notes])


def _shape(shape: tuple[int, ...]) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def _quant(quant: Quantization | None) -> str:
    if quant is None:
        return "-"
    if quant.per_channel:
        return f"per-channel (axis {quant.quantized_dimension}, {len(quant.scales)} scales)"
    return f"scale {float(quant.scales[0]):.6g}, zero point {int(quant.zero_points[0])}"


def _pct(value: float | None) -> str | None:
    return None if value is None else f"{value:.1%}"


def _fixed(value: float | None, digits: int = 1) -> str | None:
    return None if value is None else f"{value:.{digits}f}"


def _short(name: str, width: int) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"
