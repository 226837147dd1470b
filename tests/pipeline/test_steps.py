"""The build's steps as public functions (edgekit.pipeline.steps), the option vocabulary, and the layering."""

from __future__ import annotations

import ast
import json
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np

from edgekit.pipeline import steps
from helpers.support import ROOT


def test_vocab_is_stdlib_only_and_the_one_source():
    code = ("import sys, edgekit.vocab; "
            "print(sorted(m for m in ('numpy', 'tensorflow', 'keras', 'click') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"
    from edgekit import convert, vocab
    from edgekit.cli import convert as cli_convert

    assert convert.QUANTIZE_MODES is vocab.QUANTIZE_MODES is cli_convert._QUANTIZE
    assert convert.IO_TYPES is vocab.IO_TYPES is cli_convert._IO_TYPES


# What a command may use: the use cases it calls, and the helpers of a command line (output, errors,
# the TensorFlow check, the option vocabulary, Ctrl-C and stderr handling, --scale/--mean/--std's type).
CLI_USES = {
    "use cases": {"convert", "demo", "evaluate", "export", "inspect", "local_bench", "optimize", "pipeline",
                  "remote", "results", "targets", "tune"},
    "helpers": {"console", "hints", "errors", "extras", "vocab", "interrupts", "quiet", "data", "fileio"},
}


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
        found += [(node.lineno, name) for name in names]
    return found


def test_no_library_module_imports_the_cli():
    upward = []
    for path in sorted((ROOT / "edgekit").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("edgekit/cli/") or relative == "edgekit/__main__.py":
            continue
        upward += [f"{relative}:{line} {n}" for line, n in _imports(path) if n == "edgekit.cli" or n.startswith("edgekit.cli.")]
    assert upward == []


def test_the_cli_imports_use_cases_and_helpers_only():
    allowed = set().union(*CLI_USES.values())
    used = {name.split(".")[1] for path in (ROOT / "edgekit" / "cli").glob("*.py") for _, name in _imports(path)
            if name.startswith("edgekit.") and not name.startswith("edgekit.cli")}
    assert used <= allowed, f"edgekit/cli imports {sorted(used - allowed)}: move that logic into a use case"


def _subset(source: Path, out: Path, samples: int) -> Path:
    data = np.load(source)
    np.savez(out, x=data["x"][:samples], y=data["y"][:samples])
    return out


def test_convert_variant_quantizes_and_fixes_the_batch(digits_model, digits_train):
    from edgekit.inspect import read_tflite

    float32 = read_tflite(steps.convert_variant(digits_model, quantize="none"))
    int8 = read_tflite(steps.convert_variant(digits_model, quantize="int8", io_type="int8",
                                             calibration_spec=digits_train, calibration_limit=32, static_batch=True))
    assert int8.size_bytes < float32.size_bytes / 3
    (inp,) = int8.main.input_tensors()
    assert inp.dtype == "int8" and inp.shape_signature[0] == 1
    assert float32.main.input_tensors()[0].shape_signature[0] == -1


def test_evaluate_arena_and_local_latency(tflite_models, digits_val, tmp_path):
    from edgekit.remote import Device
    from edgekit.results import ResultStore
    from edgekit.targets import load_target

    metrics = steps.evaluate_variant(tflite_models["int8"], digits_val)
    assert metrics["task"] == "classification" and 0.0 <= metrics["accuracy"] <= 1.0
    arena = steps.arena_size(tflite_models["int8"])
    assert arena["bytes"] > 0 and arena["method"]
    with socket.socket() as sock:  # a port nothing listens on: the device is unreachable
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    notes, store = [], ResultStore(tmp_path / "results.db")
    result, where = steps.measure_latency(tflite_models["int8"], load_target("local"),
                                          Device("gone", f"127.0.0.1:{port}", target="local"),
                                          runs=2, warmup=0, store=store, note=notes.append)
    assert where is None and result["timing_ms"]["runs"] == 2
    assert len(notes) == 1 and notes[0].startswith("device gone unreachable: ")
    assert [(r["target"], r["host"]) for r in store.runs()] == [("local", "local")]


def test_optimize_step_prunes_and_returns_a_json_summary(digits_model, digits_train, digits_val, tmp_path):
    from edgekit.pipeline.config import FinetuneSection, OptimizeStep

    train = _subset(digits_train, tmp_path / "train.npz", 128)
    val = _subset(digits_val, tmp_path / "val.npz", 64)
    lines: list[str] = []
    prune = OptimizeStep("prune", {"sparsity": 0.5, "schedule": "constant"})  # 4 steps: no time to ramp up
    model, summary = steps.optimize_step(digits_model, [prune], FinetuneSection(epochs=1), train, val,
                                         calibration_spec=train, calibration_limit=32, seed=0, progress=lines.append)
    assert json.loads(json.dumps(summary)) == summary and summary["accuracy_after"] is not None
    kernels = [w.numpy() for w in model.weights if w.path.endswith("kernel")]
    assert len(kernels) == 4 and all(0.45 < float((k == 0).mean()) < 0.55 for k in kernels)
    assert lines  # the engine's progress reached the caller
