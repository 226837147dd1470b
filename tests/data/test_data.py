"""edgekit.data: every SPEC form, its checks and its error messages (real files, no TensorFlow)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from edgekit.data import Preprocess, load_dataset
from edgekit.errors import DataError, InputFileError, UsageError

DIGITS = [(8, 8, 1)]


def test_npz_with_labels(digits_train):
    data = load_dataset(digits_train, input_shapes=DIGITS, require_labels=True)
    raw = np.load(digits_train)
    assert np.array_equal(data.x, raw["x"]) and np.array_equal(data.y, raw["y"])
    assert data.y.dtype == np.int64 and len(data) == len(raw["y"])


def test_limit_is_deterministic_and_spread(digits_train):
    a = load_dataset(digits_train, limit=200)
    b = load_dataset(digits_train, limit=200)
    assert len(a) == 200 and np.array_equal(a.x, b.x)
    full = np.load(digits_train)["y"]
    assert set(a.y) == set(full)  # not just the first 200 of one class run


def test_shape_mismatch_names_file_and_shapes(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, x=np.zeros((4, 28, 28), np.float32))
    with pytest.raises(DataError) as err:
        load_dataset(path, input_shapes=DIGITS)
    assert str(err.value) == f"{path}: expected shape (8, 8, 1) per sample, found (28, 28)"


def test_free_dims_match_anything(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((3, 5, 7), np.float32))
    assert load_dataset(path, input_shapes=[(None, 7)]).x.shape == (3, 5, 7)


def test_non_numeric_dtype(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.array([["a"] * 3] * 2))
    with pytest.raises(DataError, match="expected numeric input arrays, found dtype <U1"):
        load_dataset(path)


def test_missing_labels_when_required(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((4, 8, 8, 1), np.float32))
    with pytest.raises(DataError, match=r"x\.npy: no labels; add an integer array 'y'"):
        load_dataset(path, input_shapes=DIGITS, require_labels=True)


def test_bad_labels(tmp_path):
    """Labels may be class ids, one-hot/0-1 rows or values, but one per sample, numeric and finite."""
    x = np.zeros((4, 8, 8, 1), np.float32)
    for y, message in ((np.zeros(3), "4 input samples but 3 labels"),
                       (np.array(["a"] * 4), "expected numeric labels (class ids or values) in 'y', found dtype <U1"),
                       (np.array([0.5, np.nan, 1, 2]), "labels 'y' contain NaN or infinity"),
                       (np.float32(1), "expected labels 'y' with one entry per sample, found a scalar")):
        np.savez(tmp_path / "d.npz", x=x, y=y)
        with pytest.raises(DataError) as err:
            load_dataset(tmp_path / "d.npz")
        assert str(err.value) == f"{tmp_path / 'd.npz'}: {message}"


def test_label_dtypes(tmp_path):
    """Integer (and bool) labels become int64 class ids, float labels stay values (float32)."""
    x = np.zeros((4, 3), np.float32)
    for y, dtype in ((np.array([0, 1, 2, 1], np.uint8), np.int64), (np.ones((4, 5), bool), np.int64),
                     (np.array([0.5, 1.0, 2.0, 3.0]), np.float32), (np.ones((4, 10)), np.float32)):
        np.savez(tmp_path / "d.npz", x=x, y=y)
        data = load_dataset(tmp_path / "d.npz", require_labels=True)
        assert data.y.dtype == dtype and data.y.shape == y.shape and np.array_equal(data.y, y)
        assert len(data.labels) == 1 and data.labels[0] is data.y


def test_labels_per_output(tmp_path):
    """y_<output name> or y0, y1, ... for several outputs; limit picks the same samples in every array."""
    x = np.arange(50, dtype=np.float32).reshape(50, 1)
    cls, reg = np.arange(50) % 3, np.arange(50, dtype=np.float64) / 10
    np.savez(tmp_path / "named.npz", x=x, y_reg=reg, y_cls=cls)
    np.savez(tmp_path / "numbered.npz", x=x, y0=cls, y1=reg)
    for name in ("named.npz", "numbered.npz"):
        data = load_dataset(tmp_path / name, output_names=["cls", "reg"], limit=20, require_labels=True)
        assert isinstance(data.y, list) and [y.dtype for y in data.labels] == [np.int64, np.float32]
        assert np.array_equal(data.labels[0], data.x[:, 0].astype(int) % 3)
        assert np.allclose(data.labels[1], data.x[:, 0] / 10)
    unlabelled = load_dataset(tmp_path / "numbered.npz", output_names=["cls", "reg"]).labels
    assert len(unlabelled) == 2  # y0/y1 are labels, not inputs
    np.savez(tmp_path / "plain.npz", x=x)
    assert load_dataset(tmp_path / "plain.npz").labels == []


def test_labels_per_output_errors(tmp_path):
    x = np.zeros((4, 1), np.float32)
    np.savez(tmp_path / "one.npz", x=x, y=np.zeros(4))
    with pytest.raises(DataError) as err:
        load_dataset(tmp_path / "one.npz", output_names=["cls", "reg"])
    assert str(err.value) == (f"{tmp_path / 'one.npz'}: no label array 'y_cls' for the model's output 'cls' "
                              "(found y); give y_cls, y_reg (or y0, y1 in output order)")
    np.savez(tmp_path / "half.npz", x=x, y_cls=np.zeros(4), y_other=np.zeros(4))
    with pytest.raises(DataError, match=r"half\.npz: no label array 'y_reg' for the model's output 'reg'"):
        load_dataset(tmp_path / "half.npz", output_names=["cls", "reg"])
    np.savez(tmp_path / "two.npz", x=x, y0=np.zeros(4), y1=np.zeros(4))
    with pytest.raises(DataError, match=r"found label arrays y0, y1 for a model with one output; give one array 'y'"):
        load_dataset(tmp_path / "two.npz", output_names=["out"])
    np.save(tmp_path / "x.npy", x)
    with pytest.raises(DataError, match=r"x\.npy: no labels; add arrays y_cls, y_reg \(or y0, y1, \.\.\. in output"):
        load_dataset(tmp_path / "x.npy", output_names=["cls", "reg"], require_labels=True)


def test_directory_of_multi_output_files(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.zeros((2, 1)), y_cls=[0, 1], y_reg=[0.5, 1.5])
    np.savez(tmp_path / "b.npz", x=np.ones((1, 1)), y_cls=[2], y_reg=[2])  # integer values in a float head
    data = load_dataset(tmp_path, output_names=["cls", "reg"])
    assert list(data.labels[0]) == [0, 1, 2] and data.labels[1].dtype == np.float32
    assert list(data.labels[1]) == [0.5, 1.5, 2.0]
    np.savez(tmp_path / "c.npz", x=np.ones((1, 1)), y0=[2], y1=[2.0])
    with pytest.raises(DataError, match=r"c\.npz: has label arrays y0, y1 while .*a\.npz has y_cls, y_reg"):
        load_dataset(tmp_path, output_names=["cls", "reg"])


def test_single_array_and_numbered_and_named_inputs(tmp_path):
    np.savez(tmp_path / "one.npz", images=np.ones((2, 3), np.float32))
    assert load_dataset(tmp_path / "one.npz", input_shapes=[(3,)]).x.shape == (2, 3)
    np.savez(tmp_path / "num.npz", x0=np.ones((2, 3)), x1=np.zeros((2, 4)), y=[0, 1])
    data = load_dataset(tmp_path / "num.npz", input_shapes=[(3,), (4,)])
    assert [a.shape for a in data.x] == [(2, 3), (2, 4)] and list(data.y) == [0, 1]
    np.savez(tmp_path / "named.npz", b=np.zeros((2, 4)), a=np.ones((2, 3)))
    data = load_dataset(tmp_path / "named.npz", input_shapes=[(3,), (4,)], input_names=["a", "b"])
    assert [a.shape for a in data.x] == [(2, 3), (2, 4)]
    with pytest.raises(DataError, match="cannot tell which arrays are the inputs: found a, b"):
        load_dataset(tmp_path / "named.npz", input_shapes=[(3,), (4,)])
    with pytest.raises(DataError, match="the model has 2 inputs, found 1 input array"):
        load_dataset(tmp_path / "one.npz", input_shapes=[(3,), (4,)])


def test_directory_concatenated_in_name_order(tmp_path):
    np.savez(tmp_path / "b.npz", x=np.full((2, 3), 2.0), y=[2, 2])
    np.savez(tmp_path / "a.npz", x=np.full((1, 3), 1.0), y=[1])
    data = load_dataset(tmp_path, input_shapes=[(3,)], require_labels=True)
    assert list(data.x[:, 0]) == [1.0, 2.0, 2.0] and list(data.y) == [1, 2, 2]


def test_directory_errors_name_the_file(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.zeros((1, 3)), y=[1])
    np.save(tmp_path / "b.npy", np.zeros((1, 3)))
    with pytest.raises(DataError, match=r"b\.npy: has no labels 'y' while .*a\.npz has"):
        load_dataset(tmp_path)
    np.save(tmp_path / "c.npy", np.zeros((1, 4)))
    with pytest.raises(DataError, match=r"c\.npy: expected shape \(3,\) per sample, found \(4,\)"):
        load_dataset(tmp_path)


def test_missing_empty_and_unreadable(tmp_path):
    with pytest.raises(InputFileError, match="nope.npz: no such file or directory"):
        load_dataset(tmp_path / "nope.npz")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty; expected .npy/.npz files or images"):
        load_dataset(tmp_path / "empty")
    (tmp_path / "junk.npz").write_text("not numpy")
    with pytest.raises(InputFileError, match=r"junk\.npz: cannot read as \.npz"):
        load_dataset(tmp_path / "junk.npz")
    (tmp_path / "data.csv").write_text("1,2")
    with pytest.raises(InputFileError, match=r"data\.csv: not a data SPEC"):
        load_dataset(tmp_path / "data.csv")


def _write_images(root, mode: str, size=(16, 16)):
    for label, value in ((0, 40), (1, 200)):
        folder = root / f"class_{label}"
        folder.mkdir(parents=True)
        for i in range(2):
            color = value if mode == "L" else (value, value, value)
            Image.new(mode, size, color).save(folder / f"{i}.png")


def test_image_classes_resize_channels_scale(tmp_path):
    _write_images(tmp_path, "RGB")
    data = load_dataset(tmp_path, input_shapes=DIGITS, require_labels=True, preprocess=Preprocess(scale=1 / 255))
    assert data.x.shape == (4, 8, 8, 1) and data.x.dtype == np.float32
    assert list(data.y) == [0, 0, 1, 1]
    assert np.allclose(data.x[0], 40 / 255, atol=1e-3) and np.allclose(data.x[-1], 200 / 255, atol=1e-3)


def test_empty_class_folder_keeps_its_label(tmp_path):
    _write_images(tmp_path, "L")
    (tmp_path / "a_empty").mkdir()  # sorts first: class_0 and class_1 become 1 and 2
    assert list(load_dataset(tmp_path, input_shapes=DIGITS).y) == [1, 1, 2, 2]


def test_grey_images_to_rgb_with_mean_std(tmp_path):
    _write_images(tmp_path, "L", size=(5, 3))
    data = load_dataset(tmp_path, input_shapes=[(4, 6, 3)], preprocess=Preprocess(mean=100, std=50))
    assert data.x.shape == (4, 4, 6, 3)
    assert np.allclose(data.x[0], (40 - 100) / 50, atol=0.05)


def test_images_need_an_image_input(tmp_path):
    _write_images(tmp_path, "L")
    with pytest.raises(DataError, match=r"images need a model input of shape \(height, width, 1 or 3\)"):
        load_dataset(tmp_path, input_shapes=[(64,)])
    (tmp_path / "class_0" / "broken.png").write_text("not a png")
    with pytest.raises(InputFileError, match=r"broken\.png: cannot read as an image"):
        load_dataset(tmp_path, input_shapes=DIGITS)


def test_preprocess_combinations():
    with pytest.raises(UsageError, match="--scale and --mean/--std exclude each other"):
        Preprocess(scale=1.0, mean=0.0, std=1.0)
    with pytest.raises(UsageError, match="--mean and --std go together"):
        Preprocess(mean=0.5)
