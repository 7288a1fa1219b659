"""Optimizers: update parameters from their accumulated gradients.

Usage in a training step::

    optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    model.backward(loss_fn.backward())
    optimizer.step()

The learning rate is an attribute, ``optimizer.lr``, and may be changed between steps; so is
``optimizer.weight_decay``.

Weight decay (L2 regularization) is "coupled": every step uses the gradient of
``loss + weight_decay / 2 * ||theta||^2``, that is ``g = grad + weight_decay * theta``, for every
parameter the optimizer holds, biases included. To leave some parameters undecayed (biases, say),
give them to a second optimizer with ``weight_decay=0``::

    weights = [p for p in model.parameters() if p.name == "W"]
    biases = [p for p in model.parameters() if p.name == "b"]
    optimizers = [SGD(weights, lr=0.1, weight_decay=1e-3), SGD(biases, lr=0.1)]
"""

from __future__ import annotations

import numpy as np

from ._validation import check_fraction, check_nonnegative_number, check_positive_number
from .module import Module, Parameter, unique_parameters


class Optimizer:
    """Base class: holds the parameters, a validated learning rate and the weight decay."""

    def __init__(self, parameters, lr: float, weight_decay: float = 0.0):
        if isinstance(parameters, Module):
            raise TypeError(
                f"{type(self).__name__}: got the module {parameters!r} itself; "
                "pass its parameters instead, e.g. SGD(model.parameters(), lr=0.1)."
            )
        # Each Parameter once: one listed twice would otherwise be stepped twice.
        self.parameters: list[Parameter] = unique_parameters(parameters)
        if not self.parameters:
            raise ValueError(
                f"{type(self).__name__}: got an empty list of parameters, so there is nothing "
                "to train. Pass model.parameters() of a model with trainable layers (Linear)."
            )
        for p in self.parameters:
            if not isinstance(p, Parameter):
                raise TypeError(
                    f"{type(self).__name__}: expected Parameters (use model.parameters()), "
                    f"got a {type(p).__name__}."
                )
        self.lr = lr
        self.weight_decay = weight_decay

    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = check_positive_number(value, "lr (learning rate)", type(self).__name__)

    @property
    def weight_decay(self) -> float:
        return self._weight_decay

    @weight_decay.setter
    def weight_decay(self, value: float) -> None:
        self._weight_decay = check_nonnegative_number(value, "weight_decay", type(self).__name__)

    def gradient(self, p: Parameter) -> np.ndarray:
        """The gradient a step uses for ``p``: ``p.grad + weight_decay * p.value`` (shape of p).

        ``p.grad`` itself is left as the backward pass made it (the data term only).
        """
        if self._weight_decay == 0.0:
            return p.grad
        return p.grad + self._weight_decay * p.value

    def gradients(self) -> list[np.ndarray]:
        """``gradient(p)`` for every parameter, checked to be finite before any step uses them.

        Raises:
            ValueError: a gradient holds NaN or infinite values (a diverging run, usually). The
                parameters are left unchanged, so the step is all or nothing.
        """
        grads = [self.gradient(p) for p in self.parameters]
        for p, g in zip(self.parameters, grads, strict=True):
            if not np.all(np.isfinite(g)):
                raise ValueError(
                    f"{type(self).__name__}.step: the gradient of {p!r} contains NaN or infinite "
                    "values, so no parameter was changed. Training has probably diverged: lower "
                    "the learning rate, or check the loss and the backward passes."
                )
        return grads

    def zero_grad(self) -> None:
        for p in self.parameters:
            p.zero_grad()

    def step(self) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (heavy-ball) momentum.

    With momentum mu, each parameter theta keeps a velocity v:
        v <- mu v - lr grad;   theta <- theta + v.
    With mu = 0 this is plain gradient descent, theta <- theta - lr grad.
    With weight decay lambda, grad is replaced by grad + lambda theta (see the module docstring).

    Changing ``lr`` during a run: v holds steps already multiplied by the learning rate they were
    taken with, so a new ``lr`` applies to new gradients only, and the remembered velocity keeps
    the old rate. (This is the convention of Sutskever et al., 2013, and of Goodfellow et al.,
    *Deep Learning*, Algorithm 8.2.) PyTorch's ``torch.optim.SGD`` keeps the raw sum
    b <- mu b + grad and steps theta <- theta - lr b, so there a new ``lr`` rescales the whole
    velocity at once. The two give the same parameters, to rounding, as long as ``lr`` stays
    constant. Example: after a step with lr = 0.1 and gradient g1, a step with lr = 0.01 and
    gradient g2 moves theta by mu (-0.1 g1) - 0.01 g2 here, by -0.01 (mu g1 + g2) in PyTorch.
    """

    def __init__(
        self, parameters, lr: float = 0.1, momentum: float = 0.0, weight_decay: float = 0.0
    ):
        super().__init__(parameters, lr, weight_decay)
        self.momentum = check_fraction(momentum, "momentum", "SGD")
        self.velocities = [np.zeros_like(p.value) for p in self.parameters]

    def step(self) -> None:
        grads = self.gradients()
        for p, v, g in zip(self.parameters, self.velocities, grads, strict=True):
            v *= self.momentum
            v -= self.lr * g
            p.value += v


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015): steps scaled by running moments of the gradient.

    m <- b1 m + (1 - b1) g;        s <- b2 s + (1 - b2) g^2
    m_hat = m / (1 - b1^t);        s_hat = s / (1 - b2^t)
    theta <- theta - lr m_hat / (sqrt(s_hat) + eps)
    With weight decay lambda, g = grad + lambda theta (coupled L2, as in Kingma and Ba's paper;
    not the "decoupled" AdamW).
    """

    def __init__(
        self,
        parameters,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(parameters, lr, weight_decay)
        if len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}.")
        self.beta1 = check_fraction(betas[0], "betas[0]", "Adam")
        self.beta2 = check_fraction(betas[1], "betas[1]", "Adam")
        self.eps = check_positive_number(eps, "eps", "Adam")
        self.t = 0
        self.m = [np.zeros_like(p.value) for p in self.parameters]
        self.s = [np.zeros_like(p.value) for p in self.parameters]

    def step(self) -> None:
        grads = self.gradients()
        for p, g in zip(self.parameters, grads, strict=True):
            # g^2 must stay finite, or s becomes inf and the step silently 0 from then on.
            largest = np.max(np.abs(g), initial=0.0)
            if largest > np.sqrt(np.finfo(g.dtype).max):
                raise ValueError(
                    f"Adam.step: the gradient of {p!r} reaches {largest:.3g}, whose square "
                    f"overflows {g.dtype}, so no parameter was changed. Training has probably "
                    "diverged: lower the learning rate, or check the loss."
                )
        self.t += 1
        correction1 = 1.0 - self.beta1**self.t
        correction2 = 1.0 - self.beta2**self.t
        for p, m, s, g in zip(self.parameters, self.m, self.s, grads, strict=True):
            m *= self.beta1
            m += (1.0 - self.beta1) * g
            s *= self.beta2
            s += (1.0 - self.beta2) * g**2
            p.value -= self.lr * (m / correction1) / (np.sqrt(s / correction2) + self.eps)
