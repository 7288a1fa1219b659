"""Numerically stable elementwise and row-wise functions used by activations and losses."""

from __future__ import annotations

import numpy as np


def _floating(Z) -> np.ndarray:
    """Z as an array of its own floating dtype (float32 stays float32), else float64."""
    Z = np.asarray(Z)
    return Z if Z.dtype.kind == "f" else Z.astype(np.float64)


def sigmoid(Z: np.ndarray) -> np.ndarray:
    """Logistic function 1 / (1 + exp(-Z)), any shape, without overflow for large |Z|.

    Like every function here it keeps a floating input's dtype (float32 stays float32)."""
    Z = _floating(Z)
    # exp(-|Z|) never overflows; the two branches are the same function rearranged.
    E = np.exp(-np.abs(Z))
    return np.where(Z >= 0, 1.0 / (1.0 + E), E / (1.0 + E))


def softplus(Z: np.ndarray) -> np.ndarray:
    """log(1 + exp(Z)), any shape, computed as max(Z, 0) + log1p(exp(-|Z|))."""
    Z = _floating(Z)
    return np.maximum(Z, 0.0) + np.log1p(np.exp(-np.abs(Z)))


def logsumexp(Z: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """log(sum(exp(Z), axis)), shifted by the maximum so that no exponential overflows."""
    Z = _floating(Z)
    m = np.max(Z, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(Z - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def log_softmax(Z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Z - logsumexp(Z): log-probabilities, shape of ``Z``."""
    return Z - logsumexp(Z, axis=axis, keepdims=True)


def softmax(Z: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(Z) / sum(exp(Z)) along ``axis``: probabilities that sum to one, shape of ``Z``."""
    Z = _floating(Z)
    E = np.exp(Z - np.max(Z, axis=axis, keepdims=True))
    return E / np.sum(E, axis=axis, keepdims=True)


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Integer labels (N,) -> one-hot matrix (N, n_classes) of float64."""
    Y = np.zeros((len(labels), n_classes))
    Y[np.arange(len(labels)), labels] = 1.0
    return Y
