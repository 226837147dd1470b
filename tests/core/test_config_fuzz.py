"""Byte-mutated config files through the code that reads them: a result or one error line, never a
traceback, never a hang.

Four kinds of file (edgekit.toml, an inventory, a target profile, an ssh_config), 300 seeded
mutations each (bit flips, inserted and deleted bytes, invalid UTF-8, NULs, huge numbers, deep
nesting). Every mutation goes through the library calls the commands make; every tenth through
the command itself (click's runner, in this process) and a few through ``python -m edgekit``.
Hosts only ever resolve to 127.0.0.1 (a mutated ssh_config that names another host is read, not
connected to).
"""

from __future__ import annotations

import contextlib
import random
import signal
from pathlib import Path
from typing import Callable

import pytest

from helpers.support import isolate_ssh_client, run_edgekit
from edgekit.errors import EdgekitError

MUTATIONS = 300
CLI_EVERY = 10          # every tenth mutation also through the command (in-process)
SUBPROCESSES = 2        # per kind, through a real ``python -m edgekit``
RUN_LIMIT_S = 20        # one run longer than this is a hang

EDGEKIT_TOML = b"""\
# a project
[model]
source = "builtin:digits_cnn"

[train]
epochs = 1
seed = 3

[data]
train = "missing_train.npz"
val = "missing_val.npz"
calibration_limit = 50

[[optimize]]
step = "prune"
sparsity = 0.5

[convert]
quantize = "int8"
io_type = "float32"

[target]
name = "local"
runs = 5

[budgets]
max_size_kb = 200.5
min_accuracy = 0.9

[export]
c_array = false

[devices.pi]
host = "pi@127.0.0.1:1"
target = "rpi4"

[tune]
trials = 4
sampler = "tpe"

[tune.space]
"prune.sparsity" = [0.5, 0.9]
ternary = false
"""

INVENTORY = b"""\
[devices.pi]
host = "pi@127.0.0.1:1"          # a closed loopback port
target = "rpi4"
groups = ["lab", "pis"]
remote_python = "/usr/bin/python3"
remote_dir = "~/.edgekit"
keep_models = 3

[devices."zero w"]
host = "127.0.0.1:1"
target = "rpi-zero2w"
groups = ["lab"]
"""

SSH_CONFIG = b"""\
Host dev
  HostName 127.0.0.1
  Port 1
  User pi
  IdentityFile ~/.ssh/id_dev
  UserKnownHostsFile ~/.ssh/known_hosts_dev
  StrictHostKeyChecking accept-new
  HashKnownHosts no
  ConnectTimeout 2
  ServerAliveInterval 5
  IdentitiesOnly yes

Host twice
  HostName 127.0.0.1
  Port 1
  ProxyJump dev,dev
"""

