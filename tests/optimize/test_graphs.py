"""Compression on the graphs people build: raw ops, nested and shared layers, several inputs and
outputs, layer subclasses and opt-in layers, subclassed models, and models with the user's classes."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

from edgekit.convert import load_keras_model
from edgekit.errors import OptimizationError
from edgekit.optimize.clustering import cluster_weights, strip_clustering
from edgekit.optimize.filters import FilterPruneConfig, prune_filters
from edgekit.optimize.layers import SkippedLayersWarning
from edgekit.optimize.pruning import ConstantSparsity, PruneLowMagnitude, UpdatePruningStep, prune_low_magnitude, \
    strip_pruning
from edgekit.optimize.qat import finish_qat, quantize_model


def _data(model, samples: int = 32, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = [rng.normal(size=(samples, *t.shape[1:])).astype("float32") for t in model.inputs]
    y = [rng.integers(0, t.shape[-1], samples) for t in model.outputs]
    return (x[0] if len(x) == 1 else x), (y[0] if len(y) == 1 else y)


def _fit(model, x, y, callbacks=()):
    model.compile(keras.optimizers.SGD(0.01),
                  [keras.losses.SparseCategoricalCrossentropy(from_logits=True)] * len(model.outputs))
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=list(callbacks))


def _prune(model, x, y, **kwargs):
    """Prune 50% at the first step, fine-tune one epoch, strip."""
    pruned = prune_low_magnitude(model, ConstantSparsity(0.5, 0, frequency=1), **kwargs)
    _fit(pruned, x, y, [UpdatePruningStep()])
    return pruned, strip_pruning(pruned)


def _sparsity(model, name: str, weight: str = "kernel") -> float:
    return float(np.mean(getattr(model.get_layer(name), weight).numpy() == 0))


def _same_outputs(a, b, x) -> bool:
    out_a, out_b = a.predict(x, verbose=0), b.predict(x, verbose=0)
    return all(np.allclose(p, q, atol=1e-5) for p, q in zip(keras.tree.flatten(out_a), keras.tree.flatten(out_b)))


def _raw_ops_model():
    inp = keras.Input((6,), name="x")
    h = keras.layers.Dense(16, name="d1")(inp)
    h = keras.ops.relu(h * 0.5 + 3.0) * (1.0 / 6.0)        # MobileNetV3's hard-sigmoid style
    h = keras.ops.concatenate([h, keras.ops.square(h)], axis=-1)
    return keras.Model(inp, keras.layers.Dense(3, name="d2")(h), name="raw")


def test_raw_ops_are_kept_and_the_layers_around_them_compressed():
    model = _raw_ops_model()
    x, y = _data(model)
    pruned, plain = _prune(model, x, y)
    assert _same_outputs(pruned, plain, x)
    assert _sparsity(plain, "d1") == 0.5 and _sparsity(plain, "d2") == 0.5
    raw = {type(op).__name__ for op in plain.operations if not isinstance(op, keras.layers.Layer)}
    assert {"Multiply", "Add", "Relu", "Concatenate", "Square"} <= raw
    clustered = strip_clustering(cluster_weights(plain, 4, preserve_sparsity=True))
    assert len(np.unique(clustered.get_layer("d2").kernel.numpy())) <= 5
    assert _sparsity(clustered, "d1") == 0.5


def _nested_model():
    """A functional backbone and a Sequential block called inside a functional model."""
    b_in = keras.Input((8, 8, 3))
    h = keras.layers.Conv2D(8, 3, padding="same", use_bias=False, name="b_conv1")(b_in)
    h = keras.layers.BatchNormalization(name="b_bn1")(h)
    h = keras.layers.ReLU(6.0, name="b_relu1")(h)
    h = h + keras.layers.Conv2D(8, 1, name="b_conv2")(h)
    backbone = keras.Model(b_in, h, name="backbone")
    backbone.trainable = False  # fine-tuning a head on a frozen backbone
    block = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8, activation="relu", name="s_dense")],
                             name="block")
    inp = keras.Input((8, 8, 3), name="image")
    features = keras.layers.GlobalAveragePooling2D(name="pool")(backbone(inp, training=False))
    return keras.Model(inp, keras.layers.Dense(4, name="head")(block(features)), name="outer")


def test_nested_models_are_flattened_and_all_their_layers_compressed():
    model = _nested_model()
    x, y = _data(model)
    pruned, plain = _prune(model, x, y)
    assert not any(isinstance(layer, keras.Model) for layer in plain.layers)  # comes back flat
    for name in ("b_conv1", "b_conv2", "s_dense", "head"):
        assert _sparsity(plain, name) == 0.5, name
    assert _same_outputs(pruned, plain, x)
    # the backbone stayed frozen: its kernel and BatchNorm statistics did not move in fit
    assert not plain.get_layer("b_conv2").trainable
    assert np.allclose(plain.get_layer("b_bn1").moving_mean.numpy(), 0.0)
    assert _same_outputs(model, strip_pruning(prune_low_magnitude(model, ConstantSparsity(0.5, 10**6))), x)


def test_nested_models_with_clashing_layer_names_are_refused_by_name():
    inner_in = keras.Input((4,))
    inner = keras.Model(inner_in, keras.layers.Dense(4, name="dense_a")(inner_in), name="inner")
    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.Dense(2, name="dense_a")(inner(inp)))
    with pytest.raises(OptimizationError, match="dense_a.*unique names"):
        prune_low_magnitude(model, ConstantSparsity(0.5, 0))


def _shared_model():
    a, b = keras.Input((5,), name="a"), keras.Input((5,), name="b")
    shared = keras.layers.Dense(6, name="shared")
    merged = keras.layers.Concatenate(name="cat")([shared(a), shared(b)])
    return keras.Model([a, b], [keras.layers.Dense(3, name="out1")(merged), keras.layers.Dense(2, name="out2")(merged)])


def test_shared_layers_stay_shared_through_pruning_and_clustering_with_several_inputs_and_outputs():
    model = _shared_model()
    x, y = _data(model)
    pruned, plain = _prune(model, x, y)
    wrappers = [layer for layer in pruned.layers if isinstance(layer, PruneLowMagnitude)]
    assert sorted(w.layer.name for w in wrappers) == ["out1", "out2", "shared"]  # one wrapper for both calls
    assert len(plain.get_layer("shared")._inbound_nodes) == 2 and _sparsity(plain, "shared") == 0.5
    assert _same_outputs(pruned, plain, x)
    clustered = cluster_weights(plain, 3)
    assert len(clustered.layers) == len(plain.layers)
    assert len(np.unique(strip_clustering(clustered).get_layer("shared").kernel.numpy())) <= 3


def test_shared_layers_get_one_clear_error_from_qat_and_filter_pruning():
    model = _shared_model()
    with pytest.raises(OptimizationError, match="'shared' is called 2 times.*own layer"):
        quantize_model(model)
    with pytest.raises(OptimizationError, match="'shared' is called 2 times"):
        prune_filters(model, FilterPruneConfig(0.5))


def test_qat_and_filter_pruning_handle_nested_models_raw_ops_and_several_outputs():
    model = _nested_model()
    x, y = _data(model)
    qat = quantize_model(model)
    assert any(layer.name == "b_conv1" and type(layer).__name__ == "QuantizeWrapper" for layer in qat.layers)
    _fit(qat, x, y)
    result = finish_qat(qat, x)
    assert "b_bn1" not in [layer.name for layer in result.model.layers]  # folded into b_conv1
    assert np.allclose(result.model.predict(x, verbose=0), qat.predict(x, verbose=0), atol=0.2)
    narrower = prune_filters(model, FilterPruneConfig(0.5)).model
    assert narrower.get_layer("s_dense").kernel.shape[-1] == 4
    a, b = keras.Input((5,), name="a"), keras.Input((5,), name="b")
    multi = keras.Model([a, b], [keras.layers.Dense(3, name="o1")(keras.layers.Dense(6, name="h")(a) + b[:, :1]),
                                 keras.layers.Dense(2, name="o2")(b)])
    qat_multi = quantize_model(multi)
    assert len(qat_multi.outputs) == 2 and {"a_quant", "b_quant"} <= {layer.name for layer in qat_multi.layers}


@keras.saving.register_keras_serializable(package="test_graphs")
class ScaledDense(keras.layers.Dense):
    """A Dense subclass: compressed as a Dense."""


@keras.saving.register_keras_serializable(package="test_graphs")
class OptInLayer(keras.layers.Layer):
    """A custom matmul layer that names its kernel through the opt-in protocol (and, like many
    custom layers, has no compute_output_shape: the wrappers trace it)."""

    def build(self, input_shape):
        self.w = self.add_weight(name="w", shape=(input_shape[-1], 8))
        self.offset = self.add_weight(name="offset", shape=(8,), initializer="zeros")

    def call(self, x):
        return keras.ops.matmul(x, self.w) + self.offset

    def compressible_weights(self) -> list[str]:
        return ["w"]


@keras.saving.register_keras_serializable(package="test_graphs")
class OpaqueLayer(keras.layers.Layer):
    """A custom layer with weights and no protocol: left alone."""

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.scale


def test_subclasses_and_opt_in_layers_are_compressed_others_named_in_one_warning():
    inp = keras.Input((6,))
    h = ScaledDense(8, name="scaled")(inp)
    h = OptInLayer(name="opt_in")(h)
    h = OpaqueLayer(name="opaque")(h)
    h = keras.layers.Reshape((1, 8))(h)
    h = keras.layers.Conv1DTranspose(4, 1, name="transposed")(h)
    model = keras.Model(inp, keras.layers.Flatten()(h))
    x, y = _data(model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pruned, plain = _prune(model, x, y)
    skipped = [str(w.message) for w in caught if issubclass(w.category, SkippedLayersWarning)]
    assert len(skipped) == 1 and "opaque (OpaqueLayer)" in skipped[0] and "transposed" in skipped[0]
    assert _sparsity(plain, "scaled") == 0.5 and _sparsity(plain, "opt_in", "w") == 0.5
    assert _sparsity(plain, "opaque", "scale") == 0.0 and _sparsity(plain, "transposed") == 0.0
    assert isinstance(plain.get_layer("scaled"), ScaledDense)


def test_a_subclassed_model_gets_one_line_saying_how_to_rebuild_it():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    net = Net()
    net(np.zeros((1, 3), "float32"))
    for compress in (lambda m: prune_low_magnitude(m, ConstantSparsity(0.5, 0)), lambda m: cluster_weights(m, 4),
                     quantize_model, lambda m: prune_filters(m, FilterPruneConfig(0.5))):
        with pytest.raises(OptimizationError, match=r"subclassed keras.Model \(Net\).*keras.Input") as info:
            compress(net)
        assert "\n" not in str(info.value)
    inp = keras.Input((3,))
    with pytest.raises(OptimizationError, match="subclassed"):  # also when nested in a functional model
        prune_low_magnitude(keras.Model(inp, net(inp)), ConstantSparsity(0.5, 0))


USER_CODE = '''
import keras


class Offset(keras.layers.Layer):
    def build(self, input_shape):
        self.offset = self.add_weight(name="offset", shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        return x + self.offset
'''


@pytest.fixture
def user_model(tmp_path, monkeypatch):
    """A model saved with a class from the user's file; that module is gone when edgekit loads it."""
    code = tmp_path / "code" / "user_layers.py"
    code.parent.mkdir()
    code.write_text(USER_CODE)
    monkeypatch.syspath_prepend(str(code.parent))
    import user_layers

    inp = keras.Input((8, 8, 1))
    out = keras.layers.Dense(10)(keras.layers.Flatten()(user_layers.Offset()(inp)))
    path = tmp_path / "model.keras"
    keras.Model(inp, out).save(path)
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "data.npz", x=rng.normal(size=(16, 8, 8, 1)).astype("float32"), y=rng.integers(0, 10, 16))
    monkeypatch.delitem(__import__("sys").modules, "user_layers")
    registry = keras.saving.get_custom_objects()  # edgekit's own wrappers are registered here too
    before = dict(registry)
    yield path, code
    registry.clear()
    registry.update(before)


