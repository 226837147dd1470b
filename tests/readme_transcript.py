"""The README's shell blocks as transcripts: parsed, run in a scratch directory, compared with what ran.

Convention (docs/architecture.md "The README is a tested document"):

* A shell block is a fence tagged ``console``, ``bash`` or ``sh``. In ``console`` blocks a line
  starting with ``$ `` is a command (a trailing ``\\`` continues it on the next line); the lines
  below it, up to the next command, are its expected output (stdout and stderr as a terminal
  shows them: any interleaving of the two streams matches); a here-document (``<<'EOF'``)
  belongs to its command. ``bash``/``sh`` blocks are scripts:
  every line is a command (comments after ``#`` are the reader's), output is not compared.
* A line that is only ``...`` or ``…`` stands for any number of output lines; ``…`` inside a
  line for any text within it.
* Text must match exactly (runs of spaces are one space, so columns may shift). Every number
  is a figure and must match exactly, except timing figures, which match by shape only (any
  number): numbers followed by ``ms``, ``s``, ``MB/s``, temperatures ``C``, and numbers inside a
  match of the block's ``vary`` patterns. ``tol=P%`` allows a relative tolerance on the other
  figures of a block (none where the README does not say so).
* ``<!-- readme-test: ... -->`` right above a fence sets a block's options (shell words):
  ``device`` (runs in the device tier), ``vary=REGEX`` (repeatable), ``tol=P%``,
  ``unordered=REGEX`` (output lines matching it may come in any order: devices working in parallel),
  ``skip=REASON`` (not run at all: what no test may do, e.g. download from PyPI),
  ``todo=REASON`` (not checked yet; the README test lists these as an expected failure).
* A command exits 0 unless its expected output has an ``edgekit: error:`` line or the next
  command is ``echo $?`` (which then checks the code).
* The note a measurement adds when the machine is loaded (``machine loaded: load average …``)
  is left out of the output before it is compared: it says how busy the machine running the
  test was (the test suite's other workers), not what the README's reader will see.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

SHELL_TAGS = ("console", "bash", "sh")
_FENCE = re.compile(r"^```(\S*)\s*$")
_DIRECTIVE = re.compile(r"^<!--\s*readme-test:(.*?)-->\s*$")
_NUMBER = re.compile(r"(?<![A-Za-z0-9_.])[-+]?\d+(?:,\d{3})*(?:\.\d+)?")
# Timing figures: wall-clock times, rates and temperatures differ from run to run.
_TIMING = (r"[-+]?\d[\d,]*(?:\.\d+)?\s?(?:ms|s|MB/s)\b", r"\d+(?:\.\d+)?->\d+(?:\.\d+)? C\b")
_ELLIPSIS_LINE = re.compile(r"^\s*(?:\.\.\.|…)\s*$")


@dataclass
class Command:
    text: str
    line: int                                  # README line of the command
    expected: list[str] = field(default_factory=list)
    check_output: bool = True


@dataclass
class Block:
    tag: str
    line: int                                  # README line of the opening fence
    commands: list[Command]
    device: bool = False
    skip: str | None = None
    todo: str | None = None                    # not yet run by any test: listed as an expected failure
    vary: list[str] = field(default_factory=list)
    tol: float = 0.0                           # relative tolerance of the non-timing figures
    unordered: list[str] = field(default_factory=list)  # lines that may come in any order (parallel devices)

    @property
    def name(self) -> str:
        first = self.commands[0].text.splitlines()[0] if self.commands else ""
        return f"README.md:{self.line} {first[:60]}"


def parse(text: str) -> list[Block]:
    """Every shell block of a Markdown text, in order."""
    blocks: list[Block] = []
    lines = text.splitlines()
    options: dict | None = None
    i = 0
    while i < len(lines):
        directive = _DIRECTIVE.match(lines[i])
        if directive:
            options = _options(directive.group(1), i + 1)
            i += 1
            continue
        fence = _FENCE.match(lines[i])
        if not fence:
            if lines[i].strip():
                options = None
            i += 1
            continue
        start, tag = i, fence.group(1)
        i += 1
        body = []
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1
        if tag in SHELL_TAGS:
            if (options or {}).get("skip") or (options or {}).get("todo"):
                commands = []
            else:
                commands = _console(body, start + 2) if tag == "console" else _script(body, start + 2)
            blocks.append(Block(tag, start + 1, commands, **(options or {})))
        elif options:
            raise ValueError(f"README.md:{start + 1}: readme-test options on a {tag or 'plain'} block")
        options = None
    return blocks


def _options(words: str, line: int) -> dict:
    options: dict = {"vary": [], "unordered": []}
    for word in shlex.split(words):
        key, _, value = word.partition("=")
        if key == "device":
            options["device"] = True
        elif key in ("skip", "todo") and value:
            options[key] = value
        elif key == "vary" and value:
            re.compile(value)
            options["vary"].append(value)
        elif key == "unordered" and value:
            re.compile(value)
            options["unordered"].append(value)
        elif key == "tol" and value.endswith("%"):
            options["tol"] = float(value[:-1]) / 100
        else:
            raise ValueError(f"README.md:{line}: unknown readme-test option {word!r}")
    return options


def _console(body: list[str], first_line: int) -> list[Command]:
    commands: list[Command] = []
    i = 0
    while i < len(body):
        line = body[i]
        if line.startswith("$ "):
            text, number = line[2:], first_line + i
            while text.endswith("\\") and i + 1 < len(body):
                i += 1
                text = text + "\n" + body[i]
            heredoc = re.search(r"<<-?\s*'?(\w+)'?", text)
            while heredoc and i + 1 < len(body):
                i += 1
                text = text + "\n" + body[i]
                if body[i].strip() == heredoc.group(1):
                    break
            commands.append(Command(text, number))
        elif commands:
            commands[-1].expected.append(line)
        elif line.strip():
            raise ValueError(f"README.md:{first_line + i}: output before the first '$ ' command")
        i += 1
    for command in commands:
        while command.expected and not command.expected[-1].strip():
            command.expected.pop()
    return commands


def _script(body: list[str], first_line: int) -> list[Command]:
    commands = []
    for offset, line in enumerate(body):
        if line.strip() and not line.lstrip().startswith("#"):
            commands.append(Command(line, first_line + offset, check_output=False))
    return commands


# ---- comparing ----------------------------------------------------------------------------------

_NUM_RE = r"([-+]?\d+(?:,\d{3})*(?:\.\d+)?)"


def figures(line: str, vary: list[str] | tuple[str, ...] = ()) -> list[tuple[re.Match, bool]]:
    """The figures of one README line (stripped): each number and whether it is a timing figure."""
    loose = [m.span() for pattern in (*_TIMING, *vary) for m in re.finditer(pattern, line)]
    return [(m, any(a <= m.start() and m.end() <= b for a, b in loose)) for m in _NUMBER.finditer(line)]


@functools.lru_cache(maxsize=None)
def _pattern(expected: str, vary: tuple[str, ...]) -> tuple[re.Pattern, tuple[tuple[float, bool], ...]]:
    """The regex one README line stands for, and its figures (value, is_timing) in order."""
    parts, found, end = [], [], 0

    def text(piece: str) -> str:  # "…" is any text within the line
        return ".*?".join(_text(chunk) for chunk in piece.split("…"))

    for m, timing in figures(expected, vary):
        parts.append(text(expected[end:m.start()]))
        parts.append(_NUM_RE)
        found.append((float(m.group().replace(",", "")), timing))
        end = m.end()
    parts.append(text(expected[end:]))
    return re.compile("".join(parts)), tuple(found)


def _text(chunk: str) -> str:
    """A text piece of a README line as a regex: runs of whitespace are any run of whitespace."""
    return "".join(r"\s+" if piece.isspace() else re.escape(piece) for piece in re.split(r"(\s+)", chunk) if piece)


def line_matches(expected: str, actual: str, vary: list[str] = (), tol: float = 0.0) -> bool:
    """Whether one output line matches its README line (see the module docstring)."""
    pattern, figures = _pattern(expected.strip(), tuple(vary))
    m = pattern.fullmatch(actual.strip())
    if m is None:
        return False
    for (want, timing), got in zip(figures, m.groups()):
        if not timing and abs(float(got.replace(",", "")) - want) > tol * abs(want):
            return False
    return True


@dataclass
class Mismatch:
    expected_line: str | None                  # the README line that no output line matched
    candidates: list[str]                      # the output lines it was compared with

    def __str__(self) -> str:
        got = "\n".join(f"    {c}" for c in self.candidates) or "    (no more output)"
        want = self.expected_line if self.expected_line is not None else "(end of the README's output)"
        return f"  README: {want}\n  actual, next lines:\n{got}"


LOAD_NOTE = re.compile(r"machine loaded: load average [0-9.]+ on [0-9]+ usable CPU")


def compare(expected: list[str], stdout: list[str], stderr: list[str], vary: list[str] = (),
            tol: float = 0.0) -> Mismatch | None:
    """None if the README lines are an interleaving of the stdout and stderr lines, else the first miss."""
    stdout, stderr = ([line for line in lines if not LOAD_NOTE.search(line)] for lines in (stdout, stderr))
    n, o, r = len(expected), len(stdout), len(stderr)
    memo: dict[tuple[int, int, int], bool] = {}
    stack = [(0, 0, 0)]
    # Iterative depth-first search over (README line, stdout line, stderr line).
    while stack:
        state = stack[-1]
        if state in memo:
            stack.pop()
            continue
        i, j, k = state
        if i == n:
            memo[state] = j == o and k == r
            stack.pop()
            continue
        if _ELLIPSIS_LINE.match(expected[i]):
            nexts = [(i + 1, j, k)] + ([(i, j + 1, k)] if j < o else []) + ([(i, j, k + 1)] if k < r else [])
        else:
            nexts = ([(i + 1, j + 1, k)] if j < o and line_matches(expected[i], stdout[j], vary, tol) else []) \
                + ([(i + 1, j, k + 1)] if k < r and line_matches(expected[i], stderr[k], vary, tol) else [])
        pending = [s for s in nexts if s not in memo]
        if pending:
            stack.extend(pending)
            continue
        memo[state] = any(memo[s] for s in nexts)
        stack.pop()
    if memo[(0, 0, 0)]:
        return None
    i, j, k = max(memo, key=lambda s: (s[0], -(s[1] + s[2])))
    return Mismatch(expected[i] if i < n else None, stdout[j:j + 3] + stderr[k:k + 3])


def noise_lines(stderr: list[str]) -> list[str]:
    from helpers.quiet_support import noise_lines as find
    return find("\n".join(stderr))


# ---- running --------------------------------------------------------------------------------------

@dataclass
class Ran:
    command: Command
    returncode: int
    stdout: list[str]
    stderr: list[str]
    seconds: float


class Session:
    """Runs commands one after another in a scratch directory, as a user's shell would.

    ``NAME=value`` commands set a variable for the commands after them; ``echo $?`` prints the
    previous command's exit code. Each command runs in ``bash -c`` with ``edgekit`` on PATH.
    """

    def __init__(self, cwd: Path, env: dict[str, str]):
        self.cwd, self.env, self.last_rc = cwd, dict(env), 0

    def run(self, command: Command, timeout: float = 900) -> Ran:
        import time

        assignment = re.fullmatch(r"([A-Z_][A-Z0-9_]*)=(\S+)", command.text.strip())
        if assignment:
            self.env[assignment.group(1)] = os.path.expandvars(assignment.group(2))
            self.last_rc = 0
            return Ran(command, 0, [], [], 0.0)
        script = f"set -o pipefail; (exit {self.last_rc}); {command.text}"
        start = time.monotonic()
        done = subprocess.run(["bash", "-c", script], cwd=self.cwd, env=self.env, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        self.last_rc = done.returncode
        return Ran(command, done.returncode, done.stdout.splitlines(), done.stderr.splitlines(),
                   time.monotonic() - start)


def scratch(root: Path, directory: Path) -> dict[str, str]:
    """A scratch directory laid out like a clone (shipped data, profiles, examples) and its environment.

    HOME, the config dir and the results database live inside it; ``edgekit`` is the one of the
    Python running the tests, importing this checkout; TensorFlow's own log level is left at its
    default, as a user has it, so the quiet-output check sees what a user would.
    """
    import shutil

    for name in ("calibration", "examples"):
        shutil.copytree(root / name, directory / name, symlinks=True)
    for name in ("targets", "scripts", "bench", "tests", "edgekit", "pyproject.toml"):
        (directory / name).symlink_to(root / name)
    (directory / "home").mkdir()
    return scratch_env(root, directory)


def scratch_env(root: Path, directory: Path) -> dict[str, str]:
    """The environment of a scratch directory's commands (see :func:`scratch`)."""
    import sys

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TF_", "EDGEKIT_", "PYTEST_", "XDG_")) and k not in ("SSH_AUTH_SOCK", "COLUMNS")}
    env.update(HOME=str(directory / "home"), PYTHONPATH=str(root), PYTHONUNBUFFERED="1",
               EDGEKIT_RESULTS_DB=str(directory / "home" / "results.db"),
               PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "/usr/bin:/bin")]))
    return env


