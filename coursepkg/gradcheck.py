"""Gradient checking by central finite differences.

For a module f, pick a fixed random array R of the output's shape and check the scalar
L(X, theta) = sum(R * f(X)). Its analytic gradient is what ``backward(R)`` returns for X and
accumulates for each parameter; its numerical gradient is, element by element,

    dL/du ~ (L(u + eps) - L(u - eps)) / (2 eps),

whose error is O(eps^2). Each array is compared with the relative error
||analytic - numerical|| / max(||analytic||, ||numerical||), which is about 1e-10 for a correct
float64 backward pass and about 1e-2 or worse for a wrong one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .losses import Loss
from .module import Module


def relative_error(analytic: np.ndarray, numerical: np.ndarray) -> float:
    """||a - n|| / max(||a||, ||n||), and 0 when both are exactly zero."""
    scale = max(np.linalg.norm(analytic), np.linalg.norm(numerical))
    if scale == 0.0:
        return 0.0
    return float(np.linalg.norm(analytic - numerical) / scale)


@dataclass
class GradCheckResult:
    """Relative errors of a gradient check, one per checked array (input and parameters)."""

    errors: dict[str, float] = field(default_factory=dict)

    @property
    def max_error(self) -> float:
        """The worst relative error over all checked arrays."""
        return max(self.errors.values())

    @property
    def worst(self) -> str:
        """Name of the array with the worst relative error."""
        return max(self.errors, key=self.errors.get)

    def __str__(self) -> str:
        lines = [f"{name:>14s}: relative error {err:.2e}" for name, err in self.errors.items()]
        lines.append(f"{'worst':>14s}: {self.max_error:.2e} ({self.worst})")
        return "\n".join(lines)


def numerical_gradient(f, u: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar function ``f()`` with respect to ``u``.

    ``u`` is changed in place, one element at a time, and restored afterwards. Elements are
    indexed directly (not through ``u.reshape(-1)``, which copies a non-contiguous array such as
    ``X.T``, so that the perturbation would never reach ``f``).
    Shapes: u (any) -> gradient of the same shape.
    """
    grad = np.zeros_like(u)
    for i in np.ndindex(u.shape):
        original = u[i]
        u[i] = original + eps
        f_plus = f()
        u[i] = original - eps
        f_minus = f()
        u[i] = original
        grad[i] = (f_plus - f_minus) / (2.0 * eps)
    return grad


def _require_float64(X: np.ndarray, where: str) -> np.ndarray:
    X = np.array(X)  # a copy we may perturb
    if X.dtype != np.float64:
        raise TypeError(
            f"{where}: finite differences need float64 to reach small errors, "
            f"got {X.dtype}. Use X.astype(np.float64) and a float64 module."
        )
    return X


def grad_check(module: Module, X: np.ndarray, *, eps: float = 1e-6, seed=0) -> GradCheckResult:
    """Check ``module``'s input and parameter gradients on the batch ``X``.

    Args:
        module: any Module with float64 parameters.
        X: float64 input batch, shape as ``module.forward`` expects.
        eps: finite-difference step.
        seed: seed of the random output weights R.

    Returns:
        A GradCheckResult with the relative error for ``"input"`` and each parameter
        (named ``"param <index> (<name>)"``, e.g. ``"param 0 (W)"``).
    """
    X = _require_float64(X, "grad_check")
    for p in module.parameters():
        if p.value.dtype != np.float64:
            raise TypeError(f"grad_check: parameter {p.name} is {p.value.dtype}, not float64.")
    out = module.forward(X)
    R = np.random.default_rng(seed).standard_normal(out.shape)

    def L() -> float:
        return float(np.sum(R * module.forward(X)))

    module.zero_grad()
    module.forward(X)
    result = GradCheckResult()
    result.errors["input"] = relative_error(module.backward(R), numerical_gradient(L, X, eps))
    analytic = [p.grad.copy() for p in module.parameters()]
    for i, (p, g) in enumerate(zip(module.parameters(), analytic, strict=True)):
        result.errors[f"param {i} ({p.name})"] = relative_error(
            g, numerical_gradient(L, p.value, eps)
        )
    return result


def grad_check_loss(loss: Loss, predictions: np.ndarray, targets, *, eps: float = 1e-6) -> float:
    """Relative error between ``loss.backward()`` and finite differences of ``loss.forward``.

    Shapes: predictions as the loss expects, e.g. (N, K) logits; targets to match.
    """
    predictions = _require_float64(predictions, "grad_check_loss")
    loss.forward(predictions, targets)
    analytic = loss.backward()
    numerical = numerical_gradient(lambda: loss.forward(predictions, targets), predictions, eps)
    return relative_error(analytic, numerical)
