"""One agent process per deploy on the device, asked each question over one SSH channel.

Starting the agent costs a Python start plus importing numpy and the TFLite runtime
(~0.5 s on a laptop, seconds on a Pi), and every SSH command costs the device a login
shell (its rc files included); a deploy asks the agent many times (probe, uploads, checks,
switch, benchmark). The session starts one process (:mod:`edgekit.remote.device_start`:
pre-flight, lock and prepare, then the agent's ``session`` in the same process) and sends
each command line as a JSON list, reading one JSON answer line per request; requests may be
pipelined (:meth:`AgentSession.scripts`), the answers come in order.

The device's shell starts the process in the background and reports its pid first (stdin is
handed over explicitly: a background job's stdin is /dev/null otherwise), so that on a
timeout or Ctrl-C edgekit kills exactly that process; ``wait`` turns a death by signal into
exit code 128+N, which :func:`parse_agent_output` reports as a crash.
"""

from __future__ import annotations

import contextlib
import json
import select
import shlex
import time
from typing import Iterable, Iterator

import paramiko

from edgekit import interrupts
from edgekit.agent.runner import parse_agent_output
from edgekit.errors import AgentError, Interrupted, InterruptedAfterSwitch, RemoteError
from edgekit.remote.connection import CommandResult, Connection

PID_MARKER = "edgekit-agent-pid "
# How long a dead session's shell may take to report the agent's exit status.
_EXIT_WAIT = 5.0
# Requests in flight at once in :meth:`AgentSession.scripts` (an upload's blocks).
WINDOW = 4


