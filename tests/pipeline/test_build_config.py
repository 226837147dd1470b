"""edgekit.toml validation: every bad key or value is one line naming the file, line, table and key."""

from __future__ import annotations

import pytest

from edgekit.errors import ConfigError
from edgekit.optimize.stages import stage_names
from edgekit.pipeline.config import load_config
from edgekit.tomlfile import find_line

GOOD = """\
# a comment
[model]
source = "builtin:digits_cnn"

[train]
epochs = 3
seed = 7

[data]
train = "train.npz"
val = "val.npz"

[convert]
quantize = "int8"
io_type = "int8"

[target]
name = "local"
runs = 20

[budgets]
max_size_kb = 200
min_accuracy = 0.9

[export]
c_array = true
"""


def write(tmp_path, text):
    path = tmp_path / "edgekit.toml"
    path.write_text(text)
    return path


def test_good_file_loads_with_types_and_defaults(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    assert config.train.epochs == 3 and config.train.seed == 7 and config.train.batch_size == 32
    assert config.budgets.max_size_kb == 200 and config.budgets.max_latency_ms is None
    assert config.export.c_array is True and config.is_builtin
    assert config.resolve("train.npz") == str(tmp_path.resolve() / "train.npz")
    # a directory argument means its edgekit.toml
    assert load_config(tmp_path).budgets.min_accuracy == 0.9


@pytest.mark.parametrize("old, new, line, message", [
    ("max_size_kb = 200", "max_sise_kb = 200", 22, "unknown key 'max_sise_kb' in [budgets]"),
    ("epochs = 3", 'epochs = "3"', 6, "[train] epochs: expected an integer, got string '3'"),
    ("epochs = 3", "epochs = 3.5", 6, "[train] epochs: expected an integer, got number 3.5"),
    ("c_array = true", 'c_array = "yes"', 26, "[export] c_array: expected true/false, got string 'yes'"),
    ("min_accuracy = 0.9", "min_accuracy = true", 23, "[budgets] min_accuracy: expected a number, got boolean True"),
    ("runs = 20", "runs = [20]", 19, "[target] runs: expected an integer, got list"),
    ('quantize = "int8"', 'quantize = "int4"', 14, "[convert] quantize must be one of none, float16"),
    ('io_type = "int8"', 'io_type = "int16"', 15, "[convert] io_type must be one of float32, int8, uint8"),
    ('io_type = "int8"', 'io_type = "int8"\nper_tensor = 1', 16, "[convert] per_tensor: expected true/false"),
    ('quantize = "int8"\nio_type = "int8"', 'quantize = "float16"\nio_type = "float32"\nper_tensor = true', 16,
     "[convert] per_tensor needs quantize = \"int8\" or \"int16x8\", got 'float16'"),
    ('source = "builtin:digits_cnn"', 'source = "builtin:resnet"', 3, "unknown builtin 'builtin:resnet'"),
    ("[export]", "[exports]", 25, "unknown table [exports]"),
    ("max_size_kb = 200", "max_size_kb = -1", 22, "[budgets] max_size_kb must not be negative"),
    ('val = "val.npz"', "", 9, "[data] val is needed"),
])
def test_each_bad_key_or_value_names_its_line(tmp_path, old, new, line, message):
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert text.startswith(f"{path}:{line}: "), text
    assert message in text
    assert "\n" not in text


def test_not_toml_and_missing_file(tmp_path, cli):
    path = write(tmp_path, "[model\nsource = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)
    result = cli("build", tmp_path / "nope.toml", "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "nope.toml: cannot read the build file" in result.output and "edgekit init" in result.output
    assert not (tmp_path / "out").exists()


def test_find_line_in_array_tables():
    text = "[[optimize]]\nstep = 'prune'\nsparsity = 0.5\n\n[[optimize]]\nstep = 'cluster'\nclusters = 16\n"
    assert find_line(text, "optimize", "step", 1) == 6
    assert find_line(text, "optimize", "clusters", 1) == 7
    assert find_line(text, "optimize", "sparsity", 0) == 3
    assert find_line(text, "optimize", None, 1) == 5


def test_init_writes_a_starter_that_loads(tmp_path, cli):
    path = tmp_path / "edgekit.toml"
    assert cli("init", path).exit_code == 0
    config = load_config(path)
    assert config.model.source == "builtin:digits_cnn" and config.budgets.min_accuracy is not None
    result = cli("init", path)
    assert result.exit_code == 2 and "already exists" in result.output


def test_optimize_steps_are_checked_against_their_config(tmp_path):
    base = GOOD + '\n[[optimize]]\nstep = "prune"\nsparsity = 0.5\n'
    config = load_config(write(tmp_path, base))
    assert [(s.step, s.params) for s in config.optimize] == [("prune", {"sparsity": 0.5})]
    cases = [
        (base.replace('step = "prune"', 'step = "sharpen"'), 29,
         f"step must be one of {', '.join(stage_names())},"),
        (base.replace("sparsity = 0.5", "sparsityy = 0.5"), 30, "unknown key 'sparsityy' in [[optimize]] step 'prune'"),
        (base.replace("sparsity = 0.5", 'sparsity = "half"'), 30, "[[optimize]] prune.sparsity: expected a number"),
        # value checks happen when the file is loaded, before any training: the step's header line
        (base.replace("sparsity = 0.5", "sparsity = 1.5"), 28, "[[optimize]] #1 (prune): prune sparsity must be"),
        (base + "run_cost = -1\n", 28, "prune run cost must be a number >= 0"),
    ]
    for text, line, message in cases:
        with pytest.raises(ConfigError) as info:
            load_config(write(tmp_path, text))
        assert str(info.value).startswith(f"{tmp_path / 'edgekit.toml'}:{line}: ") and message in str(info.value)


def test_optimize_steps_run_in_the_order_written_and_obey_the_order_rules(tmp_path):
    steps = '\n[[optimize]]\nstep = "cluster"\nclusters = 8\n\n[[optimize]]\nstep = "prune"\nsparsity = 0.5\n'
    config = load_config(write(tmp_path, GOOD + steps))
    assert [s.as_step().stage for s in config.optimize] == ["cluster", "prune"]  # as written, not a fixed order
    assert config.optimize[0].as_step().config.clusters == 8
    cases = [
        (GOOD + '\n[[optimize]]\nstep = "qat"\n\n[[optimize]]\nstep = "prune"\n', 32,
         "[[optimize]] #2: optimize stage 'qat' must be the last stage, but 'prune' comes after it"),
        (GOOD + '\n[[optimize]]\nstep = "prune"\n\n[[optimize]]\nstep = "prune"\n', 32,
         "[[optimize]] #2: optimize stage 'prune' is given twice"),
        (GOOD + '\n[finetune]\nloss = "huber"\n', 29, "[finetune] loss: unknown loss 'huber'"),
    ]
    for text, line, message in cases:
        with pytest.raises(ConfigError) as info:
            load_config(write(tmp_path, text))
        assert str(info.value).startswith(f"{tmp_path / 'edgekit.toml'}:{line}: ") and message in str(info.value)
    config = load_config(write(tmp_path, GOOD + '\n[finetune]\nloss = ["sparse_categorical_crossentropy"]\n'))
    assert config.finetune.finetune().loss == ("sparse_categorical_crossentropy",)


def test_init_template_has_a_valid_example_of_every_registered_stage(tmp_path, cli):
    from edgekit.optimize.stages import stages

    path = tmp_path / "edgekit.toml"
    assert cli("init", path).exit_code == 0
    text = path.read_text()
    for stage in stages():
        assert "\n".join(f"# {line}" for line in stage.example.splitlines()) in text, stage.name
        config = load_config(write(tmp_path, GOOD + "\n[[optimize]]\n" + stage.example + "\n"))
        assert [s.step for s in config.optimize] == [stage.name]


def test_a_distill_student_file_is_found_next_to_the_config(tmp_path):
    steps = '\n[[optimize]]\nstep = "distill"\nstudent = "models/student.keras"\n\n[[optimize]]\nstep = "ternary"\n'
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, GOOD + steps))
    assert str(info.value).startswith(f"{tmp_path / 'edgekit.toml'}:30: ")
    assert "[[optimize]] #1 (distill): models/student.keras not found" in str(info.value)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "student.keras").write_bytes(b"x")
    config = load_config(write(tmp_path, GOOD + steps))
    assert config.optimize[0].files() == ["models/student.keras"]
    resolved = config.optimize_steps()[0].as_step().config
    assert resolved.student == str(tmp_path / "models" / "student.keras") and resolved.alpha == 0.5
    with pytest.raises(ConfigError, match="stages 'ternary' and 'cluster' cannot be combined"):
        load_config(write(tmp_path, GOOD + steps + '\n[[optimize]]\nstep = "cluster"\n'))


