"""Quiet by default: no TensorFlow/absl/LiteRT log line on any command's stderr unless ``--verbose``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from edgekit.quiet import is_noise
from helpers.quiet_support import noise_lines
from helpers.support import run_edgekit

# Lines seen on a new user's terminal (TensorFlow 2.21, LiteRT 2.3), and lines edgekit must keep.
SEEN = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796005720.461018    3761 port.cc:153] oneDNN custom operations are on. You may see ...",
    "I0000 00:00:1796005720.461374    3761 cudart_stub.cc:31] Could not find cuda drivers on your machine",
    "E0000 00:00:1796005727.123456    3761 cuda_executor.cc:1228] failed call to cuInit: INTERNAL: CUDA error",
    "W0000 00:00:1796005731.000001    3761 op_level_cost_estimator.cc:699] Error in PredictCost() for the op: op: "
    '"CropAndResize"',
    "2024-05-01 10:00:00.123456: W tensorflow/core/framework/op_def_util.cc:369] NodeDef mentions attribute "
    "use_unbounded_threadpool",
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
    "WARNING:absl:Compiled the loaded model, but the compiled metrics have yet to be built.",
    "/venv/lib/python3.11/site-packages/keras/src/layers/core/dense.py:93: UserWarning: Do not pass an "
    "`input_shape`",
]
KEPT = ["edgekit: error: m.keras: not a Keras model", "[build] convert int8 ...", "budget max_size_kb: 158.5 <= 256 ok",
        "F0000 00:00:1796005720.461018    3761 check.cc:1] Check failed: a crash the user must see",
        "Warning: nothing to do", "  epoch 1/1: loss 0.4358, accuracy 0.8992"]


@pytest.mark.parametrize("line", SEEN)
def test_third_party_log_lines_are_noise(line):
    assert is_noise(line.encode()) and noise_lines(line)


@pytest.mark.parametrize("line", KEPT)
def test_edgekit_lines_and_fatal_ones_are_kept(line):
    assert not is_noise(line.encode())


def test_the_filter_drops_noise_from_the_process_and_its_children_and_keeps_the_rest():
    """fd 2 itself is filtered: C code and subprocesses write there, not to sys.stderr."""
    script = textwrap.dedent(f"""
        import os, subprocess, sys
        from edgekit.quiet import StderrFilter
        f = StderrFilter(); f.install()
        os.write(2, {SEEN[1]!r}.encode() + b"\\nkept 1\\n" + {SEEN[6]!r}.encode() + b"\\n")
        print({SEEN[-1]!r}, file=sys.stderr); print("    warnings.warn(...)", file=sys.stderr)
        subprocess.run([sys.executable, "-c", "import os; os.write(2, b'kept 2\\\\n{SEEN[2]}\\\\nno newline')"])
        f.close()
        os.write(2, b"\\nafter close\\n")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == ["kept 1", "kept 2", "no newline", "after close"]


def test_argument_errors_come_before_tensorflow_is_imported():
    script = textwrap.dedent("""
        import sys
        from edgekit.cli import cli
        try:
            cli.main(["optimize", "m.keras", "-o", "o.keras", "--train-data", "t.npz", "--prune", "80"])
        except SystemExit as exit:
            print(exit.code, "tensorflow" in sys.modules, "keras" in sys.modules)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.stdout.split() == ["2", "False", "False"]
    assert proc.stderr.splitlines() == [
        "edgekit: error: prune sparsity must be in [0, 1) (e.g. 0.8 for 80% zeros), got 80.0"]


@pytest.mark.slow
def test_commands_print_no_tensorflow_lines_unless_verbose(digits_model, digits_train, digits_val, tmp_path):
    env = {**os.environ, "EDGEKIT_RESULTS_DB": str(tmp_path / "results.db")}
    optimized = tmp_path / "pruned.keras"
    commands = [  # optimize 1 epoch + convert int8 (calibrated), the per-layer sensitivity, a benchmark
        ("optimize", digits_model, "-o", optimized, "--train-data", digits_train, "--val-data", digits_val,
         "--prune", "0.5", "--epochs", "1", "--tflite", tmp_path / "pruned.tflite", "--quantize", "int8"),
        ("sensitivity", digits_model, "--data", digits_val, "--calibration", digits_train, "--limit", "40",
         "--calibration-limit", "20"),
        ("bench", tmp_path / "pruned.tflite", "--runs", "5"),
    ]
    for args in commands:
        proc = run_edgekit(*args, env=env)
        assert proc.returncode == 0, proc.stderr
        assert noise_lines(proc.stderr) == [], (args[0], proc.stderr)
        assert proc.stderr.strip(), "edgekit's own progress lines still reach stderr"
    verbose = run_edgekit("--verbose", "eval", digits_model, "--data", digits_val, "--limit", "20", env=env)
    assert verbose.returncode == 0 and noise_lines(verbose.stderr), verbose.stderr
