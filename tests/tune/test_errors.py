"""Bad input to ``edgekit tune``: one line, non-zero exit, nothing written."""

from __future__ import annotations

import pytest

from helpers.tune_support import tune_toml


@pytest.fixture
def config(tmp_path, digits_train, digits_val):
    return tune_toml(tmp_path / "cfg", digits_train, digits_val)


def one_line_error(result, *needles):
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("edgekit: error: "), result.output
    for needle in needles:
        assert needle in lines[0]


@pytest.mark.parametrize("args, needles", [
    (["--space", "prune.sparsity=[0.2, 0.9]"], ["--space prune.sparsity: ", "leaves its range"]),
    (["--space", "prune.sparsity"], ["expected NAME=VALUE"]),
    (["--space", "prune.sparsity=" + "[" * 5000 + "]" * 5000], ["expected NAME=VALUE"]),
    (["--space", "quantum=true"], ["unknown tune parameter 'quantum'"]),
    (["--workers", "0"], ["--workers must be at least 1"]),
    (["--trials", "0"], ["--trials must be at least 1"]),
    (["--sampler", "grid"], ["'grid' is not one of"]),
    (["--min-accuracy", "-1"], ["--min-accuracy must not be negative"]),
    (["--resume"], ["no study to resume"]),
    (["--train-data", "x.npz"], ["go with a Keras model"]),
])
def test_bad_flags(cli, config, tmp_path, args, needles):
    out = tmp_path / "out"
    one_line_error(cli("tune", config, "--out", out, *args), *needles)
    assert not (out / "tune.db").exists()


def test_bad_tune_space_in_the_file_names_its_line(cli, config, tmp_path):
    text = config.read_text().replace("prune = true", 'prune = true\n"cluster.clusters" = [2, 64]')
    config.write_text(text)
    line = text.splitlines().index('"cluster.clusters" = [2, 64]') + 1
    one_line_error(cli("tune", config, "--out", tmp_path / "out"), f"{config}:{line}: [tune.space] ",
                   "leaves its range [4, 16]")


@pytest.mark.parametrize("body, needles", [
    ("sampler = \"grid\"", ["[tune] sampler must be one of nsga2, tpe"]),
    ("trials = 0", ["[tune] trials must be at least 1"]),
    ("trails = 3", ["unknown key 'trails' in [tune]"]),
])
def test_bad_tune_table_is_a_config_error_with_its_line(cli, config, tmp_path, body, needles):
    text = config.read_text().replace("trials = 3", body)
    config.write_text(text)
    line = text.splitlines().index(body) + 1
    one_line_error(cli("tune", config, "--out", tmp_path / "out"), f"{config}:{line}: ", *needles)


def test_model_form_needs_data_and_an_accuracy_budget(cli, tmp_path, digits_train):
    model = tmp_path / "m.keras"
    model.write_bytes(b"")
    one_line_error(cli("tune", model, "--train-data", digits_train, "--out", tmp_path / "o"),
                   "needs --train-data and --val-data")
    one_line_error(cli("tune", model, "--train-data", digits_train, "--val-data", digits_train, "--out",
                       tmp_path / "o"), "needs an accuracy budget: --min-accuracy")
    assert not (tmp_path / "o").exists()


def test_build_ignores_the_tune_table(config):
    from edgekit.pipeline.config import load_config
    from edgekit.tune.settings import tune_settings

    loaded = load_config(config)
    assert tune_settings(loaded).trials == 3 and tune_settings(loaded).space["prune"] is True
    assert "tune" not in loaded.to_dict()  # the build's manifest and cache keys do not see it
