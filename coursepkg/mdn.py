"""Mixture density networks (Bishop, 1994): a network whose outputs define a Gaussian mixture.

For 1-D targets t, a network with 3K outputs per sample describes the conditional density

    p(t | x) = sum_k pi_k(x) N(t | mu_k(x), sigma_k(x)^2),

read from its outputs Y = [a | m | s] (three blocks of K columns) as

    pi = softmax(a)       mixing coefficients, positive and summing to one;
    mu = m                means, unconstrained;
    sigma = exp(s)        standard deviations, positive (or softplus(s), on request).

``MixtureDensityLoss`` is the negative log-likelihood of the targets under that mixture, with its
hand-derived gradient; ``mixture_parameters`` turns outputs into a ``GaussianMixture``, which
evaluates the conditional density on a grid, the conditional mean and the conditional mode.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array, check_positive_int
from .functional import log_softmax, logsumexp, sigmoid, softmax, softplus
from .losses import Loss

SIGMA_ACTIVATIONS = ("exp", "softplus")
LOG_SIGMA_LIMIT = 50.0
"""log sigma is clipped to [-50, 50] in float64 (sigma from 2e-22 to 5e21), so that no
exponential overflows whatever the network outputs; any sensible network stays far inside this
range. Narrower types get a narrower range, see ``log_sigma_limit``."""
HALF_LOG_2PI = float(0.5 * np.log(2.0 * np.pi))  # a Python float keeps float32 float32
SIGMA_MIN = 1e-150
"""The smallest sigma a GaussianMixture accepts: 1 / sigma^2 must stay finite in float64."""


def _split_outputs(outputs, n_components: int, where: str):
    """Check outputs (N, 3K) and return the blocks a (mixing logits), m (means), s (scales)."""
    Y = as_float_array(outputs, "outputs", where, ndim=2)
    K = n_components
    if Y.shape[1] != 3 * K:
        raise ValueError(
            f"{where}: outputs have {Y.shape[1]} columns, but a mixture of K={K} components "
            f"needs 3K = {3 * K} (K mixing logits, K means, K scales). Give the last Linear "
            f"layer {3 * K} outputs."
        )
    if Y.shape[0] == 0:
        raise ValueError(f"{where}: got an empty batch (0 samples).")
    return Y[:, :K], Y[:, K : 2 * K], Y[:, 2 * K :]


def log_sigma_limit(dtype) -> float:
    """The bound L of the clipping range [-L, L] of log sigma for arrays of ``dtype``.

    The loss and its gradient contain 1 / sigma^2 = e^(2L) times (t - mu)^2, summed over the
    batch. Keeping e^(2L) at most the square root of the type's largest number leaves the other
    square root as room for (t - mu)^2 and the batch sum: L = floor(ln(max) / 4), at most 50.
    float64: L = 50 (e^100 ~ 3e43 of 1.8e308). float32: L = 22 (sigma from 3e-10 to 4e9;
    e^44 ~ 1e19 of 3.4e38), where L = 50 would overflow e^100 and give NaN.
    """
    return min(LOG_SIGMA_LIMIT, float(np.floor(np.log(np.finfo(dtype).max) / 4.0)))


def _log_sigma(s: np.ndarray, activation: str):
    """log sigma (N, K) from the scale outputs s (N, K), and its derivative d(log sigma)/ds."""
    if activation == "exp":
        log_sigma, slope = s, np.ones_like(s)
    else:  # softplus: sigma = log(1 + e^s) ~ e^s for s << 0, where log sigma ~ s stays exact
        small = s < -30.0
        sigma = np.where(small, 1.0, softplus(s))  # 1.0: a placeholder that is never used
        log_sigma = np.where(small, s, np.log(sigma))
        slope = np.where(small, 1.0, sigmoid(s) / sigma)
    limit = log_sigma_limit(log_sigma.dtype)
    inside = np.abs(log_sigma) <= limit  # outside the range the clipped value does not move
    return np.clip(log_sigma, -limit, limit), slope * inside


def _check_activation(sigma_activation: str, where: str) -> str:
    if sigma_activation not in SIGMA_ACTIVATIONS:
        raise ValueError(
            f"{where}: sigma_activation must be one of {SIGMA_ACTIVATIONS}, "
            f"got {sigma_activation!r}."
        )
    return sigma_activation


class MixtureDensityLoss(Loss):
    """Mean negative log-likelihood of 1-D targets under the Gaussian mixture the outputs define.

    Shapes: outputs Y (N, 3K) = [a | m | s] as in the module docstring; targets t (N,) or (N, 1).

    Forward, in log space so that nothing overflows or takes log(0):

        log phi_nk = log_softmax(a_n)_k - log sigma_nk - (t_n - mu_nk)^2 / (2 sigma_nk^2)
                     - log(2 pi) / 2                       (log of pi_k N(t | mu_k, sigma_k^2))
        L = -(1/N) sum_n logsumexp_k(log phi_nk).

    Backward. The posterior responsibilities gamma_nk = phi_nk / sum_j phi_nj (a softmax of
    log phi over k) carry the whole gradient. Per sample, with E_n = -log sum_k phi_nk:

        dE/da_k = pi_k - gamma_k                       (softmax rule, as in cross-entropy)
        dE/dmu_k = gamma_k (mu_k - t) / sigma_k^2       (a Gaussian's, weighted by gamma_k)
        dE/dlog sigma_k = gamma_k (1 - (t - mu_k)^2 / sigma_k^2),

    and dE/ds_k = dE/dlog sigma_k * dlog sigma_k/ds_k (1 for exp). All are divided by N.

    Args:
        n_components: the number of mixture components K.
        sigma_activation: ``"exp"`` (Bishop's choice) or ``"softplus"``, log(1 + e^s), which
            grows only linearly for large s.
    """

    def __init__(self, n_components: int, *, sigma_activation: str = "exp"):
        super().__init__()
        self.n_components = check_positive_int(
            n_components, "n_components (number of mixture components K)", "MixtureDensityLoss"
        )
        self.sigma_activation = _check_activation(sigma_activation, "MixtureDensityLoss")

    def __repr__(self) -> str:
        extra = "" if self.sigma_activation == "exp" else ", sigma_activation='softplus'"
        return f"MixtureDensityLoss(n_components={self.n_components}{extra})"

    def forward(self, predictions, targets) -> float:
        where = repr(self)
        Y, t = self._float_batch(predictions, targets, "outputs")
        a, mu, s = _split_outputs(Y, self.n_components, where)
        if not (t.ndim == 1 or (t.ndim == 2 and t.shape[1] == 1)):
            raise ValueError(
                f"{where}: targets must be 1-D values of shape (N,) or (N, 1), got shape {t.shape}."
            )
        t = t.reshape(-1, 1)
        log_sigma, slope = _log_sigma(s, self.sigma_activation)
        Z = (t - mu) * np.exp(-log_sigma)  # standardized distances (t - mu_k) / sigma_k
        log_phi = log_softmax(a, axis=1) - log_sigma - 0.5 * Z**2 - HALF_LOG_2PI
        gamma = softmax(log_phi, axis=1)  # responsibilities, (N, K)
        self._cache = (a, Z, log_sigma, slope, gamma)
        return float(-np.mean(logsumexp(log_phi, axis=1)))

    def backward(self) -> np.ndarray:
        a, Z, log_sigma, slope, gamma = self._cached()
        grad_a = softmax(a, axis=1) - gamma
        grad_mu = -gamma * Z * np.exp(-log_sigma)  # gamma (mu - t) / sigma^2
        grad_s = gamma * (1.0 - Z**2) * slope
        return np.concatenate([grad_a, grad_mu, grad_s], axis=1) / len(a)


class GaussianMixture:
    """A batch of N one-dimensional Gaussian mixtures with K components each.

    Attributes:
        pi: mixing coefficients (N, K), non-negative, each row summing to one.
        mu: means (N, K).
        sigma: standard deviations (N, K), positive.

    ``pi, mu, sigma = mixture`` unpacks it.
    """

    def __init__(self, pi, mu, sigma):
        where = "GaussianMixture"
        pi = as_float_array(pi, "pi", where, ndim=2)
        mu = as_float_array(mu, "mu", where, ndim=2)
        sigma = as_float_array(sigma, "sigma", where, ndim=2)
        if not pi.shape == mu.shape == sigma.shape:
            raise ValueError(
                f"{where}: pi, mu and sigma must have the same shape (N, K), got "
                f"{pi.shape}, {mu.shape} and {sigma.shape}."
            )
        if pi.size == 0:
            raise ValueError(f"{where}: got an empty mixture, shape {pi.shape}.")
        if np.any(sigma <= 0):
            raise ValueError(
                f"{where}: sigma must be positive (standard deviations), got the value "
                f"{sigma.min()}."
            )
        if np.any(sigma < SIGMA_MIN):
            raise ValueError(
                f"{where}: sigma must be at least {SIGMA_MIN:g}, got {sigma.min():g}: its inverse "
                "square, which the density and the mode use, would overflow float64."
            )
        if np.any(pi < 0) or not np.allclose(pi.sum(axis=1), 1.0, atol=1e-6):
            raise ValueError(
                f"{where}: pi must hold mixing coefficients, non-negative with each row summing "
                "to one (e.g. softmax of logits)."
            )
        self.pi, self.mu, self.sigma = pi, mu, sigma

    def __iter__(self):
        return iter((self.pi, self.mu, self.sigma))

    def __repr__(self) -> str:
        N, K = self.pi.shape
        return f"GaussianMixture(N={N}, K={K})"

    def density(self, t) -> np.ndarray:
        """p(t) of every mixture at every grid point: t (T,) -> (N, T), in float64.

        Computed plainly as sum_k pi_k exp(-(t - mu_k)^2 / (2 sigma_k^2)) / (sqrt(2 pi) sigma_k).
        """
        t = as_float_array(t, "t", f"{self!r}.density", ndim=1)
        # Always float64: the peak of a float32 mixture with a tiny sigma (1 / sigma = 1e30, say)
        # is a density that float32 cannot hold.
        pi, mu, sigma = (A.astype(np.float64)[:, :, None] for A in self)  # (N, K, 1) against t
        Z = (t - mu) / sigma
        with np.errstate(over="ignore"):  # Z^2 = inf far from a narrow peak: exp(-inf) = 0, right
            return np.sum(pi * np.exp(-0.5 * Z**2 - HALF_LOG_2PI) / sigma, axis=1)

    def mean(self) -> np.ndarray:
        """The mean of each mixture, sum_k pi_k mu_k. Shape (N,)."""
        return np.sum(self.pi * self.mu, axis=1)

    def mode(self, *, iterations: int = 200) -> np.ndarray:
        """The most probable value of each mixture (its highest peak). Shape (N,).

        Method: fixed-point ("mean-shift") iteration for the stationary points of p(t),
        t <- sum_k r_k(t) mu_k / sigma_k^2 / sum_k r_k(t) / sigma_k^2, with r_k(t) proportional
        to pi_k N(t | mu_k, sigma_k^2); p(t) never decreases along it. It starts from every
        component mean, because every peak of a mixture lies near one; the end point with the
        highest density wins. ``iterations`` fixed-point steps are taken from each start.
        """
        iterations = check_positive_int(iterations, "iterations", f"{self!r}.mode")
        dtype = self.pi.dtype
        # In float64: a float32 sigma of 1e-20 has an inverse square (1e40) beyond float32.
        pi, mu, sigma = (A.astype(np.float64) for A in self)
        with np.errstate(divide="ignore"):  # log 0 = -inf for a component with pi_k = 0
            log_pi = np.log(pi)[:, None, :]  # (N, 1, K): components along the last axis
        mu, inv_var = mu[:, None, :], sigma[:, None, :] ** -2.0
        log_weight = log_pi - np.log(sigma)[:, None, :]

        def log_terms(t):  # log pi_k N(t | mu_k, sigma_k^2) + const, t (N, S, 1) -> (N, S, K)
            with np.errstate(over="ignore"):  # -inf: a far, narrow component weighs nothing
                return log_weight - 0.5 * (t - mu) ** 2 * inv_var

        t = mu.transpose(0, 2, 1).copy()  # (N, S=K starts, 1)
        for _ in range(iterations):
            r = softmax(log_terms(t), axis=2) * inv_var
            t = np.sum(r * mu, axis=2, keepdims=True) / np.sum(r, axis=2, keepdims=True)
        best = np.argmax(logsumexp(log_terms(t), axis=2), axis=1)  # (N,)
        return t[np.arange(len(t)), best, 0].astype(dtype)


def mixture_parameters(outputs, n_components: int, *, sigma_activation: str = "exp"):
    """The Gaussian mixture defined by network outputs, as ``MixtureDensityLoss`` reads them.

    Shapes: outputs (N, 3K) -> a ``GaussianMixture`` with pi, mu, sigma of shape (N, K) each.
    """
    where = "mixture_parameters"
    K = check_positive_int(n_components, "n_components (number of mixture components K)", where)
    a, mu, s = _split_outputs(outputs, K, where)
    log_sigma, _ = _log_sigma(s, _check_activation(sigma_activation, where))
    return GaussianMixture(softmax(a, axis=1), mu, np.exp(log_sigma))
