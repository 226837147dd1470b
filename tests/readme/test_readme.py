"""The README, CONTRIBUTING.md and every page of docs/ as tested documents: each page's shell blocks
run in order in a scratch directory of its own, laid out like a clone, and what they print is checked
against the page, figures included (conventions in tests/readme_transcript.py). Device blocks run in
tests/devices/test_readme_devices.py.

One test per page: a page is one transcript, run once, and pytest-xdist's workers run two pages at a
time. A page that starts from the demo's model copies a shared state made once for all workers
(``STATES``), instead of training it again."""

from __future__ import annotations

import os
import re

import pytest

from readme_transcript import (STATES, STATES_DIR, Session, block_problems, compare, figures, in_order, pages,
                               parse, scratch)
from helpers.support import ROOT, unavailable

PAGES = pages(ROOT)
BLOCKS = [block for page in PAGES for block in parse((ROOT / page).read_text(), page)]
HOST_BLOCKS = [block for block in BLOCKS if not (block.skip or block.todo or block.device)]
_TRAINS = re.compile(r"^edgekit (?:demo|optimize|distill|build|tune)\b|--state")


def _cost(page: str) -> int:
    """How many commands of the page train a model: the longest pages start first, so the workers end together."""
    return -sum(1 for b in HOST_BLOCKS if b.page == page for c in b.commands if _TRAINS.search(c.text))


RUN_PAGES = sorted({block.page for block in HOST_BLOCKS}, key=lambda page: (_cost(page), PAGES.index(page)))
README_MAX_LINES = 300


@pytest.fixture(scope="session")
def loopback_devices(tmp_path_factory):
    """The deploy examples' devices: ``bench-1``..``bench-3`` are sshd's on 127.0.0.1, ``bench-4`` a closed
    port, all named in the scratch HOME's ``~/.ssh/config`` as docs/deploy.md says; yields that HOME."""
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "remote"))
    from remote_support import SSHD, free_port, keygen, start_sshd

    if not SSHD.exists():
        unavailable("the deploy examples need /usr/sbin/sshd (openssh-server, scripts/system-packages.txt)")
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


@pytest.fixture(scope="session")
def states(tmp_path_factory) -> None:
    """The shared states live in the workers' common temp root: made once per session for all workers."""
    base = tmp_path_factory.getbasetemp()
    os.environ[STATES_DIR] = str((base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "readme-states")


def _run(page: str, directory, devices_home) -> dict:
    """Every host block of ``page`` run in order in ``directory``: ``{block line: [Ran, ...]}``."""
    import shutil

    env = scratch(ROOT, directory)
    shutil.copytree(devices_home, directory / "home", dirs_exist_ok=True)
    session = Session(directory, env)
    return {block.line: [session.run(command) for command in block.commands]
            for block in HOST_BLOCKS if block.page == page}


def _shown(runs) -> str:
    """What a failing block's commands printed, for the page's author."""
    return "\n".join(f"  --- {ran.command.text.splitlines()[0][:80]}\n" + "\n".join(
        f"    {line}" for line in (ran.stdout + ["  (stderr)"] + ran.stderr)[:80]) for ran in runs)


@pytest.mark.slow
@pytest.mark.parametrize("page", RUN_PAGES)
def test_page_prints_what_it_says(page, tmp_path, loopback_devices, states):
    """Every host block of the page, in order; then every figure it shows is checked (one digit changed fails)."""
    runs = _run(page, tmp_path, loopback_devices)
    blocks = [block for block in HOST_BLOCKS if block.page == page]
    failing = {block.line: block_problems(block, runs[block.line]) for block in blocks}
    report = [f"{problem}\n{_shown(runs[line])}" for line, problems in failing.items() for problem in problems]
    assert not report, f"{len(report)} command(s) of {page} differ from the page:\n" + "\n".join(report)
    missed = [f"{page}:{ran.command.line}: {mutated!r}" for block in blocks for ran in runs[block.line]
              for mutated in _unnoticed(block, ran)]
    assert not missed, "figures changed without the test noticing:\n" + "\n".join(missed)


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


def _unnoticed(block, ran) -> list[str]:
    """The one-digit changes of the command's shown figures that would still match what it printed."""
    if not ran.command.check_output:
        return []
    expected = ran.command.expected
    stdout, stderr = in_order(ran.stdout, block.unordered), in_order(ran.stderr, block.unordered)
    missed = []
    for index, line in enumerate(expected):
        for mutated in _mutations(line, block.vary):
            copy = in_order(expected[:index] + [mutated] + expected[index + 1:], block.unordered)
            if compare(copy, stdout, stderr, block.vary, block.tol) is None:
                missed.append(mutated)
    return missed


def test_the_pages_check_figures():
    """The mutation test above has figures to change: the pages show outputs, not just commands."""
    exact = sum(1 for block in HOST_BLOCKS for command in block.commands if command.check_output
                for line in command.expected for _, timing in figures(line.strip(), block.vary) if not timing)
    assert exact > 100


def test_every_shell_block_runs_somewhere():
    """A shell block is run here or in the device tier; only what no test may do is skipped, with a reason."""
    skipped = [block for block in BLOCKS if block.skip]
    assert all(len(block.skip) > 20 for block in skipped)
    assert len(skipped) <= 4, [block.name for block in skipped]
    device_blocks = [block for block in BLOCKS if block.device]
    assert not device_blocks or (ROOT / "tests" / "devices" / "test_readme_devices.py").exists()
    todo = [block for block in BLOCKS if block.todo]
    assert len(HOST_BLOCKS) + len(device_blocks) + len(skipped) + len(todo) == len(BLOCKS)
    assert all(block.commands for block in HOST_BLOCKS + device_blocks)


def test_states_name_blocks_that_exist():
    """Each shared state names a block of a page; every state a page copies is one of them."""
    for name, (base, page, first) in STATES.items():
        assert base is None or base in STATES
        assert any(b.commands and b.commands[0].text.startswith(first) for b in BLOCKS if b.page == page), name
    used = {m.group(1) for block in BLOCKS if block.setup for command in block.commands
            for m in re.finditer(r"--state (\S+)", command.text)}
    assert used and used <= set(STATES), used - set(STATES)


def test_the_readme_is_short():
    """The README is the front page: what edgekit is, the commands, your own model; the rest is in docs/."""
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES
    assert any(block.page == "README.md" and block.setup for block in BLOCKS)   # the own-model quickstart's


def test_no_block_is_left_unchecked():
    todo = [f"{block.name}: {block.todo}" for block in BLOCKS if block.todo]
    if todo:
        pytest.xfail("blocks not checked yet:\n" + "\n".join(todo))


def _anchors(text: str) -> set[str]:
    """The anchors GitHub gives a page's headings (lower case, punctuation dropped, spaces as dashes)."""
    return {re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
            for line in _prose(text) if re.match(r"#{1,6} ", line)}


def _prose(text: str) -> list[str]:
    """The page's lines outside code fences."""
    lines, fence = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence:
            lines.append(line)
    return lines


def test_links_between_the_pages_resolve():
    """Moving text between pages breaks links: every relative link names a file that exists, and its
    #anchor a heading of that file."""
    broken = []
    for page in PAGES:
        text = (ROOT / page).read_text()
        for target in re.findall(r"\]\(([^)\s]+)\)", "\n".join(_prose(text))):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            file = (ROOT / page).parent / path if path else ROOT / page
            if not file.exists() or (anchor and file.suffix == ".md" and anchor not in _anchors(file.read_text())):
                broken.append(f"{page}: {target}")
    assert not broken, broken
