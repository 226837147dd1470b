"""Evaluating regression, multi-label and two-headed models (real Keras training, real LiteRT)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from edgekit.evaluate import compiled_losses, evaluate_model, saved_losses
from edgekit.pipeline.budgets import NOT_MEASURED_CODE, BudgetExceeded, check_budgets, enforce, quality_measurements

FEATURES = 6


@pytest.fixture(scope="module")
def synthetic() -> dict[str, np.ndarray]:
    """Inputs and a target of every kind, all a simple function of the inputs."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, FEATURES)).astype(np.float32)
    return {"x": x,
            "value": (x @ np.linspace(-1, 1, FEATURES) + 0.5).astype(np.float32),   # regression
            "tags": (x[:, :3] > 0).astype(np.int64),                                # 3 independent flags
            "species": np.argmax(x[:, :3], axis=1),                                  # one of 3 classes
            "flag": (x[:, 0] + x[:, 1] > 0).astype(np.int64)}                       # one 0/1 target


@pytest.fixture(scope="module")
def models(tmp_path_factory, synthetic) -> dict[str, Path]:
    """Each model trained for 2 epochs, saved compiled as .keras and converted to a float .tflite."""
    import keras

    from edgekit.convert import convert_model
    from edgekit.fileio import atomic_write_bytes

    keras.utils.set_random_seed(0)
    out = tmp_path_factory.mktemp("task_models")
    x = synthetic["x"]

    def body():
        inp = keras.Input((FEATURES,), name="features")
        return inp, keras.layers.Dense(16, activation="relu")(inp)

    inp, hidden = body()
    regression = keras.Model(inp, keras.layers.Dense(1, name="value")(hidden))
    regression.compile(keras.optimizers.Adam(0.02), loss=keras.losses.MeanSquaredError())
    regression.fit(x, synthetic["value"], epochs=2, batch_size=16, verbose=0)

    inp, hidden = body()
    multilabel = keras.Model(inp, keras.layers.Dense(3, activation="sigmoid", name="tags")(hidden))
    multilabel.compile(keras.optimizers.Adam(0.02), loss="binary_crossentropy")
    multilabel.fit(x, synthetic["tags"], epochs=2, batch_size=16, verbose=0)

    inp, hidden = body()
    two = keras.Model(inp, [keras.layers.Dense(3, activation="softmax", name="species")(hidden),
                            keras.layers.Dense(1, name="weight")(hidden)])
    two.compile(keras.optimizers.Adam(0.02),
                loss={"weight": "mse", "species": keras.losses.SparseCategoricalCrossentropy()})
    two.fit(x, {"species": synthetic["species"], "weight": synthetic["value"]}, epochs=2, batch_size=16, verbose=0)

    inp, hidden = body()  # a 0/1 target fitted as a regression, saved compiled and not
    flag = keras.Model(inp, keras.layers.Dense(1, name="score")(hidden))
    flag.compile(keras.optimizers.Adam(0.02), loss="mean_squared_error")
    flag.fit(x, synthetic["flag"], epochs=2, batch_size=16, verbose=0)

    paths = {}
    for name, model in (("regression", regression), ("multilabel", multilabel), ("two", two), ("flag", flag)):
        paths[name] = out / f"{name}.keras"
        model.save(paths[name])
        paths[f"{name}_tflite"] = out / f"{name}.tflite"
        atomic_write_bytes(paths[f"{name}_tflite"], convert_model(model))
    paths["regression_int8"] = out / "regression_int8.tflite"
    atomic_write_bytes(paths["regression_int8"],
                       convert_model(regression, quantize="int8", representative=x[:100], io_type="int8"))
    uncompiled = keras.Model(flag.inputs, flag.outputs)  # same weights, no compile config
    paths["flag_uncompiled"] = out / "flag_uncompiled.keras"
    uncompiled.save(paths["flag_uncompiled"])
    paths["predictions"] = out / "predictions.npz"
    np.savez(paths["predictions"], regression=regression.predict(x, verbose=0),
             multilabel=multilabel.predict(x, verbose=0), flag=flag.predict(x, verbose=0),
             **dict(zip(("species", "weight"), two.predict(x, verbose=0))))
    return paths


@pytest.fixture(scope="module")
def data(tmp_path_factory, synthetic) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("task_data")
    x = synthetic["x"]
    files = {"value": dict(x=x, y=synthetic["value"]), "tags": dict(x=x, y=synthetic["tags"]),
             "flag": dict(x=x, y=synthetic["flag"]),
             "named": dict(x=x, y_weight=synthetic["value"], y_species=synthetic["species"]),
             "numbered": dict(x=x, y0=synthetic["species"], y1=synthetic["value"]),
             "bad_key": dict(x=x, y_species=synthetic["species"], y_wieght=synthetic["value"])}
    for name, arrays in files.items():
        np.savez(out / f"{name}.npz", **arrays)
    return {name: out / f"{name}.npz" for name in files}


