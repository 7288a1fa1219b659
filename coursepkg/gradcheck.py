"""Gradient checking by central finite differences.

For a module f, pick a fixed random array R of the output's shape and check the scalar
L(X, theta) = sum(R * f(X)). Its analytic gradient is what ``backward(R)`` returns for X and
accumulates for each parameter; its numerical gradient is, element by element,

    dL/du ~ (L(u + eps) - L(u - eps)) / (2 eps),

whose error is O(eps^2). Each array is compared with the relative error
||analytic - numerical|| / max(||analytic||, ||numerical||), which is about 1e-10 for a correct
float64 backward pass and about 1e-2 or worse for a wrong one.

Finite differences assume the function is differentiable between u - eps and u + eps. Near a kink
(ReLU at 0, a tie in max pooling) they are wrong even for a correct backward pass: ReLU at
exactly 0 gives (eps - 0) / (2 eps) = 1/2 where the backward pass says 0 or 1. The check spots
such entries because there the one-sided differences (L(u + eps) - L(u)) / eps and
(L(u) - L(u - eps)) / eps disagree by an amount that does not shrink with eps; ``grad_check``
lists them and the error over the other entries, without changing the errors themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validation import check_finite, check_positive_number
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
    """Relative errors of a gradient check, one per checked array (input and parameters).

    Attributes:
        errors: array name -> relative error over all its entries.
        kinks: array name -> indices of the entries that lie within eps of a point where the
            function is not differentiable (only arrays that have such entries). Finite
            differences are not valid there, so a large error there does not mean a bug.
        errors_away_from_kinks: array name -> relative error over the other entries (None if
            every entry is at a kink); only for the arrays listed in ``kinks``.
    """

    errors: dict[str, float] = field(default_factory=dict)
    kinks: dict[str, list[tuple[int, ...]]] = field(default_factory=dict)
    errors_away_from_kinks: dict[str, float | None] = field(default_factory=dict)

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
        for name, where in self.kinks.items():
            away = self.errors_away_from_kinks[name]
            rest = "" if away is None else f"; away from them: relative error {away:.2e}"
            lines.append(
                f"note: {len(where)} entries of {name} (the first at index {where[0]}) lie within "
                f"eps of a kink: the one-sided differences disagree there{rest}"
            )
        if self.kinks:
            lines.append(
                "Finite differences are not valid at a kink (e.g. ReLU at 0, ties in max "
                "pooling), so the error there says nothing about backward. Check again with "
                "inputs away from the kink (or, if there is no kink, with a smaller eps: the "
                "function curves too sharply for this step)."
            )
        return "\n".join(lines)


def numerical_gradient(f, u: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar function ``f()`` with respect to ``u``.

    ``u`` is changed in place, one element at a time, and restored afterwards. Elements are
    indexed directly (not through ``u.reshape(-1)``, which copies a non-contiguous array such as
    ``X.T``, so that the perturbation would never reach ``f``).
    Shapes: u (any) -> gradient of the same shape.

    Raises:
        TypeError: ``u`` is not a float64 NumPy array. An integer array cannot hold u + eps (it
            is rounded back, so the result is off by a factor of about 1/eps) and float32 keeps
            too few digits for a step of 1e-6.
        ValueError: ``u`` is read-only or holds NaN or infinite values; ``eps`` is not a
            positive finite number.
    """
    where = "numerical_gradient"
    _check_perturbable(u, "u", where)
    eps = check_positive_number(eps, "eps", where)
    return _finite_differences(f, u, eps)[0]


def _check_perturbable(u, name: str, where: str) -> None:
    """Raise unless ``u`` is a writable, finite float64 ndarray that can be nudged in place."""
    if not isinstance(u, np.ndarray):
        raise TypeError(
            f"{where}: {name} must be the NumPy array that f reads (it is changed in place), "
            f"got a {type(u).__name__}."
        )
    if u.dtype != np.float64:
        raise TypeError(
            f"{where}: finite differences need float64 to reach small errors, got {u.dtype} "
            f"for {name}. Use a float64 array, e.g. {name} = {name}.astype(np.float64), and "
            "let f read that array."
        )
    if not u.flags.writeable:
        raise ValueError(f"{where}: {name} is read-only, but it must be changed in place.")
    check_finite(u, name, where)


