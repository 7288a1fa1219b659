"""The fully connected (affine) layer ``Z = X @ W + b``."""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array, check_features, check_positive_int
from .module import Module, Parameter

INITIALIZATIONS = ("xavier", "he", "zeros")


class Linear(Module):
    """Affine layer ``Z = X @ W + b``.

    Shapes:
        X: (N, n_in) -> Z: (N, n_out); W: (n_in, n_out); b: (n_out,).

    Args:
        n_in: number of input features.
        n_out: number of output units.
        rng: seed or ``numpy.random.Generator`` for the initial weights.
        init: ``"xavier"`` (normal, variance 2 / (n_in + n_out), for tanh and sigmoid),
            ``"he"`` (normal, variance 2 / n_in, for ReLU) or ``"zeros"``. Biases start at zero.
        dtype: floating dtype of the parameters.
    """

    def __init__(self, n_in: int, n_out: int, *, rng=None, init: str = "xavier", dtype=np.float64):
        self.n_in = check_positive_int(n_in, "n_in (number of input features)", "Linear")
        self.n_out = check_positive_int(n_out, "n_out (number of units)", "Linear")
        if init not in INITIALIZATIONS:
            raise ValueError(f"Linear: init must be one of {INITIALIZATIONS}, got {init!r}.")
        rng = np.random.default_rng(rng)
        if init == "xavier":
            std = np.sqrt(2.0 / (n_in + n_out))
        elif init == "he":
            std = np.sqrt(2.0 / n_in)
        else:
            std = 0.0
        W = (std * rng.standard_normal((n_in, n_out))).astype(dtype)
        self.W = Parameter(W, "W")
        self.b = Parameter(np.zeros(n_out, dtype=dtype), "b")
        self._X = None

    @classmethod
    def from_weights(cls, W, b) -> Linear:
        """A layer with the given weights (n_in, n_out) and biases (n_out,), e.g. set by hand."""
        W = as_float_array(W, "W", "Linear.from_weights", ndim=2)
        b = as_float_array(b, "b", "Linear.from_weights", ndim=1)
        if b.shape[0] != W.shape[1]:
            raise ValueError(
                f"Linear.from_weights: W has shape {W.shape}, so b needs shape ({W.shape[1]},), "
                f"got {b.shape}."
            )
        layer = cls(W.shape[0], W.shape[1], init="zeros", dtype=W.dtype)
        layer.W.value[...] = W
        layer.b.value[...] = b
        return layer

    def forward(self, X: np.ndarray) -> np.ndarray:
        X = check_features(X, self.n_in, f"{self!r}.forward")
        self._X = X
        return X @ self.W.value + self.b.value

    def backward(self, grad_Z: np.ndarray) -> np.ndarray:
        X = self._X
        grad_Z = self._check_grad_out(X, grad_Z, (0 if X is None else X.shape[0], self.n_out))
        self.W.grad += X.T @ grad_Z  # dL/dW = X^T dL/dZ, summed over the batch
        self.b.grad += grad_Z.sum(axis=0)  # b is added to every row
        return grad_Z @ self.W.value.T  # dL/dX = dL/dZ W^T

    def parameters(self) -> list[Parameter]:
        return [self.W, self.b]

    def __repr__(self) -> str:
        return f"Linear({self.n_in}, {self.n_out})"