def _expected(predictions: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    error = predictions.reshape(len(labels), -1) - labels.reshape(len(labels), -1)
    return {"mse": float(np.mean(error ** 2)), "mae": float(np.mean(np.abs(error)))}


def test_regression_keras_float_and_int8_tflite(models, data, synthetic):
    keras_result = evaluate_model(models["regression"], data["value"])
    expected = _expected(np.load(models["predictions"])["regression"], synthetic["value"])
    assert keras_result.metrics == {"task": "regression",
                                    **{k: pytest.approx(v, rel=1e-5) for k, v in expected.items()}}
    assert keras_result.accuracy is None and keras_result.correct is None
    assert keras_result.to_dict()["metrics"] == keras_result.metrics
    tflite = evaluate_model(models["regression_tflite"], data["value"])  # no loss in the file: labels are floats
    assert tflite.metrics["task"] == "regression"
    assert tflite.metrics["mse"] == pytest.approx(expected["mse"], rel=1e-4)
    int8 = evaluate_model(models["regression_int8"], data["value"])  # int8 output, dequantized
    assert int8.metrics["task"] == "regression"
    assert int8.metrics["mae"] == pytest.approx(expected["mae"], rel=0.1)
    assert expected["mse"] < float(np.var(synthetic["value"]))  # it learnt something in 2 epochs


def test_multilabel_keras_and_tflite(models, data, synthetic):
    probabilities = np.load(models["predictions"])["multilabel"]
    expected = float(np.mean((probabilities > 0.5) == synthetic["tags"]))
    for path in (models["multilabel"], models["multilabel_tflite"]):
        result = evaluate_model(path, data["tags"])
        assert result.metrics == {"task": "multilabel", "binary_accuracy": pytest.approx(expected, abs=1 / 900)}
        assert result.accuracy is None


def test_two_outputs_keras_and_tflite(models, data, synthetic):
    predictions = np.load(models["predictions"])
    species_hits = int(np.sum(np.argmax(predictions["species"], axis=1) == synthetic["species"]))
    weight = _expected(predictions["weight"], synthetic["value"])
    keras_result = evaluate_model(models["two"], data["named"])
    assert list(keras_result.metrics["outputs"]) == ["species", "weight"]
    assert keras_result.metrics["outputs"]["species"] == {"task": "classification", "accuracy": species_hits / 300,
                                                          "correct": species_hits}
    assert keras_result.metrics["outputs"]["weight"]["mae"] == pytest.approx(weight["mae"], rel=1e-5)
    assert keras_result.accuracy == species_hits / 300 and keras_result.correct == species_hits
    # convert_model keeps the heads' names in the .tflite signature (the tensors come in the
    # converter's own order): y0/y1 in Keras's output order and y_<name> both find them
    tflite = evaluate_model(models["two_tflite"], data["numbered"])
    heads = tflite.metrics["outputs"]
    assert list(heads) == ["species", "weight"]
    assert heads["species"]["task"] == "classification" and abs(heads["species"]["correct"] - species_hits) <= 1
    assert heads["weight"]["task"] == "regression"
    assert heads["weight"]["mae"] == pytest.approx(weight["mae"], rel=1e-4)
    named = evaluate_model(models["two_tflite"], data["named"])
    assert named.metrics == tflite.metrics


def test_compiled_loss_decides_over_the_labels(models, data):
    """0/1 labels look multi-label; the compiled mse (or --loss mse) makes the output a regression."""
    compiled = evaluate_model(models["flag"], data["flag"])
    uncompiled = evaluate_model(models["flag_uncompiled"], data["flag"])
    given = evaluate_model(models["flag_uncompiled"], data["flag"], loss="mse")
    assert compiled.metrics["task"] == given.metrics["task"] == "regression"
    assert compiled.metrics == given.metrics
    assert uncompiled.metrics["task"] == "multilabel" and 0 <= uncompiled.metrics["binary_accuracy"] <= 1


def test_cli_loss_option_and_output_lines(cli, models, data):
    model, spec = models["flag_uncompiled"], data["flag"]
    guessed = cli("eval", model, "--data", spec)
    assert guessed.exit_code == 0, guessed.output
    assert re.fullmatch(rf"{re.escape(str(model))}: binary accuracy \d+\.\d\d% on {re.escape(str(spec))}\n",
                        guessed.stdout)
    told = cli("eval", model, "--data", spec, "--loss", "mse")
    assert told.exit_code == 0, told.output
    assert re.fullmatch(rf"{re.escape(str(model))}: mse [\d.e-]+, mae [\d.e-]+ on {re.escape(str(spec))}\n",
                        told.stdout)
    as_json = json.loads(cli("eval", model, "--data", spec, "--loss", "mse", "--json").stdout)
    assert as_json["metrics"]["task"] == "regression" and as_json["accuracy"] is None
    assert f"mse {as_json['metrics']['mse']:.4g}, mae {as_json['metrics']['mae']:.4g}" in told.stdout
    two = cli("eval", models["two"], "--data", data["named"])
    lines = two.stdout.splitlines()
    assert lines[0] == f"{models['two']} on {data['named']}:"
    assert re.fullmatch(r"  species: top-1 accuracy \d+\.\d\d% \(\d+/300\)", lines[1])
    assert re.fullmatch(r"  weight: mse [\d.e-]+, mae [\d.e-]+", lines[2]) and len(lines) == 3
    bad = cli("eval", model, "--data", spec, "--loss", "huber")
    assert bad.exit_code == 2 and "'huber' is not one of 'sparse_categorical_crossentropy'" in bad.output


def test_bad_label_key_is_one_error_line(cli, models, data):
    result = cli("eval", models["two"], "--data", data["bad_key"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.splitlines()[-1] == (
        f"edgekit: error: {data['bad_key']}: no label array 'y_weight' for the model's output 'weight' "
        "(found y_species, y_wieght); give y_species, y_weight (or y0, y1 in output order)")
    result = cli("eval", models["two"], "--data", data["value"])  # one label array, two outputs
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1].startswith(f"edgekit: error: {data['value']}: no label array 'y_species'")


def test_losses_given_per_output(models, data):
    """The Keras model's compiled losses carried over to its .tflite; unknown names there are inferred."""
    from edgekit.errors import UsageError

    losses = saved_losses(models["two"], ["species", "weight"])
    told = evaluate_model(models["two_tflite"], data["numbered"], loss=losses)
    custom = evaluate_model(models["two_tflite"], data["numbered"], loss=["my_focal_loss", None])
    assert told.metrics == custom.metrics
    assert [h["task"] for h in told.metrics["outputs"].values()] == ["classification", "regression"]
    as_mae = evaluate_model(models["two_tflite"], data["numbered"], loss=[None, "mae"])
    assert as_mae.metrics["outputs"]["weight"] == told.metrics["outputs"]["weight"]
    with pytest.raises(UsageError, match="1 losses given for a model with 2 outputs; give one per output"):
        evaluate_model(models["two_tflite"], data["numbered"], loss=["mse"])
    with pytest.raises(UsageError, match="unknown loss 'huber'; give one of sparse_categorical_crossentropy, "):
        evaluate_model(models["regression_tflite"], data["value"], loss="huber")


def test_labels_that_do_not_fit_the_task(models, data):
    from edgekit.errors import DataError

    with pytest.raises(DataError) as err:  # three flags per sample scored as classes of a one-unit output
        evaluate_model(models["regression_tflite"], data["tags"], loss="sparse_categorical_crossentropy")
    assert str(err.value) == (f"{data['tags']}: classification needs an output of shape (samples, classes), "
                              "the model gives (300, 1)")


def test_compiled_losses_of_models_in_memory_and_files(models):
    import keras

    inp = keras.Input((4,))
    model = keras.Model(inp, [keras.layers.Dense(3, name="a")(inp), keras.layers.Dense(1, name="b")(inp)])
    assert compiled_losses(model) is None
    model.compile(loss=[keras.losses.CategoricalCrossentropy(), keras.losses.mean_absolute_error])
    assert compiled_losses(model) == ["CategoricalCrossentropy", "mean_absolute_error"]
    model.compile(loss={"b": "mse"})
    assert compiled_losses(model) == [None, "mse"]
    model.compile(loss="binary_crossentropy")
    assert compiled_losses(model) == ["binary_crossentropy"] * 2
    assert saved_losses(models["two"], ["species", "weight"]) == ["SparseCategoricalCrossentropy", "mse"]
    assert saved_losses(models["regression"], ["value"]) == ["MeanSquaredError"]
    assert saved_losses(models["flag_uncompiled"], ["score"]) is None
    assert saved_losses(models["two_tflite"], ["species", "weight"]) is None


def test_budgets_on_every_head(models, data):
    result = evaluate_model(models["two"], data["named"])
    measured, notes = quality_measurements(result.metrics)
    heads = result.metrics["outputs"]
    assert measured["min_accuracy"] == heads["species"]["accuracy"] and measured["max_mae"] == heads["weight"]["mae"]
    assert measured["max_accuracy_drop"] is None and notes == {}
    limits = {"max_mae": heads["weight"]["mae"] / 2, "max_mse": heads["weight"]["mse"] * 2}
    with pytest.raises(BudgetExceeded) as err:
        enforce(check_budgets(limits, measured, notes))
    assert err.value.exit_code == 18 and str(err.value).startswith("budget max_mae: ")
    with pytest.raises(BudgetExceeded) as err:
        enforce(check_budgets({"max_mse": heads["weight"]["mse"] / 2}, measured, notes))
    assert err.value.exit_code == 19
    classifier_only, notes = quality_measurements({"task": "classification", "accuracy": 0.9, "correct": 9})
    verdict = check_budgets({"max_mae": 0.1}, classifier_only, notes)[0]
    assert verdict.code == NOT_MEASURED_CODE == 17
    assert verdict.line() == "budget max_mae: not measured (the model has no regression output)"
