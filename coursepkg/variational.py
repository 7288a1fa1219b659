"""Variational inference for networks of ``BayesianLinear`` layers: the ELBO, training on it,
and predictions averaged over weight samples.

For training data D of N samples and a variational posterior q(w), the evidence lower bound is

    ELBO = E_q[ log p(D | w) ] - KL( q(w) || p(w) )  <=  log p(D).

We minimize the negative ELBO per training sample, estimated on a mini-batch B with S weight
samples w_s ~ q:

    loss = (1/S) sum_s mean_{n in B} NLL(x_n, y_n; w_s) + KL(q || p) / N,

where the NLL is an ordinary loss of the package (BinaryCrossEntropy, SoftmaxCrossEntropy) and
the KL is the closed form each Bayesian layer computes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ._validation import as_float_array, check_positive_int
from .bayes_linear import MODES, BayesianLinear
from .functional import sigmoid, softmax
from .losses import Loss
from .module import Module, Sequential
from .optim import Optimizer
from .training import minibatches, predict, progress_bar, training_set


def bayesian_layers(model: Module) -> Iterator[BayesianLinear]:
    """The BayesianLinear layers of ``model`` (itself, or inside Sequentials), in order."""
    if isinstance(model, BayesianLinear):
        yield model
    elif isinstance(model, Sequential):
        for m in model:
            yield from bayesian_layers(m)


def _require_bayesian(model: Module, where: str) -> list[BayesianLinear]:
    layers = list(bayesian_layers(model))
    if not layers:
        raise ValueError(
            f"{where}: the model has no BayesianLinear layer, so there is no weight "
            "distribution. Build it from BayesianLinear layers instead of Linear ones."
        )
    return layers


def kl_divergence(model: Module) -> float:
    """Sum of KL(q || p) over all BayesianLinear layers of ``model`` (0 if there are none)."""
    return float(sum(layer.kl() for layer in bayesian_layers(model)))


def kl_backward(model: Module, scale: float = 1.0) -> None:
    """Add ``scale`` times the gradient of ``kl_divergence(model)`` into the parameters' grads."""
    for layer in bayesian_layers(model):
        layer.kl_backward(scale)


def set_mode(model: Module, mode: str) -> None:
    """Set the mode (``"sample"``, ``"fixed"`` or ``"mean"``) of every BayesianLinear layer."""
    if mode not in MODES:
        raise ValueError(f"set_mode: mode must be one of {MODES}, got {mode!r}.")
    for layer in bayesian_layers(model):
        layer.mode = mode


@dataclass
class ELBOTerms:
    """The two terms of the per-sample negative ELBO of one mini-batch.

    Attributes:
        nll: data term, the loss (mean negative log-likelihood per sample) averaged over the
            weight samples.
        kl: KL(q || p) of the whole model (not divided by anything).
        n_train: N, the number of training samples the KL is shared among.
    """

    nll: float
    kl: float
    n_train: int

    @property
    def loss(self) -> float:
        """The negative ELBO per training sample: nll + kl / n_train."""
        return self.nll + self.kl / self.n_train


def negative_elbo(
    model: Module,
    data_loss: Loss,
    X: np.ndarray,
    y: np.ndarray,
    *,
    n_train: int,
    n_samples: int = 1,
    backward: bool = True,
) -> ELBOTerms:
    """The per-sample negative ELBO of the batch (X, y); with ``backward``, also its gradient.

    For each of ``n_samples`` forward passes (each draws its own weights in mode ``"sample"``)
    the data loss is computed and, if ``backward``, its gradient divided by ``n_samples`` is
    backpropagated; then the KL gradient divided by ``n_train`` is added. Gradients are ADDED
    into the parameters' grads: zero them first (``optimizer.zero_grad()``).

    Shapes: X (B, ...) and y (B, ...) as ``model`` and ``data_loss`` expect.
    Returns: the ELBOTerms (``.loss`` is the value that the gradient belongs to).
    """
    where = "negative_elbo"
    n_train = check_positive_int(n_train, "n_train (number of training samples)", where)
    n_samples = check_positive_int(n_samples, "n_samples (weight samples per step)", where)
    _require_bayesian(model, where)
    if len(X) == 0:
        raise ValueError(f"{where}: got an empty batch.")
    nll = 0.0
    for _ in range(n_samples):
        nll += data_loss(model(X), y) / n_samples
        if backward:
            model.backward(data_loss.backward() / n_samples)
    if backward:
        kl_backward(model, 1.0 / n_train)
    return ELBOTerms(nll=float(nll), kl=kl_divergence(model), n_train=n_train)


@dataclass
class ELBOHistory:
    """Per-epoch record of ``train_elbo``: means over the epoch's mini-batches.

    Attributes:
        loss: negative ELBO per training sample (= nll + kl / n_train).
        nll: data term.
        kl: KL(q || p) of the model (at the end of each step, averaged over the epoch).
    """

    loss: list[float] = field(default_factory=list)
    nll: list[float] = field(default_factory=list)
    kl: list[float] = field(default_factory=list)


