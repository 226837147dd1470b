"""``edgekit optimize``: a real run (summary, JSON, .keras + .tflite) and clear errors for bad settings."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from helpers.support import run_edgekit


@pytest.mark.slow
def test_prune_cluster_and_convert_in_one_call(cli, digits_model, digits_train, digits_val, tmp_path):
    out, tflite = tmp_path / "small.keras", tmp_path / "small.tflite"
    result = cli("optimize", digits_model, "-o", out, "--train-data", digits_train, "--val-data", digits_val,
                 "--epochs", 1, "--prune", 0.6, "--prune-schedule", "constant", "--prune-run-cost", 0.3,
                 "--cluster", 8, "--cluster-init", "linear", "--cluster-preserve-sparsity",
                 "--cluster-entropy-cost", 0.25, "--tflite", tflite, "--quantize", "int8", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert [row["layer"] for row in summary["layers"]] == ["conv1", "conv2", "fc1", "logits"]
    assert all(row["sparsity"] >= 0.59 and row["unique_values"] <= 9 for row in summary["layers"])
    assert 0 <= summary["accuracy_before"] <= 1 and 0 <= summary["accuracy_after"] <= 1
    assert summary["tflite"]["size_bytes"] == tflite.stat().st_size
    model = keras.saving.load_model(out)  # a plain Keras model
    assert np.mean(model.get_layer("fc1").kernel.numpy() == 0) >= 0.59


def test_human_summary(cli, digits_model, digits_train, tmp_path):
    result = cli("optimize", digits_model, "-o", tmp_path / "s.keras", "--train-data", digits_train,
                 "--epochs", 1, "--prune-structured", "2:4")
    assert result.exit_code == 0, result.output
    assert "fc1" in result.stdout and "50.0%" in result.stdout and "wrote" in result.stdout


@pytest.mark.parametrize("flags, message", [
    (["--prune", "1.0"], "sparsity must be in [0, 1)"),
    (["--prune", "-0.2"], "sparsity must be in [0, 1)"),
    (["--cluster", "1"], "clusters must be an integer >= 2"),
    (["--cluster-preserve-sparsity", "--prune", "0.5"], "--cluster-preserve-sparsity needs --cluster"),
    (["--cluster-init", "linear"], "--cluster-init needs --cluster"),
    (["--prune-schedule", "constant", "--cluster", "4"], "--prune-schedule needs --prune"),
    (["--prune", "0.5", "--prune-structured", "2:4"], "exclude each other"),
    (["--prune-structured", "4:2"], "0 < N < M"),
    ([], "nothing to do"),
    (["--prune-block-size", "4", "--cluster", "4"], "--prune-block-size needs --prune"),
    (["--prune", "0.5", "--prune-block-size", "0"], "block size must be an integer >= 1"),
    (["--prune-run-cost", "0.3", "--cluster", "4"], "--prune-run-cost needs --prune"),
    (["--prune", "0.5", "--prune-run-cost", "-1"], "prune run cost must be a number >= 0"),
    (["--prune", "0.5", "--prune-run-cost", "0.3", "--prune-block-size", "2"], "exclude each other"),
    (["--prune", "0.5", "--cluster-entropy-cost", "0.2"], "--cluster-entropy-cost needs --cluster"),
    (["--cluster", "4", "--cluster-entropy-cost", "-0.5"], "cluster entropy cost must be a number >= 0"),
    (["--prune", "0.5", "--per-tensor"], "--per-tensor applies to the --tflite file"),
    (["--prune", "0.5", "--tflite", "x.tflite", "--quantize", "float16", "--per-tensor"], "needs --quantize int8"),
])
def test_bad_settings(cli, digits_model, digits_train, tmp_path, flags, message):
    out = tmp_path / "never.keras"
    result = cli("optimize", digits_model, "-o", out, "--train-data", digits_train, *flags)
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()


def test_not_a_keras_model(tmp_path, digits_train):
    fake = tmp_path / "model.keras"
    fake.write_bytes(b"not a zip")
    proc = run_edgekit("optimize", fake, "-o", tmp_path / "o.keras", "--train-data", digits_train, "--prune", "0.5")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(f"edgekit: error: {fake}")
    assert "Traceback" not in proc.stderr


def test_training_data_that_does_not_fit(cli, digits_model, tmp_path):
    data = tmp_path / "wrong.npz"
    np.savez(data, x=np.zeros((10, 28, 28), np.float32), y=np.zeros(10, np.int64))
    result = cli("optimize", digits_model, "-o", tmp_path / "o.keras", "--train-data", data, "--prune", "0.5")
    assert result.exit_code == 2
    assert str(data) in result.output and "(8, 8, 1)" in result.output


def test_training_data_without_labels(cli, digits_model, tmp_path):
    data = tmp_path / "x.npy"
    np.save(data, np.zeros((10, 8, 8, 1), np.float32))
    result = cli("optimize", digits_model, "-o", tmp_path / "o.keras", "--train-data", data, "--cluster", "4")
    assert result.exit_code == 2 and "label" in result.output


def test_output_must_be_keras(cli, digits_model, digits_train, tmp_path):
    result = cli("optimize", digits_model, "-o", tmp_path / "o.h5", "--train-data", digits_train, "--prune", "0.5")
    assert result.exit_code == 2 and ".keras" in result.output


def test_a_one_epoch_polynomial_prune_reaches_its_sparsity(cli, digits_model, digits_train, tmp_path):
    """The ramp's last pruning step falls inside a short fine-tune (it used to come after it: 0% zeros)."""
    result = cli("optimize", digits_model, "-o", tmp_path / "p.keras", "--train-data", digits_train,
                 "--epochs", 1, "--prune", 0.5, "--json")
    assert result.exit_code == 0, result.output
    import json

    layers = {row["layer"]: row["sparsity"] for row in json.loads(result.stdout)["layers"]}
    assert all(abs(sparsity - 0.5) < 0.01 for sparsity in layers.values()), layers
