"""Session models for the storage tests: trained once, shaped for each storage form."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers import storage_shapes as models


@pytest.fixture(scope="session")
def storage_models(tmp_path_factory, digits_train) -> dict[str, Path]:
    """.keras files: ``grid`` (CNN on the int4 grid), ``dense`` (CNN as trained), ``ternary``
    (CNN), ``sparse`` (MLP in 1x16 blocks); and ``int8`` (.tflite of ``grid``, per channel)."""
    from edgekit.convert import convert_model

    folder = tmp_path_factory.mktemp("storage-models")
    cnn = models.trained("cnn", digits_train)
    paths = {"dense": folder / "dense.keras"}
    cnn.save(paths["dense"])
    for name, shape in (("grid", models.int4_grid), ("ternary", models.ternary)):
        import keras

        copy = keras.models.clone_model(cnn)
        copy.set_weights(cnn.get_weights())
        paths[name] = folder / f"{name}.keras"
        shape(copy).save(paths[name])
    paths["sparse"] = folder / "sparse.keras"
    models.block_sparse(models.trained("mlp", digits_train, epochs=5)).save(paths["sparse"])
    calibration = np.load(digits_train)["x"][:100]
    import keras

    for name in ("grid", "ternary"):
        path = folder / f"{name}_int8.tflite"
        path.write_bytes(convert_model(keras.models.load_model(paths[name]), quantize="int8",
                                       representative=calibration))
        paths[f"{name}_int8"] = path
    return paths
