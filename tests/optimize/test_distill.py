"""Knowledge distillation: the loss by hand, students from a file or a width multiplier, unlabelled data, bad settings."""

from __future__ import annotations

import json

import numpy as np
import pytest


def _linear(weights: np.ndarray, softmax: bool = False):
    """A one-layer model with a fixed kernel: its logits are ``x @ weights``."""
    import keras

    inputs = keras.Input((weights.shape[0],))
    outputs = keras.layers.Dense(weights.shape[1], use_bias=False, activation="softmax" if softmax else None)(inputs)
    model = keras.Model(inputs, outputs)
    model.layers[-1].set_weights([weights])
    return model


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


@pytest.mark.parametrize("teacher_softmax", [False, True])
def test_loss_matches_a_hand_computation_on_two_samples(teacher_softmax):
    import keras

    from edgekit.optimize.distill import Distiller

    x = np.array([[1.0, 0.5], [-0.3, 2.0]], np.float32)
    y = np.array([2, 0])
    teacher_w = np.array([[2.0, -1.0, 0.5], [0.3, 1.5, -0.7]], np.float32)
    student_w = np.array([[0.4, 0.1, -0.2], [-0.5, 0.8, 0.3]], np.float32)
    alpha, temperature = 0.3, 4.0
    distiller = Distiller(_linear(student_w), _linear(teacher_w, softmax=teacher_softmax), alpha=alpha,
                          temperature=temperature, soft=[True], teacher_probabilities=[teacher_softmax],
                          student_probabilities=[False])
    distiller.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    student_logits = x @ student_w
    loss = float(distiller.compute_loss(x, y, distiller(x), training=False))

    teacher_logits = x @ teacher_w
    hard = -np.mean(_log_softmax(student_logits)[np.arange(2), y])
    log_pt, log_ps = _log_softmax(teacher_logits / temperature), _log_softmax(student_logits / temperature)
    kl = np.mean(np.sum(np.exp(log_pt) * (log_pt - log_ps), axis=-1))
    expected = (1 - alpha) * hard + alpha * temperature ** 2 * kl
    assert loss == pytest.approx(expected, rel=1e-4)
    assert kl > 0.01 and hard > 0.1  # both terms matter in this example


@pytest.mark.slow
def test_width_multiplier_student_is_smaller_and_trains(cli, digits_model, digits_train, digits_val, tmp_path):
    out = tmp_path / "student.keras"
    result = cli("distill", digits_model, "--distill-width-multiplier", 0.5, "-o", out, "--train-data", digits_train,
                 "--val-data", digits_val, "--epochs", 2, "--learning-rate", 1e-3, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    import keras

    teacher, student = keras.saving.load_model(digits_model), keras.saving.load_model(out)
    assert student.get_layer("fc1").units == 64 and student.get_layer("conv2").filters == 32
    assert student.get_layer("logits").units == 10
    assert summary["params"]["total"] == student.count_params() <= 0.26 * teacher.count_params()
    assert summary["accuracy_after"] > 0.9


def test_student_file_and_unlabelled_data(cli, digits_model, digits_train, digits_val, tmp_path):
    import keras

    from edgekit.models import digits_cnn

    keras.utils.set_random_seed(0)  # the student's initial weights: the 3-epoch result is not left to chance
    student = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(8, 3, activation="relu"),
                                keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    student.save(tmp_path / "small.keras")
    x = tmp_path / "x.npy"
    np.save(x, np.load(digits_train)["x"])
    refused = cli("distill", digits_model, "--distill-student", tmp_path / "small.keras", "-o", tmp_path / "o.keras",
                  "--train-data", x, "--epochs", 1)
    assert refused.exit_code == 2 and "no labels" in refused.output and "--distill-alpha 1" in refused.output
    result = cli("distill", digits_model, "--distill-student", tmp_path / "small.keras", "-o", tmp_path / "o.keras",
                 "--train-data", x, "--val-data", digits_val, "--epochs", 5, "--distill-alpha", 1,
                 "--learning-rate", 1e-3, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    # a softmax student learns a logits teacher from the teacher alone
    assert summary["accuracy_after"] > 0.8 and summary["params"]["total"] == student.count_params()
    assert digits_cnn().count_params() > 10 * student.count_params()


@pytest.mark.parametrize("flags, message", [
    (["--distill-width-multiplier", 0.5, "--distill-alpha", 1.5], "alpha must be in [0, 1]"),
    (["--distill-width-multiplier", 0.5, "--distill-alpha", -0.1], "alpha must be in [0, 1]"),
    (["--distill-width-multiplier", 0.5, "--distill-temperature", 0], "temperature must be > 0"),
    (["--distill-width-multiplier", 0], "width multiplier must be in (0, 1]"),
    ([], "--distill-student S.keras or --distill-width-multiplier W"),
    (["--distill-width-multiplier", 0.5, "--distill-student", "s.keras"],
     "--distill-student and --distill-width-multiplier exclude each other"),
])
def test_bad_settings(cli, digits_model, digits_train, tmp_path, flags, message):
    out = tmp_path / "never.keras"
    result = cli("distill", digits_model, "-o", out, "--train-data", digits_train, "--epochs", 1, *flags)
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_student_with_other_outputs_is_refused(cli, digits_model, digits_train, tmp_path):
    import keras

    wrong = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(5)])
    wrong.save(tmp_path / "wrong.keras")
    result = cli("distill", digits_model, "--distill-student", tmp_path / "wrong.keras", "-o", tmp_path / "o.keras",
                 "--train-data", digits_train, "--epochs", 1)
    assert result.exit_code == 2 and "output shapes [(5,)] differ from the teacher's [(10,)]" in result.output


@pytest.mark.slow
def test_distill_prune_ternary_in_one_recipe(cli, digits_model, digits_train, tmp_path):
    """distill -> prune -> ternary as flags: a 4x smaller, 80% sparse, ternary student."""
    out = tmp_path / "tiny.keras"
    result = cli("optimize", digits_model, "-o", out, "--train-data", digits_train, "--epochs", 1,
                 "--distill-width-multiplier", 0.5, "--prune", 0.8, "--prune-schedule", "constant", "--ternary",
                 "--json")
    assert result.exit_code == 0, result.output
    assert [s["stage"] for s in json.loads(result.stdout)["stages"]] == ["distill", "prune", "ternary"]
    import keras

    fc1 = keras.saving.load_model(out).get_layer("fc1").kernel.numpy()
    assert fc1.shape == (512, 64) and np.mean(fc1 == 0) >= 0.8
    assert max(len(np.unique(fc1[:, c])) for c in range(64)) <= 3
