"""Flatten: turn each sample's feature maps into one vector, for the dense layers that follow."""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array
from .module import Module


class Flatten(Module):
    """Shapes: X (N, d1, d2, ...) -> (N, d1 * d2 * ...); backward reshapes the gradient back."""

    def __init__(self):
        self._shape = None

    def forward(self, X: np.ndarray) -> np.ndarray:
        X = as_float_array(X, "X", f"{self!r}.forward")
        if X.ndim < 2:
            raise ValueError(
                f"{self!r}.forward: expected a batch of shape (N, ...), got shape {X.shape}."
            )
        self._shape = X.shape
        # The explicit width keeps an empty batch working: reshape(0, -1) cannot infer it.
        return X.reshape(X.shape[0], int(np.prod(X.shape[1:])))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        shape = self._shape
        expected = None if shape is None else (shape[0], int(np.prod(shape[1:])))
        grad_out = self._check_grad_out(shape, grad_out, expected)
        return grad_out.reshape(shape)
