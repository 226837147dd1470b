"""What an accuracy budget does with the stages whose back-off is not a range toward "changes nothing":
QAT cannot back off and says so in its attempt; binary gives back its first and last layers and tries that.

Fine-tuning at a learning rate of 5 wrecks the trained digits CNN in one short epoch, so every attempt
misses a budget of 0 and the budget's whole sequence of attempts shows.
"""

from __future__ import annotations

import pytest

from edgekit.errors import BudgetNotMet


def _missed(trained, digits, step):
    """The attempts of a budget of 0 that ``step`` cannot meet."""
    from edgekit.data import Dataset
    from edgekit.optimize.budget import Budget
    from edgekit.optimize.engine import Recipe, optimize
    from edgekit.optimize.trainer import Finetune

    train = Dataset(x=digits[0][:128], y=digits[1][:128], source="digits")
    val = Dataset(x=digits[2][:64], y=digits[3][:64], source="digits val")
    lines = []
    with pytest.raises(BudgetNotMet) as missed:
        optimize(trained, Recipe([step], Finetune(epochs=1, batch_size=64, learning_rate=5.0)), train, val,
                 budget=Budget(0.0, max_epochs=1), progress=lines.append)
    return missed.value, lines


def test_qat_cannot_back_off_and_says_why_in_its_attempt(trained, digits):
    from edgekit.optimize.qat.config import QATConfig
    from edgekit.optimize.stages import Step, get_stage

    error, lines = _missed(trained, digits, Step("qat", QATConfig()))
    (attempt,) = error.attempts
    assert attempt["stage"] == "qat" and attempt["setting"] == {} and not attempt["met"]
    why = get_stage("qat").backoff.why
    assert attempt["backoff"] == f"cannot back off qat: {why}" and attempt["backoff"] in lines
    assert f"stage 'qat' cannot meet --max-drop 0: {why} (tried as given: drop" in str(error)


def test_binary_backs_off_to_int8_ends_and_tries_them(trained, digits):
    from edgekit.optimize.binary.config import BinaryConfig
    from edgekit.optimize.stages import Step

    error, _ = _missed(trained, digits, Step("binary", BinaryConfig(include_ends=True)))
    assert [a["setting"] for a in error.attempts] == [{"include_ends": True}, {"include_ends": False}]
    assert "no include_ends between the requested true and the weakest, false (tried too) met it" in str(error)
    assert "tried include_ends true: drop" in str(error) and "; include_ends false: drop" in str(error)
