"""SPEC -> arrays: the data edgekit calibrates, evaluates and trains on.

A SPEC is a ``.npz``/``.npy`` file, a directory of them, or a directory of images; see
``calibration/README.md``. :func:`load_dataset` checks the arrays against the model's
input shapes so that a mismatch is reported here, naming the file, not deep inside the
converter.
"""

from edgekit.data.dataset import Dataset, Preprocess
from edgekit.data.loader import load_dataset

__all__ = ["Dataset", "Preprocess", "load_dataset"]
