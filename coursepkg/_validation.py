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


def check_nonempty(A: np.ndarray, name: str, where: str) -> None:
    """Raise ValueError if ``A`` holds no elements: a mean over an empty batch has no value."""
    if A.size == 0:
        raise ValueError(
            f"{where}: {name} is empty (shape {A.shape}); a loss or metric needs at least one "
            "sample. Check the slicing that made it (an empty validation set, say)."
        )


def as_labels(labels, name: str, where: str, *, n_classes: int | None = None) -> np.ndarray:
    """Class labels as an int64 array of shape (N,), or raise a message naming the problem.

    The one rule for every function that takes class labels (losses, metrics, ``one_hot``):
      * shape (N,) or (N, 1); a (N, K) matrix is refused with a hint for one-hot targets;
      * an integer or boolean dtype, or floats that are whole numbers (2.0 is class 2);
      * values in [0, n_classes - 1] (checked when ``n_classes`` is given).

    Raises:
        TypeError: for any other dtype (strings, objects, complex numbers).
        ValueError: for another shape, NaN or infinite values, non-integer values, or labels
            outside [0, n_classes - 1] (the message names the valid range).
    """
    y = np.asarray(labels)
    if y.dtype.kind not in "biuf":
        raise TypeError(f"{where}: {name} must be integer class labels, got dtype {y.dtype}.")
    if not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
        hint = " For one-hot targets Y use Y.argmax(axis=1)." if y.ndim == 2 else ""
        raise ValueError(
            f"{where}: {name} must be integer class labels of shape (N,) or (N, 1), got shape "
            f"{y.shape}.{hint}"
        )
    y = y.reshape(-1)
    if y.dtype.kind == "f":  # whole numbers stored as floats are accepted
        check_finite(y, name, where)
        fractional = y != np.round(y)
        if np.any(fractional):
            raise ValueError(
                f"{where}: {name} must be integer class labels, got the non-integer value "
                f"{y[fractional][0]}. Pass labels 0, 1, ..., K - 1 of shape (N,)."
            )
    # Check the range before converting, so that a float label like 1e300 is reported, not cast.
    if n_classes is not None and y.size and (y.min() < 0 or y.max() >= n_classes):
        lo, hi = (int(v) if abs(v) < 2**62 else v for v in (y.min(), y.max()))
        raise ValueError(
            f"{where}: {name} must lie in [0, {n_classes - 1}] for {n_classes} classes, "
            f"got labels from {lo} to {hi}."
        )
    if y.dtype.kind == "f" and y.size and np.max(np.abs(y)) >= 2**62:
        raise ValueError(f"{where}: {name} must be class labels, got the value {y.max()}.")
    return y.astype(np.int64)
