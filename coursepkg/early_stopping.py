"""Early stopping: end training when the validation score stops improving, keep the best weights.

Pass ``early_stopping=EarlyStopping(patience=20)`` to ``coursepkg.train`` (with
``validation_data``). After every epoch ``train`` calls ``update``; once ``patience`` epochs in a
row have not improved on the best score, training stops, and in any case the parameters are set
back to their values at the best epoch.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_nonnegative_number, check_positive_int

MONITORS = {"val_loss": "min", "val_metric": "max"}
"""What early stopping can watch, and whether smaller or larger is better."""


class EarlyStopping:
    """Stop after ``patience`` epochs without improvement and restore the best parameters.

    Args:
        patience: how many epochs in a row without improvement end training (>= 1).
        monitor: ``"val_loss"`` (lower is better) or ``"val_metric"`` (higher is better).
        min_delta: an epoch improves only if it beats the best score by more than this (>= 0).
        restore_best: set the parameters back to the best epoch's values when training ends.

    Attributes (the state of the current run; ``reset`` clears it, and ``train`` calls it, so one
    object can be reused for several runs):
        best_score: the best monitored value so far.
        best_epoch: its epoch, counted from 1.
        best_values: a copy of every parameter's value at that epoch (list of arrays).
        wait: epochs since the last improvement.
    """

    def __init__(
        self,
        patience: int = 10,
        *,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        restore_best: bool = True,
    ):
        self.patience = check_positive_int(patience, "patience", "EarlyStopping")
        if monitor not in MONITORS:
            raise ValueError(
                f"EarlyStopping: monitor must be one of {list(MONITORS)}, got {monitor!r}."
            )
        self.monitor = monitor
        self.min_delta = check_nonnegative_number(min_delta, "min_delta", "EarlyStopping")
        self.restore_best = bool(restore_best)
        self.reset()

    def reset(self) -> None:
        """Forget the previous run."""
        self.best_score = np.inf if MONITORS[self.monitor] == "min" else -np.inf
        self.best_epoch = 0
        self.best_values: list[np.ndarray] = []
        self.wait = 0

    def improves(self, score: float) -> bool:
        """Whether ``score`` beats the best so far by more than ``min_delta``."""
        if MONITORS[self.monitor] == "min":
            return score < self.best_score - self.min_delta
        return score > self.best_score + self.min_delta

    def update(self, epoch: int, score: float, parameters) -> bool:
        """Record epoch ``epoch`` (from 1) with its monitored ``score``; True means stop now.

        On an improvement, the parameters' current values are copied as the best ones.
        """
        if self.improves(score):
            self.best_score = float(score)
            self.best_epoch = epoch
            self.best_values = [p.value.copy() for p in parameters]
            self.wait = 0
            return False
        self.wait += 1
        return self.wait >= self.patience

    def restore(self, parameters) -> None:
        """Copy the best epoch's values back into the parameters (in place).

        Raises RuntimeError if no epoch has improved yet (nothing to restore), and ValueError if
        ``parameters`` are not the ones whose values were saved (another number or shape).
        """
        parameters = list(parameters)
        if self.best_epoch == 0:
            raise RuntimeError(
                f"{self!r}.restore: no epoch has improved on the starting score "
                f"{self.best_score} of {self.monitor!r} (a NaN or infinite score never does), "
                "so there are no best parameters to restore."
            )
        if len(parameters) != len(self.best_values):
            raise ValueError(
                f"{self!r}.restore: got {len(parameters)} parameters, but the best epoch saved "
                f"{len(self.best_values)}; pass the parameters of the model that was trained."
            )
        for p, best in zip(parameters, self.best_values, strict=True):
            if p.value.shape != best.shape:
                raise ValueError(
                    f"{self!r}.restore: parameter {p.name} has shape {p.value.shape}, but the "
                    f"saved value has shape {best.shape}; pass the model that was trained."
                )
            p.value[...] = best

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(patience={self.patience}, monitor={self.monitor!r}, "
            f"min_delta={self.min_delta:g})"
        )