def main(argv: list[str] | None = None) -> int:
    """``python tests/readme_transcript.py [README.md] [--device]``: run the blocks, print what differs.

    By hand, for writing the README; the deploy examples need the loopback sshd's that
    tests/readme/test_readme.py starts, so run those through pytest.
    """
    import argparse
    import sys
    import tempfile

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("readme", nargs="?", default="README.md")
    parser.add_argument("--from-line", type=int, default=0, help="start at the block at or after this line")
    parser.add_argument("--to-line", type=int, default=10 ** 9)
    parser.add_argument("--keep", help="scratch directory to use (kept)")
    parser.add_argument("--device", action="store_true", help="run the device blocks (as root, under the device-tier lock)")
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parent.parent
    directory = Path(args.keep or tempfile.mkdtemp(prefix="readme-"))
    if (directory / "calibration").exists():   # a kept scratch directory: continue where it stopped
        env = scratch_env(root, directory)
    else:
        directory.mkdir(parents=True, exist_ok=True)
        env = scratch(root, directory)
    session = Session(directory, env)
    failures = 0
    for block in parse(Path(args.readme).read_text()):
        if block.skip or block.todo or block.device != args.device or not (args.from_line <= block.line <= args.to_line):
            continue
        for index, command in enumerate(block.commands):
            ran = session.run(command)
            problems = check(block, ran, (block.commands[index + 1:] or [None])[0])
            print(f"{'ok  ' if not problems else 'FAIL'} {ran.seconds:6.1f}s  README.md:{command.line} $ {command.text}")
            if problems:
                failures += 1
                print("\n".join(problems))
                print("  --- stdout\n" + "\n".join("  " + l for l in ran.stdout))
                print("  --- stderr\n" + "\n".join("  " + l for l in ran.stderr))
            sys.stdout.flush()
    print(f"scratch: {directory}")
    return 1 if failures else 0


