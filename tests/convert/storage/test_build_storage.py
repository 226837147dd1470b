"""edgekit build: [convert] storage / --storage, checked against the target and verified when converted."""

from __future__ import annotations

import pytest

from helpers.build_support import build, project
from edgekit.errors import ConfigError
from edgekit.inspect import read_tflite
from edgekit.inspect.storage import storage_forms
from edgekit.pipeline import steps
from edgekit.pipeline.config import load_config


def _with_storage(path, storage: str):
    path.write_text(path.read_text().replace('io_type = "int8"', f'io_type = "int8"\nstorage = "{storage}"'))
    return path


def test_storage_is_checked_at_load_and_against_the_target(tmp_path):
    with pytest.raises(ConfigError, match=r"edgekit.toml:\d+: \[convert\] storage must be one of int8, int4, sparse"):
        load_config(_with_storage(project(tmp_path), "lut"))
    config = load_config(_with_storage(project(tmp_path, target="coral-usb"), "int4"))
    with pytest.raises(ConfigError, match="storage 'int4' is not one target coral-usb's runtime runs correctly"):
        steps.check_target("coral-usb", quantize="int8", io_type="int8", where=config.path, storage="int4")
    done = build(project(tmp_path, target="coral-usb"), tmp_path / "out", "--storage", "int4")
    assert done.returncode == 2 and "storage 'int4'" in done.stderr and not (tmp_path / "out" / "model.tflite").exists()
    done = build(project(tmp_path), tmp_path / "out", "--storage", "lut")
    assert done.returncode == 2 and "choose from int8, int4, sparse" in done.stderr


def test_convert_variant_stores_int4_and_verifies_it(storage_models, digits_train):
    checks: list[dict] = []
    data = steps.convert_variant(storage_models["grid"], quantize="int8", calibration_spec=digits_train,
                                 storage="int4", checked=checks.append)
    assert set(storage_forms(read_tflite(data))) == {"int4"}
    (check,) = checks   # what the build's manifest records as the final model's "verified" and figures
    assert check["ok"] and check["reference"] == "int8" and check["top1"] >= 0.99 and check["max_steps"] <= 8
