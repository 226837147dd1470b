"""Real third-party float .tflite files quantized by ``edgekit convert MODEL.tflite`` (AI Edge Quantizer).

    python bench/tflite_corpus.py [--samples 32] [--tflite-runtime PYTHON]

The corpus is MediaPipe 0.10.14's models (``tests/helpers/tflite_corpus.py``: fetched from PyPI once,
cached). Each model goes through the library use case behind the command
(``quantize_tflite_file``) in three modes: ``--quantize dynamic``, ``--quantize int8
--calibration SPEC`` and ``--weights int4`` (weight-only). Calibration inputs are generated
and written to a ``.npz`` SPEC, the way a user without data would: ``--samples`` draws per
input, uniform in [-1, 1] with seed 0 (MediaPipe's vision models take [-1, 1] or [0, 1]
images). The int8 file is verified on its calibration inputs, the other two on 64 generated
inputs of the same kind. Agreement with the float source is measured on LiteRT in output
steps of 1/255 of each source output's range (max and median over every output value).
A refusal is the one-line message edgekit prints, nothing is written then.

``--tflite-runtime PYTHON``: a Python with tflite-runtime 2.14 (and numpy < 2) runs every
written file too, through edgekit's own benchmark agent (``edgekit-agent run``), on 16
generated inputs, compared with the float source on LiteRT the same way. That is the
runtime of the arm64 device tier, here as its x86_64 wheel (the lead's device runs are the
arm64 word). Results: ``bench/results/tflite_corpus.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests")]

from helpers import tflite_corpus  # noqa: E402

from edgekit.convert.tflite_source import calibration as cal  # noqa: E402
from edgekit.convert.tflite_source.file import TfliteOptions, quantize_tflite_file  # noqa: E402
from edgekit.errors import EdgekitError  # noqa: E402
from edgekit.fileio import atomic_write_text  # noqa: E402
from edgekit.inspect import read_tflite  # noqa: E402

AGENT = HERE.parent / "edgekit" / "agent" / "edgekit_agent.py"
RUNTIME_SAMPLES = 16
MODES = {"dynamic": TfliteOptions("dynamic"), "int8": TfliteOptions("int8"), "weights-int4": TfliteOptions(weights="int4")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=32, help="generated calibration samples per model")
    parser.add_argument("--tflite-runtime", metavar="PYTHON", help="a Python with tflite-runtime 2.14 installed")
    args = parser.parse_args()
    models = tflite_corpus.fetch()
    rows = []
    with tempfile.TemporaryDirectory(prefix="edgekit-corpus-") as tmp:
        for entry in tflite_corpus.MODELS:
            row = measure(entry, models[entry.name], Path(tmp), args.samples, args.tflite_runtime)
            print(json.dumps(row), file=sys.stderr)
            rows.append(row)
    from importlib.metadata import version

    result = {"corpus": tflite_corpus.PACKAGE, "samples": args.samples,
              "calibration": f"generated: {args.samples} samples per input, uniform in [-1, 1], seed 0",
              "ai_edge_quantizer": version("ai-edge-quantizer"), "ai_edge_litert": version("ai-edge-litert"),
              "tflite_runtime": _runtime_version(args.tflite_runtime) if args.tflite_runtime else None,
              "models": rows}
    atomic_write_text(HERE / "results" / "tflite_corpus.json", json.dumps(result, indent=2) + "\n")
    atomic_write_text(HERE / "results" / "tflite_corpus.md", markdown(rows) + "\n")


def measure(entry, path: Path, work: Path, samples: int, runtime_python: str | None) -> dict:
    parsed = read_tflite(path)
    ops = Counter(op.opcode for graph in parsed.subgraphs for op in graph.operators)
    row = {"model": entry.name, "family": entry.family, "bytes": path.stat().st_size,
           "ops": dict(ops.most_common()), "modes": {}}
    spec, check = None, None
    if runtime_python and entry.runs:
        check = _RuntimeCheck(runtime_python, path, work / entry.name)
        row["tflite_runtime_source"] = check.against_source(path)
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
                                  "inputs": v["inputs"], "io_types": done.io_types, "prepared": done.prepared}
            if check is not None:
                row["modes"][name]["tflite_runtime"] = check.against_source(Path(done.output))
        except EdgekitError as exc:
            row["modes"][name] = {"refused": str(exc), "exit_code": exc.exit_code}
        row["modes"][name]["seconds"] = round(time.perf_counter() - started, 2)
    return row


class _RuntimeCheck:
    """Files run on tflite-runtime (the agent in another Python) against the float source on LiteRT."""

    def __init__(self, python: str, source: Path, work: Path) -> None:
        from edgekit.convert.runners import run_model
        from edgekit.convert.tflite_source import source as prepare

        self.python, self.work = python, work
        work.mkdir(parents=True, exist_ok=True)
        prepared = prepare.prepare(source.read_bytes(), str(source))
        inputs = cal.signature_inputs(prepared.flatbuffer, prepared.signature)
        self.inputs = cal.generated_inputs(inputs, RUNTIME_SAMPLES, str(source))
        np.savez(work / "inputs.npz", **{f"x{i}": x for i, x in enumerate(self.inputs)})
        self.reference = run_model("litert", source.read_bytes(), self.inputs, str(source))

    def against_source(self, model: Path) -> dict:
        """{max_steps, median_steps} of the file's outputs on tflite-runtime, or {error}."""
        save = self.work / "outputs.npz"
        done = subprocess.run([self.python, str(AGENT), "run", str(model), "--inputs", str(self.work / "inputs.npz"),
                               "--save", str(save), "--runtime", "tflite_runtime"],
                              capture_output=True, text=True, timeout=1800)
        lines = done.stdout.strip().splitlines()
        report = json.loads(lines[-1]) if lines else {"ok": False, "error": {"message": done.stderr[-300:]}}
        if not report["ok"]:
            return {"error": report["error"]["message"].replace(str(model), model.name)[:300]}
        diffs = []
        with np.load(save) as arrays:
            for k, (reference, detail) in enumerate(zip(self.reference, report["outputs"])):
                y = arrays[f"y{k}"].astype(np.float64)
                scale, zero = detail["quantization"]
                if detail["dtype"].startswith("int") and scale:
                    y = (y - zero) * scale
                step = float(np.ptp(reference)) / 255 or 1.0
                diffs.append((np.abs(y.reshape(reference.shape) - reference) / step).ravel())
        d = np.concatenate(diffs)
        if not np.isfinite(d).all():
            return {"error": f"NaN/inf at {int((~np.isfinite(d)).sum())} of {d.size} output values"}
        return {"max_steps": round(float(d.max()), 3), "median_steps": round(float(np.median(d)), 4)}


