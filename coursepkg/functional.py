"""Numerically stable elementwise and row-wise functions used by activations and losses.

Infinite inputs give the mathematical limit wherever it exists: ``sigmoid(inf) = 1``,
``softplus(-inf) = 0``, ``logsumexp([-inf, -inf]) = -inf``, ``softmax([inf, 0]) = [1, 0]``. Where
the limit depends on how the entries got there (a softmax slice that is all ``-inf``, or holds
``+inf`` more than once) ``softmax`` and ``log_softmax`` raise a ValueError instead of returning
``nan``. These helpers do not validate NaN: a NaN input gives NaN in its own entry (sigmoid,
softplus) or its whole slice (logsumexp, softmax, log_softmax); the modules and losses that call
them reject NaN inputs with a clear message first.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_labels, check_positive_int


def _floating(Z) -> np.ndarray:
    """Z as an array of its own floating dtype (float32 stays float32), else float64."""
    Z = np.asarray(Z)
    return Z if Z.dtype.kind == "f" else Z.astype(np.float64)


def sigmoid(Z: np.ndarray) -> np.ndarray:
    """Logistic function 1 / (1 + exp(-Z)), any shape, without overflow for large |Z|.

    Like every function here it keeps a floating input's dtype (float32 stays float32).
    sigmoid(+inf) = 1 and sigmoid(-inf) = 0."""
    Z = _floating(Z)
    # exp(-|Z|) never overflows; the two branches are the same function rearranged.
    E = np.exp(-np.abs(Z))
    return np.where(Z >= 0, 1.0 / (1.0 + E), E / (1.0 + E))


def softplus(Z: np.ndarray) -> np.ndarray:
    """log(1 + exp(Z)), any shape, computed as max(Z, 0) + log1p(exp(-|Z|)).

    Both terms are >= 0, so nothing cancels: the result is accurate to the last bits even when it
    is tiny (softplus(-40) = 4.25e-18). softplus(+inf) = inf and softplus(-inf) = 0."""
    Z = _floating(Z)
    return np.maximum(Z, 0.0) + np.log1p(np.exp(-np.abs(Z)))


def _shift_by_max(Z: np.ndarray, axis: int):
    """Z shifted by its maximum m along ``axis``, for a floating array Z.

    Returns (m, finite, shifted): the maximum (``axis`` kept as length 1; may be +-inf or nan),
    where m is finite (only there is ``shifted`` meaningful), and Z - m (<= 0, so exp never
    overflows), of Z's shape.
    """
    m = np.max(Z, axis=axis, keepdims=True)
    finite = np.isfinite(m)
    # Slices whose maximum is infinite or nan are answered by the callers from m alone; shifting
    # them by 0 instead of m avoids inf - inf = nan and the RuntimeWarning that comes with it.
    # A difference beyond the float range (1e308 - (-1e308)) rounds to -inf, and exp(-inf) = 0
    # is then the right answer, so that overflow is expected here and not worth a warning.
    with np.errstate(over="ignore"):
        shifted = np.where(finite, Z - np.where(finite, m, 0.0), 0.0).astype(Z.dtype, copy=False)
    return m, finite, shifted


def _sum_exp_without_max(Z: np.ndarray, shifted: np.ndarray, axis: int) -> np.ndarray:
    """sum(exp(Z - m)) - 1 along ``axis`` (kept as length 1), summed without the maximum's own
    term exp(0) = 1, so that log1p of it stays accurate when the other terms are tiny."""
    E = np.exp(shifted)
    np.put_along_axis(E, np.argmax(Z, axis=axis, keepdims=True), 0.0, axis=axis)
    return np.sum(E, axis=axis, keepdims=True)


def logsumexp(Z: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """log(sum(exp(Z), axis)), shifted by the maximum m so that no exponential overflows.

    Computed as m + log1p(sum of exp(Z - m) over the other entries). Limits: a slice that is all
    -inf gives -inf, a slice holding +inf gives +inf. Shape: Z's shape without ``axis``
    (kept as length 1 if ``keepdims``).
    """
    Z = _floating(Z)
    if axis is None:  # over all entries, as np.sum(axis=None) does
        out = logsumexp(Z.reshape(-1), axis=0)
        return out.reshape((1,) * Z.ndim) if keepdims else out
    m, finite, shifted = _shift_by_max(Z, axis)
    rest = _sum_exp_without_max(Z, shifted, axis)
    # Where m is not finite the maximum alone is the answer: -inf (all -inf) or +inf.
    out = np.where(finite, m + np.log1p(rest), m)
    return out if keepdims else np.squeeze(out, axis=axis)


def _check_softmax_limit(Z: np.ndarray, m: np.ndarray, finite: np.ndarray, axis: int, where: str):
    """Raise ValueError for the slices whose softmax has no limit (all -inf, or +inf twice)."""
    if np.all(finite):
        return
    if np.any(m == -np.inf):
        raise ValueError(
            f"{where}: a slice along axis {axis} is all -inf, where softmax is 0 / 0 and has no "
            "value. Give every slice at least one entry > -inf."
        )
    if np.any(np.sum(Z == np.inf, axis=axis) > 1):
        raise ValueError(
            f"{where}: a slice along axis {axis} holds +inf more than once; how the probability "
            "is shared between the infinite entries is undefined. Use finite values."
        )


def log_softmax(Z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Z - logsumexp(Z): log-probabilities, shape of ``Z``.

    Computed as (Z - m) - log1p(sum of exp(Z - m) over the other entries): subtracting the
    maximum first keeps the result accurate for logits as large as 1e6. Limits: -inf entries
    give -inf; a single +inf in a slice gives 0 there and -inf elsewhere. Raises ValueError for
    a slice that is all -inf or holds +inf more than once (no limit exists).
    """
    Z = _floating(Z)
    m, finite, shifted = _shift_by_max(Z, axis)
    _check_softmax_limit(Z, m, finite, axis, "log_softmax")
    out = shifted - np.log1p(_sum_exp_without_max(Z, shifted, axis))
    if not np.all(finite):  # slices with one +inf (or nan, which stays nan)
        limit = np.where(Z == np.inf, 0.0, -np.inf)
        limit = np.where(np.isnan(m), np.nan, limit)  # a NaN makes its whole slice NaN
        out = np.where(finite, out, limit.astype(Z.dtype, copy=False))
    return out


