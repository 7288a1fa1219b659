"""Seeded toy data sets for the chapters, and the digits split.

Every generator takes ``seed`` (an int or ``numpy.random.Generator``) and returns plain arrays:
``X`` of shape (N, 2) float64 and integer labels ``y`` of shape (N,), or for regression ``x`` and
``t`` of shape (N, 1).
"""

from __future__ import annotations

import numpy as np

from ._validation import check_positive_int, check_positive_number


def _shuffled(X: np.ndarray, y: np.ndarray, rng: np.random.Generator):
    order = rng.permutation(len(y))
    return X[order], y[order]


def _gaussian_clusters(centers, labels, n_per_cluster: int, std: float, rng):
    centers = np.asarray(centers, dtype=float)
    X = np.concatenate([c + std * rng.standard_normal((n_per_cluster, 2)) for c in centers])
    y = np.repeat(np.asarray(labels), n_per_cluster)
    return _shuffled(X, y, rng)


def make_linearly_separable(n_samples: int = 200, *, std: float = 0.6, seed=0):
    """Two Gaussian blobs, centred at (-1.5, -1) and (1.5, 1), that a line separates.

    Returns: X (n_samples, 2), y (n_samples,) with labels 0 and 1 (n_samples // 2 of each).
    """
    n = check_positive_int(n_samples, "n_samples", "make_linearly_separable") // 2
    check_positive_number(std, "std", "make_linearly_separable")
    rng = np.random.default_rng(seed)
    return _gaussian_clusters([(-1.5, -1.0), (1.5, 1.0)], [0, 1], n, std, rng)


def make_xor_blobs(n_samples: int = 200, *, std: float = 0.35, seed=0):
    """Four Gaussian blobs at (+-1, +-1) in the XOR pattern: no single line separates them.

    Class 0: the blobs at (-1, -1) and (1, 1); class 1: those at (-1, 1) and (1, -1).
    Returns: X (n_samples, 2), y (n_samples,) (n_samples // 4 points per blob).
    """
    n = check_positive_int(n_samples, "n_samples", "make_xor_blobs") // 4
    check_positive_number(std, "std", "make_xor_blobs")
    rng = np.random.default_rng(seed)
    centers = [(-1, -1), (1, 1), (-1, 1), (1, -1)]
    return _gaussian_clusters(centers, [0, 0, 1, 1], n, std, rng)


def make_annuli(n_samples: int = 600, n_classes: int = 3, *, noise: float = 0.15, seed=0):
    """Concentric rings: class k lies at radius k + 1 (plus Gaussian noise), at random angles.

    Returns: X (n_samples, 2), y (n_samples,) with labels 0 .. n_classes - 1.
    """
    n_classes = check_positive_int(n_classes, "n_classes", "make_annuli")
    n = check_positive_int(n_samples, "n_samples", "make_annuli") // n_classes
    if not noise >= 0:  # also rejects NaN
        raise ValueError(f"make_annuli: noise must be a number >= 0, got {noise}.")
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), n)
    radius = y + 1.0 + noise * rng.standard_normal(y.size)
    angle = rng.uniform(0.0, 2.0 * np.pi, y.size)
    X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    return _shuffled(X, y, rng)


def make_moons(n_samples: int = 200, *, noise: float = 0.1, seed=0):
    """Two interleaving half circles ("two moons"), with Gaussian noise of std ``noise``.

    Class 0: the upper moon, centred at (0, 0); class 1: the lower moon, centred at (1, 0.5).
    Returns: X (n_samples, 2), y (n_samples,).
    """
    n_samples = check_positive_int(n_samples, "n_samples", "make_moons")
    if not noise >= 0:  # also rejects NaN
        raise ValueError(f"make_moons: noise must be a number >= 0, got {noise}.")
    rng = np.random.default_rng(seed)
    n0 = n_samples // 2
    n1 = n_samples - n0
    a0 = np.linspace(0.0, np.pi, n0)
    a1 = np.linspace(0.0, np.pi, n1)
    upper = np.column_stack([np.cos(a0), np.sin(a0)])
    lower = np.column_stack([1.0 - np.cos(a1), 0.5 - np.sin(a1)])
    X = np.concatenate([upper, lower]) + noise * rng.standard_normal((n_samples, 2))
    y = np.concatenate([np.zeros(n0, dtype=int), np.ones(n1, dtype=int)])
    return _shuffled(X, y, rng)


