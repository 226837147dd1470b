"""A SIGINT/SIGTERM that lands inside the import system's callbacks is not lost: Python would swallow the
KeyboardInterrupt there (printing "Exception ignored ... Traceback") and the command would run to its end
with exit 0; edgekit's handler sends the signal again a moment later instead."""

from __future__ import annotations

import signal
import time
import types

import pytest

from edgekit.interrupts import REDELIVER_S, _interrupt


def _frame(filename: str):
    return types.SimpleNamespace(f_code=types.SimpleNamespace(co_filename=filename))


def test_a_signal_inside_an_import_callback_is_delivered_again():
    received = []
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: received.append(signum))
    try:
        _interrupt(signal.SIGUSR1, _frame("<frozen importlib._bootstrap>"))   # no raise here
        deadline = time.monotonic() + 50 * REDELIVER_S
        while not received and time.monotonic() < deadline:
            time.sleep(REDELIVER_S / 5)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert received == [signal.SIGUSR1]


def test_anywhere_else_it_interrupts_at_once():
    with pytest.raises(KeyboardInterrupt):
        _interrupt(signal.SIGTERM, _frame(__file__))