def _finite_differences(f, u: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """The central-difference gradient of ``f()`` with respect to ``u`` and a boolean mask, of
    the shape of ``u``, of the entries within ``eps`` of a kink.

    At a smooth point the one-sided slopes (f(u + eps) - f(u)) / eps and (f(u) - f(u - eps)) / eps
    differ by about eps * f''(u), a millionth of the slope for eps = 1e-6. Across a kink they
    differ by the jump of the slope, whatever eps is. An entry is flagged when the gap exceeds
    sqrt(eps) times the largest slope of the array, plus an allowance for rounding in f.
    """
    unit_roundoff = np.finfo(np.float64).eps
    grad = np.zeros_like(u)
    gap = np.zeros_like(u)  # |forward slope - backward slope|
    slope = np.zeros_like(u)  # the larger one-sided slope, in absolute value
    rounding = np.zeros_like(u)  # how much of the gap rounding in f alone can explain
    f_0 = f()
    for i in np.ndindex(u.shape):
        original = u[i]
        u[i] = original + eps
        f_plus = f()
        u[i] = original - eps
        f_minus = f()
        u[i] = original
        grad[i] = (f_plus - f_minus) / (2.0 * eps)
        gap[i] = abs(f_plus - 2.0 * f_0 + f_minus) / eps
        slope[i] = max(abs(f_plus - f_0), abs(f_0 - f_minus)) / eps
        rounding[i] = 10.0 * unit_roundoff * (abs(f_plus) + 2.0 * abs(f_0) + abs(f_minus)) / eps
    at_kink = gap > np.sqrt(eps) * np.max(slope, initial=0.0) + rounding
    return grad, at_kink


def _require_float64(X, name: str, where: str) -> np.ndarray:
    """A float64 copy of ``X`` (which the check may perturb), or a clear error: the same rules
    as ``numerical_gradient``'s (see ``_check_perturbable``), and at least one element."""
    X = np.array(X)
    _check_perturbable(X, name, where)
    if X.size == 0:
        raise ValueError(
            f"{where}: {name} is empty (shape {X.shape}); a gradient check needs at least one "
            "sample."
        )
    return X


def grad_check(module: Module, X: np.ndarray, *, eps: float = 1e-6, seed=0) -> GradCheckResult:
    """Check ``module``'s input and parameter gradients on the batch ``X``.

    Args:
        module: any Module with float64 parameters.
        X: float64 input batch, shape as ``module.forward`` expects, at least one sample.
        eps: finite-difference step, a positive number.
        seed: seed of the random output weights R.

    Returns:
        A GradCheckResult with the relative error for ``"input"`` and each parameter
        (named ``"param <index> (<name>)"``, e.g. ``"param 0 (W)"``), and the entries that lie
        within eps of a kink (see the module docstring), where finite differences are not valid.

    Raises:
        TypeError: X or a parameter is not float64 (e.g. an integer or float32 array).
        ValueError: X is empty; eps is not a positive finite number.
    """
    X = _require_float64(X, "X", "grad_check")
    eps = check_positive_number(eps, "eps", "grad_check")
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
    analytic = {"input": module.backward(R)}
    for i, p in enumerate(module.parameters()):
        analytic[f"param {i} ({p.name})"] = p.grad.copy()
    perturbed = [X] + [p.value for p in module.parameters()]
    for (name, a), u in zip(analytic.items(), perturbed, strict=True):
        numerical, at_kink = _finite_differences(L, u, eps)
        result.errors[name] = relative_error(a, numerical)
        if np.any(at_kink):
            result.kinks[name] = [tuple(int(j) for j in k) for k in np.argwhere(at_kink)]
            smooth = ~at_kink
            result.errors_away_from_kinks[name] = (
                relative_error(a[smooth], numerical[smooth]) if np.any(smooth) else None
            )
    return result


def grad_check_loss(loss: Loss, predictions: np.ndarray, targets, *, eps: float = 1e-6) -> float:
    """Relative error between ``loss.backward()`` and finite differences of ``loss.forward``.

    Shapes: predictions as the loss expects, e.g. (N, K) logits; targets to match.

    Raises:
        TypeError: predictions are not float64 (e.g. an integer or float32 array).
        ValueError: predictions are empty; eps is not a positive finite number.
    """
    predictions = _require_float64(predictions, "predictions", "grad_check_loss")
    eps = check_positive_number(eps, "eps", "grad_check_loss")
    loss.forward(predictions, targets)
    analytic = loss.backward()
    numerical = numerical_gradient(lambda: loss.forward(predictions, targets), predictions, eps)
    return relative_error(analytic, numerical)
