"""Batch normalization: standardize every feature over the mini-batch, then scale and shift it.

For one feature (one column of a dense layer's output, or one channel of channels-last images),
with the m values x_i it takes in the batch (m = N, or N * H * W for images):

    mu = mean_i x_i,    var = mean_i (x_i - mu)^2    (biased: divided by m),
    xhat_i = (x_i - mu) / sqrt(var + eps),    y_i = gamma * xhat_i + beta.

Backward pass. Write g_i = dL/dxhat_i = gamma * dL/dy_i and s = sqrt(var + eps). Every x_j
moves every xhat_i, directly and through mu and var:

    dxhat_i/dx_j = (delta_ij - 1/m - xhat_i xhat_j / m) / s

(dmu/dx_j = 1/m; dvar/dx_j = 2 (x_j - mu) / m, and the mean of x_i - mu is zero). Summing
g_i dxhat_i/dx_j over i gives

    dL/dx_j = ( g_j - mean_i g_i - xhat_j * mean_i (g_i xhat_i) ) / s:

the upstream gradient with its mean removed and its component along xhat removed (shifting
or scaling all x of a feature together does not change xhat), divided by s. And
dL/dgamma = sum_i dL/dy_i xhat_i, dL/dbeta = sum_i dL/dy_i.

In evaluation mode mu and var are replaced by running averages collected while training, so the
layer is a fixed affine map of each feature and dL/dx = gamma dL/dy / sqrt(running_var + eps).

Sources: S. Ioffe and C. Szegedy, "Batch normalization: accelerating deep network training by
reducing internal covariate shift", ICML 2015 (the algorithm and its backward pass); PyTorch's
``torch.nn.BatchNorm1d`` and ``BatchNorm2d`` (the conventions for the running statistics).
"""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array, check_fraction, check_positive_int, check_positive_number
from .module import Module, Parameter


class BatchNorm(Module):
    """Batch normalization of dense features (N, C) or of channels-last images (N, H, W, C).

    One layer covers PyTorch's ``BatchNorm1d`` (input (N, C)) and ``BatchNorm2d`` (the same
    statistics per channel, over the N * H * W pixels; our images are channels-last, as for
    ``Conv2d``). The formulas and the backward pass are in the module docstring.

    PyTorch's conventions, followed here:
      * normalization uses the *biased* batch variance (divided by m, the number of values per
        feature), but the running variance is updated with the *unbiased* one (divided by m - 1);
      * ``momentum`` is the weight of the *new* batch statistic:
        ``running = (1 - momentum) * running + momentum * batch_statistic``
        (the opposite of an optimizer's momentum; 0.1 keeps about the last 10 batches);
      * running_mean starts at 0, running_var at 1; gamma starts at 1, beta at 0; eps = 1e-5.

    Modes: in training mode (the default) the batch statistics normalize and the running
    statistics are updated at every forward pass; in evaluation mode (``eval()``) the running
    statistics normalize and nothing is updated, so each sample's output no longer depends on
    the rest of the batch.

    Shapes: X (N, C) or (N, H, W, C) -> Y of the same shape; gamma, beta, running_mean,
    running_var: (C,).

    Args:
        n_features: C, the number of features (or channels).
        momentum: the weight of the new batch statistic in the running averages, in [0, 1).
        eps: added to the variance before the square root, > 0.
        dtype: floating dtype of gamma, beta and the running statistics.

    Attributes:
        gamma, beta: the learnable scale and shift (Parameters).
        running_mean, running_var: arrays (C,), not Parameters (not trained, not stepped by an
            optimizer, not saved by ``EarlyStopping``).

    Raises:
        TypeError, ValueError: bad arguments; X not a finite real array of shape (N, C) or
            (N, H, W, C) with C == n_features; an empty batch; in training mode, a batch with a
            single value per feature (N = 1 for (N, C)), whose variance is 0 and whose
            unbiased variance is undefined (PyTorch refuses it too).
    """

    def __init__(
        self, n_features: int, *, momentum: float = 0.1, eps: float = 1e-5, dtype=np.float64
    ):
        self.n_features = check_positive_int(n_features, "n_features", "BatchNorm")
        # momentum = 1 would be allowed by PyTorch; it keeps only the last batch, never useful.
        self.momentum = check_fraction(momentum, "momentum", "BatchNorm")
        self.eps = check_positive_number(eps, "eps", "BatchNorm")
        self.gamma = Parameter(np.ones(n_features, dtype=dtype), "gamma")
        self.beta = Parameter(np.zeros(n_features, dtype=dtype), "beta")
        self.running_mean = np.zeros(n_features, dtype=dtype)
        self.running_var = np.ones(n_features, dtype=dtype)
        self._cache = None

    def _check_input(self, X) -> np.ndarray:
        where = f"{self!r}.forward"
        X = as_float_array(X, "X", where)
        if X.ndim not in (2, 4):
            raise ValueError(
                f"{where}: expected X of shape (N, C) or channels-last images (N, H, W, C), got "
                f"shape {X.shape}."
            )
        if X.shape[-1] != self.n_features:
            raise ValueError(
                f"{where}: X has {X.shape[-1]} features (the last axis, shape {X.shape}), but "
                f"this layer expects {self.n_features}. Images are channels-last (N, H, W, C)."
            )
        if X.shape[0] == 0:
            raise ValueError(f"{where}: X is an empty batch (shape {X.shape}).")
        return X

    def forward(self, X: np.ndarray) -> np.ndarray:
        X = self._check_input(X)
        axes = tuple(range(X.ndim - 1))  # every axis but the features: batch (and pixels)
        m = X.size // self.n_features  # values per feature
        if self.training:
            if m < 2:
                raise ValueError(
                    f"{self!r}.forward: in training mode a batch needs at least 2 values per "
                    f"feature, got shape {X.shape}: the variance of one value is 0. Use a "
                    "larger batch, or evaluation mode (model.eval()) to predict one sample."
                )
            mean = X.mean(axis=axes)
            var = X.var(axis=axes)  # biased (divided by m): what normalizes, as in PyTorch
            self.running_mean *= 1.0 - self.momentum
            self.running_mean += self.momentum * mean
            self.running_var *= 1.0 - self.momentum
            self.running_var += self.momentum * var * (m / (m - 1))  # unbiased, as in PyTorch
        else:
            mean, var = self.running_mean, self.running_var
        std = np.sqrt(var + self.eps)
        X_hat = (X - mean) / std
        self._cache = (X_hat, std, axes, self.training)
        return self.gamma.value * X_hat + self.beta.value

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        cache = self._cache
        grad_out = self._check_grad_out(cache, grad_out, None if cache is None else cache[0].shape)
        X_hat, std, axes, training = cache
        self.gamma.grad += (grad_out * X_hat).sum(axis=axes)
        self.beta.grad += grad_out.sum(axis=axes)
        g = grad_out * self.gamma.value  # dL/dX_hat
        if not training:  # fixed statistics: a per-feature affine map
            return g / std
        # The batch statistics depend on every x: remove from g its mean and its component
        # along X_hat (see the module docstring for the derivation).
        return (g - g.mean(axis=axes) - X_hat * (g * X_hat).mean(axis=axes)) / std

    def parameters(self) -> list[Parameter]:
        return [self.gamma, self.beta]

    def __repr__(self) -> str:
        return f"BatchNorm({self.n_features})"
