"""The last-layer Laplace approximation for a binary classifier with one output logit.

The network is split into a fixed feature map and its last layer, ``Linear(n_hidden, 1)``:

    z = phi(x)^T w,   p(y = 1 | x, w) = sigmoid(z),

where phi(x) (D = n_hidden + 1 entries) is the output of every module before the last one with
a 1 appended, and w stacks the last layer's weights and bias. Only w is treated as uncertain.
With labels t_n in {0, 1}, p_n = sigmoid(phi_n^T w) and a Gaussian prior N(0, I / lambda), the
negative log posterior is, up to a constant,

    E(w) = sum_n [ softplus(z_n) - t_n z_n ] + (lambda / 2) w^T w,

    grad E(w) = sum_n (p_n - t_n) phi_n + lambda w,

    H(w) = sum_n p_n (1 - p_n) phi_n phi_n^T + lambda I,

because d softplus(z) / dz = sigmoid(z) = p, d p / dz = p (1 - p), and z_n is linear in w (the
term -t_n z_n has no curvature). So for the last layer the Hessian is exact and needs no
approximation, and it is positive definite for any lambda > 0.

The Laplace approximation (MacKay 1992; Bishop 2006, sec. 4.4 and 5.7) expands log p(w | D) to
second order around its mode w_MAP, where the gradient vanishes:

    log p(w | D) ~ log p(w_MAP | D) - 1/2 (w - w_MAP)^T H (w - w_MAP),

which is the log of the Gaussian q(w) = N(w_MAP, Sigma) with Sigma = H^-1. Under q the logit
z = phi^T w is Gaussian too, with mean mu = phi^T w_MAP and variance s^2 = phi^T Sigma phi, and
the predictive probability int sigmoid(z) N(z; mu, s^2) dz has the probit approximation
(MacKay 1992; Bishop 2006, sec. 4.5.2)

    p(y = 1 | x, D) ~ sigmoid( mu / sqrt(1 + pi s^2 / 8) ).

The expansion has no linear term only at the mode, so ``fit`` finds it. A network trained
without a matching weight decay is not there: at its trained last layer grad E contains the
prior's pull lambda w in full. E is strictly convex (H is positive definite everywhere), so
Newton's method, w <- w - H^-1 grad E, which for logistic regression is iteratively reweighted
least squares (Bishop 2006, sec. 4.3.3), reaches the one mode from any start; a backtracking
line search (Nocedal and Wright 2006, sec. 3.1 and 3.5) keeps every step from increasing E, so
it cannot diverge. ``fit`` starts at the trained last layer and refuses a result whose gradient
is not near zero.

The approximation assumes (Daxberger et al. 2021): one mode that matters (for the last layer
alone E is convex, so there is only one; a whole network has many, and weight-space symmetries,
such as permuting hidden units, copy each of them many times); features phi(x) held fixed at
the trained network's; and a posterior that is close to Gaussian near its mode.
"""

from __future__ import annotations

import numpy as np

from ._validation import (
    as_float_array,
    as_labels,
    check_features,
    check_positive_int,
    check_positive_number,
)
from .functional import sigmoid, softplus
from .linear import Linear
from .module import Module, Sequential
from .variational import bayesian_layers

METHODS = ("probit", "samples")
GRADIENT_RTOL = 1e-10


def negative_log_posterior(w, Phi, t, prior_precision: float) -> float:
    """E(w) = sum_n [softplus(phi_n^T w) - t_n phi_n^T w] + (lambda / 2) w^T w, up to a constant.

    Shapes: w (D,), Phi (N, D) features with the 1 for the bias, t (N,) labels in {0, 1}.
    Each term is computed as ``BinaryCrossEntropy`` does, t softplus(-z) + (1 - t) softplus(z)
    (the same value): softplus(z) - t z cancels for a large z with t = 1, and the line search
    compares values of E that differ in their last digits near the mode.
    """
    z = Phi @ w
    data = t * softplus(-z) + (1.0 - t) * softplus(z)
    return float(np.sum(data) + 0.5 * prior_precision * w @ w)


def negative_log_posterior_gradient(w, Phi, t, prior_precision: float) -> np.ndarray:
    """grad E(w) = Phi^T (p - t) + lambda w with p = sigmoid(Phi w). Shapes: as above -> (D,)."""
    p = sigmoid(Phi @ w)
    return Phi.T @ (p - t) + prior_precision * w


def negative_log_posterior_hessian(w, Phi, prior_precision: float) -> np.ndarray:
    """H(w) = Phi^T diag(p (1 - p)) Phi + lambda I with p = sigmoid(Phi w).

    It does not depend on the labels. Shapes: w (D,), Phi (N, D) -> (D, D), symmetric.
    """
    p = sigmoid(Phi @ w)
    return Phi.T @ ((p * (1.0 - p))[:, None] * Phi) + prior_precision * np.eye(len(w))


