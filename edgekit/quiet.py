"""Keep TensorFlow's, LiteRT's and the converter's chatter off stdout (it is for ``--json``) and stderr."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import warnings
from typing import Iterator


@contextlib.contextmanager
def quiet_output() -> Iterator[None]:
    """Swallow what TensorFlow writes to file descriptors 1 and 2 inside the block.

    The converter prints "Saved artifact at ..." and calibration statistics, TensorFlow
    its start-up log lines; errors arrive as exceptions, which carry their own message.
    Python-level prints to ``sys.stdout`` are dropped too (the sink is never closed, as
    loggers created inside the block may keep it).
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile() as sink, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                yield
        finally:
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
