"""`edgekit build` of a user's regression model: fine-tuned with its own loss, budgets on MAE/MSE."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers.build_support import build


@pytest.mark.slow
def test_regression_model_builds_with_error_budgets(tmp_path):
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(384, 12)).astype(np.float32)
    y = (np.tanh(x[:, :3]).sum(axis=1, keepdims=True) + 0.3 * x[:, 3:4]).astype(np.float32)
    np.savez(tmp_path / "train.npz", x=x[:320], y=y[:320])
    np.savez(tmp_path / "val.npz", x=x[320:], y=y[320:])
    keras.utils.set_random_seed(0)
    inputs = keras.Input((12,))
    hidden = keras.layers.Dense(96, activation="relu", name="hidden")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1, name="value")(hidden))
    model.compile(optimizer="adam", loss="mae")
    model.fit(x[:320], y[:320], epochs=40, batch_size=32, verbose=0)
    model.save(tmp_path / "reg.keras")
    baseline_mae = float(np.mean(np.abs(model.predict(x[320:], verbose=0) - y[320:])))
    config = tmp_path / "edgekit.toml"
    config.write_text(f"""
[model]
source = "reg.keras"
[data]
train = "train.npz"
val = "val.npz"
[[optimize]]
step = "prune"
sparsity = 0.5
[finetune]
epochs = 2
[convert]
quantize = "int8"
[target]
runs = 5
[budgets]
max_mae = {max(3 * baseline_mae, 0.05):.4f}
max_mse = 0.0001
min_accuracy = 0.5
""")
    proc = build(config, tmp_path / "out", "--json")
    manifest = json.loads(proc.stdout)
    verdicts = {v["budget"]: v for v in manifest["budgets"]}
    assert verdicts["max_mae"]["ok"] and verdicts["max_mae"]["value"] < 3 * baseline_mae + 0.05
    assert not verdicts["max_mse"]["ok"] and verdicts["max_mse"]["exit_code"] == 19
    assert verdicts["min_accuracy"]["value"] is None and "no classification" in verdicts["min_accuracy"]["note"]
    assert proc.returncode == 17  # the first failing budget in the table: min_accuracy, not measurable here
    assert manifest["model"]["accuracy"] is None and manifest["model"]["metrics"]["task"] == "regression"
    assert "optimized-int8: mae " in proc.stderr and "budget max_mse:" in proc.stderr
    assert manifest["optimize"]["tasks"] == ["regression"]
    assert (tmp_path / "out" / "report.html").read_text().count("mae") >= 2
