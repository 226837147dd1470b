"""What a stage's ``select`` setting may be (kept free of Keras so configs load without TensorFlow)."""

from __future__ import annotations

from typing import Any, Callable, Sequence, Union

# None (every supported layer), a layer-name regex, a layer class or classes, or a predicate.
Selector = Union[None, str, type, Sequence[type], Callable[[Any], bool]]
