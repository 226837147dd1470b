"""One `edgekit tune` per study folder: the second is refused with one line naming the first."""

from __future__ import annotations

import os

import pytest

from edgekit.errors import StudyInUseError
from edgekit.tune.studylock import hold_study


def test_a_held_study_refuses_a_second_holder_until_it_is_released(tmp_path):
    out = tmp_path / "out"
    with hold_study(out):
        with pytest.raises(StudyInUseError) as err:
            with hold_study(out):
                pass
    message = str(err.value)
    assert message.startswith(f"{out}: another `edgekit tune` (pid {os.getpid()}) is running this study")
    assert "--out" in message and "\n" not in message and err.value.exit_code == 2
    with hold_study(out):  # released: the next study (a --resume) may start
        pass
