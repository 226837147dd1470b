"""Device resolution shared by ``edgekit deploy``/``rollback`` and ``edgekit build`` (no sshd needed)."""

from __future__ import annotations

import pytest

from edgekit.errors import UsageError
from edgekit.remote import resolve_device, resolve_devices

_INVENTORY = ('[devices.a]\nhost = "pi@h1"\ntarget = "rpi4"\ngroups = ["lab"]\n'
              '[devices.b]\nhost = "h2:2222"\ntarget = "rpi5"\ngroups = ["lab", "shelf"]\n')


@pytest.fixture
def inventory(tmp_path, monkeypatch):
    """An inventory file, with cwd and XDG_CONFIG_HOME pointing where there is no other one."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    path = tmp_path / "devices.toml"
    path.write_text(_INVENTORY)
    return path


def test_flags_choose_hosts_names_groups_or_a_target(inventory):
    hosts = resolve_devices(hosts=("u@x:22", "y"), target="local")
    assert [(d.name, d.host, d.target) for d in hosts] == [("u@x:22", "u@x:22", "local"), ("y", "y", "local")]
    assert [d.name for d in resolve_devices(names=("b",), inventory=inventory)] == ["b"]
    assert [d.name for d in resolve_devices(groups=("lab",), inventory=inventory)] == ["a", "b"]
    assert [d.name for d in resolve_devices(target="rpi4", inventory=inventory)] == ["a"]
    both = resolve_devices(hosts=("z",), names=("a",), inventory=inventory, remote_python="/opt/py",
                           remote_dir="/srv/e")
    assert [(d.name, d.remote_python, d.remote_dir) for d in both] == [("z", "/opt/py", "/srv/e"),
                                                                       ("a", "/opt/py", "/srv/e")]
    overridden = resolve_devices(names=("a",), target="rpi5", inventory=inventory)
    assert overridden[0].target == "rpi5"  # the flag wins over the inventory's key


def test_no_device_and_unknown_names_are_usage_errors(inventory):
    with pytest.raises(UsageError, match="no device given: pass --host"):
        resolve_devices()
    with pytest.raises(UsageError, match="--device c: not in .*devices.toml; known: a, b"):
        resolve_devices(names=("c",), inventory=inventory)
    with pytest.raises(UsageError, match="--target coral-usb: no device registered"):
        resolve_devices(target="coral-usb", inventory=inventory)


def test_one_device_by_name_first_then_as_an_address(inventory, tmp_path):
    assert resolve_device("b", target="local", inventory=inventory).host == "h2:2222"
    address = resolve_device("pi@10.0.0.7:2200", target="rpi4", inventory=inventory)
    assert (address.name, address.host, address.target) == ("pi@10.0.0.7:2200", "pi@10.0.0.7:2200", "rpi4")
    user = tmp_path / "config" / "edgekit" / "inventory.toml"
    user.parent.mkdir(parents=True)
    user.write_text('[devices.shelf-pi]\nhost = "pi@h9"\ntarget = "rpi4"\n')
    assert resolve_device("shelf-pi", target="local", inventory=inventory).host == "pi@h9"  # the user's inventory
