"""MediaPipe's own float models (``tests/helpers/tflite_corpus.py``) through ``edgekit convert MODEL.tflite``.

For every model a stock runtime can load: dynamic, static int8 (calibrated on 8 generated
inputs, uniform in [-1, 1], written to a ``.npz`` SPEC named by the signature's input) and
weight-only int4 are written, each verified on LiteRT against its source; the model with
MediaPipe custom ops is refused in one line. ``bench/tflite_corpus.py`` reports the figures.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import tflite_corpus
from helpers.support import one_error_line

pytest.importorskip("ai_edge_quantizer")
pytestmark = pytest.mark.slow

RUNNABLE = [m.name for m in tflite_corpus.MODELS if m.runs]


@pytest.fixture(scope="module")
def corpus() -> dict:
    return tflite_corpus.fetch_or_skip()


def test_the_corpus_has_ten_real_models_edgekit_can_quantize():
    assert len(RUNNABLE) >= 10 and len({m.family for m in tflite_corpus.MODELS}) >= 5


@pytest.mark.parametrize("name", RUNNABLE)
def test_three_modes_are_written_and_follow_the_source(cli, corpus, tmp_path, name):
    from edgekit.convert.tflite_source import calibration, source
    from edgekit.inspect import read_tflite

    model = corpus[name]
    prepared = source.prepare(model.read_bytes(), name)
    inputs = calibration.signature_inputs(prepared.flatbuffer, prepared.signature)
    spec = tmp_path / "cal.npz"
    np.savez(spec, **dict(zip(inputs.names, calibration.generated_inputs(inputs, 8, name))))
    dtypes = {}
    for mode, args in (("dynamic", ("--quantize", "dynamic")), ("int8", ("--quantize", "int8", "--calibration", spec)),
                       ("weights-int4", ("--weights", "int4"))):
        out = tmp_path / f"{mode}.tflite"
        result = cli("convert", model, "-o", out, *args, "--json")
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        check = report["verification"]
        assert report["mode"] == mode and report["size_bytes"] == out.stat().st_size and check["ok"]
        assert np.isfinite(check["max_steps"]) and check["median_steps"] <= check["max_steps"]
        tensors = read_tflite(out).main.tensors
        dtypes[mode] = {t.dtype for t in tensors if not t.is_constant}, {t.dtype for t in tensors if t.is_constant}
    assert "int8" in dtypes["int8"][0]                  # static: activations are int8
    assert dtypes["dynamic"][0] <= {"float32", "int32"}   # dynamic: activations stay float in the graph
    assert "int4" in dtypes["weights-int4"][1]


def test_a_model_with_custom_ops_no_runtime_has_is_refused(cli, corpus, tmp_path):
    result = cli("convert", corpus["face_landmark_with_attention"], "-o", tmp_path / "q.tflite", "--quantize", "dynamic")
    assert result.exit_code == 2 and not (tmp_path / "q.tflite").exists()
    assert "LiteRT cannot load it (Encountered unresolved custom op: Landmarks2TransformMatrix" in one_error_line(result)
