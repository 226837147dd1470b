"""The drop a command reports for a model with several outputs is that of the output that lost the most."""

from __future__ import annotations

from edgekit.quality_drop import measure

FIXES = ("more --epochs",)


def _heads(digit: float, parity: float) -> dict:
    return {"outputs": {"digit": {"task": "classification", "accuracy": digit},
                        "parity": {"task": "classification", "accuracy": parity}}}


def test_a_collapsed_second_head_warns_and_is_named():
    drop = measure(_heads(0.98, 0.97), _heads(0.975, 0.62), FIXES)
    assert drop.output == "parity" and drop.points == 35.0
    assert drop.line() == "parity accuracy 97.00% → 62.00% (−35.00 pt)"
    assert drop.warning().startswith("parity accuracy dropped 35.00 pt (more than 5 pt); likely fixes: more --epochs")
    assert drop.to_dict()["output"] == "parity"


def test_the_worst_output_is_compared_across_kinds():
    before = {"outputs": {"digit": {"task": "classification", "accuracy": 0.98},
                          "size": {"task": "regression", "mae": 0.10, "mse": 0.02}}}
    after = {"outputs": {"digit": {"task": "classification", "accuracy": 0.96},
                         "size": {"task": "regression", "mae": 0.13, "mse": 0.03}}}
    drop = measure(before, after, FIXES)
    assert drop.output == "size" and drop.regression and round(drop.points, 6) == 30.0
    assert drop.line() == "size mae 0.1000 → 0.1300 (+30.00%)"


def test_one_output_keeps_its_unnamed_line():
    drop = measure({"task": "classification", "accuracy": 0.9}, {"task": "classification", "accuracy": 0.8}, FIXES)
    assert drop.output == "" and drop.line() == "accuracy 90.00% → 80.00% (−10.00 pt)"
    assert drop.to_dict()["output"] is None


def test_equal_drops_name_the_first_output():
    assert measure(_heads(0.9, 0.9), _heads(0.9, 0.9), FIXES).output == "digit"
