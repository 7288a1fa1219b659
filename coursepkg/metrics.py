"""Classification metrics computed from network outputs."""

from __future__ import annotations

import numpy as np


def predict_labels(outputs: np.ndarray) -> np.ndarray:
    """Class labels from network outputs.

    Shapes: logits (N, K) with K >= 2 -> argmax (N,); a single logit per sample, (N,) or (N, 1),
    -> 1 where the logit is positive (probability above 1/2), else 0.
    """
    outputs = np.asarray(outputs)
    if outputs.ndim == 2 and outputs.shape[1] >= 2:
        return outputs.argmax(axis=1)
    if outputs.ndim == 1 or (outputs.ndim == 2 and outputs.shape[1] == 1):
        return (outputs.reshape(-1) > 0).astype(int)
    raise ValueError(
        f"predict_labels: expected outputs of shape (N,) or (N, K), got {outputs.shape}."
    )


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of samples whose predicted class (see ``predict_labels``) equals the label."""
    predicted = predict_labels(outputs)
    labels = np.asarray(labels).reshape(-1)
    if predicted.shape != labels.shape:
        raise ValueError(
            f"accuracy: {predicted.shape[0]} predictions but {labels.shape[0]} labels."
        )
    return float(np.mean(predicted == labels))


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts C[i, j] of samples with true class i predicted as class j. Shape (K, K)."""
    labels, predicted = np.asarray(labels).reshape(-1), np.asarray(predicted).reshape(-1)
    if labels.shape != predicted.shape:
        raise ValueError(
            f"confusion_matrix: {labels.shape[0]} labels but {predicted.shape[0]} predictions."
        )
    for name, a in (("labels", labels), ("predicted", predicted)):
        if a.size and (a.min() < 0 or a.max() >= n_classes):
            raise ValueError(
                f"confusion_matrix: {name} must lie in [0, {n_classes - 1}] for "
                f"n_classes={n_classes}, got values from {a.min()} to {a.max()}."
            )
    C = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(C, (labels, predicted), 1)
    return C
