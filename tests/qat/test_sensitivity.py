"""Per-layer int8 sensitivity finds the deliberately fragile layer; auto mixed precision fixes it."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.errors import UsageError
from edgekit.models import make_int8_fragile
from edgekit.optimize import selective
from edgekit.optimize.sensitivity import analyze, auto_mixed, keep_float
from qat_support import copy_model


@pytest.fixture(scope="module")
def fragile(trained_cnn):
    return make_int8_fragile(copy_model(trained_cnn))


def test_fragile_layer_ranks_first_and_auto_mixed_keeps_it_float(fragile, digits):
    x, _, xv, yv = digits
    report = analyze(fragile, xv, yv, x[:200])
    assert report.int8_accuracy < report.float_accuracy - 0.005       # plain int8 really loses
    assert report.layers[0].layer == "fc1"
    assert report.layers[0].only_sqnr_db < min(s.only_sqnr_db for s in report.layers[1:])
    mixed = auto_mixed(fragile, xv, yv, x[:200], max_drop=0.5)
    assert "fc1" in mixed.kept_float and mixed.drop <= 0.5
    assert (selective.predict(mixed.tflite, xv).argmax(1) == yv).mean() == pytest.approx(mixed.accuracy)


def test_keep_float_leaves_the_named_layer_float(fragile, digits):
    x, _, xv, yv = digits
    tflite = keep_float(fragile, ["fc1"], x[:200])
    accuracy = (selective.predict(tflite, xv).argmax(1) == yv).mean()
    assert accuracy > 0.9


@pytest.mark.parametrize("call, message", [
    (lambda m, d: keep_float(m, ["nope"], d[0][:50]), "has no layer 'nope'"),
    (lambda m, d: auto_mixed(m, d[2], None, d[0][:50], 0.5), "needs labelled data"),
    (lambda m, d: auto_mixed(m, d[2], d[3], d[0][:50], -1.0), "MAX_DROP"),
])
def test_impossible_requests_fail_clearly(fragile, digits, call, message):
    with pytest.raises(UsageError, match=message):
        call(fragile, digits)
