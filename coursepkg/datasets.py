"""Seeded toy data sets for the chapters, and the digits split.

Every generator takes ``seed`` (an int or ``numpy.random.Generator``) and returns plain arrays:
``X`` of shape (N, 2) float64 and integer labels ``y`` of shape (N,), or for regression ``x`` and
``t`` of shape (N, 1).
"""

from __future__ import annotations

import numpy as np

from ._validation import as_labels, check_positive_int, check_positive_number


def _shuffled(X: np.ndarray, y: np.ndarray, rng: np.random.Generator):
    order = rng.permutation(len(y))
    return X[order], y[order]


def _cluster_sizes(n_samples, n_clusters: int, where: str) -> np.ndarray:
    """Split ``n_samples`` over ``n_clusters`` as evenly as possible (the first ones get one more).

    Every cluster needs a point, so fewer samples than clusters is an error: the data set would
    silently lack a class.
    """
    n_samples = check_positive_int(n_samples, "n_samples", where)
    if n_samples < n_clusters:
        raise ValueError(
            f"{where}: n_samples must be at least {n_clusters} (one point per cluster), "
            f"got {n_samples}."
        )
    sizes = np.full(n_clusters, n_samples // n_clusters)
    sizes[: n_samples % n_clusters] += 1
    return sizes


def _gaussian_clusters(centers, labels, sizes, std: float, rng):
    centers = np.asarray(centers, dtype=float)
    X = np.concatenate(
        [c + std * rng.standard_normal((n, 2)) for c, n in zip(centers, sizes, strict=True)]
    )
    y = np.repeat(np.asarray(labels), sizes)
    return _shuffled(X, y, rng)


def make_linearly_separable(n_samples: int = 200, *, std: float = 0.6, seed=0):
    """Two Gaussian blobs, centred at (-1.5, -1) and (1.5, 1), that a line separates.

    Returns: X (n_samples, 2), y (n_samples,) with labels 0 and 1 (half of the points each;
    class 0 gets the odd one).

    Raises:
        ValueError: n_samples below 2 (one point per class), or std not positive and finite.
    """
    sizes = _cluster_sizes(n_samples, 2, "make_linearly_separable")
    check_positive_number(std, "std", "make_linearly_separable")
    rng = np.random.default_rng(seed)
    return _gaussian_clusters([(-1.5, -1.0), (1.5, 1.0)], [0, 1], sizes, std, rng)


def make_xor_blobs(n_samples: int = 200, *, std: float = 0.35, seed=0):
    """Four Gaussian blobs at (+-1, +-1) in the XOR pattern: no single line separates them.

    Class 0: the blobs at (-1, -1) and (1, 1); class 1: those at (-1, 1) and (1, -1).
    Returns: X (n_samples, 2), y (n_samples,) (a quarter of the points per blob; the first
    blobs get the remainder).

    Raises:
        ValueError: n_samples below 4 (one point per blob), or std not positive and finite.
    """
    sizes = _cluster_sizes(n_samples, 4, "make_xor_blobs")
    check_positive_number(std, "std", "make_xor_blobs")
    rng = np.random.default_rng(seed)
    centers = [(-1, -1), (1, 1), (-1, 1), (1, -1)]
    return _gaussian_clusters(centers, [0, 0, 1, 1], sizes, std, rng)


def make_annuli(n_samples: int = 600, n_classes: int = 3, *, noise: float = 0.15, seed=0):
    """Concentric rings: class k lies at radius k + 1 (plus Gaussian noise), at random angles.

    Returns: X (n_samples, 2), y (n_samples,) with labels 0 .. n_classes - 1 (as many points per
    class as possible; the first classes get the remainder).

    Raises:
        ValueError: n_samples below n_classes (one point per ring), or noise negative or NaN.
    """
    n_classes = check_positive_int(n_classes, "n_classes", "make_annuli")
    sizes = _cluster_sizes(n_samples, n_classes, "make_annuli")
    if not noise >= 0:  # also rejects NaN
        raise ValueError(f"make_annuli: noise must be a number >= 0, got {noise}.")
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), sizes)
    radius = y + 1.0 + noise * rng.standard_normal(y.size)
    angle = rng.uniform(0.0, 2.0 * np.pi, y.size)
    X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    return _shuffled(X, y, rng)


def make_moons(n_samples: int = 200, *, noise: float = 0.1, seed=0):
    """Two interleaving half circles ("two moons"), with Gaussian noise of std ``noise``.

    Class 0: the upper moon, centred at (0, 0); class 1: the lower moon, centred at (1, 0.5).
    Returns: X (n_samples, 2), y (n_samples,).
    """
    n_samples = _cluster_sizes(n_samples, 2, "make_moons").sum()
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

    Shapes: X (N, ...) and y (N,) or (N, ...) -> X_train, X_test, y_train, y_test, the rows of X
    and y split the same way. With ``stratify`` (for class labels), each class contributes
    round(test_fraction * its count) test rows; without it, round(test_fraction * N) rows in all.

    Returns: X_train, X_test, y_train, y_test.

    Raises:
        ValueError: X and y with different numbers of rows, an empty data set,
            ``test_fraction`` outside (0, 1), ``stratify`` with targets that are not class labels
            (e.g. regression targets: pass ``stratify=False``), or a split that leaves the
            training or the test part empty (too few samples for this fraction).
    """
    where = "train_test_split"
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"{where}: X and y must be arrays with one row per sample.")
    if len(X) != len(y):
        raise ValueError(f"{where}: X has {len(X)} samples but y has {len(y)}.")
    if len(y) == 0:
        raise ValueError(f"{where}: got an empty data set (0 samples); there is nothing to split.")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"{where}: test_fraction must lie in (0, 1), got {test_fraction}.")
    if stratify:
        # Stratifying by real-valued targets would make every value its own class of one
        # sample, none of which reaches the test set.
        y_labels = as_labels(y, "y", where + " (stratify=True needs class labels)")
        groups = [np.flatnonzero(y_labels == c) for c in np.unique(y_labels)]
    else:
        groups = [np.arange(len(y))]
    rng = np.random.default_rng(seed)
    test = []
    for idx in groups:
        idx = rng.permutation(idx)
        test.append(idx[: int(round(test_fraction * len(idx)))])
    test = np.sort(np.concatenate(test))
    train = np.setdiff1d(np.arange(len(y)), test)
    if len(train) == 0 or len(test) == 0:
        empty = "training" if len(train) == 0 else "test"
        raise ValueError(
            f"{where}: splitting {len(y)} samples with test_fraction={test_fraction} leaves the "
            f"{empty} part empty. Use more samples or another test_fraction."
        )
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
