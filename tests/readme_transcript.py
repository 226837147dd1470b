"""The shell blocks of the README and of every page of docs/ as transcripts: parsed, run in a scratch
directory (one per page, the page's blocks in order), compared with what ran.

Convention (CONTRIBUTING.md "Tested documents"):

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
* A hidden setup block: ``<!-- readme-test: setup`` on a line of its own, then a ``bash`` fence,
  then ``-->``. The reader does not see it (it is an HTML comment); the test runs it where it
  stands, like any ``bash`` block, and it makes what the page's visible commands start from
  (a model and data the way a user has them, or a shared starting point: ``python
  tests/readme_transcript.py --state NAME`` copies one of :data:`STATES` into the directory).
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
_HIDDEN = re.compile(r"^<!--\s*readme-test:\s*setup\s*$")   # opens an HTML comment holding one setup block
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
    line: int                                  # page line of the opening fence
    commands: list[Command]
    page: str = "README.md"                    # the page, relative to the repository root
    setup: bool = False                        # a hidden setup block (run, never shown)
    device: bool = False
    skip: str | None = None
    todo: str | None = None                    # not yet run by any test: listed as an expected failure
    vary: list[str] = field(default_factory=list)
    tol: float = 0.0                           # relative tolerance of the non-timing figures
    unordered: list[str] = field(default_factory=list)  # lines that may come in any order (parallel devices)

    @property
    def name(self) -> str:
        first = self.commands[0].text.splitlines()[0] if self.commands else ""
        return f"{self.page}:{self.line} {first[:60]}"


def parse(text: str, page: str = "README.md") -> list[Block]:
    """Every shell block of a Markdown text, in order."""
    blocks: list[Block] = []
    lines = text.splitlines()
    options: dict | None = None
    hidden = hidden_fence = False
    i = 0
    while i < len(lines):
        if _HIDDEN.match(lines[i]):
            options, hidden, hidden_fence = {"setup": True}, True, False
            i += 1
            continue
        if hidden and lines[i].strip() == "-->" and hidden_fence:
            hidden = False
            i += 1
            continue
        directive = _DIRECTIVE.match(lines[i])
        if directive:
            options = _options(directive.group(1), i + 1, page)
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
        if hidden and (tag != "bash" or hidden_fence):
            raise ValueError(f"{page}:{start + 1}: a hidden setup comment holds one bash block, then -->")
        hidden_fence = hidden_fence or hidden
        if tag in SHELL_TAGS:
            if (options or {}).get("skip") or (options or {}).get("todo"):
                commands = []
            else:
                commands = _console(body, start + 2, page) if tag == "console" else _script(body, start + 2)
            blocks.append(Block(tag, start + 1, commands, page, **(options or {})))
        elif options:
            raise ValueError(f"{page}:{start + 1}: readme-test options on a {tag or 'plain'} block")
        options = None
    if hidden:
        raise ValueError(f"{page}: a hidden setup comment is not closed by a line '-->'")
    return blocks


def _options(words: str, line: int, page: str) -> dict:
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
            raise ValueError(f"{page}:{line}: unknown readme-test option {word!r}")
    return options


def _console(body: list[str], first_line: int, page: str) -> list[Command]:
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
            raise ValueError(f"{page}:{first_line + i}: output before the first '$ ' command")
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
    import sys

    for name in ("calibration", "examples"):
        shutil.copytree(root / name, directory / name, symlinks=True)
    for name in ("targets", "scripts", "bench", "tests", "edgekit", "pyproject.toml"):
        (directory / name).symlink_to(root / name)
    (directory / ".venv").symlink_to(Path(sys.executable).parent.parent)   # the clone's venv (CONTRIBUTING, devices)
    (directory / "home").mkdir()
    return scratch_env(root, directory)


CLONE = frozenset({"calibration", "examples", "targets", "scripts", "bench", "tests", "edgekit", "pyproject.toml",
                   ".venv"})                   # what :func:`scratch` lays out; the rest is what commands wrote


def scratch_env(root: Path, directory: Path) -> dict[str, str]:
    """The environment of a scratch directory's commands (see :func:`scratch`)."""
    import sys

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TF_", "EDGEKIT_", "PYTEST_", "XDG_")) and k not in ("SSH_AUTH_SOCK", "COLUMNS")}
    env.update(HOME=str(directory / "home"), PYTHONPATH=str(root), PYTHONUNBUFFERED="1",
               EDGEKIT_RESULTS_DB=str(directory / "home" / "results.db"),
               PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "/usr/bin:/bin")]))
    if STATES_DIR in os.environ:
        env[STATES_DIR] = os.environ[STATES_DIR]
    return env