def test_devices_are_read_with_the_file_and_written_back_by_tune(tmp_path):
    from edgekit.remote import resolve_device
    from edgekit.tune.emit import build_toml

    devices = ('\n[devices.kitchen-pi]\nhost = "pi@127.0.0.1:2222"\ntarget = "rpi4"\ngroups = ["lab"]\n'
               'keep_models = 3\n\n[devices."shelf pi"]\nhost = "shelf"\nremote_python = "/opt/py/bin/python3"\n')
    path = write(tmp_path, GOOD + devices)
    config = load_config(path)
    assert [(d.name, d.host, d.groups, d.keep_models) for d in config.devices] == [
        ("kitchen-pi", "pi@127.0.0.1:2222", ("lab",), 3), ("shelf pi", "shelf", (), None)]
    path.unlink()  # the build's device comes from the loaded config, not from reading the file again
    assert resolve_device("kitchen-pi", target="rpi4", devices=config.devices) == config.devices[0]
    again = load_config(write(tmp_path, build_toml(config, [], {}, "emitted")))
    assert again.devices == config.devices


@pytest.mark.parametrize("table, at, message", [
    ('[devices.pi]\nhost = ""\n', 'host = ""', "[devices.pi] host: expected a non-empty string, got string ''"),
    ('[devices.pi]\nhost = "h"\nkeep_models = 0\n', "keep_models = 0", "[devices.pi] keep_models: expected an integer >= 1"),
    ('[devices.pi]\ntarget = "rpi4"\n', "[devices.pi]", "missing key 'host' in [devices.pi]"),
    ('[devices]\npi = 3\n', "pi = 3", "devices.pi must be a table"),
])
def test_a_bad_device_table_names_its_line(tmp_path, table, at, message):
    text = GOOD + "\n" + table
    line = text.split("\n").index(at) + 1
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}:{line}: ") and message in str(info.value), str(info.value)