def _forget_user_classes() -> None:
    registry = keras.saving.get_custom_objects()
    for key in [key for key, value in registry.items() if getattr(value, "__name__", "") == "Offset"]:
        del registry[key]


def test_eval_and_convert_load_models_with_the_users_classes(cli, user_model, tmp_path, monkeypatch):
    path, code = user_model
    data = tmp_path / "data.npz"
    missing = cli("eval", path, "--data", data)
    assert missing.exit_code == 2
    assert "'Offset'" in missing.output and "--custom-objects FILE.py or --import MODULE" in missing.output
    assert "Traceback" not in missing.output
    ok = cli("eval", path, "--data", data, "--custom-objects", code)
    assert ok.exit_code == 0, ok.output
    assert "top-1 accuracy" in ok.output
    _forget_user_classes()
    assert type(load_keras_model(path, user_code=[str(code)]).layers[1]).__name__ == "Offset"  # the library call
    _forget_user_classes()
    monkeypatch.syspath_prepend(str(code.parent))
    converted = cli("convert", path, "-o", tmp_path / "m.tflite", "--import", "user_layers")
    assert converted.exit_code == 0, converted.output
    assert (tmp_path / "m.tflite").stat().st_size > 0


def test_user_code_that_cannot_be_imported_gets_one_line_naming_it(cli, user_model, tmp_path):
    path, code = user_model
    broken = tmp_path / "broken.py"
    broken.write_text("import keras\nraise RuntimeError('no GPU here')\n")
    result = cli("eval", path, "--data", tmp_path / "data.npz", "--custom-objects", broken)
    assert result.exit_code == 2
    assert f"--custom-objects {broken}: cannot import it (RuntimeError: no GPU here)" in result.output
    missing = cli("convert", path, "-o", tmp_path / "m.tflite", "--import", "no_such_module_here")
    assert missing.exit_code == 2 and "--import no_such_module_here: cannot import it" in missing.output