def pages(root: Path) -> list[str]:
    """The tested documents: the README, CONTRIBUTING.md and every page of docs/, relative to ``root``."""
    return ["README.md", "CONTRIBUTING.md", *sorted(f"docs/{p.name}" for p in (root / "docs").glob("*.md"))]


# ---- shared starting points -------------------------------------------------------------------------

# A page that starts from the demo's model begins with a hidden setup block ``python
# tests/readme_transcript.py --state NAME``, which copies a state into its directory: the files and
# the results database that one block of a page (found by its first command) leaves, run on top of
# another state. Each state is made once per test session (a file lock makes parallel workers wait
# for it), so no page trains the demo's model again and each page still runs on its own.
STATES: dict[str, tuple[str | None, str, str]] = {
    "demo": (None, "README.md", "edgekit demo"),
    "digits": ("demo", "docs/convert.md", "cp edgekit-demo/digits.keras ."),
}
STATES_DIR = "EDGEKIT_DOCS_STATES"            # where states are kept (the tests set it; by hand, a temp dir)


class StateError(Exception):
    """A state's command failed: the page that needs it cannot start."""


def copy_state(name: str, into: Path) -> None:
    """Copy the state ``name`` into the scratch directory ``into``, making it first if nobody has."""
    import fcntl
    import shutil

    if name not in STATES:
        raise StateError(f"no state {name!r} (known: {', '.join(STATES)})")
    cache = Path(os.environ[STATES_DIR])
    cache.mkdir(parents=True, exist_ok=True)
    made = cache / name
    with open(cache / f"{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)       # another worker may be making it right now
        if not made.is_dir():
            _make_state(name, made)
    for entry in made.iterdir():
        if entry.name in CLONE:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, into / entry.name, symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy2(entry, into / entry.name, follow_symlinks=False)


def _make_state(name: str, made: Path) -> None:
    base, page, first = STATES[name]
    root = Path(__file__).resolve().parent.parent
    block = next((b for b in parse((root / page).read_text(), page)
                  if b.commands and b.commands[0].text.startswith(first)), None)
    if block is None:
        raise StateError(f"state {name}: {page} has no block starting with {first!r}")
    work = made.with_name(f".{name}.{os.getpid()}")   # renamed once complete: a failed state is never used
    work.mkdir(parents=True)
    session = Session(work, scratch(root, work))
    if base:
        copy_state(base, work)
    for command in block.commands:
        ran = session.run(command)
        if ran.returncode:
            raise StateError(f"state {name}: {page}:{command.line} $ {command.text} exited {ran.returncode}:\n"
                             + "\n".join(ran.stderr[-20:]))
    work.rename(made)


def main(argv: list[str] | None = None) -> int:
    """``python tests/readme_transcript.py [PAGE] [--device]``: run a page's blocks, print what differs.

    By hand, for writing a page (README.md, docs/*.md); the deploy examples need the loopback sshd's
    that tests/readme/test_readme.py starts, so run those through pytest. ``--state NAME`` is what
    a page's hidden setup block runs.
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
    parser.add_argument("--state", help="only copy this shared starting point into the current directory (STATES)")
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parent.parent
    os.environ.setdefault(STATES_DIR, tempfile.mkdtemp(prefix="readme-states-"))
    if args.state:
        try:
            copy_state(args.state, Path.cwd())
        except StateError as error:
            print(f"readme_transcript: {error}", file=sys.stderr)
            return 1
        return 0
    directory = Path(args.keep or tempfile.mkdtemp(prefix="readme-"))
    if (directory / "calibration").exists():   # a kept scratch directory: continue where it stopped
        env = scratch_env(root, directory)
    else:
        directory.mkdir(parents=True, exist_ok=True)
        env = scratch(root, directory)
    session = Session(directory, env)
    failures = 0
    page = Path(args.readme).resolve()
    name = str(page.relative_to(root)) if page.is_relative_to(root) else args.readme
    for block in parse(page.read_text(), name):
        if block.skip or block.todo or block.device != args.device or not (args.from_line <= block.line <= args.to_line):
            continue
        for index, command in enumerate(block.commands):
            ran = session.run(command)
            problems = check(block, ran, (block.commands[index + 1:] or [None])[0])
            print(f"{'ok  ' if not problems else 'FAIL'} {ran.seconds:6.1f}s  {block.page}:{command.line} $ {command.text}")
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
            problems.append(f"{block.page}:{ran.command.line} $ {ran.command.text}\n" + "\n".join(found))
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
