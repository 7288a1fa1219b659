"""Loss functions: a scalar from a batch of predictions and targets, and its gradient.

Every loss follows the same form: ``forward(predictions, targets)`` returns the mean loss over the
batch as a float and remembers what it needs; ``backward()`` returns dL/d(predictions), an array of
the predictions' shape, which is where a network's backward pass starts.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array, check_finite, check_same_batch
from .functional import logsumexp, sigmoid, softmax, softplus


class Loss:
    """Base class of losses."""

    def __init__(self):
        self._cache = None

    def forward(self, predictions: np.ndarray, targets: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, predictions: np.ndarray, targets: np.ndarray) -> float:
        return self.forward(predictions, targets)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def _float_batch(self, predictions, targets, name: str = "predictions"):
        """Both arrays as finite floats with one row per sample and the same batch size."""
        where = repr(self)
        P = as_float_array(predictions, name, where)
        T = as_float_array(targets, "targets", where)
        check_same_batch(P, T, where)
        return P, T

    def _cached(self):
        if self._cache is None:
            raise RuntimeError(f"{self!r}.backward was called before forward.")
        return self._cache


class MeanSquaredError(Loss):
    """L = mean over all elements of (Y_hat - Y)^2.

    Shapes: predictions Y_hat (N,) or (N, D); targets Y of the same shape.
    Gradient: dL/dY_hat = 2 (Y_hat - Y) / Y_hat.size.
    """

    def forward(self, predictions, targets) -> float:
        Y_hat, Y = self._float_batch(predictions, targets)
        if Y_hat.shape != Y.shape:
            raise ValueError(
                f"{self!r}: predictions have shape {Y_hat.shape} but targets have shape "
                f"{Y.shape}; reshape the targets, e.g. y.reshape(-1, 1)."
            )
        diff = Y_hat - Y
        self._cache = diff
        return float(np.mean(diff**2))

    def backward(self) -> np.ndarray:
        diff = self._cached()
        return 2.0 * diff / diff.size


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy computed from logits z (not probabilities), for stability.

    With p = sigmoid(z) and targets t in [0, 1]:
        L = mean(-t log p - (1 - t) log(1 - p)) = mean(softplus(z) - t z),
    which is finite for any finite z. Gradient: dL/dz = (sigmoid(z) - t) / z.size.

    Shapes: logits (N,) or (N, 1); targets of the same number of elements per sample.
    """

    def forward(self, predictions, targets) -> float:
        where = repr(self)
        z, t = self._float_batch(predictions, targets, "logits")
        if z.size != t.size:
            raise ValueError(
                f"{where}: logits have shape {z.shape} but targets have shape {t.shape}."
            )
        t = t.reshape(z.shape)
        if np.any((t < 0) | (t > 1)):
            raise ValueError(
                f"{where}: targets must lie in [0, 1] (class labels 0 and 1), "
                f"got values from {t.min()} to {t.max()}."
            )
        self._cache = (z, t)
        return float(np.mean(softplus(z) - t * z))

    def backward(self) -> np.ndarray:
        z, t = self._cached()
        return (sigmoid(z) - t) / z.size


class SoftmaxCrossEntropy(Loss):
    """Softmax followed by cross-entropy, from logits Z and integer class labels y.

        L = mean_n [ logsumexp(Z_n) - Z_n[y_n] ],
    computed with log-sum-exp, so it is finite for logits of any size.
    Gradient: the error signal dL/dZ = (softmax(Z) - onehot(y)) / N.

    Shapes: logits Z (N, K); labels y (N,) of integers in [0, K).
    """

    def forward(self, predictions, targets) -> float:
        where = f"{self!r}"
        Z = as_float_array(predictions, "logits", where, ndim=2)
        y = np.asarray(targets)
        if y.ndim != 1:
            raise ValueError(
                f"{where}: targets must be integer class labels of shape (N,), got shape "
                f"{y.shape}. For one-hot targets Y use Y.argmax(axis=1)."
            )
        if y.dtype.kind == "f":  # whole numbers stored as floats are accepted
            check_finite(y, "targets", where)
            fractional = y != np.round(y)
            if np.any(fractional):
                raise ValueError(
                    f"{where}: targets must be integer class labels, got the non-integer "
                    f"value {y[fractional][0]}. Pass labels 0, 1, ..., K - 1 of shape (N,)."
                )
            y = y.astype(np.int64)
        elif y.dtype.kind not in "iu":
            raise TypeError(f"{where}: targets must be integer class labels, got dtype {y.dtype}.")
        check_same_batch(Z, y, where)
        K = Z.shape[1]
        if y.size and (y.min() < 0 or y.max() >= K):
            raise ValueError(
                f"{where}: labels must lie in [0, {K - 1}] for logits with {K} classes, "
                f"got labels from {y.min()} to {y.max()}."
            )
        self._cache = (Z, y)
        N = Z.shape[0]
        return float(np.mean(logsumexp(Z, axis=1) - Z[np.arange(N), y]))

    def backward(self) -> np.ndarray:
        Z, y = self._cached()
        N = Z.shape[0]
        grad = softmax(Z, axis=1)
        grad[np.arange(N), y] -= 1.0
        return grad / N
