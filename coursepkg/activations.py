"""Elementwise activation functions ``A = phi(Z)`` with their derivatives.

Each activation says what ``phi`` and ``phi'`` are; the shared ``Activation`` base does the rest:
forward remembers Z and A, backward applies the chain rule ``grad_Z = grad_A * phi'(Z)``.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array
from .functional import sigmoid
from .module import Module


class Activation(Module):
    """Base for elementwise activations. Shapes: Z (any) -> A (same shape)."""

    def __init__(self):
        self._Z = None
        self._A = None

    def phi(self, Z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def phi_prime(self, Z: np.ndarray, A: np.ndarray) -> np.ndarray:
        """Derivative dA/dZ, given both Z and A = phi(Z) (whichever is cheaper to use)."""
        raise NotImplementedError

    def forward(self, Z: np.ndarray) -> np.ndarray:
        Z = as_float_array(Z, "Z", f"{self!r}.forward")
        self._Z = Z
        self._A = self.phi(Z)
        return self._A

    def backward(self, grad_A: np.ndarray) -> np.ndarray:
        Z = self._Z
        grad_A = self._check_grad_out(Z, grad_A, None if Z is None else Z.shape)
        return grad_A * self.phi_prime(Z, self._A)


class Sigmoid(Activation):
    """phi(z) = 1 / (1 + exp(-z)); phi'(z) = phi(z) (1 - phi(z))."""

    def phi(self, Z):
        return sigmoid(Z)

    def phi_prime(self, Z, A):
        return A * (1.0 - A)


class Tanh(Activation):
    """phi(z) = tanh(z); phi'(z) = 1 - tanh(z)^2."""

    def phi(self, Z):
        return np.tanh(Z)

    def phi_prime(self, Z, A):
        return 1.0 - A**2


class ReLU(Activation):
    """phi(z) = max(z, 0); phi'(z) = 1 for z > 0 and 0 otherwise (0 at the kink, by convention)."""

    def phi(self, Z):
        return np.maximum(Z, 0.0)

    def phi_prime(self, Z, A):
        return Z > 0  # booleans act as 1.0 and 0.0 in the product grad_A * phi_prime


class Arctan(Activation):
    """phi(z) = arctan(z); phi'(z) = 1 / (1 + z^2)."""

    def phi(self, Z):
        return np.arctan(Z)

    def phi_prime(self, Z, A):
        # (1 / hypot(1, z))^2 equals 1 / (1 + z^2) but never forms z^2, which overflows for
        # |z| > 1e154 (float64) or 1e19 (float32); the square of a tiny number just underflows to 0.
        return (1.0 / np.hypot(1.0, Z)) ** 2
