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

The trained last layer is taken as w_MAP. If the network was trained without a prior of
precision lambda (no matching weight decay), that is an approximation: there the gradient of
E is lambda w, not zero.
"""

from __future__ import annotations

import numpy as np

from ._validation import (
    as_float_array,
    check_features,
    check_positive_int,
    check_positive_number,
)
from .functional import sigmoid, softplus
from .linear import Linear
from .module import Module, Sequential
from .variational import bayesian_layers

METHODS = ("probit", "samples")


def negative_log_posterior(w, Phi, t, prior_precision: float) -> float:
    """E(w) = sum_n [softplus(phi_n^T w) - t_n phi_n^T w] + (lambda / 2) w^T w, up to a constant.

    Shapes: w (D,), Phi (N, D) features with the 1 for the bias, t (N,) labels in {0, 1}.
    """
    z = Phi @ w
    return float(np.sum(softplus(z) - t * z) + 0.5 * prior_precision * w @ w)


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
        w_map: (D,) the last layer's weights and then its bias, copied at fit time.
        H: (D, D) the Hessian of the negative log posterior at w_map.
        Sigma: (D, D) the posterior covariance H^-1.
        n_train: number of training points the fit used.
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
        self.w_map = None
        self.H = None
        self.Sigma = None
        self._sample_factor = None  # L^-1 with H = L L^T: eps (S, D) @ L^-1 has covariance Sigma
        self.n_train = 0

    def features(self, X) -> np.ndarray:
        """phi(x): the input of the last layer with a 1 appended. Shapes: X (N, ...) -> (N, D)."""
        A = X
        for module in self.body:
            A = module(A)
        A = check_features(A, self.last.n_in, f"{self!r}.features (the last layer's input)")
        return np.column_stack([A.astype(np.float64), np.ones(len(A))])

    def fit(self, X, y) -> LastLayerLaplace:
        """Take the last layer as w_MAP, compute H at it on (X, y), and Sigma = H^-1.

        Shapes: X (N, ...) as the model expects; y (N,) or (N, 1) labels in {0, 1}.
        Returns: self, so that ``LastLayerLaplace(model).fit(X, y)`` reads as one step.
        """
        where = f"{self!r}.fit"
        X = as_float_array(X, "X", where)
        t = as_float_array(y, "y", where)
        if t.ndim == 2 and t.shape[1] == 1:
            t = t[:, 0]
        if t.ndim != 1:
            raise ValueError(f"{where}: expected labels y of shape (N,) or (N, 1), got {t.shape}.")
        if X.ndim == 0 or len(X) != len(t):
            raise ValueError(f"{where}: X has {len(np.atleast_1d(X))} samples but y has {len(t)}.")
        if len(t) == 0:
            raise ValueError(f"{where}: got an empty data set; the Hessian needs training data.")
        if np.any((t != 0) & (t != 1)):
            raise ValueError(f"{where}: labels y must be 0 or 1, got values {np.unique(t)}.")
        Phi = self.features(X)
        w_map = np.concatenate([self.last.W.value[:, 0], self.last.b.value]).astype(np.float64)
        H = negative_log_posterior_hessian(w_map, Phi, self.prior_precision)
        # Sigma = H^-1 from the Cholesky factor H = L L^T: Sigma = L^-T L^-1.
        L_inv = np.linalg.inv(np.linalg.cholesky(H))
        self.w_map, self.H, self.Sigma = w_map, H, L_inv.T @ L_inv
        self._sample_factor = L_inv
        self.n_train = len(t)
        return self

    def logit_mean_and_variance(self, X) -> tuple[np.ndarray, np.ndarray]:
        """mu = phi^T w_MAP and s^2 = phi^T Sigma phi of the Gaussian logit. Shapes: X (N, ...)
        -> two arrays (N,)."""
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

        Returns: (N,) probabilities of class 1.
        """
        where = f"{self!r}.predictive_probabilities"
        if method not in METHODS:
            raise ValueError(f"{where}: method must be one of {METHODS}, got {method!r}.")
        if method == "probit":
            return probit_approximation(*self.logit_mean_and_variance(X))
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
