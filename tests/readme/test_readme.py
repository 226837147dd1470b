"""The README as a tested document: its shell blocks run in order in a scratch directory laid out
like a clone, and what they print is checked against the README, figures included
(conventions in tests/readme_transcript.py). Device blocks run in tests/devices/test_readme_devices.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from readme_transcript import Session, block_problems, compare, figures, in_order, parse, scratch
from helpers.support import ROOT, unavailable

BLOCKS = parse((ROOT / "README.md").read_text())
HOST_BLOCKS = [block for block in BLOCKS if not (block.skip or block.todo or block.device)]


@pytest.fixture(scope="module")
def loopback_devices(tmp_path_factory):
    """The README's deploy devices: ``bench-1``..``bench-3`` are sshd's on 127.0.0.1, ``bench-4`` a closed
    port, all named in the scratch HOME's ``~/.ssh/config`` as the README says; yields that HOME."""
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "remote"))
    from remote_support import SSHD, free_port, keygen, start_sshd

    if not SSHD.exists():
        unavailable("the README's deploy examples need /usr/sbin/sshd (openssh-server, scripts/system-packages.txt)")
    root = tmp_path_factory.mktemp("readme-devices")
    home = root / "home"
    (home / ".ssh").mkdir(parents=True)
    key = keygen(home / ".ssh" / "id_ed25519", "edgekit-readme")
    authorized = root / "authorized_keys"
    authorized.write_text(key.with_suffix(".pub").read_text())
    servers = [start_sshd(root / f"sshd{n}", authorized) for n in (1, 2, 3)]
    ports = [server.port for server in servers] + [free_port()]
    (home / ".ssh" / "config").write_text("".join(
        f"Host bench-{n}\n  HostName 127.0.0.1\n  Port {port}\n  User root\n\n" for n, port in enumerate(ports, 1)))
    try:
        yield home
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="module")
def transcript(tmp_path_factory, loopback_devices) -> dict:
    """Every host block's commands run once, in README order: ``{block line: [Ran, ...]}``."""
    import shutil
    import sys

    directory = tmp_path_factory.mktemp("readme")
    env = scratch(ROOT, directory)
    shutil.copytree(loopback_devices, directory / "home", dirs_exist_ok=True)
    (directory / ".venv").symlink_to(Path(sys.executable).parent.parent)   # the clone's venv, the devices' Python
    session = Session(directory, env)
    return {block.line: [session.run(command) for command in block.commands] for block in HOST_BLOCKS}


@pytest.mark.slow
@pytest.mark.parametrize("block", HOST_BLOCKS, ids=lambda block: block.name)
def test_block_prints_what_the_readme_says(block, transcript):
    problems = block_problems(block, transcript[block.line])
    assert not problems, "\n".join(problems)


def _mutations(line: str, vary: list[str]):
    """The line with each of its exactly-checked figures changed in its last digit."""
    line = line.strip()
    for m, timing in figures(line, vary):
        if timing:
            continue
        text = m.group()
        last = text[-1]
        changed = text[:-1] + ("1" if last == "0" else str(int(last) - 1))
        yield line[:m.start()] + changed + line[m.end():]


@pytest.mark.slow
def test_changing_a_figure_fails(transcript):
    """Every figure the README shows for a host block is checked: change one digit and the block fails."""
    tried, missed = 0, []
    for block in HOST_BLOCKS:
        for ran in transcript[block.line]:
            expected = ran.command.expected
            stdout, stderr = in_order(ran.stdout, block.unordered), in_order(ran.stderr, block.unordered)
            if not ran.command.check_output or compare(in_order(expected, block.unordered), stdout, stderr,
                                                       block.vary, block.tol):
                continue  # a block that fails as written is reported by the test above
            for index, line in enumerate(expected):
                for mutated in _mutations(line, block.vary):
                    tried += 1
                    copy = in_order(expected[:index] + [mutated] + expected[index + 1:], block.unordered)
                    if compare(copy, stdout, stderr, block.vary, block.tol) is None:
                        missed.append(f"README.md:{ran.command.line}: {mutated!r}")
    assert tried > 100
    assert not missed, "figures changed without the test noticing:\n" + "\n".join(missed)


def test_every_shell_block_runs_somewhere():
    """A shell block is run here or in the device tier; only hardware nobody has here is skipped, with a reason."""
    skipped = [block for block in BLOCKS if block.skip]
    assert all(len(block.skip) > 20 for block in skipped)
    assert len(skipped) <= 3, [block.name for block in skipped]
    device_blocks = [block for block in BLOCKS if block.device]
    assert not device_blocks or (ROOT / "tests" / "devices" / "test_readme_devices.py").exists()
    todo = [block for block in BLOCKS if block.todo]
    assert len(HOST_BLOCKS) + len(device_blocks) + len(skipped) + len(todo) == len(BLOCKS)
    assert all(block.commands for block in HOST_BLOCKS + device_blocks)


def test_docs_hold_no_untested_shell_blocks():
    """docs/*.md are reference text: a transcript belongs in the README, where it is run."""
    for doc in sorted((ROOT / "docs").glob("*.md")):
        assert not parse(doc.read_text()), f"{doc.name} has shell blocks; move them to the README or tag them text"


def test_no_block_is_left_unchecked():
    todo = [f"{block.name}: {block.todo}" for block in BLOCKS if block.todo]
    if todo:
        pytest.xfail("README blocks not checked yet:\n" + "\n".join(todo))
