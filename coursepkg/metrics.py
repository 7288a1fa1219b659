"""Classification metrics computed from network outputs.

Labels follow the package's one rule (``_validation.as_labels``): shape (N,) or (N, 1), integers
or whole-number floats, in [0, K - 1]. A metric of an empty batch raises ValueError (it has no
value), as do NaN or infinite outputs.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array, as_labels, check_nonempty, check_positive_int


def predict_labels(outputs: np.ndarray) -> np.ndarray:
    """Class labels from network outputs.

    Shapes: logits (N, K) with K >= 2 -> argmax (N,); a single logit per sample, (N,) or (N, 1),
    -> 1 where the logit is positive (probability above 1/2), else 0.
    Raises ValueError for other shapes and for NaN or infinite outputs.
    """
    outputs = as_float_array(outputs, "outputs", "predict_labels")
    if outputs.ndim == 2 and outputs.shape[1] >= 2:
        return outputs.argmax(axis=1)
    if outputs.ndim == 1 or (outputs.ndim == 2 and outputs.shape[1] == 1):
        return (outputs.reshape(-1) > 0).astype(int)
    raise ValueError(
        f"predict_labels: expected outputs of shape (N,) or (N, K), got {outputs.shape}."
    )


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of samples whose predicted class (see ``predict_labels``) equals the label.

    Shapes: outputs (N, K) or (N,) / (N, 1) as for ``predict_labels``; labels (N,) or (N, 1) in
    [0, K - 1] (in [0, 1] for a single logit). Raises ValueError for an empty batch, labels out
    of range, or mismatched lengths.
    """
    where = "accuracy"
    predicted = predict_labels(outputs)
    outputs = np.asarray(outputs)
    n_classes = outputs.shape[1] if outputs.ndim == 2 and outputs.shape[1] >= 2 else 2
    labels = as_labels(labels, "labels", where, n_classes=n_classes)
    if predicted.shape != labels.shape:
        raise ValueError(f"{where}: {predicted.shape[0]} predictions but {labels.shape[0]} labels.")
    check_nonempty(labels, "labels", where)
    return float(np.mean(predicted == labels))


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts C[i, j] of samples with true class i predicted as class j. Shape (K, K).

    Both label arrays follow the package's rule: (N,) or (N, 1), values in [0, n_classes - 1].
    Raises ValueError for an empty batch, labels out of range, or mismatched lengths.
    """
    where = "confusion_matrix"
    n_classes = check_positive_int(n_classes, "n_classes", where)
    labels = as_labels(labels, "labels", where, n_classes=n_classes)
    predicted = as_labels(predicted, "predicted", where, n_classes=n_classes)
    if labels.shape != predicted.shape:
        raise ValueError(f"{where}: {labels.shape[0]} labels but {predicted.shape[0]} predictions.")
    check_nonempty(labels, "labels", where)
    C = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(C, (labels, predicted), 1)
    return C
