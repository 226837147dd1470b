"""``edgekit deploy --op-profile`` against a real sshd: the agent profiles each operator on the device."""

from __future__ import annotations

import json

import pytest

from edgekit.results import ResultStore
from helpers.op_profile_checks import assert_profiles_every_op, model_op_types

pytestmark = pytest.mark.ssh  # a real sshd on 127.0.0.1


def test_deploy_op_profile_through_the_agent(cli, sshd, device_args, digits_tflite, tmp_path):
    model = digits_tflite("int8")
    result = cli("deploy", model, *device_args(sshd, tmp_path / "device"), "--op-profile", "--json")
    assert result.exit_code == 0, result.output
    entry = json.loads(result.stdout)["devices"][0]
    profile = entry["result"]["op_profile"]
    assert_profiles_every_op(profile, model)
    assert all(op["runs"] == 5 for op in profile["ops"])  # device_args: --runs 5
    assert ResultStore().get(entry["run_id"])["result"]["op_profile"] == profile

    again = cli("deploy", model, *device_args(sshd, tmp_path / "device"), "--op-profile")
    assert again.exit_code == 0, again.output
    table = again.stdout[again.stdout.index("Operator-wise profile"):]
    assert all(kind in table for kind in model_op_types(model))
    assert "Summary by op type:" in table and "Sum of operators:" in table