class AgentSession:
    """The process serving one deploy; :meth:`ask` one command at a time (not thread safe).

    ``argv`` is the device command (a Python and its arguments) that ends up answering requests.
    """

    def __init__(self, conn: Connection, argv: list[str]) -> None:
        self.conn = conn
        command = (f"exec 3<&0; {shlex.join(argv)} 0<&3 3<&- & pid=$!; "
                   f"echo '{PID_MARKER}'$pid >&2; wait $pid")
        self._channel = conn.start(command)
        self._channel.settimeout(conn.options.command_timeout)  # a send into a stalled link fails, not hangs
        self._out, self._err = bytearray(), bytearray()
        self.dead = False

    def ask(self, args: list[str], *, timeout: float, active: bool = False, too_slow: str = "",
            flag: str = "--bench-timeout", interruptible: bool = True) -> dict:
        """The agent's answer to one command line; AgentError on failure, crash or timeout (agent killed).

        ``active``: the model is already current (errors say so: the device still runs it).
        """
        self.send(args, active=active)
        line, status, stderr = self.receive(timeout=timeout, active=active, too_slow=too_slow, flag=flag,
                                            interruptible=interruptible)
        try:
            return parse_agent_output(line, status, stderr, where=self.conn.name)
        except AgentError as err:
            raise AgentError(f"{err}; " + ("the model stays active (it loaded and ran once before)" if active else
                                           "nothing was activated: the previous model stays current")) from None

    def exchange(self, args: list[str], *, timeout: float, active: bool = False, too_slow: str = "",
                 flag: str = "--bench-timeout") -> tuple[str, int, str]:
        """(the answer line, "" if the agent died; its exit status then, else 0; the agent's stderr so far).

        ``flag`` is the option that sets ``timeout`` (named when it runs out)."""
        self.send(args, active=active)
        return self.receive(timeout=timeout, active=active, too_slow=too_slow, flag=flag)

    def send(self, request: object, *, active: bool = False) -> None:
        """Send one request line (a JSON value) without waiting for its answer."""
        with self._guard(self.conn.options.command_timeout, active, "", "--command-timeout"):
            self._channel.sendall((json.dumps(request) + "\n").encode())

    def receive(self, *, timeout: float, active: bool = False, too_slow: str = "", flag: str = "--bench-timeout",
                interruptible: bool = True) -> tuple[str, int, str]:
        """The next answer line, as :meth:`exchange` returns it. ``interruptible``: a Ctrl-C stops the wait
        (and kills the agent); off for answers that must be read to keep the session in step."""
        with self._guard(timeout, active, too_slow, flag):
            line = self._answer(time.monotonic() + timeout, interruptible)
        if line is None:  # the agent died: its exit status says how
            self.dead = True
            return "", self._exit_status(), self._stderr()
        return line, 0, self._stderr()

    @contextlib.contextmanager
    def _guard(self, timeout: float, active: bool, too_slow: str, flag: str) -> Iterator[None]:
        """Talking to the agent: an interrupt or a timeout kills it; a broken connection marks it dead."""
        if self.dead:
            raise AgentError(f"{self.conn.name}: the agent is no longer running; " + _left(active))
        try:
            yield
        except Interrupted:
            self.kill()
            raise (InterruptedAfterSwitch if active else Interrupted)(
                f"{self.conn.name}: interrupted while the agent ran the model; the agent was killed; "
                + ("the new model is active" if active else "nothing was activated")) from None
        except TimeoutError:
            self.kill()
            raise AgentError(f"{self.conn.name}: the agent did not finish within {timeout:g}s ({flag}); "
                             f"the agent was killed; {too_slow}"
                             + ("; the model is active (it loaded and ran once)" if active else
                                "; nothing was activated")) from None
        except (OSError, EOFError, paramiko.SSHException) as exc:
            self.dead = True
            raise RemoteError(f"{self.conn.name}: the connection dropped while the agent ran ({exc}); "
                              + _left(active)) from None

    def script(self, source: str, args: list[str], *, timeout: float, interruptible: bool = True) -> CommandResult:
        """A device-side stdlib script run inside the agent: what ``python -c SOURCE ARGS`` would give."""
        answer = self.ask(["script", source, *args], timeout=timeout, flag="--command-timeout",
                          interruptible=interruptible)
        return _result(answer)

    def scripts(self, source: str, arg_lists: Iterable[list[str]], *, timeout: float) -> list[CommandResult]:
        """``source`` run once per argument list, up to :data:`WINDOW` requests in flight (no round trip
        each); stops sending after a failed one. Every request sent is answered before this returns, also
        when ``arg_lists`` raises (an interrupt between blocks): the session stays in step."""
        results: list[CommandResult] = []
        in_flight = 0

        def collect() -> None:
            nonlocal in_flight
            line, status, stderr = self.receive(timeout=timeout, flag="--command-timeout", interruptible=False)
            in_flight -= 1
            results.append(_result(parse_agent_output(line, status, stderr, where=self.conn.name)))

        try:
            for args in arg_lists:
                if results and results[-1].status:
                    break
                self.send(["script", source, *args])
                in_flight += 1
                if in_flight >= WINDOW:
                    collect()
        finally:
            while in_flight and not self.dead:
                collect()
        return results

    def close(self) -> None:
        """EOF on the agent's stdin: it exits (sshd reaps it with the session anyway)."""
        try:
            self._channel.shutdown_write()
            self._channel.close()
        except (OSError, EOFError, paramiko.SSHException):
            pass

    def kill(self) -> None:
        """Kill the agent process (by the pid the device reported, nothing else)."""
        self.dead = True
        pid = self._pid()
        if pid:
            try:
                self.conn.run(f"kill -KILL {pid} 2>/dev/null; true", timeout=self.conn.connect_timeout)
            except RemoteError:
                pass  # the connection itself is gone: sshd reaps the process with the session
        self.close()

    def _answer(self, deadline: float, interruptible: bool) -> str | None:
        """The next stdout line, or None when the agent's stdout ended without one."""
        channel = self._channel
        while b"\n" not in self._out:
            while channel.recv_stderr_ready():
                self._err += channel.recv_stderr(1 << 16)
            if channel.recv_ready():
                chunk = channel.recv(1 << 16)
                if not chunk:
                    return None
                self._out += chunk
                continue
            if channel.exit_status_ready() or channel.closed or channel.eof_received:
                if not channel.recv_ready():
                    return None
                continue
            if interruptible and interrupts.requested():
                raise Interrupted(self.conn.name)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            select.select([channel], [], [], min(remaining, 0.5))
        line, _, rest = bytes(self._out).partition(b"\n")
        self._out = bytearray(rest)
        return line.decode("utf-8", "replace")

    def _exit_status(self) -> int:
        deadline = time.monotonic() + _EXIT_WAIT
        while not self._channel.exit_status_ready() and time.monotonic() < deadline:
            time.sleep(0.02)
        while self._channel.recv_stderr_ready():
            self._err += self._channel.recv_stderr(1 << 16)
        status = self._channel.recv_exit_status() if self._channel.exit_status_ready() else -1
        return 1 if status < 0 else status  # -1: sshd sent no status; not a signal number

    def _stderr(self) -> str:
        return "\n".join(line for line in self._err.decode("utf-8", "replace").splitlines()
                         if not line.startswith(PID_MARKER))

    def _pid(self) -> str:
        while self._channel.recv_stderr_ready():
            self._err += self._channel.recv_stderr(1 << 16)
        for line in self._err.decode("utf-8", "replace").splitlines():
            if line.startswith(PID_MARKER):
                pid = line[len(PID_MARKER):].strip()
                return pid if pid.isdigit() else ""
        return ""


def _result(answer: dict) -> CommandResult:
    return CommandResult(answer["stdout"], answer["stderr"], int(answer["status"]))


def _left(active: bool) -> str:
    return "the model stays active" if active else "nothing was activated"
