"""Real third-party float .tflite files quantized by ``edgekit convert MODEL.tflite`` (AI Edge Quantizer).

    python bench/tflite_corpus.py [--samples 32]

The corpus is MediaPipe 0.10.14's models (``tests/tflite_corpus.py``: fetched from PyPI once,
cached). Each model goes through the library use case behind the command
(``quantize_tflite_file``) in three modes: ``--quantize dynamic``, ``--quantize int8
--calibration SPEC`` and ``--weights int4`` (weight-only). Calibration inputs are generated
and written to a ``.npz`` SPEC, the way a user without data would: ``--samples`` draws per
input, uniform in [-1, 1] with seed 0 (MediaPipe's vision models take [-1, 1] or [0, 1]
images). The int8 file is verified on its calibration inputs, the other two on 64 generated
inputs of the same kind. Agreement with the float source is measured on LiteRT in output
steps of 1/255 of each source output's range (max and median over every output value).
A refusal is the one-line message edgekit prints, nothing is written then.
Results: ``bench/results/tflite_corpus.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests")]

import tflite_corpus  # noqa: E402

from edgekit.convert.tflite_source import calibration as cal  # noqa: E402
from edgekit.convert.tflite_source.file import TfliteOptions, quantize_tflite_file  # noqa: E402
from edgekit.errors import EdgekitError  # noqa: E402
from edgekit.fileio import atomic_write_text  # noqa: E402
from edgekit.inspect import read_tflite  # noqa: E402

MODES = {"dynamic": TfliteOptions("dynamic"), "int8": TfliteOptions("int8"), "weights-int4": TfliteOptions(weights="int4")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=32, help="generated calibration samples per model")
    args = parser.parse_args()
    models = tflite_corpus.fetch()
    rows = []
    with tempfile.TemporaryDirectory(prefix="edgekit-corpus-") as tmp:
        for entry in tflite_corpus.MODELS:
            row = measure(entry, models[entry.name], Path(tmp), args.samples)
            print(json.dumps(row), file=sys.stderr)
            rows.append(row)
    import ai_edge_quantizer
    import ai_edge_litert

    result = {"corpus": tflite_corpus.PACKAGE, "samples": args.samples,
              "calibration": f"generated: {args.samples} samples per input, uniform in [-1, 1], seed 0",
              "ai_edge_quantizer": getattr(ai_edge_quantizer, "__version__", "0.10"),
              "ai_edge_litert": getattr(ai_edge_litert, "__version__", "?"), "models": rows}
    atomic_write_text(HERE / "results" / "tflite_corpus.json", json.dumps(result, indent=2) + "\n")
    atomic_write_text(HERE / "results" / "tflite_corpus.md", markdown(rows) + "\n")


def measure(entry, path: Path, work: Path, samples: int) -> dict:
    parsed = read_tflite(path)
    ops = Counter(op.opcode for graph in parsed.subgraphs for op in graph.operators)
    row = {"model": entry.name, "family": entry.family, "bytes": path.stat().st_size,
           "ops": dict(ops.most_common()), "modes": {}}
    spec = None
    for name, options in MODES.items():
        started = time.perf_counter()
        try:
            if options.mode().calibrated and spec is None:
                spec = _calibration_spec(path, work / f"{entry.name}.npz", samples)
            done = quantize_tflite_file(path, work / f"{entry.name}.{name}.tflite", options,
                                        calibration=spec if options.mode().calibrated else None)
            v = done.verification
            row["modes"][name] = {"bytes": done.size_bytes, "of_source": round(done.size_bytes / row["bytes"], 4),
                                  "quantized_tensors": done.quantized_tensors, "max_steps": v["max_steps"],
                                  "median_steps": v["median_steps"], "top1": v["top1"], "samples": v["samples"],
                                  "inputs": v["inputs"], "prepared": done.prepared}
        except EdgekitError as exc:
            row["modes"][name] = {"refused": str(exc), "exit_code": exc.exit_code}
        row["modes"][name]["seconds"] = round(time.perf_counter() - started, 2)
    return row


def _calibration_spec(path: Path, out: Path, samples: int) -> Path:
    """A .npz of generated inputs named by the model's signature inputs (what a user would pass as SPEC)."""
    from edgekit.convert.tflite_source import source

    prepared = source.prepare(path.read_bytes(), str(path))
    inputs = cal.signature_inputs(prepared.flatbuffer, prepared.signature)
    np.savez(out, **dict(zip(inputs.names, cal.generated_inputs(inputs, samples, str(path)))))
    return out


def markdown(rows: list[dict]) -> str:
    lines = ["| model | family | main ops | float bytes | " + " | ".join(f"{m} bytes (of float) | {m} max / median steps"
                                                                for m in MODES) + " |",
             "|---|---|---|---:|" + "---:|---|" * len(MODES)]
    refusals = []
    for row in rows:
        ops = ", ".join(f"{op} {n}" for op, n in list(row["ops"].items())[:4])
        cells = []
        for mode in MODES:
            m = row["modes"][mode]
            if "refused" in m:
                cells += ["refused", "-"]
                refusals.append(f"- {row['model']} ({mode}): {m['refused']}")
            else:
                cells += [f"{m['bytes']:,} ({m['of_source']:.1%})", f"{m['max_steps']:g} / {m['median_steps']:g}"]
        lines.append(f"| {row['model']} | {row['family']} | {ops} | {row['bytes']:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines + (["", "Refusals (nothing written):", ""] + refusals if refusals else []))


if __name__ == "__main__":
    main()