FUNCTIONS = {
    "square": lambda x: x**2,
    "sine": lambda x: np.sin(np.pi * x),
    "abs": np.abs,
    "step": lambda x: np.where(x >= 0, 1.0, 0.0),
}
"""The 1-D target functions of chapter 2, by name."""


def sample_function(
    name: str, n_samples: int = 50, *, noise: float = 0.0, x_range=(-1.0, 1.0), seed=0
):
    """Evenly spaced inputs and the values of one of ``FUNCTIONS``, plus optional noise.

    Returns: x (n_samples, 1) and t (n_samples, 1).
    """
    if name not in FUNCTIONS:
        raise ValueError(
            f"sample_function: unknown function {name!r}; choose from {list(FUNCTIONS)}."
        )
    n = check_positive_int(n_samples, "n_samples", "sample_function")
    rng = np.random.default_rng(seed)
    x = np.linspace(x_range[0], x_range[1], n).reshape(-1, 1)
    t = FUNCTIONS[name](x) + noise * rng.standard_normal(x.shape)
    return x, t


def train_test_split(X, y, *, test_fraction: float = 0.3, seed=0, stratify: bool = True):
    """Split arrays into training and test parts, keeping class proportions if ``stratify``.

    Returns: X_train, X_test, y_train, y_test.
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"train_test_split: X has {len(X)} samples but y has {len(y)}.")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(
            f"train_test_split: test_fraction must lie in (0, 1), got {test_fraction}."
        )
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if stratify else [np.arange(len(y))]
    test = []
    for idx in groups:
        idx = rng.permutation(idx)
        test.append(idx[: int(round(test_fraction * len(idx)))])
    test = np.sort(np.concatenate(test))
    train = np.setdiff1d(np.arange(len(y)), test)
    train, test = rng.permutation(train), rng.permutation(test)
    return X[train], X[test], y[train], y[test]


def load_digits_split(*, test_fraction: float = 0.3, seed=0):
    """scikit-learn's bundled 8x8 digits (1,797 images), scaled to [0, 1] and split stratified.

    Returns: X_train (N_train, 64), X_test (N_test, 64), y_train (N_train,), y_test (N_test,).
    """
    from sklearn.datasets import load_digits  # bundled with scikit-learn, no download

    digits = load_digits()
    X = digits.data / 16.0  # pixel intensities are 0..16
    return train_test_split(X, digits.target, test_fraction=test_fraction, seed=seed)


def make_sinusoid(n_samples: int = 10, *, noise: float = 0.3, random_x: bool = False, seed=0):
    """Noisy samples of sin(2 pi x) on [0, 1]: t = sin(2 pi x) + noise * standard normal.

    The inputs are evenly spaced from 0 to 1 (as in Bishop's curve-fitting example), or, with
    ``random_x=True``, drawn uniformly from [0, 1] (for fresh validation and test points).
    Returns: x (n_samples, 1) and t (n_samples, 1), float64.
    """
    n = check_positive_int(n_samples, "n_samples", "make_sinusoid")
    if not noise >= 0:  # also rejects NaN
        raise ValueError(f"make_sinusoid: noise must be a number >= 0, got {noise}.")
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, n) if random_x else np.linspace(0.0, 1.0, n)
    x = x.reshape(-1, 1)
    t = np.sin(2.0 * np.pi * x) + noise * rng.standard_normal(x.shape)
    return x, t


def make_inverse_problem(n_samples: int = 1000, *, noise: float = 0.1, seed=0):
    """Bishop's (1994) inverse problem: x = t + 0.3 sin(2 pi t) + uniform noise, t ~ U(0, 1).

    The *forward* problem, x from t, is a function. The *inverse* problem, t from x, is not: for
    x between about 0.41 and 0.59 (0.3 and 0.7 with noise 0.1) three values of t fit, which a
    network trained on the squared error cannot represent (chapter 7). The noise is uniform on
    [-noise, noise].
    Returns: x (n_samples, 1), the inputs of the inverse problem, and t (n_samples, 1), its
    targets, float64.
    """
    n = check_positive_int(n_samples, "n_samples", "make_inverse_problem")
    if not noise >= 0:  # also rejects NaN
        raise ValueError(f"make_inverse_problem: noise must be a number >= 0, got {noise}.")
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.0, 1.0, (n, 1))
    x = t + 0.3 * np.sin(2.0 * np.pi * t) + rng.uniform(-noise, noise, (n, 1))
    return x, t
