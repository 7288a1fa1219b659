"""A fully connected layer with a Gaussian distribution over its weights ("Bayes by backprop").

Every weight and bias w has its own variational posterior q(w) = N(mu, sigma^2), with
sigma = softplus(rho) > 0 for any real rho. A forward pass draws the weights with the
reparameterization trick, W = mu_W + sigma_W * eps_W with eps_W ~ N(0, 1), so that the output is a
differentiable function of (mu, rho) and backward can send gradients to both:

    dL/dmu = dL/dW,    dL/drho = dL/dW * eps * dsigma/drho = dL/dW * eps * sigmoid(rho).

The layer also knows the KL divergence of q from the prior p(w) = N(0, prior_sigma^2) in closed
form, and its gradient, which the ELBO (see ``variational.py``) adds to the data term.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_features, check_positive_int, check_positive_number
from .functional import sigmoid, softplus
from .linear import INITIALIZATIONS
from .module import Module, Parameter

MODES = ("sample", "fixed", "mean")
"""``"sample"``: new noise eps at every forward (training, predictive sampling);
``"fixed"``: reuse the last noise (gradient checks, one weight sample over many batches);
``"mean"``: use the means, W = mu_W (one deterministic network)."""


def inverse_softplus(sigma: float) -> float:
    """The rho with softplus(rho) = sigma > 0, i.e. log(exp(sigma) - 1)."""
    return float(np.log(np.expm1(sigma)))


def log_softplus(rho: np.ndarray) -> np.ndarray:
    """log(softplus(rho)) = log(sigma), finite even where softplus(rho) underflows to 0.

    For rho < -30, softplus(rho) = exp(rho) (1 - exp(rho) / 2 + ...), so log(sigma) = rho to
    within 1e-13. Shapes: rho (any) -> same shape.
    """
    out = np.array(rho, copy=True)
    moderate = rho > -30.0
    out[moderate] = np.log(softplus(rho[moderate]))
    return out


def gaussian_kl(mu: np.ndarray, rho: np.ndarray, prior_sigma: float) -> float:
    """KL( N(mu, sigma^2) || N(0, prior_sigma^2) ) summed over all elements, sigma = softplus(rho).

    Per element: log(prior_sigma / sigma) + (sigma^2 + mu^2) / (2 prior_sigma^2) - 1/2.
    Shapes: mu, rho (any, equal) -> float.
    """
    sigma = softplus(rho)
    log_ratio = np.log(prior_sigma) - log_softplus(rho)
    return float(np.sum(log_ratio + (sigma**2 + mu**2) / (2.0 * prior_sigma**2) - 0.5))


def gaussian_kl_gradients(mu: np.ndarray, rho: np.ndarray, prior_sigma: float):
    """Gradients of ``gaussian_kl`` with respect to mu and rho. Shapes: as mu, rho.

        dKL/dmu = mu / prior_sigma^2,
        dKL/drho = (sigma / prior_sigma^2 - 1 / sigma) * sigmoid(rho).

    sigmoid(rho) / sigma is computed as exp(log sigmoid(rho) - log sigma), which stays finite
    (it tends to 1) where both factors underflow.
    """
    sigma = softplus(rho)
    sigmoid_over_sigma = np.exp(-softplus(-rho) - log_softplus(rho))
    grad_mu = mu / prior_sigma**2
    grad_rho = sigma * sigmoid(rho) / prior_sigma**2 - sigmoid_over_sigma
    return grad_mu, grad_rho


class BayesianLinear(Module):
    """Affine layer ``Z = X @ W + b`` whose weights and biases are Gaussian random variables.

    Shapes:
        X: (N, n_in) -> Z: (N, n_out); mu_W, rho_W, eps_W: (n_in, n_out); mu_b, rho_b, eps_b:
        (n_out,).

    Args:
        n_in: number of input features.
        n_out: number of output units.
        prior_sigma: standard deviation of the Gaussian prior N(0, prior_sigma^2) on every weight.
        init_sigma: the posterior standard deviation every weight starts with (small, so that
            training starts close to an ordinary network).
        rng: seed or ``numpy.random.Generator``, for the initial means and for the noise eps.
        init: how the means mu_W start, as in ``Linear``: ``"xavier"``, ``"he"`` or ``"zeros"``.
            The bias means start at zero.
        dtype: floating dtype of the parameters.

    Attributes:
        mode: one of ``MODES``; ``"sample"`` by default.
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        *,
        prior_sigma: float = 1.0,
        init_sigma: float = 0.05,
        rng=None,
        init: str = "xavier",
        dtype=np.float64,
    ):
        where = "BayesianLinear"
        self.n_in = check_positive_int(n_in, "n_in (number of input features)", where)
        self.n_out = check_positive_int(n_out, "n_out (number of units)", where)
        self.prior_sigma = check_positive_number(prior_sigma, "prior_sigma", where)
        init_sigma = check_positive_number(init_sigma, "init_sigma", where)
        if init not in INITIALIZATIONS:
            raise ValueError(f"{where}: init must be one of {INITIALIZATIONS}, got {init!r}.")
        self.rng = np.random.default_rng(rng)
        std = {"xavier": np.sqrt(2.0 / (n_in + n_out)), "he": np.sqrt(2.0 / n_in), "zeros": 0.0}
        mu_W = std[init] * self.rng.standard_normal((n_in, n_out))
        rho = inverse_softplus(init_sigma)
        self.mu_W = Parameter(mu_W.astype(dtype), "mu_W")
        self.rho_W = Parameter(np.full((n_in, n_out), rho, dtype=dtype), "rho_W")
        self.mu_b = Parameter(np.zeros(n_out, dtype=dtype), "mu_b")
        self.rho_b = Parameter(np.full(n_out, rho, dtype=dtype), "rho_b")
        self._mode = "sample"
        self.eps_W = None  # the noise of the last forward pass (None until one ran)
        self.eps_b = None
        self._X = None
        self._W = None

    # Noise and modes ---------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"{self!r}: mode must be one of {MODES}, got {value!r}.")
        self._mode = value

    def freeze_noise(self) -> None:
        """Keep the current noise (drawing one if none yet) for all later forward passes."""
        if self.eps_W is None:
            self.resample_noise()
        self.mode = "fixed"

    def resample_noise(self, rng: np.random.Generator | None = None) -> None:
        """Draw new noise eps ~ N(0, 1) for every weight and bias, from ``rng`` if given, else
        from the layer's own generator."""
        rng = self.rng if rng is None else rng
        dtype = self.mu_W.value.dtype
        self.eps_W = rng.standard_normal((self.n_in, self.n_out)).astype(dtype, copy=False)
        self.eps_b = rng.standard_normal(self.n_out).astype(dtype, copy=False)

    @property
    def sigma_W(self) -> np.ndarray:
        """Posterior standard deviations of the weights, softplus(rho_W). Shape (n_in, n_out)."""
        return softplus(self.rho_W.value)

    @property
    def sigma_b(self) -> np.ndarray:
        """Posterior standard deviations of the biases, softplus(rho_b). Shape (n_out,)."""
        return softplus(self.rho_b.value)

    def current_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """The weights W (n_in, n_out) and biases b (n_out,) that a forward pass would use now.

        In mode ``"sample"`` this draws new noise first, exactly as forward does.
        """
        if self.mode == "mean":
            return self.mu_W.value, self.mu_b.value
        if self.mode == "sample" or self.eps_W is None:
            self.resample_noise()
        W = self.mu_W.value + self.sigma_W * self.eps_W  # the reparameterization trick
        b = self.mu_b.value + self.sigma_b * self.eps_b
        return W, b

    # Forward and backward ----------------------------------------------------------------
    def forward(self, X: np.ndarray) -> np.ndarray:
        X = check_features(X, self.n_in, f"{self!r}.forward")
        W, b = self.current_weights()
        self._X, self._W = X, W
        return X @ W + b

    def backward(self, grad_Z: np.ndarray) -> np.ndarray:
        X = self._X
        grad_Z = self._check_grad_out(X, grad_Z, (0 if X is None else X.shape[0], self.n_out))
        grad_W = X.T @ grad_Z
        grad_b = grad_Z.sum(axis=0)
        self.mu_W.grad += grad_W  # W = mu + sigma * eps: dW/dmu = 1
        self.mu_b.grad += grad_b
        if self.mode != "mean":  # W depends on rho only through sigma * eps
            self.rho_W.grad += grad_W * self.eps_W * sigmoid(self.rho_W.value)
            self.rho_b.grad += grad_b * self.eps_b * sigmoid(self.rho_b.value)
        return grad_Z @ self._W.T

    def parameters(self) -> list[Parameter]:
        return [self.mu_W, self.rho_W, self.mu_b, self.rho_b]

    # The KL term of the ELBO -------------------------------------------------------------
    def kl(self) -> float:
        """KL(q || p) of all weights and biases from the prior N(0, prior_sigma^2), a float."""
        return sum(
            gaussian_kl(mu.value, rho.value, self.prior_sigma)
            for mu, rho in ((self.mu_W, self.rho_W), (self.mu_b, self.rho_b))
        )

    def kl_backward(self, scale: float = 1.0) -> None:
        """Add ``scale`` times the gradient of ``kl()`` into the gradients of mu and rho."""
        for mu, rho in ((self.mu_W, self.rho_W), (self.mu_b, self.rho_b)):
            grad_mu, grad_rho = gaussian_kl_gradients(mu.value, rho.value, self.prior_sigma)
            mu.grad += scale * grad_mu
            rho.grad += scale * grad_rho

    def __repr__(self) -> str:
        return f"BayesianLinear({self.n_in}, {self.n_out}, prior_sigma={self.prior_sigma:g})"
