"""Loss functions: a scalar from a batch of predictions and targets, and its gradient.

Every loss follows the same form: ``forward(predictions, targets)`` returns the mean loss over the
batch as a float and remembers what it needs; ``backward()`` returns dL/d(predictions), an array of
the predictions' shape, which is where a network's backward pass starts.

Every loss raises ValueError for an empty batch (a mean over no samples has no value), for NaN
or infinite inputs, and for a loss too large to represent (predictions near 1e308). Loss values
are computed as sums of non-negative terms, so that they are accurate to the last few bits even
when they are tiny or the logits are huge.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array, as_labels, check_nonempty, check_same_batch
from .functional import log_softmax, sigmoid, softmax, softplus


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
        check_nonempty(P, name, where)
        check_nonempty(T, "targets", where)
        return P, T

    def _cached(self):
        if self._cache is None:
            raise RuntimeError(f"{self!r}.backward was called before forward.")
        return self._cache


def _mean(values: np.ndarray, where: str) -> float:
    """The mean of the per-element losses as a float, or a clear error if it overflows.

    Only predictions near the float range's end (|z| ~ 1e308 in float64, ~ 3e38 in float32), the
    mark of a diverged run, make the loss itself too large to represent."""
    with np.errstate(over="ignore"):  # overflow is turned into the error below
        value = np.mean(values)
    if not np.isfinite(value):
        raise ValueError(
            f"{where}: the loss is too large for {values.dtype} (it overflows to {value}); the "
            "predictions are far from the targets. A diverging training run is a common cause."
        )
    return float(value)


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
        with np.errstate(over="ignore"):  # an overflow gives inf, which _mean reports
            diff = Y_hat - Y
            squares = diff**2
        self._cache = diff
        return _mean(squares, repr(self))

    def backward(self) -> np.ndarray:
        diff = self._cached()
        return 2.0 * diff / diff.size


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy computed from logits z (not probabilities), for stability.

    With p = sigmoid(z) and targets t in [0, 1], since -log p = softplus(-z) and
    -log(1 - p) = softplus(z):
        L = mean(-t log p - (1 - t) log(1 - p)) = mean(t softplus(-z) + (1 - t) softplus(z)),
    which is finite for any finite z. Both terms are >= 0, so nothing cancels: the equal form
    softplus(z) - t z would lose all digits for z = 40, t = 1 (the answer is 4.25e-18, not 0).
    Gradient: dL/dz = (sigmoid(z) - t) / z.size.

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
        return _mean(t * softplus(-z) + (1.0 - t) * softplus(z), where)

    def backward(self) -> np.ndarray:
        z, t = self._cached()
        return (sigmoid(z) - t) / z.size


class SoftmaxCrossEntropy(Loss):
    """Softmax followed by cross-entropy, from logits Z and integer class labels y.

        L = mean_n [ logsumexp(Z_n) - Z_n[y_n] ] = -mean_n log_softmax(Z_n)[y_n],
    computed with ``log_softmax``, which subtracts the row maximum first, so it is finite and
    accurate for logits of any size (1e6 + 5 and 1e6 do not cancel digits away).
    Gradient: the error signal dL/dZ = (softmax(Z) - onehot(y)) / N.

    Shapes: logits Z (N, K); labels y (N,) or (N, 1), integers (or whole-number floats) in
    [0, K - 1]. Raises ValueError for other labels (naming the range) and for an empty batch.
    """

    def forward(self, predictions, targets) -> float:
        where = f"{self!r}"
        Z = as_float_array(predictions, "logits", where, ndim=2)
        check_nonempty(Z, "logits", where)  # also (N, 0): logits without any class
        y = as_labels(targets, "targets", where, n_classes=Z.shape[1])
        check_same_batch(Z, y, where)
        self._cache = (Z, y)
        N = Z.shape[0]
        return _mean(-log_softmax(Z, axis=1)[np.arange(N), y], where)

    def backward(self) -> np.ndarray:
        Z, y = self._cached()
        N = Z.shape[0]
        grad = softmax(Z, axis=1)
        grad[np.arange(N), y] -= 1.0
        return grad / N
