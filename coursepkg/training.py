"""A training loop over mini-batches and epochs, with a progress bar and a history."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm  # the text bar: stable in stored notebooks, no widgets needed

from ._validation import check_positive_int
from .losses import Loss
from .metrics import accuracy
from .module import Module
from .optim import Optimizer


@dataclass
class History:
    """Per-epoch record of a training run (lists have one entry per epoch).

    Attributes:
        loss: mean training loss over the epoch's mini-batches.
        step_loss: the loss of every mini-batch, in training order (epochs * batches entries).
        metric: the metric on the whole training set after the epoch (if a metric was given).
        val_loss, val_metric: the same on the validation data (if given).
    """

    loss: list[float] = field(default_factory=list)
    step_loss: list[float] = field(default_factory=list)
    metric: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_metric: list[float] = field(default_factory=list)
    metric_name: str = ""


def minibatches(n_samples: int, batch_size: int, rng: np.random.Generator):
    """Yield index arrays that cover ``range(n_samples)`` once, in random order.

    The last batch is smaller when ``batch_size`` does not divide ``n_samples``.
    """
    order = rng.permutation(n_samples)
    for start in range(0, n_samples, batch_size):
        yield order[start : start + batch_size]


def predict(model: Module, X: np.ndarray, *, batch_size: int = 1000) -> np.ndarray:
    """The model's outputs for all of X, computed ``batch_size`` samples at a time.

    Same result as ``model(X)``, but the memory a forward pass needs (e.g. a convolution's
    im2col matrix) stays that of one chunk. Shapes: X (N, ...) -> outputs (N, ...).
    """
    batch_size = check_positive_int(batch_size, "batch_size", "predict")
    X = np.asarray(X)
    if len(X) <= batch_size:
        return model(X)
    return np.concatenate([model(X[i : i + batch_size]) for i in range(0, len(X), batch_size)])


def train(
    model: Module,
    loss_fn: Loss,
    optimizer: Optimizer,
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int = 32,
    seed=0,
    metric=accuracy,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    progress: bool = True,
    desc: str = "training",
) -> History:
    """Train ``model`` on (X, y) with mini-batch gradient steps; return the History.

    Each step: zero the gradients, forward a mini-batch, compute the loss, backward its gradient
    through the model, and let the optimizer update the parameters.

    Args:
        model, loss_fn, optimizer: what to train, on which loss, with which update rule.
        X: inputs (N, ...); y: targets with N rows, as ``loss_fn`` expects.
        epochs: passes over the data; batch_size: samples per step (N for full-batch).
        seed: seed of the shuffling order.
        metric: ``metric(outputs, y) -> float`` on the whole training set after each epoch, or
            None to skip that extra pass over the data.
        validation_data: optional (X_val, y_val) evaluated after each epoch.
        progress: show a tqdm progress bar over epochs.
        desc: label of the progress bar.
    """
    epochs = check_positive_int(epochs, "epochs", "train")
    batch_size = check_positive_int(batch_size, "batch_size", "train")
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"train: X has {len(X)} samples but y has {len(y)}.")
    if len(X) == 0:
        raise ValueError("train: got an empty data set.")
    rng = np.random.default_rng(seed)
    history = History(metric_name=getattr(metric, "__name__", "") if metric else "")

    bar = tqdm(range(epochs), desc=desc, disable=not progress, mininterval=0.5)
    for _ in bar:
        total = 0.0
        for idx in minibatches(len(X), batch_size, rng):
            optimizer.zero_grad()
            loss = loss_fn(model(X[idx]), y[idx])
            model.backward(loss_fn.backward())
            optimizer.step()
            history.step_loss.append(loss)
            total += loss * len(idx)
        history.loss.append(total / len(X))
        if metric is not None:
            history.metric.append(metric(predict(model, X), y))
        if validation_data is not None:
            X_val, y_val = validation_data
            outputs = predict(model, X_val)
            history.val_loss.append(loss_fn(outputs, y_val))
            if metric is not None:
                history.val_metric.append(metric(outputs, y_val))
        bar.set_postfix(loss=f"{history.loss[-1]:.4f}", refresh=False)
    bar.close()
    return history
