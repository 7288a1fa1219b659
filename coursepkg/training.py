"""A training loop over mini-batches and epochs, with a progress bar and a history."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm  # the text bar: stable in stored notebooks, no widgets needed

from ._validation import check_nonnegative_int, check_positive_int
from .early_stopping import EarlyStopping
from .losses import BinaryCrossEntropy, Loss, SoftmaxCrossEntropy
from .metrics import accuracy
from .module import Module, modes, restore_modes
from .optim import Optimizer


@dataclass
class History:
    """Per-epoch record of a training run (lists have one entry per epoch).

    Attributes:
        loss: mean training loss over the epoch's mini-batches.
        step_loss: the loss of every mini-batch, in training order (epochs * batches entries).
        metric: the metric on the whole training set after the epoch (if there is one; by
            default accuracy for a classification loss, none for a regression loss).
        val_loss, val_metric: the same on the validation data (if given).
        best_epoch: with early stopping, the epoch (counted from 1) with the best monitored
            score, whose parameters the model holds after training; else None.
        stopped_epoch: with early stopping, the last epoch run if it ended training before
            ``epochs``; None if training ran to the end (or ran without early stopping).
    """

    loss: list[float] = field(default_factory=list)
    step_loss: list[float] = field(default_factory=list)
    metric: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_metric: list[float] = field(default_factory=list)
    metric_name: str = ""
    best_epoch: int | None = None
    stopped_epoch: int | None = None

    @property
    def stopped_early(self) -> bool:
        """Whether early stopping ended training before the requested number of epochs."""
        return self.stopped_epoch is not None


# tqdm's default bar width for an output that is not a terminal differs between tqdm versions
# (10 characters in 4.67, more in 4.66); a stored notebook must show the same line everywhere.
BAR_FORMAT = "{l_bar}{bar:10}{r_bar}"


def progress_bar(
    iterable=None, *, total: int | None = None, desc: str | None = None, enabled: bool = True
) -> tqdm:
    """A tqdm progress bar over epochs, drawn the same way by every tqdm version.

    Args:
        iterable: what to iterate over (e.g. ``range(epochs)``), or None to call ``update``.
        total: the number of steps when ``iterable`` is None.
        desc: the label before the bar.
        enabled: False gives a silent bar (tqdm's ``disable``).
    """
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        disable=not enabled,
        mininterval=0.5,
        bar_format=BAR_FORMAT,
    )


def minibatches(n_samples: int, batch_size: int, rng):
    """Yield index arrays that cover ``range(n_samples)`` once, in random order.

    The last batch is smaller when ``batch_size`` does not divide ``n_samples``. ``rng`` is a
    ``numpy.random.Generator`` or a seed. ``n_samples = 0`` yields no batch.

    Raises:
        TypeError, ValueError: ``n_samples`` not an integer >= 0, or ``batch_size`` not a
            positive integer.
    """
    n_samples = check_nonnegative_int(n_samples, "n_samples", "minibatches")
    batch_size = check_positive_int(batch_size, "batch_size", "minibatches")
    order = np.random.default_rng(rng).permutation(n_samples)
    for start in range(0, n_samples, batch_size):
        yield order[start : start + batch_size]


def training_set(
    X, y, where: str, names: tuple[str, str] = ("X", "y")
) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) as arrays with the same, non-zero number of rows, or a clear error from ``where``.

    ``names`` are what the two arrays are called in the messages, e.g. ``("X_val", "y_val")``.
    Raises ValueError for a scalar, for different numbers of samples and for 0 samples.
    """
    X, y = np.asarray(X), np.asarray(y)
    x_name, y_name = names
    for name, A in ((x_name, X), (y_name, y)):
        if A.ndim == 0:
            raise ValueError(
                f"{where}: {name} must be an array with one row per sample, got a scalar."
            )
    if len(X) != len(y):
        raise ValueError(f"{where}: {x_name} has {len(X)} samples but {y_name} has {len(y)}.")
    if len(X) == 0:
        raise ValueError(
            f"{where}: got an empty data set: {x_name} and {y_name} have 0 samples; "
            "at least one is needed."
        )
    return X, y


CLASSIFICATION_LOSSES = (SoftmaxCrossEntropy, BinaryCrossEntropy)
"""The losses whose targets are class labels, so that accuracy is a meaningful default metric."""


def default_metric(loss_fn: Loss):
    """The metric ``train`` uses when none is given: accuracy for a classification loss, else None.

    A regression loss (``MeanSquaredError``, ``MixtureDensityLoss``) gets no metric: accuracy
    would compare real-valued targets with class labels and report a meaningless number.
    """
    return accuracy if isinstance(loss_fn, CLASSIFICATION_LOSSES) else None


def predict(model: Module, X: np.ndarray, *, batch_size: int = 1000) -> np.ndarray:
    """The model's outputs for all of X, computed ``batch_size`` samples at a time.

    The model runs in evaluation mode (``model.eval()``: dropout off, batch normalization with
    its running statistics), so each sample's output does not depend on the others in its
    chunk; afterwards every module is back in the mode it was in. With that, the result is
    ``model.eval()(X)``, but the memory a forward pass needs (e.g. a convolution's im2col matrix)
    stays that of one chunk. Shapes: X (N, ...) -> outputs (N, ...).
    """
    batch_size = check_positive_int(batch_size, "batch_size", "predict")
    X = np.asarray(X)
    saved = modes(model)
    model.eval()
    try:
        if len(X) <= batch_size:
            return model(X)
        return np.concatenate([model(X[i : i + batch_size]) for i in range(0, len(X), batch_size)])
    finally:
        restore_modes(saved)


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
    metric="auto",
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    progress: bool = True,
    desc: str = "training",
    early_stopping: EarlyStopping | None = None,
) -> History:
    """Train ``model`` on (X, y) with mini-batch gradient steps; return the History.

    Each step: zero the gradients, forward a mini-batch, compute the loss, backward its gradient
    through the model, and let the optimizer update the parameters.

    Modes: the steps run in training mode (``model.train()``: dropout on, batch normalization
    with the mini-batch's statistics); the metric and the validation loss are computed with
    ``predict``, in evaluation mode. When ``train`` returns (or raises), every module is back in
    the mode it had before the call: a new model is in training mode, so call ``model.eval()``
    (or use ``predict``) before using ``model(X)`` for predictions.

    Args:
        model, loss_fn, optimizer: what to train, on which loss, with which update rule.
        X: inputs (N, ...); y: targets with N rows, as ``loss_fn`` expects.
        epochs: passes over the data; batch_size: samples per step (N for full-batch).
        seed: seed of the shuffling order.
        metric: ``metric(outputs, y) -> float`` on the whole training set after each epoch;
            None to skip that extra pass over the data; ``"auto"`` (the default) follows the
            loss (see ``default_metric``): ``accuracy`` for ``SoftmaxCrossEntropy`` and
            ``BinaryCrossEntropy``, no metric for a regression loss such as ``MeanSquaredError``.
            The metric is first tried on the first mini-batch, so that one that cannot score
            the model's outputs fails before any update rather than after an epoch.
        validation_data: optional (X_val, y_val), at least one sample, evaluated after each epoch.
        progress: show a tqdm progress bar over epochs (with the epoch's mean loss).
        desc: label of the progress bar.
        early_stopping: an ``EarlyStopping`` that watches ``val_loss`` or ``val_metric`` (so it
            needs ``validation_data``), ends training after ``patience`` epochs without
            improvement, and leaves the model with the parameters of the best epoch; the
            History then records ``best_epoch`` and ``stopped_epoch``.

    Raises:
        ValueError: bad ``epochs`` or ``batch_size``; X and y (or X_val and y_val) of different
            lengths or empty; a metric that fails on the first mini-batch; early stopping
            without what it monitors.
        TypeError: a metric that is not a function, None or "auto"; validation_data that is
            not a pair (X_val, y_val); early_stopping that is not an EarlyStopping.
        RuntimeError: early stopping saw no epoch whose monitored score improved (e.g. NaN in
            every epoch), so it has no best epoch to restore.
    """
    epochs = check_positive_int(epochs, "epochs", "train")
    batch_size = check_positive_int(batch_size, "batch_size", "train")
    X, y = training_set(X, y, "train")
    if validation_data is not None:
        validation_data = _validation_set(validation_data)
    automatic = isinstance(metric, str) and metric == "auto"
    if automatic:
        metric = default_metric(loss_fn)
    elif metric is not None and not callable(metric):
        raise TypeError(
            f"train: metric must be a function metric(outputs, y), None or 'auto', got {metric!r}."
        )
    if early_stopping is not None:
        _check_early_stopping(early_stopping, validation_data, metric, automatic, loss_fn)
        early_stopping.reset()
    saved = modes(model)
    try:
        return _train_epochs(
            model, loss_fn, optimizer, X, y, epochs, batch_size, seed, metric,
            validation_data, progress, desc, early_stopping,
        )  # fmt: skip
    finally:
        restore_modes(saved)