def gradient_tolerance(w, Phi, prior_precision: float, rtol: float = GRADIENT_RTOL) -> float:
    """The largest |grad E(w)| that ``fit`` accepts as zero: rtol times the gradient's scale.

    Each data term (p_n - t_n) phi_n has norm at most |phi_n|, so sum_n |phi_n| + lambda |w|
    bounds the terms that cancel at the mode; rounding leaves a gradient of about 1e-16 times
    that, and ``rtol`` (1e-10 by default) sits far above it. Shapes: w (D,), Phi (N, D) -> float.
    """
    scale = np.sum(np.linalg.norm(Phi, axis=1)) + prior_precision * np.linalg.norm(w)
    return rtol * scale


def find_map(w_start, Phi, t, prior_precision: float, *, max_steps: int = 100):
    """The mode of E by Newton's method with a backtracking line search, started at w_start.

    Each step solves H d = -grad E and halves the step length from 1 until E has decreased by
    at least 1e-4 times the decrease the gradient predicts (the Armijo condition), so E never
    increases. It stops when |grad E| <= ``gradient_tolerance`` or after ``max_steps`` steps.

    Shapes: w_start (D,), Phi (N, D), t (N,) labels in {0, 1}.
    Returns: (w, steps), the last iterate (D,) and the number of Newton steps taken. The caller
        checks the gradient at w: this function does not raise when it fails to converge.
    Sources: Bishop 2006, sec. 4.3.3 (Newton's method for logistic regression is IRLS);
        Nocedal and Wright 2006, sec. 3.1 (backtracking, Armijo) and 3.5 (the step length 1).
    """
    w = np.array(w_start, dtype=np.float64)
    value = negative_log_posterior(w, Phi, t, prior_precision)
    for step in range(max_steps):
        g = negative_log_posterior_gradient(w, Phi, t, prior_precision)
        if np.linalg.norm(g) <= gradient_tolerance(w, Phi, prior_precision):
            return w, step
        try:
            L = np.linalg.cholesky(negative_log_posterior_hessian(w, Phi, prior_precision))
        except (
            np.linalg.LinAlgError
        ):  # H is singular in float64 (a tiny lambda): the caller decides
            return w, step
        d = -np.linalg.solve(L.T, np.linalg.solve(L, g))
        slope = g @ d  # < 0: d is a descent direction because H is positive definite
        alpha = 1.0
        for _ in range(60):
            candidate = w + alpha * d
            new_value = negative_log_posterior(candidate, Phi, t, prior_precision)
            if new_value <= value + 1e-4 * alpha * slope:
                break
            alpha /= 2
        else:  # not even a tiny step lowers E: rounding has the last word; the caller decides
            return w, step
        w, value = candidate, new_value
    return w, max_steps


def probit_approximation(mu, s2) -> np.ndarray:
    """int sigmoid(z) N(z; mu, s2) dz ~ sigmoid(mu / sqrt(1 + pi s2 / 8)). Shapes: equal -> same.

    With s2 = 0 this is sigmoid(mu): no uncertainty, the MAP prediction.
    """
    kappa = 1.0 / np.sqrt(1.0 + np.pi * np.asarray(s2) / 8.0)
    return sigmoid(kappa * np.asarray(mu))