def in_order(lines: list[str], unordered: list[str]) -> list[str]:
    """The lines with those matching an ``unordered`` pattern sorted among their own places."""
    places = [i for i, line in enumerate(lines) if any(re.search(p, line) for p in unordered)]
    ordered = list(lines)
    for place, line in zip(places, sorted(lines[i] for i in places)):
        ordered[place] = line
    return ordered


def block_problems(block: Block, runs: list[Ran]) -> list[str]:
    """What is wrong with a block's runs, one entry per failing command (README line, command, problems)."""
    problems = []
    for index, ran in enumerate(runs):
        following = block.commands[index + 1] if index + 1 < len(block.commands) else None
        found = check(block, ran, following)
        if found:
            problems.append(f"README.md:{ran.command.line} $ {ran.command.text}\n" + "\n".join(found))
    return problems


def check(block: Block, ran: Ran, next_command: Command | None = None) -> list[str]:
    """What is wrong with one command's run: exit code, output, TensorFlow noise."""
    problems = []
    command = ran.command
    expects_error = any(line.startswith("edgekit: error:") for line in command.expected) or (
        next_command is not None and next_command.text.strip() == "echo $?")
    if ran.returncode != 0 and not expects_error:
        problems.append(f"  exit code {ran.returncode}")
    noise = noise_lines(ran.stderr)
    if noise:
        problems.append("  TensorFlow/absl/XNNPACK lines on stderr:\n" + "\n".join("    " + l for l in noise))
    if command.check_output:
        expected, stdout, stderr = (in_order(lines, block.unordered) for lines in (command.expected, ran.stdout, ran.stderr))
        miss = compare(expected, stdout, stderr, block.vary, block.tol)
        if miss:
            problems.append(str(miss))
    return problems


if __name__ == "__main__":
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