def _train_epochs(
    model, loss_fn, optimizer, X, y, epochs, batch_size, seed, metric, validation_data,
    progress, desc, early_stopping,
) -> History:  # fmt: skip
    """The loop of ``train``, on checked arguments."""
    rng = np.random.default_rng(seed)
    history = History(metric_name=getattr(metric, "__name__", "") if metric else "")

    # Updated by hand rather than by iterating over it, so that a run ended by early stopping
    # shows the number of epochs it actually ran.
    bar = progress_bar(total=epochs, desc=desc, enabled=progress)
    metric_tried = metric is None
    model.train()  # for the steps; predict switches to evaluation mode and back
    for epoch in range(1, epochs + 1):
        total = 0.0
        for idx in minibatches(len(X), batch_size, rng):
            optimizer.zero_grad()
            outputs = model(X[idx])
            if not metric_tried:  # once, before the first update (see the docstring)
                _try_metric(metric, outputs, y[idx], bar)
                metric_tried = True
            loss = loss_fn(outputs, y[idx])
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
        bar.update()
        if early_stopping is not None:
            score = getattr(history, early_stopping.monitor)[-1]
            if early_stopping.update(epoch, score, model.parameters()):
                history.stopped_epoch = epoch if epoch < epochs else None
                break
    bar.close()
    if early_stopping is not None:
        if early_stopping.best_epoch == 0:
            scores = getattr(history, early_stopping.monitor)
            raise RuntimeError(
                f"train: early stopping saw no improving epoch: {early_stopping.monitor} was "
                f"{scores} in the {len(scores)} epochs run, never a number better than the "
                f"starting value {early_stopping.best_score}, so there are no best parameters "
                "to restore (the model keeps those of the last epoch). Check that the loss "
                "and metric return finite numbers on the validation data."
            )
        history.best_epoch = early_stopping.best_epoch
        if early_stopping.restore_best:
            early_stopping.restore(model.parameters())
    return history


