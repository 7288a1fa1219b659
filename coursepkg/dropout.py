"""Dropout: while training, zero each input at random and scale up the rest.

Srivastava et al. (2014) drop units with probability p while training and multiply the
weights by 1 - p at test time. Like PyTorch's ``nn.Dropout`` we use *inverted* dropout: the
kept values are divided by 1 - p while training, so that every value keeps its expected size,
E[mask * x] = x, and evaluation is the identity, with nothing to rescale.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array, check_fraction
from .module import Module


class Dropout(Module):
    """Inverted dropout, PyTorch's convention: ``Y = X * M / (1 - p)`` while training.

    In training mode each entry of M is 0 with probability p and 1 otherwise, drawn anew at every
    forward pass and independently for every entry; in evaluation mode (``eval()``) ``Y = X``.
    The backward pass multiplies the gradient by the same mask: dL/dX = dL/dY * M / (1 - p).

    Shapes: X (N, ...) of any shape -> Y of the same shape and dtype.

    Args:
        p: the probability of dropping an entry, in [0, 1); p = 0 changes nothing.
        rng: seed or ``numpy.random.Generator`` of the masks.

    Attributes:
        mask: the last training-mode scaled mask M / (1 - p) (entries 0 or 1 / (1 - p)), or
            None after an evaluation-mode forward pass.

    Raises:
        TypeError, ValueError: p not a number in [0, 1) (p = 1 would drop everything and
            divide by zero); X not a finite real array with a batch axis.

    Sources: N. Srivastava et al., "Dropout: a simple way to prevent neural networks from
    overfitting", JMLR 15 (2014); PyTorch's ``torch.nn.Dropout``.
    """

    def __init__(self, p: float = 0.5, *, rng=None):
        self.p = check_fraction(p, "p (the probability of dropping an entry)", "Dropout")
        self.rng = np.random.default_rng(rng)
        self.mask = None
        self._shape = None

    def forward(self, X: np.ndarray) -> np.ndarray:
        X = as_float_array(X, "X", f"{self!r}.forward")
        if X.ndim < 1:
            raise ValueError(f"{self!r}.forward: expected a batch of shape (N, ...), got a scalar.")
        self._shape = X.shape
        if not self.training:
            self.mask = None
            return X
        u = self.rng.random(X.shape)  # one uniform draw per entry
        # The scale in X's dtype, so that float32 inputs stay float32.
        self.mask = (u >= self.p).astype(X.dtype) * X.dtype.type(1.0 / (1.0 - self.p))
        return self.mask * X

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad_out = self._check_grad_out(self._shape, grad_out, self._shape)
        if self.mask is None:  # the last forward pass ran in evaluation mode: the identity
            return grad_out
        return grad_out * self.mask

    def __repr__(self) -> str:
        return f"Dropout(p={self.p:g})"