_SPECIAL = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\x00", b"\r", b"\n", b"[", b"]", b"[[", b"=",
            b'"', b"'", b"'''", b"#", b"{", b"}", b",", b".", b"\\", b"\\u0000", b"\t", b"%", b"~", b"*"]
_HUGE = [b"9" * 5000, b"1e999", b"-1e999", b"nan", b"inf", b"99999999999999999999", b"0x7fffffffffffffff",
         b"-0", b"1_000_000_000_000", b"65536", b"-1"]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """``data`` with one to four random edits."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(out) + 1)
        op = rng.randrange(7)
        if op == 0 and out:
            out[min(at, len(out) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            out[at:at] = rng.choice(_SPECIAL)
        elif op == 2:
            del out[at:at + rng.randint(1, 12)]
        elif op == 3:
            out[at:at] = rng.randbytes(rng.randint(1, 6))
        elif op == 4:  # a huge or odd number in place of a value
            equals = out.find(b"=", at)
            end = out.find(b"\n", equals) if equals >= 0 else -1
            if end > equals >= 0:
                out[equals + 1:end] = b" " + rng.choice(_HUGE)
            else:
                out[at:at] = rng.choice(_HUGE)
        elif op == 5:  # deep nesting, on a line of its own
            depth = rng.choice([40, 900, 5000])
            opener, closer = rng.choice([(b"[", b"]"), (b"{a=", b"}")])
            line = out.rfind(b"\n", 0, at) + 1
            out[line:line] = b"deep = " + opener * depth + b"1" + closer * depth + b"\n"
        else:  # a line repeated elsewhere (duplicate keys and tables)
            lines = bytes(out).split(b"\n")
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(lines))
            out = bytearray(b"\n".join(lines))
    return bytes(out)


class Hang(Exception):
    """A run went past RUN_LIMIT_S."""


@contextlib.contextmanager
def time_limit(seconds: float):
    def stop(signum, frame):
        raise Hang(f"still running after {seconds}s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_result(result, allowed: set[int], what: str) -> str | None:
    """Why a command's result is wrong (None if it is right): an allowed exit, and a failure says why in
    ``edgekit: error:`` lines (one per device for a fleet command), no traceback."""
    output = result.stderr
    errors = [line for line in output.splitlines() if line.startswith("edgekit: error: ")]
    code = result.returncode if hasattr(result, "returncode") else result.exit_code
    if "Traceback" in output:
        return f"{what}: traceback\n{output[-2000:]}"
    if code not in allowed:
        return f"{what}: exit {code}\n{output[-2000:]}"
    if code != 0 and not errors:
        return f"{what}: exit {code} without an error line\n{output[-2000:]}"
    return None


def fuzz(kind: str, original: bytes, path: Path, library: Callable[[], object], command: list[str] | None = None,
         allowed: set[int] = frozenset(), cli=None, connects: Callable[[], bool] = lambda: True) -> dict:
    """Run every mutation of ``original`` (written to ``path``) through ``library``, a sample through
    ``command`` (if any); ``connects()`` says whether the command may run on this mutation (it would only
    reach 127.0.0.1). Returns counts; fails the test with every wrong outcome."""
    rng = random.Random(f"edgekit-{kind}")
    problems, counts = [], {"ok": 0, "error": 0, "cli": 0, "subprocess": 0}
    subprocess_at = set(range(CLI_EVERY // 2, MUTATIONS, MUTATIONS // SUBPROCESSES))
    for number in range(MUTATIONS):
        data = mutate(original, rng)
        path.write_bytes(data)
        what = f"{kind} mutation {number} ({data[:300]!r}...)"
        try:
            with time_limit(RUN_LIMIT_S):
                library()
            counts["ok"] += 1
        except EdgekitError as err:
            counts["error"] += 1
            if "\n" in str(err):
                problems.append(f"{what}: a message of several lines: {err}")
        except BaseException as exc:  # noqa: BLE001 - anything else is the traceback a user would see
            problems.append(f"{what}: {type(exc).__name__}: {exc}")
            continue
        if command is None:
            continue
        if number % CLI_EVERY == 0 and connects():
            counts["cli"] += 1
            try:
                with time_limit(RUN_LIMIT_S):
                    problem = check_result(cli(*command), allowed, f"{what} via edgekit {command[0]}")
            except BaseException as exc:  # noqa: BLE001
                problem = f"{what} via edgekit {command[0]}: {type(exc).__name__}: {exc}"
            if problem:
                problems.append(problem)
        if number in subprocess_at and connects():
            counts["subprocess"] += 1
            try:
                problem = check_result(run_edgekit(*command, timeout=120), allowed,
                                       f"{what} via python -m edgekit {command[0]}")
            except Exception as exc:  # noqa: BLE001 - subprocess.TimeoutExpired: a hang
                problem = f"{what} via python -m edgekit: {type(exc).__name__}: {exc}"
            if problem:
                problems.append(problem)
    assert not problems, f"{len(problems)} of {MUTATIONS} went wrong:\n\n" + "\n\n".join(problems[:5])
    if command is not None:  # the commands did run (most mutations reach only 127.0.0.1 or do not load)
        assert counts["cli"] >= MUTATIONS // CLI_EVERY // 2 and counts["subprocess"] >= 1, counts
    return counts


@pytest.fixture
def home(tmp_path, monkeypatch):
    return isolate_ssh_client(tmp_path, monkeypatch)


def test_target_profiles(tmp_path, home, cli):
    from edgekit.resources import targets_dir
    from edgekit.targets import list_targets, load_target

    folder = tmp_path / "targets"
    folder.mkdir()
    original = (targets_dir() / "coral-usb.toml").read_bytes().replace(b'"coral-usb"', b'"x"')
    path = folder / "x.toml"

    def library():
        load_target("x", [folder])
        list_targets([folder])

    counts = fuzz("target", original, path, library, ["targets", "show", "x", "--targets-dir", str(folder)],
                  {0, 2}, cli)
    assert counts["ok"] > 10 and counts["error"] > 100, counts  # the mutations hit both ways


def test_inventories(tmp_path, home, cli):
    from edgekit.remote import load_inventory, resolve_devices

    path = tmp_path / "inventory.toml"
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")

    def library():
        load_inventory(path)
        resolve_devices(groups=("lab",), inventory=path)

    command = ["rollback", "--inventory", str(path), "--group", "lab", "--known-hosts", str(known_hosts),
               "--connect-timeout", "2", "--command-timeout", "2"]
    counts = fuzz("inventory", INVENTORY, path, library, command, {2, 3}, cli,
                  connects=lambda: _loopback_only(path))
    assert counts["ok"] > 10 and counts["error"] > 100, counts


def _loopback_only(inventory: Path) -> bool:
    """Every device the mutated inventory names is 127.0.0.1 (or it does not load: nothing connects)."""
    from edgekit.remote import load_inventory
    from edgekit.remote.sshconfig import split_host

    try:
        return all(split_host(d.host)[1] == "127.0.0.1" for d in load_inventory(inventory))
    except EdgekitError:
        return True


def test_ssh_configs(tmp_path, home, cli):
    from edgekit.remote.sshconfig import MAX_JUMPS, next_jump, resolve

    path = tmp_path / "ssh_config"
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")

    def library():
        for alias in ("dev", "twice"):
            host, via = resolve(alias, config_path=path), ()
            for _ in range(MAX_JUMPS + 2):  # the hops a connection would make, without connecting
                if not host.proxy_jump:
                    break
                host, via = next_jump(host, via, path), (*via, host)
            else:
                raise AssertionError(f"{alias}: more than {MAX_JUMPS} hops and no loop error")

    def connects() -> bool:
        try:
            host = resolve("dev", config_path=path)
        except EdgekitError:
            return True
        return host.hostname == "127.0.0.1" and not host.proxy_jump

    command = ["rollback", "--host", "dev", "--target", "rpi4", "--ssh-config", str(path), "--known-hosts",
               str(known_hosts), "--connect-timeout", "2", "--command-timeout", "2"]
    counts = fuzz("ssh_config", SSH_CONFIG, path, library, command, {2, 3}, cli, connects)
    assert counts["ok"] > 10 and counts["error"] > 10, counts


def test_edgekit_toml(tmp_path, home, cli):
    from edgekit.pipeline.config import load_config
    from edgekit.tune.api import Overrides, request_for

    project = tmp_path / "project"
    project.mkdir()
    path = project / "edgekit.toml"
    out = tmp_path / "tune-out"

    def library():
        request_for(load_config(path), out, Overrides())  # what build reads, then what tune adds

    counts = fuzz("edgekit.toml", EDGEKIT_TOML, path, library, ["build", str(path), "--out", str(tmp_path / "b")],
                  {2}, cli)
    assert counts["ok"] > 10 and counts["error"] > 100, counts
    tuned = fuzz("edgekit.toml-tune", EDGEKIT_TOML, path, lambda: None,
                 ["tune", str(path), "--out", str(out), "--resume"], {2}, cli)
    assert tuned["cli"] == MUTATIONS // CLI_EVERY


@pytest.mark.parametrize("suffix", [".npz", ".npy"])
def test_data_files(tmp_path, suffix):
    """Data SPEC files are binary, but as hand-made: a damaged one is one InputFileError, whatever the damage."""
    import numpy as np

    from edgekit.data import load_dataset

    rng = np.random.default_rng(0)
    path = tmp_path / f"data{suffix}"
    x = rng.random((20, 4, 4, 1), dtype=np.float32)
    if suffix == ".npz":
        np.savez_compressed(path, x=x, y=np.arange(20) % 3)
    else:
        np.save(path, x)
    counts = fuzz(f"data{suffix}", path.read_bytes(), path, lambda: load_dataset(path, input_shapes=[(4, 4, 1)]))
    assert counts["error"] > 100, counts