class LastLayerLaplace:
    """A Gaussian N(w_MAP, Sigma) over the last layer of a trained binary classifier.

    Args:
        model: a trained ``Sequential`` whose last module is ``Linear(n_hidden, 1)`` producing one
            logit (trained with ``BinaryCrossEntropy``), or a single ``Linear(n_in, 1)``
            (Bayesian logistic regression). The modules before the last one must be
            deterministic (no ``BayesianLinear``).
        prior_precision: lambda > 0, the precision 1 / sigma_p^2 of the prior N(0, I / lambda) on
            the last layer's weights and bias.

    Attributes, set by ``fit`` (D = n_hidden + 1; float64):
        w_trained: (D,) the trained last layer's weights and then its bias, copied at fit time:
            the start of the search for the mode.
        w_map: (D,) the mode of the last layer's posterior, found by Newton's method. The model
            itself is not changed: its last layer stays w_trained.
        H: (D, D) the Hessian of the negative log posterior at w_map.
        Sigma: (D, D) the posterior covariance H^-1.
        gradient_norm: |grad E(w_map)|, at most ``gradient_tolerance`` (else ``fit`` raises).
        newton_steps: the number of Newton steps from w_trained to w_map.
        n_train: number of training points the fit used.

    Sources: MacKay 1992; Bishop 2006, sec. 4.3.3-4.5; Daxberger et al. 2021 (the last layer);
    Kristiadi, Hein and Hennig 2020 (why it helps far from the data for ReLU networks).
    """

    def __init__(self, model: Module, prior_precision: float = 1.0):
        where = "LastLayerLaplace"
        if isinstance(model, Sequential) and len(model) > 0:
            body, last = model.modules[:-1], model[-1]
        elif isinstance(model, Module):
            body, last = [], model
        else:
            raise TypeError(f"{where}: model must be a Module, got a {type(model).__name__}.")
        if not isinstance(last, Linear) or last.n_out != 1:
            raise ValueError(
                f"{where}: the model's last module must be Linear(n_hidden, 1), which computes "
                f"the one logit of a binary classifier; got {last!r}."
            )
        if any(list(bayesian_layers(m)) for m in body):
            raise ValueError(
                f"{where}: the modules before the last layer must be deterministic, but the model "
                "has BayesianLinear layers there. Use a network of ordinary Linear layers."
            )
        self.model = model
        self.body = body
        self.last = last
        self.prior_precision = check_positive_number(prior_precision, "prior_precision", where)
        self.w_trained = None
        self.w_map = None
        self.H = None
        self.Sigma = None
        self._sample_factor = None  # L^-1 with H = L L^T: eps (S, D) @ L^-1 has covariance Sigma
        self.gradient_norm = None
        self.newton_steps = 0
        self.n_train = 0

    def features(self, X) -> np.ndarray:
        """phi(x): the input of the last layer with a 1 appended. Shapes: X (N, ...) -> (N, D).

        Raises ValueError if the last layer's input is not a finite (N, n_hidden) batch.
        """
        A = X
        for module in self.body:
            A = module(A)
        A = check_features(A, self.last.n_in, f"{self!r}.features (the last layer's input)")
        return np.column_stack([A.astype(np.float64), np.ones(len(A))])

    def fit(self, X, y, *, max_steps: int = 100) -> LastLayerLaplace:
        """Find the mode w_MAP of the last layer's posterior on (X, y); then H and Sigma = H^-1.

        Newton's method with a line search (``find_map``) starts at the trained last layer, and
        the result is accepted only if |grad E(w_MAP)| <= ``gradient_tolerance``. Everything is
        computed in float64, whatever the dtype of X or of the model.

        Args:
            X: (N, ...) inputs as the model expects (float or integer; float32 is fine).
            y: (N,) or (N, 1) labels 0 or 1 (integers, booleans or whole floats).
            max_steps: the most Newton steps to take (about 10 suffice for the course's data).

        Returns: self, so that ``LastLayerLaplace(model).fit(X, y)`` reads as one step.

        Raises:
            ValueError: for an empty data set, X and y of different lengths, labels other than 0
                and 1 or of another shape, NaN or infinite values in X or in the features,
                features so large that E or H overflow, or a prior_precision so small that H is
                singular in float64.
            RuntimeError: if Newton's method stops at a point whose gradient is not near zero
                (the Laplace approximation would then not be taken at a mode).
        """
        where = f"{self!r}.fit"
        max_steps = check_positive_int(max_steps, "max_steps", where)
        X = as_float_array(X, "X", where)
        t = as_labels(y, "y", where, n_classes=2).astype(np.float64)
        if X.ndim == 0 or len(X) != len(t):
            raise ValueError(f"{where}: X has {len(np.atleast_1d(X))} samples but y has {len(t)}.")
        if len(t) == 0:
            raise ValueError(f"{where}: got an empty data set; the Hessian needs training data.")
        Phi = self.features(X)
        w_trained = np.concatenate([self.last.W.value[:, 0], self.last.b.value]).astype(np.float64)
        lam = self.prior_precision
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below instead
            start_ok = np.isfinite(negative_log_posterior(w_trained, Phi, t, lam)) and np.all(
                np.isfinite(negative_log_posterior_hessian(w_trained, Phi, lam))
            )
        if not start_ok:
            raise ValueError(
                f"{where}: the negative log posterior or its Hessian overflows at the trained "
                f"weights (the largest feature is {np.max(np.abs(Phi)):.3g}); scale the inputs."
            )
        w_map, steps = find_map(w_trained, Phi, t, lam, max_steps=max_steps)
        H = negative_log_posterior_hessian(w_map, Phi, lam)
        try:
            L = np.linalg.cholesky(H)
        except np.linalg.LinAlgError:
            raise ValueError(
                f"{where}: the Hessian is not positive definite in float64: "
                f"prior_precision = {lam:g} is negligible next to the data's curvature (up to "
                f"{np.linalg.eigvalsh(H).max():.3g}). Use a larger prior_precision."
            ) from None
        gradient_norm = float(np.linalg.norm(negative_log_posterior_gradient(w_map, Phi, t, lam)))
        tolerance = gradient_tolerance(w_map, Phi, lam)
        if not gradient_norm <= tolerance:
            raise RuntimeError(
                f"{where}: no mode found: after {steps} Newton steps |grad E| = "
                f"{gradient_norm:.3g}, above the tolerance {tolerance:.3g}. The Laplace "
                "approximation needs the point where the gradient vanishes. Raise max_steps; "
                f"features as large as {np.max(np.abs(Phi)):.3g} (scale the inputs) or a tiny "
                f"prior_precision ({lam:g}) make E hard to minimize in float64."
            )
        # Sigma = H^-1 from the Cholesky factor H = L L^T: Sigma = L^-T L^-1.
        L_inv = np.linalg.inv(L)
        self.w_trained, self.w_map, self.H, self.Sigma = w_trained, w_map, H, L_inv.T @ L_inv
        self._sample_factor = L_inv
        self.gradient_norm, self.newton_steps, self.n_train = gradient_norm, steps, len(t)
        return self

    def logit_mean_and_variance(self, X) -> tuple[np.ndarray, np.ndarray]:
        """mu = phi^T w_MAP and s^2 = phi^T Sigma phi of the Gaussian logit. Shapes: X (N, ...)
        -> two arrays (N,). Raises as ``predictive_probabilities`` does. mu is the logit of the
        MAP network (the trained features with w_MAP), not of the trained model."""
        Phi = self._checked_features(X, "logit_mean_and_variance")
        return Phi @ self.w_map, np.einsum("nd,de,ne->n", Phi, self.Sigma, Phi)

    def predictive_probabilities(
        self, X, *, method: str = "probit", n_samples: int = 1000, seed=0
    ) -> np.ndarray:
        """p(y = 1 | x, D) for every row of X, averaged over the Gaussian posterior.

        Args:
            X: inputs (N, ...) as the model expects.
            method: ``"probit"``, the closed-form sigmoid(mu / sqrt(1 + pi s^2 / 8)); or
                ``"samples"``, the Monte Carlo average of sigmoid(phi^T w_s) over ``n_samples``
                weight vectors w_s ~ N(w_MAP, Sigma), each shared by all rows of X.
            n_samples, seed: the number of weight samples and the seed of their noise
                (``"samples"`` only).

        Returns: (N,) probabilities of class 1; for huge inputs the probit's finite limit along
            the ray, not NaN.

        Raises:
            RuntimeError: before ``fit``.
            ValueError: for an unknown method, an empty X, or NaN or infinite values in X or in
                the features; TypeError for a non-integer n_samples.
        """
        where = f"{self!r}.predictive_probabilities"
        if method not in METHODS:
            raise ValueError(f"{where}: method must be one of {METHODS}, got {method!r}.")
        if method == "probit":
            Phi = self._checked_features(X, "predictive_probabilities")
            # kappa mu = mu / sqrt(1 + pi s^2 / 8) is unchanged when phi is divided by r and the
            # 1 by r^2. With r the largest |phi_i| (at least the bias's 1), mu and s^2 cannot
            # overflow for huge inputs, where inf / inf would give NaN; the ray's limit remains.
            r = np.max(np.abs(Phi), axis=1)
            Phi = Phi / r[:, None]
            mu = Phi @ self.w_map
            s2 = np.einsum("nd,de,ne->n", Phi, self.Sigma, Phi)
            return sigmoid(mu / np.sqrt((1.0 / r) ** 2 + np.pi * s2 / 8.0))
        n_samples = check_positive_int(n_samples, "n_samples (weight samples)", where)
        Phi = self._checked_features(X, "predictive_probabilities")
        eps = np.random.default_rng(seed).standard_normal((n_samples, len(self.w_map)))
        W_samples = self.w_map + eps @ self._sample_factor  # (S, D)
        total = np.zeros(len(Phi))
        for start in range(0, n_samples, 100):  # chunks keep the (N, S) logits small
            total += sigmoid(Phi @ W_samples[start : start + 100].T).sum(axis=1)
        return total / n_samples

    def _checked_features(self, X, method: str) -> np.ndarray:
        where = f"{self!r}.{method}"
        if self.Sigma is None:
            raise RuntimeError(f"{where}: call fit(X_train, y_train) first.")
        X = as_float_array(X, "X", where)
        if X.ndim == 0 or len(X) == 0:
            raise ValueError(f"{where}: got an empty X.")
        return self.features(X)

    def __repr__(self) -> str:
        return f"LastLayerLaplace(prior_precision={self.prior_precision:g})"
