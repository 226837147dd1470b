"""How every command fine-tunes: one set of defaults for optimize, distill, build and tune.

Standard library only (no Keras), so the command line can show these defaults in
``--help`` and edgekit.toml's ``[finetune]`` can take them without loading TensorFlow;
``edgekit optimize``, ``edgekit distill``, ``[finetune]`` (``edgekit build``) and the
trials of ``edgekit tune`` all read them from here, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgekit.errors import UsageError


@dataclass
class Finetune:
    """Adam at ``learning_rate`` for ``epochs`` per stage; ``loss``: names for a model saved without one.

    4 epochs, chosen on the benchmark suite of user-like models (``bench/suite.py``; points
    lost by the int8 file after prune 80% at 2 / 4 / 8 epochs, seed 0): a briefly trained
    BatchNorm CNN 3.6 / 0.3 / -2.2, a residual CNN -4.5 / -5.9 / -6.4, a regression MLP on
    353 samples 147 / 47 / 17 % more MAE; a MobileNet-style net 17-25 at 4 epochs (3 seeds),
    2-11 (Keras model) after the budget's 12. More epochs help every model but do not rescue
    the two that collapse (8 leave the MLP warned, 12 leave two MobileNet seeds warned) and
    make every tuning trial longer: where a model needs more, the drop warning names
    ``--max-drop``, which trains on while a stage is over its budget, then backs it off.
    ``learning_rate`` None: chosen for the model
    (:mod:`edgekit.optimize.learning_rate`: its saved Adam rate, else a range test, else
    1e-4 with warmup) -- a fixed 1e-4 left a briefly trained BatchNorm CNN at 55% where
    its own 1e-3 recovers 92%.
    """

    epochs: int = 4
    batch_size: int = 32
    learning_rate: float | None = None
    loss: tuple[str, ...] = ()
    seed: int = 0
    # every fit of the run gets these too (a caller watching the epochs, e.g. a search pruning trials)
    callbacks: tuple = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise UsageError(f"epochs and batch size must be >= 1, got {self.epochs} and {self.batch_size}")
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise UsageError(f"learning rate must be > 0, got {self.learning_rate}")
        self.loss = (self.loss,) if isinstance(self.loss, str) else tuple(self.loss)
        if self.loss:  # edgekit.tasks loads NumPy: not for the defaults --help shows
            from edgekit.tasks import task_for_loss

            for name in self.loss:
                task_for_loss(name)  # unknown names fail before any training


FINETUNE = Finetune()  # the defaults, as the command line shows them