def _validation_set(validation_data) -> tuple[np.ndarray, np.ndarray]:
    """validation_data as a checked pair (X_val, y_val), or a clear error before training."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise TypeError(
            "train: validation_data must be a pair (X_val, y_val), e.g. from "
            f"coursepkg.train_test_split, got a {type(validation_data).__name__}."
        )
    return training_set(*validation_data, "train: validation_data", ("X_val", "y_val"))


def _try_metric(metric, outputs, targets, bar) -> None:
    """Call ``metric`` on one mini-batch; if it fails, say so before training has started."""
    try:
        metric(outputs, targets)
    except (ValueError, TypeError, IndexError) as exc:
        bar.close()
        name = getattr(metric, "__name__", repr(metric))
        raise ValueError(
            f"train: the metric {name} cannot score this model's outputs (shape "
            f"{np.shape(outputs)}) against the targets (shape {np.shape(targets)}) of the "
            f"first mini-batch: {exc} Pass metric=None to train without a metric, or a "
            "metric that fits these targets."
        ) from exc


def _check_early_stopping(early_stopping, validation_data, metric, automatic, loss_fn) -> None:
    """Raise a clear error if ``early_stopping`` cannot watch what it is asked to watch."""
    if not isinstance(early_stopping, EarlyStopping):
        raise TypeError(
            "train: early_stopping must be an EarlyStopping, e.g. "
            f"early_stopping=EarlyStopping(patience=10), got a {type(early_stopping).__name__}."
        )
    if validation_data is None:
        raise ValueError(
            "train: early stopping watches the validation data, but validation_data is None. "
            "Pass validation_data=(X_val, y_val), e.g. from coursepkg.train_test_split."
        )
    if early_stopping.monitor == "val_metric" and metric is None:
        raise ValueError(
            "train: early stopping monitors 'val_metric', but metric is None"
            + (f" (the default for {loss_fn!r}, not a classification loss)" if automatic else "")
            + ". Pass a metric, or use EarlyStopping(monitor='val_loss')."
        )
