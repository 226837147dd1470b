"""`edgekit export --format c-array`: the generated .h/.cc compile and embed the model byte for byte."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from helpers.support import run_edgekit

HERE = Path(__file__).resolve().parent


def test_c_array_compiles_and_round_trips(tflite_models, cxx, tmp_path):
    model = tflite_models["int8"]
    proc = run_edgekit("export", model, "--format", "c-array", "--out", tmp_path / "src", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    data = model.read_bytes()
    assert report["length"] == len(data)
    assert report["arena"]["bytes"] > 0 and report["arena"]["method"] in ("tflite-micro", "planner")

    header = (tmp_path / "src" / "model_data.h").read_text()
    assert hashlib.sha256(data).hexdigest() in header and model.name in header
    assert "#ifndef EDGEKIT_MODEL_DATA_H_" in header
    assert "alignas(16) const unsigned char g_model[]" in (tmp_path / "src" / "model_data.cc").read_text()

    exe = tmp_path / "roundtrip"
    subprocess.run([cxx, "-std=c++11", "-Wall", "-Werror", "-I", tmp_path / "src", HERE / "sha256_main.cc",
                    tmp_path / "src" / "model_data.cc", "-o", exe], check=True, capture_output=True)
    out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout.split()
    assert out == ["len", str(len(data)), "sha256", hashlib.sha256(data).hexdigest(), "aligned16", "1"]


def test_c_array_name_and_symbol(tflite_models, tmp_path, cli):
    result = cli("export", tflite_models["float32"], "--out", tmp_path, "--name", "kws_model", "--symbol", "g_kws")
    assert result.exit_code == 0, result.output
    assert "extern const int g_kws_len;" in (tmp_path / "kws_model.h").read_text()
    assert '#include "kws_model.h"' in (tmp_path / "kws_model.cc").read_text()


def test_export_rejects_a_non_model_and_a_bad_symbol(tmp_path, tflite_models):
    bogus = tmp_path / "notes.tflite"
    bogus.write_text("not a flatbuffer")
    proc = run_edgekit("export", bogus, "--out", tmp_path / "out")
    assert proc.returncode == 2
    assert "notes.tflite: not a TFLite model" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
    proc = run_edgekit("export", tflite_models["int8"], "--out", tmp_path / "out", "--symbol", "9lives")
    assert proc.returncode == 2 and "--symbol '9lives' is not a C identifier" in proc.stderr


def test_export_does_not_import_tensorflow(tflite_models, tmp_path):
    code = ("import sys\nfrom edgekit.cli import cli\n"
            "try:\n    cli.main(sys.argv[1:], prog_name='edgekit')\nexcept SystemExit as exit:\n    code = exit.code\n"
            "print(code, 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code, "export", str(tflite_models["int8"]), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.stdout.split() == ["0", "False", "False"], proc.stderr
