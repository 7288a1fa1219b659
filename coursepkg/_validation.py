"""Input checks shared by every module, so that mistakes surface as clear messages.

A student who passes a ``(784,)`` vector to a layer that expects ``(batch, 784)`` should read what
is wrong and how to fix it, not a NumPy broadcasting error three frames down.
"""

from __future__ import annotations

import numbers

import numpy as np


def as_float_array(X, name: str, where: str, *, ndim: int | None = None) -> np.ndarray:
    """Return ``X`` as a finite floating-point array, or raise a message naming the problem.

    Args:
        X: array-like input.
        name: what the array is called in the message, e.g. ``"X"``.
        where: who is checking, e.g. ``"Linear(2, 3).forward"``.
        ndim: required number of dimensions, or None for any.

    Returns:
        The same data as an ndarray; float arrays are passed through without a copy, integer and
        boolean arrays are converted to float64.
    """
    try:
        A = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{where}: {name} could not be turned into an array ({exc}).") from None
    if A.dtype.kind in "biu":
        A = A.astype(np.float64)
    elif A.dtype.kind != "f":
        raise TypeError(f"{where}: {name} must hold real numbers, got an array of dtype {A.dtype}.")
    if ndim is not None and A.ndim != ndim:
        hint = ""
        if ndim == 2 and A.ndim == 1:
            hint = (
                " Reshape your data: X.reshape(1, -1) if it is a single sample, "
                "X.reshape(-1, 1) if it has a single feature."
            )
        raise ValueError(
            f"{where}: expected {name} with {ndim} dimensions, got {A.ndim} "
            f"(shape {A.shape}).{hint}"
        )
    check_finite(A, name, where)
    return A


def check_features(X, n_in: int, where: str) -> np.ndarray:
    """X as a finite float batch (N, n_in), the input of a dense layer, or a clear error."""
    X = as_float_array(X, "X", where, ndim=2)
    if X.shape[1] != n_in:
        raise ValueError(
            f"{where}: X has {X.shape[1]} features per sample, but this layer expects {n_in}."
        )
    return X


def check_finite(A: np.ndarray, name: str, where: str) -> None:
    """Raise ValueError if ``A`` holds NaN or infinite values, saying where the first one is."""
    if not np.all(np.isfinite(A)):
        bad = np.argwhere(~np.isfinite(A))[0]
        index = tuple(int(i) for i in bad)
        raise ValueError(
            f"{where}: {name} contains NaN or infinite values "
            f"(the first at index {index} is {A[index]}). "
            "A diverging training run (learning rate too high) is a common cause."
        )


def check_positive_int(value, name: str, where: str) -> int:
    """Return ``value`` as an int if it is a positive integer, else raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where}: {name} must be a positive integer, got {value!r}.")
    if value <= 0:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value}.")
    return int(value)


def check_nonnegative_int(value, name: str, where: str) -> int:
    """Return ``value`` as an int if it is an integer >= 0, else raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where}: {name} must be a non-negative integer, got {value!r}.")
    if value < 0:
        raise ValueError(f"{where}: {name} must be a non-negative integer, got {value}.")
    return int(value)


def check_positive_number(value, name: str, where: str) -> float:
    """Return ``value`` as a float if it is a finite number > 0, else raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a positive number, got {value!r}.")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{where}: {name} must be a positive finite number, got {value}.")
    return float(value)


def check_nonnegative_number(value, name: str, where: str) -> float:
    """Return ``value`` as a float if it is a finite number >= 0, else raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a non-negative number, got {value!r}.")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{where}: {name} must be a finite number >= 0, got {value}.")
    return float(value)


def check_fraction(value, name: str, where: str) -> float:
    """Return ``value`` as a float if it lies in [0, 1), else raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a number in [0, 1), got {value!r}.")
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{where}: {name} must lie in [0, 1), got {value}.")
    return float(value)


def check_same_batch(predictions: np.ndarray, targets: np.ndarray, where: str) -> None:
    """Raise ValueError if predictions and targets disagree on the number of samples."""
    for name, A in (("predictions", predictions), ("targets", targets)):
        if A.ndim == 0:
            raise ValueError(
                f"{where}: {name} must be an array with one row per sample, got a scalar."
            )
    if predictions.shape[0] != targets.shape[0]:
        raise ValueError(
            f"{where}: predictions hold {predictions.shape[0]} samples but targets hold "
            f"{targets.shape[0]}; they must come from the same batch."
        )
