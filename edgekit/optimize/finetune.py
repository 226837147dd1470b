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

    4 epochs: a stage that dips (prune, ternary) gets epochs to recover -- a briefly trained
    BatchNorm CNN pruned 80% and clustered to 16 ended 6.1 points below its float accuracy
    after 2 epochs per stage, 1.1 after 4 and +0.6 after 6 -- while a tuning study's trials
    stay affordable (it cuts hopeless ones after an epoch or two; ``--max-drop`` trains on
    while a stage is over its budget). ``learning_rate`` None: chosen for the model
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
