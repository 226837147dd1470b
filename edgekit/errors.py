"""The one error hierarchy of edgekit.

Every failure a user can cause or fix is an :class:`EdgekitError`. The CLI prints
``edgekit: error: <message>`` on one line (no traceback) and exits with the error's
``exit_code``. Messages name the file, field or host concerned and say what to do.

Exit codes (documented in README):
  1  generic failure (a step failed for a reason that is not the user's input)
  2  usage or input error (bad flag, missing file, wrong shape, not a model)
  3  a device or remote operation failed (connect, auth, host key, pre-flight, push)
  4  the benchmark agent failed (runtime missing, model would not load, crash, timeout)
  5  a compact storage form was refused (cannot be made, unsupported by the target's runtime,
     or its outputs disagree with its int8/float reference); nothing was written
  10+ build budgets violated (10-20, see :mod:`edgekit.pipeline.budgets`)
  21 ``edgekit tune``: no trial met every budget (the study's outputs are written)
  22 ``--max-drop``: no setting of an optimize stage met the accuracy budget (nothing written)
  130 interrupted (Ctrl-C / SIGTERM): stopped at a safe point
"""

from __future__ import annotations


class EdgekitError(Exception):
    """Base of all edgekit errors; ``str(err)`` is the one-line user message."""

    exit_code = 1


class UsageError(EdgekitError):
    """The user's input (flag, file, field, data) is wrong: exit 2."""

    exit_code = 2


class InputFileError(UsageError):
    """A file or directory given by the user is missing, unreadable or of the wrong kind."""


class ModelFormatError(UsageError):
    """A file is not the model format it should be (not a TFLite flatbuffer, not a Keras model)."""


class DataError(UsageError):
    """Calibration, training or evaluation data does not fit the model (shape, dtype, labels)."""


class UserCodeError(UsageError):
    """A ``--custom-objects`` file or ``--import`` module (the user's Keras classes) could not be imported."""


class ConfigError(UsageError):
    """A configuration file (target profile, inventory, edgekit.toml) has a bad key or value."""


class MissingExtraError(UsageError):
    """An optional part of edgekit (a pip extra such as ``edgekit[tf]``) is not installed."""


class ConversionError(EdgekitError):
    """The TFLite converter could not produce the requested model."""


class NotFullIntegerError(ConversionError):
    """Full-integer quantization was requested but some op stayed float."""

    exit_code = 2


class OptimizationError(EdgekitError):
    """Pruning, clustering, QAT or filter pruning could not be applied as requested."""


class AgentError(EdgekitError):
    """The benchmark agent failed: no runtime, model did not load, crash or time limit."""

    exit_code = 4


class Interrupted(EdgekitError):
    """SIGINT/SIGTERM stopped the work at a safe point: exit 130 like a shell's Ctrl-C."""

    exit_code = 130


class InterruptedAfterSwitch(Interrupted):
    """Stopped after a deploy switched the device to the new model (during its benchmark): it is active."""


class RemoteError(EdgekitError):
    """Something between edgekit and a device failed (SSH, SFTP, pre-flight)."""

    exit_code = 3


class HostKeyError(RemoteError):
    """The device's SSH host key is unknown or has changed."""


class AuthenticationError(RemoteError):
    """SSH authentication to the device failed."""


class PreflightError(RemoteError):
    """The device lacks something edgekit needs (python3, a TFLite runtime, disk, matching arch)."""


class TransferError(RemoteError):
    """Uploading or activating a model on the device failed; the previous model stays active."""


class ClusterError(RemoteError):
    """The Ray cluster named by ``--ray ADDRESS`` cannot be reached or cannot run a trial."""


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of a third-party exception's message, at most ``limit`` characters: the part
    of it an edgekit message can quote and still be one line."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:limit]


class StorageError(EdgekitError):
    """A compact storage form that cannot be made, or a file the target's runtime would run wrong."""

    exit_code = 5


class OutputMismatchError(StorageError):
    """A written model's outputs disagree with its reference beyond the stated tolerance (nothing is kept)."""


class NoModelMeetsBudgets(EdgekitError):
    """A tune study ended without a trial that met every budget: exit 21."""

    exit_code = 21


class StudyInUseError(UsageError):
    """Another ``edgekit tune`` runs the study in this --out, or workers of an earlier run of it cannot be stopped."""


class BudgetNotMet(EdgekitError):
    """An optimize stage could not meet ``--max-drop`` at any setting tried: exit 22, nothing written.

    ``attempts``: every setting tried (stage, setting, epochs, metrics, drop), as in the summary."""

    exit_code = 22

    def __init__(self, message: str, attempts: list[dict] | None = None):
        super().__init__(message)
        self.attempts = list(attempts or [])
