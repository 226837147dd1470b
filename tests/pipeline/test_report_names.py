"""Keras layer names for the report's per-layer panel, read from a real .keras file and its real .tflite."""

from __future__ import annotations

from edgekit.inspect import inspect_model
from edgekit.inspect.keras_names import layer_of
from edgekit.keras_file import layer_names


def test_every_kernel_of_a_nested_model_gets_its_keras_layer(tmp_path):
    import keras
    import tensorflow as tf

    block = keras.Sequential([keras.layers.Conv2D(4, 3, name="inner_conv"), keras.layers.ReLU()], name="block")
    inputs = keras.Input((8, 8, 1))
    x = block(keras.layers.Conv2D(3, 3, padding="same", name="stem")(inputs))
    outputs = keras.layers.Dense(5, name="head")(keras.layers.Flatten()(x))
    model = keras.Model(inputs, outputs, name="nested")
    model.save(tmp_path / "m.keras")
    (tmp_path / "m.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())

    names = layer_names(tmp_path / "m.keras")
    assert {"nested", "stem", "block", "inner_conv", "head"} <= set(names)
    kernels = [w.name for w in inspect_model(tmp_path / "m.tflite").weights if w.is_kernel]
    assert sorted(layer_of(k, names) for k in kernels) == ["head", "inner_conv", "stem"], kernels
    assert layer_of("arith.constant3", names) is None
    (tmp_path / "not.keras").write_text("not a zip")
    assert layer_names(tmp_path / "not.keras") == []
