"""Session models for the storage tests: trained once, shaped for each storage form."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import storage_shapes as models


def _trained(kind: str, digits_train: Path, epochs: int = 8):
    import keras

    from edgekit.models import compile_classifier, digits_cnn

    keras.utils.set_random_seed(0)
    data = np.load(digits_train)
    if kind == "mlp":   # the 64 -> 320 -> 128 -> 10 MLP
        model = keras.Sequential([keras.Input((8, 8, 1), name="image"), keras.layers.Flatten(),
                                  keras.layers.Dense(320, activation="relu"), keras.layers.Dense(128, activation="relu"),
                                  keras.layers.Dense(10)], name="mlp")
    else:
        model = digits_cnn()
    compile_classifier(model).fit(data["x"], data["y"], epochs=epochs, batch_size=32, verbose=0)
    return model


@pytest.fixture(scope="session")
def storage_models(tmp_path_factory, digits_train) -> dict[str, Path]:
    """.keras files: ``grid`` (CNN on the int4 grid), ``dense`` (CNN as trained), ``ternary``
    (CNN), ``sparse`` (MLP in 1x16 blocks); and ``int8`` (.tflite of ``grid``, per channel)."""
    from edgekit.convert import convert_model

    folder = tmp_path_factory.mktemp("storage-models")
    cnn = _trained("cnn", digits_train)
    paths = {"dense": folder / "dense.keras"}
    cnn.save(paths["dense"])
    for name, shape in (("grid", models.int4_grid), ("ternary", models.ternary)):
        import keras

        copy = keras.models.clone_model(cnn)
        copy.set_weights(cnn.get_weights())
        paths[name] = folder / f"{name}.keras"
        shape(copy).save(paths[name])
    paths["sparse"] = folder / "sparse.keras"
    models.block_sparse(_trained("mlp", digits_train, epochs=5)).save(paths["sparse"])
    calibration = np.load(digits_train)["x"][:100]
    import keras

    for name in ("grid", "ternary"):
        path = folder / f"{name}_int8.tflite"
        path.write_bytes(convert_model(keras.models.load_model(paths[name]), quantize="int8",
                                       representative=calibration))
        paths[f"{name}_int8"] = path
    return paths
