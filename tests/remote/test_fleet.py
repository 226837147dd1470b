"""Fleets: several real sshd's from an inventory, one device down, bounded parallelism."""

from __future__ import annotations

import getpass
import json
import sys

import pytest
from remote_support import file_sha256, free_port

from edgekit.errors import ConfigError, UsageError
from edgekit.remote import load_inventory, select_devices
from edgekit.results import ResultStore

pytestmark = pytest.mark.ssh  # a real sshd on 127.0.0.1


def _inventory(tmp_path, sshd_pool, down_port: int) -> str:
    entries = [(f"dev{i}", s.port) for i, s in enumerate(sshd_pool)] + [("dev-down", down_port)]
    text = ""
    for name, port in entries:
        text += (f'[devices.{name}]\nhost = "{getpass.getuser()}@127.0.0.1:{port}"\ntarget = "local"\n'
                 f'groups = ["lab"]\nremote_python = "{sys.executable}"\nremote_dir = "{tmp_path / name}"\n\n')
    return text


def test_fleet_with_one_device_down(cli, sshd_pool, user_key, known_hosts, remote_models, tmp_path):

    (tmp_path / "edgekit.toml").write_text(_inventory(tmp_path, sshd_pool, free_port()))  # cwd is tmp_path
    result = cli("deploy", remote_models["a"], "--target", "local", "--parallel", "2", "-i", user_key,
                 "--known-hosts", known_hosts, "--runs", "3", "--warmup", "0", "--connect-timeout", "3")
    assert result.exit_code == 3
    ok_lines = [line for line in result.stdout.splitlines() if line.startswith("ok ")]
    assert sorted(line.split()[1].rstrip(":") for line in ok_lines) == ["dev0", "dev1", "dev2"]
    assert "3 of 4 device(s) ok, 1 failed" in result.stdout
    assert "dev-down" in result.stderr and "cannot connect" in result.stderr
    sha = file_sha256(remote_models["a"])
    for i in range(3):
        assert file_sha256(tmp_path / f"dev{i}" / "current") == sha
    assert sorted(r["host"] for r in ResultStore().runs()) == ["dev0", "dev1", "dev2"]  # successes kept

    again = cli("deploy", remote_models["a"], "--group", "lab", "--no-bench", "-i", user_key, "--known-hosts",
                known_hosts, "--connect-timeout", "3", "--json")
    report = json.loads(again.stdout)
    assert report["summary"] == {"devices": 4, "ok": 3, "failed": 1, "interrupted": 0}
    assert [d["model_bytes_sent"] for d in report["devices"] if d["ok"]] == [0, 0, 0]
    down = [d for d in report["devices"] if not d["ok"]]
    assert down[0]["device"] == "dev-down" and down[0]["exit_code"] == 3


def test_inventory_selection_and_errors(tmp_path):
    path = tmp_path / "edgekit.toml"
    path.write_text('[devices.a]\nhost = "pi@h1"\ntarget = "rpi4"\ngroups = ["lab"]\n'
                    '[devices.b]\nhost = "h2:2222"\ntarget = "rpi5"\ngroups = ["lab", "shelf"]\n')
    devices = load_inventory(path)
    assert [d.name for d in select_devices(devices, target="rpi4")] == ["a"]
    assert [d.name for d in select_devices(devices, groups=("lab",))] == ["a", "b"]
    assert [d.name for d in select_devices(devices, names=("b",))] == ["b"]
    assert devices[0].remote_python == "python3" and devices[0].remote_dir == "~/.edgekit"
    with pytest.raises(UsageError, match="--device c: not in"):
        select_devices(devices, names=("c",), source=path)
    with pytest.raises(UsageError, match="--target coral-usb: no device registered"):
        select_devices(devices, target="coral-usb", source=path)

    path.write_text('[devices.a]\nhost = "h"\nremote_pyhton = "x"\n')
    with pytest.raises(ConfigError, match=r"edgekit.toml:3: unknown key 'remote_pyhton' in \[devices.a\]"):
        load_inventory(path)
    path.write_text('[devices.a]\nhost = "h"\ngroups = "lab"\n')
    with pytest.raises(ConfigError, match=r"\[devices.a\] groups: expected a list of strings"):
        load_inventory(path)


def test_no_device_given_is_a_usage_error(cli, remote_models):
    result = cli("deploy", remote_models["a"])
    assert result.exit_code == 2 and "no device given" in result.stderr


def test_run_fleet_bounds_parallelism_and_keeps_going():
    import threading
    import time

    from edgekit.errors import RemoteError
    from edgekit.remote import Device, run_fleet

    active, peak, lock = 0, 0, threading.Lock()

    def action(device):
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.2)
        with lock:
            active -= 1
        if device.name == "d3":
            raise RemoteError("d3: unreachable")
        return device.name.upper()

    devices = [Device(name=f"d{i}", host=f"h{i}") for i in range(7)]
    seen = []
    outcomes = run_fleet(devices, action, parallel=3, on_done=seen.append)
    assert peak == 3
    assert [o.device.name for o in outcomes] == [d.name for d in devices]  # device order, not finish order
    assert [o.value for o in outcomes if o.ok] == ["D0", "D1", "D2", "D4", "D5", "D6"]
    assert [str(o.error) for o in outcomes if not o.ok] == ["d3: unreachable"]
    assert len(seen) == 7


def test_fleet_log_writes_whole_lines_from_many_threads_under_a_live_count():
    import re
    import threading

    from edgekit.remote.fleet_log import FleetLog

    written: list[tuple[str, bool]] = []
    log = FleetLog(lambda text, err: written.append((text, err)), total=8, verbose=False, live=True)

    def worker(i):
        for step in range(50):
            log.progress(f"d{i}: step {step} " + "x" * 200)  # hidden: not verbose
            log.line(f"d{i}: line {step} " + "y" * 200, err=bool(step % 2))
        log.finished(ok=i != 3)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    lines = [text for text, _ in written if text.endswith("\n")]
    assert len(lines) == 8 * 50 and all(re.fullmatch(r"d\d: line \d+ y{200}\n", text) for text in lines)
    counts = [text for text, err in written if not text.endswith("\n") and not text.startswith("\r")]
    assert counts[-1] == "8/8 done, 1 failed" and all(err for text, err in written if text in counts)
    assert written[-1] == ("\r\x1b[K", True)  # the count is gone before the summary
