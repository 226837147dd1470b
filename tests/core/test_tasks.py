"""edgekit.tasks: loss names, task inference from shapes and labels, scoring (numpy only)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from edgekit.errors import DataError, UsageError
from edgekit.tasks import LOSSES, TASK_KINDS, Task, infer_task, score, task_for_loss

CLASSIFICATION = Task("classification", "sparse_categorical_crossentropy")
ONE_HOT = Task("classification", "categorical_crossentropy")
MULTILABEL = Task("multilabel", "binary_crossentropy")
REGRESSION = Task("regression", "mse")


def test_imports_no_tensorflow():
    code = "import sys, edgekit.tasks; assert not {'tensorflow', 'keras'} & set(sys.modules), sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name, kind, loss", [
    ("sparse_categorical_crossentropy", "classification", "sparse_categorical_crossentropy"),
    ("SparseCategoricalCrossentropy", "classification", "sparse_categorical_crossentropy"),
    ("categorical_crossentropy", "classification", "categorical_crossentropy"),
    ("CategoricalCrossentropy", "classification", "categorical_crossentropy"),
    ("binary_crossentropy", "multilabel", "binary_crossentropy"),
    ("BinaryCrossentropy", "multilabel", "binary_crossentropy"),
    ("mse", "regression", "mse"), ("MSE", "regression", "mse"), ("mean_squared_error", "regression", "mse"),
    ("MeanSquaredError", "regression", "mse"),
    ("mae", "regression", "mae"), ("mean_absolute_error", "regression", "mae"),
    ("MeanAbsoluteError", "regression", "mae"),
])
def test_task_for_loss_accepts_keras_spellings(name, kind, loss):
    assert task_for_loss(name) == Task(kind, loss)


def test_unknown_loss_lists_the_known_ones():
    with pytest.raises(UsageError) as err:
        task_for_loss("huber")
    assert str(err.value) == f"unknown loss 'huber'; give one of {', '.join(LOSSES)}"


def test_metric_and_direction():
    assert [(t.metric, t.higher_is_better) for t in (CLASSIFICATION, MULTILABEL, REGRESSION)] == [
        ("accuracy", True), ("binary_accuracy", True), ("mae", False)]
    assert {task_for_loss(loss).kind for loss in LOSSES} == set(TASK_KINDS)
    with pytest.raises(UsageError, match="task 'regression' cannot be trained with loss 'binary_crossentropy'"):
        Task("regression", "binary_crossentropy")


@pytest.mark.parametrize("output, labels, expected", [
    ((10,), np.array([0, 3, 9]), CLASSIFICATION),                       # class ids
    ((10,), np.array([[0], [3], [9]]), CLASSIFICATION),                 # (n, 1) class ids
    ((10,), np.array([0.0, 3.0, 9.0]), CLASSIFICATION),                 # integral floats
    ((2,), np.array([0, 1, 1]), CLASSIFICATION),                        # two-unit softmax
    ((4, 4, 3), np.zeros((2, 4, 4), np.int64), CLASSIFICATION),         # a class per pixel
    ((3,), np.eye(3, dtype=np.float32)[[0, 2, 1]], ONE_HOT),            # float one-hot
    ((3,), np.array([[1, 0, 1], [0, 0, 0], [0, 1, 0]]), MULTILABEL),     # 0/1 rows, not one-hot
    ((1,), np.array([0, 1, 1, 0]), MULTILABEL),                         # sigmoid unit, 0/1 labels
    ((), np.array([0.0, 1.0]), MULTILABEL),                             # scalar output per sample
    ((1,), np.array([0.5, 1.5]), REGRESSION),                           # values
    ((1,), np.array([0, 1, 2, 7]), REGRESSION),                         # integer counts, one unit
    ((3,), np.array([[0.1, 0.2, 0.3], [1, 2, 3]]), REGRESSION),         # vector regression
    ((3,), np.array([0.5, 1.5]), REGRESSION),                           # non-integral, wrong shape
    ((10,), np.array([[1, 2], [3, 4]]), REGRESSION),                    # fits nothing else
])
def test_infer_task(output, labels, expected):
    assert infer_task(output, labels) == expected


def test_score_classification_sparse_and_one_hot():
    predictions = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1]])
    ids = np.array([0, 1, 1, 0])
    assert score(CLASSIFICATION, predictions, ids) == {"accuracy": 0.75}
    assert score(CLASSIFICATION, predictions, ids[:, None]) == {"accuracy": 0.75}
    assert score(ONE_HOT, predictions, np.eye(3)[ids]) == {"accuracy": 0.75}


def test_score_multilabel_probabilities_and_logits():
    labels = np.array([[1, 0], [0, 1], [1, 1]])
    probabilities = np.array([[0.9, 0.4], [0.6, 0.7], [0.2, 0.51]])  # 4 of 6 right at 0.5
    assert score(MULTILABEL, probabilities, labels) == {"binary_accuracy": pytest.approx(4 / 6)}
    logits = np.array([[3.0, -2.0], [-1.0, 0.3], [0.2, 0.4]])  # all right at 0 (half at 0.5)
    assert score(MULTILABEL, logits, labels) == {"binary_accuracy": 1.0}
    assert score(MULTILABEL, np.array([[0.2], [0.8]]), np.array([0, 1])) == {"binary_accuracy": 1.0}


def test_score_regression():
    metrics = score(REGRESSION, np.array([[1.0], [2.0], [4.0]]), np.array([1.0, 3.0, 2.0]))
    assert metrics == {"mse": pytest.approx(5 / 3), "mae": pytest.approx(1.0)}


def test_score_mismatches():
    with pytest.raises(DataError, match=r"classification needs an output of shape \(samples, classes\), "
                                        r"the model gives \(3, 1\)"):
        score(CLASSIFICATION, np.zeros((3, 1)), np.zeros(3, np.int64))
    with pytest.raises(DataError, match=r"labels range 0\.\.12 but the model has 10 classes"):
        score(CLASSIFICATION, np.zeros((2, 10)), np.array([0, 12]))
    with pytest.raises(DataError, match=r"labels of shape \(2, 4\) fit neither class ids nor one-hot rows"):
        score(CLASSIFICATION, np.zeros((2, 10)), np.zeros((2, 4)))
    with pytest.raises(DataError, match=r"regression labels of shape \(2, 3\) do not fit an output of shape \(2, 1\)"):
        score(REGRESSION, np.zeros((2, 1)), np.zeros((2, 3)))
    with pytest.raises(DataError, match="3 labels for 2 predictions"):
        score(REGRESSION, np.zeros((2, 1)), np.zeros(3))
