"""Regenerate calibration/digits*.npz from scikit-learn's bundled copy of the UCI digits."""

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

OUT = Path(__file__).resolve().parent.parent / "calibration"


def main() -> None:
    digits = load_digits()
    x = (digits.images.astype(np.float32) / 16.0)[..., None]
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(x))
    n_train = int(round(0.8 * len(x)))
    train, val = order[:n_train], order[n_train:]
    np.savez_compressed(OUT / "digits.npz", x=x, y=y)
    np.savez_compressed(OUT / "digits_train.npz", x=x[train], y=y[train])
    np.savez_compressed(OUT / "digits_val.npz", x=x[val], y=y[val])


if __name__ == "__main__":
    main()