def _runtime_version(python: str) -> str:
    return subprocess.run([python, "-c", "import tflite_runtime; print(tflite_runtime.__version__)"],
                          capture_output=True, text=True).stdout.strip()


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
    lines += ["", "Refusals (nothing written):", ""] + refusals if refusals else []
    if any("tflite_runtime_source" in row for row in rows):
        lines += ["", f"The same files on tflite-runtime 2.14 (x86_64 wheel, {RUNTIME_SAMPLES} generated inputs), "
                      "max / median output steps from the float source on LiteRT:", "",
                  "| model | float source | " + " | ".join(MODES) + " |", "|---|---|" + "---|" * len(MODES)]
        for row in rows:
            if "tflite_runtime_source" in row:
                cells = [_runtime_cell(row["tflite_runtime_source"])]
                cells += [_runtime_cell(row["modes"][m].get("tflite_runtime")) for m in MODES]
                lines.append(f"| {row['model']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _runtime_cell(result: dict | None) -> str:
    if result is None:
        return "-"
    if "error" in result:   # the runtime's own words, without the file name and TensorFlow's source path
        reason = result["error"].split(": ", 1)[-1].replace("/tensorflow/tensorflow/lite/", "")
        return "fails: " + reason.replace("the runtime could not load the model: ", "").replace("|", "/")[:110]
    return f"{result['max_steps']:g} / {result['median_steps']:g}"


if __name__ == "__main__":
    main()