def train_elbo(
    model: Module,
    data_loss: Loss,
    optimizer: Optimizer,
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int = 32,
    n_samples: int = 1,
    seed=0,
    progress: bool = True,
    desc: str = "training (ELBO)",
) -> ELBOHistory:
    """Train a model of BayesianLinear layers by minimizing the negative ELBO ("Bayes by backprop").

    Each step: zero the gradients, ``negative_elbo`` on a mini-batch (forward and backward of the
    data term for ``n_samples`` weight samples, plus the KL gradient / N), optimizer step.
    The layers are put in mode ``"sample"`` (a new weight sample at every forward pass).

    Args:
        model, data_loss, optimizer: what to train, the data term's loss, the update rule.
        X: inputs (N, ...); y: targets with N rows, as ``data_loss`` expects.
        epochs, batch_size, seed: as in ``train``.
        n_samples: weight samples per step (more: less noisy gradients, slower steps).
        progress, desc: the tqdm progress bar over epochs and its label.
    """
    where = "train_elbo"
    epochs = check_positive_int(epochs, "epochs", where)
    batch_size = check_positive_int(batch_size, "batch_size", where)
    n_samples = check_positive_int(n_samples, "n_samples (weight samples per step)", where)
    _require_bayesian(model, where)
    X, y = training_set(X, y, where)
    set_mode(model, "sample")
    rng = np.random.default_rng(seed)
    history = ELBOHistory()

    bar = progress_bar(range(epochs), desc=desc, enabled=progress)
    for _ in bar:
        sums = np.zeros(3)
        for idx in minibatches(len(X), batch_size, rng):
            optimizer.zero_grad()
            terms = negative_elbo(
                model, data_loss, X[idx], y[idx], n_train=len(X), n_samples=n_samples
            )
            optimizer.step()
            sums += len(idx) * np.array([terms.loss, terms.nll, terms.kl])
        loss, nll, kl = sums / len(X)
        history.loss.append(float(loss))
        history.nll.append(float(nll))
        history.kl.append(float(kl))
        bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
    bar.close()
    return history


def _probabilities(outputs: np.ndarray, where: str) -> np.ndarray:
    """Network outputs -> class probabilities: one logit per sample (N,)/(N, 1) -> P(class 1)
    of shape (N,); logits (N, K) with K >= 2 -> softmax (N, K)."""
    if outputs.ndim == 1 or (outputs.ndim == 2 and outputs.shape[1] == 1):
        return sigmoid(outputs.reshape(-1))
    if outputs.ndim == 2:
        return softmax(outputs, axis=1)
    raise ValueError(
        f"{where}: expected outputs of shape (N,), (N, 1) or (N, K), got {outputs.shape}."
    )


def predictive_probabilities(
    model: Module, X: np.ndarray, *, n_samples: int = 100, seed=0, batch_size: int = 1000
) -> np.ndarray:
    """Class probabilities averaged over ``n_samples`` weight samples from the posterior q.

        p(y | x) ~ (1/S) sum_s p(y | x, w_s),   w_s ~ q(w).

    Each weight sample is held fixed while all of X passes through the model (in chunks of
    ``batch_size``). The noise comes from ``seed``, so equal seeds give equal results; the
    layers' modes are restored afterwards (their stored noise is that of the last sample).

    Shapes: X (N, ...) -> (N,) probabilities of class 1 for a model with one logit per sample,
    or (N, K) for a model with K >= 2 logits.
    """
    where = "predictive_probabilities"
    n_samples = check_positive_int(n_samples, "n_samples (weight samples)", where)
    layers = _require_bayesian(model, where)
    X = as_float_array(X, "X", where)
    if len(X) == 0:
        raise ValueError(f"{where}: got an empty X.")
    rng = np.random.default_rng(seed)
    modes = [layer.mode for layer in layers]
    total = None
    try:
        set_mode(model, "fixed")
        for _ in range(n_samples):
            for layer in layers:
                layer.resample_noise(rng)
            P = _probabilities(np.asarray(predict(model, X, batch_size=batch_size)), where)
            total = P if total is None else total + P
    finally:
        for layer, mode in zip(layers, modes, strict=True):
            layer.mode = mode
    return total / n_samples


def predictive_entropy(probabilities: np.ndarray) -> np.ndarray:
    """Entropy (in nats) of predictive distributions: high where the model is unsure.

    Shapes: (N,) probabilities of class 1 of a binary problem -> (N,),
        H = -p log p - (1 - p) log(1 - p), at most log 2 = 0.693;
    or (N, K) rows of class probabilities that sum to 1 -> (N,), H = -sum_k p_k log p_k,
        at most log K. A probability of exactly 0 contributes 0 (the limit of p log p).
    """
    where = "predictive_entropy"
    P = as_float_array(probabilities, "probabilities", where)
    if P.ndim not in (1, 2):
        raise ValueError(
            f"{where}: expected probabilities of shape (N,) or (N, K), got shape {P.shape}."
        )
    if P.size and (P.min() < 0.0 or P.max() > 1.0):
        raise ValueError(
            f"{where}: probabilities must lie in [0, 1], got values from {P.min()} to "
            f"{P.max()}. Pass probabilities (e.g. from predictive_probabilities), not logits."
        )
    if P.ndim == 1:
        P = np.column_stack([1.0 - P, P])
    elif P.size and not np.allclose(P.sum(axis=1), 1.0, atol=1e-6):
        worst = np.argmax(np.abs(P.sum(axis=1) - 1.0))
        raise ValueError(
            f"{where}: each row of probabilities must sum to 1, but row {worst} sums to "
            f"{P[worst].sum()}."
        )
    safe = np.where(P > 0.0, P, 1.0)  # log(1) = 0 where p = 0: p log p -> 0
    return -np.sum(P * np.log(safe), axis=1)
