"""A Gaussian prior on the weights: its log-density, its penalty and the penalty's gradient.

With the prior p(w) = prod_i N(w_i | 0, sigma^2) over every element w_i of the parameters,

    log p(w) = -||w||^2 / (2 sigma^2) - (M / 2) log(2 pi sigma^2)       (M elements in all),

and the part of -log p(w) that depends on w is the *penalty* ||w||^2 / (2 sigma^2), whose gradient
is w / sigma^2. Adding it to a data loss gives the negative log-posterior that a maximum a
posteriori (MAP) fit minimizes. The gradient is added by hand, after the backward pass::

    optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    model.backward(loss_fn.backward())
    prior.add_penalty_grad(model.parameters(), scale=c)   # grad += c * w / sigma^2
    optimizer.step()

which is the same update as an optimizer with ``weight_decay = c / sigma^2`` (see
``GaussianPrior.weight_decay``).
"""

from __future__ import annotations

import numpy as np

from ._validation import check_nonnegative_number, check_positive_number
from .module import Module, Parameter


def _parameter_list(parameters, where: str) -> list[Parameter]:
    if isinstance(parameters, Module):
        raise TypeError(
            f"{where}: got the module {parameters!r} itself; pass its parameters instead, "
            "e.g. prior.log_prob(model.parameters())."
        )
    parameters = list(parameters)
    for p in parameters:
        if not isinstance(p, Parameter):
            raise TypeError(
                f"{where}: expected Parameters (use model.parameters()), got a {type(p).__name__}."
            )
    return parameters


class GaussianPrior:
    """Independent zero-mean Gaussian prior N(0, sigma^2) on every parameter element.

    Every method takes a list of Parameters (any shapes), e.g. ``model.parameters()``; pass a
    subset (``[p for p in model.parameters() if p.name == "W"]``) to leave the others unpenalized.

    Args:
        sigma: standard deviation of the prior, > 0. Small sigma means a strong pull towards 0.
    """

    def __init__(self, sigma: float):
        self.sigma = check_positive_number(sigma, "sigma (prior standard deviation)", repr(self))

    def log_prob(self, parameters) -> float:
        """log p(w) = sum_i log N(w_i | 0, sigma^2), normalizing constant included."""
        parameters = _parameter_list(parameters, f"{self!r}.log_prob")
        n_elements = sum(p.size for p in parameters)
        log_normalizer = 0.5 * n_elements * np.log(2.0 * np.pi * self.sigma**2)
        return -self.penalty(parameters) - float(log_normalizer)

    def penalty(self, parameters) -> float:
        """||w||^2 / (2 sigma^2): -log p(w) without its constant, summed over every element."""
        parameters = _parameter_list(parameters, f"{self!r}.penalty")
        squared_norm = sum(float(np.sum(p.value.astype(np.float64) ** 2)) for p in parameters)
        return squared_norm / (2.0 * self.sigma**2)

    def add_penalty_grad(self, parameters, scale: float = 1.0) -> None:
        """Add ``scale * d(penalty)/dw = scale * w / sigma^2`` into each ``Parameter.grad``.

        This is ``scale`` times the gradient of -log p(w). Use ``scale = 1 / N`` when the data
        loss is a negative log-likelihood averaged over N samples (see the module docstring).
        """
        where = f"{self!r}.add_penalty_grad"
        scale = check_nonnegative_number(scale, "scale", where)
        for p in _parameter_list(parameters, where):
            p.grad += (scale / self.sigma**2) * p.value

    def weight_decay(self, scale: float = 1.0) -> float:
        """The optimizer ``weight_decay`` with the update of ``add_penalty_grad(..., scale)``.

        That is ``scale / sigma^2``: both add ``scale * w / sigma^2`` to the gradient.
        """
        scale = check_nonnegative_number(scale, "scale", f"{self!r}.weight_decay")
        return scale / self.sigma**2

    def __repr__(self) -> str:
        sigma = getattr(self, "sigma", None)
        return "GaussianPrior()" if sigma is None else f"GaussianPrior(sigma={sigma:g})"