def softmax(Z: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(Z) / sum(exp(Z)) along ``axis``: probabilities that sum to one, shape of ``Z``.

    Limits: -inf entries get probability 0; a single +inf in a slice gets probability 1. Raises
    ValueError for a slice that is all -inf or holds +inf more than once (no limit exists).
    """
    Z = _floating(Z)
    m, finite, shifted = _shift_by_max(Z, axis)
    _check_softmax_limit(Z, m, finite, axis, "softmax")
    E = np.exp(shifted)
    out = E / np.sum(E, axis=axis, keepdims=True)
    if not np.all(finite):  # slices with one +inf (or nan, which stays nan)
        limit = np.where(Z == np.inf, 1.0, 0.0)
        limit = np.where(np.isnan(m), np.nan, limit)  # a NaN makes its whole slice NaN
        out = np.where(finite, out, limit.astype(Z.dtype, copy=False))
    return out


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Class labels (N,) or (N, 1) -> one-hot matrix (N, n_classes) of float64.

    Labels follow the package's one rule (see ``_validation.as_labels``): integers, or whole
    numbers stored as floats, in [0, n_classes - 1]. Raises ValueError (naming the valid range)
    or TypeError otherwise.
    """
    where = "one_hot"
    n_classes = check_positive_int(n_classes, "n_classes", where)
    y = as_labels(labels, "labels", where, n_classes=n_classes)
    Y = np.zeros((len(y), n_classes))
    Y[np.arange(len(y)), y] = 1.0
    return Y
