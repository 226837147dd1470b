"""Keras layer names for TFLite tensors, so a report says ``fc1`` where the file says ``digits_cnn_1/fc1_1/MatMul``.

The converter names a kernel after the ops that traced it: ``<model>/<layer>_<n>/<op>``
(Keras 3 appends ``_<n>`` to name scopes). :func:`layer_of` finds the layer a tensor name
belongs to among a ``.keras`` file's :func:`~edgekit.keras_file.layer_names`.
"""

from __future__ import annotations

import re
from typing import Iterable

_SCOPE_SUFFIX = re.compile(r"_\d+$")


def layer_of(tensor_name: str, names: Iterable[str]) -> str | None:
    """The innermost Keras layer named in ``tensor_name``'s scopes, or None when none matches."""
    known = set(names)
    found = None
    for part in tensor_name.split(";")[0].split("/"):
        for candidate in (part, _SCOPE_SUFFIX.sub("", part)):
            if candidate in known:
                found = candidate
                break
    return found
