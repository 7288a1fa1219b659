"""Plot helpers shared by the chapters: decision regions, probability maps, curves, confusions."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .functional import sigmoid, softmax

CLASS_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]


def grid_over(X: np.ndarray, resolution: int = 200, margin: float = 0.5):
    """A regular grid covering the 2-D points X (N, 2) plus a margin.

    Returns: xx, yy (resolution, resolution) coordinate arrays and the grid as points
    (resolution**2, 2), ready to feed to a model.
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"grid_over: expected 2-D points of shape (N, 2), got {X.shape}.")
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    xx, yy = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def scatter_classes(X: np.ndarray, y: np.ndarray, ax=None, **kwargs):
    """Scatter 2-D points coloured by class, with a legend."""
    ax = ax or plt.gca()
    size = kwargs.pop("s", 14)  # popped once, so that every class gets the same size
    for k in np.unique(y):
        ax.scatter(
            *X[y == k].T,
            s=size,
            color=CLASS_COLORS[int(k) % len(CLASS_COLORS)],
            edgecolor="white",
            linewidth=0.4,
            label=f"class {k}",
            **kwargs,
        )
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_decision_regions(predict, X, y, ax=None, *, resolution: int = 200, title: str = ""):
    """Colour the plane by the class ``predict`` assigns, and draw the data on top.

    Args:
        predict: maps points (M, 2) to outputs: logits (M, K), or one logit per point (M,)/(M, 1).
            A Module works as it is.
        X, y: the data, (N, 2) and (N,).
    """
    from matplotlib.colors import ListedColormap

    from .metrics import predict_labels

    ax = ax or plt.gca()
    xx, yy, grid = grid_over(X, resolution)
    labels = predict_labels(predict(grid)).reshape(xx.shape)
    n_classes = int(max(labels.max(), np.max(y))) + 1
    cmap = ListedColormap(CLASS_COLORS[:n_classes])
    ax.contourf(xx, yy, labels, levels=np.arange(n_classes + 1) - 0.5, cmap=cmap, alpha=0.25)
    scatter_classes(X, y, ax)
    ax.set_title(title)
    return ax


def plot_probability_map(predict, X, y, ax=None, *, resolution: int = 200, title: str = ""):
    """Filled contours of P(class 1 | x) over the plane, with the data and the 0.5 contour.

    ``predict`` maps points (M, 2) to one logit per point, (M,) or (M, 1), or to two-class
    logits (M, 2).
    """
    ax = ax or plt.gca()
    xx, yy, grid = grid_over(X, resolution)
    outputs = np.asarray(predict(grid))
    if outputs.ndim == 2 and outputs.shape[1] == 2:
        p = softmax(outputs, axis=1)[:, 1]
    elif outputs.ndim == 1 or outputs.shape[1] == 1:
        p = sigmoid(outputs.reshape(-1))
    else:
        raise ValueError(
            f"plot_probability_map: expected one or two outputs per point, got {outputs.shape}."
        )
    p = p.reshape(xx.shape)
    filled = ax.contourf(xx, yy, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
    ax.contour(xx, yy, p, levels=[0.5], colors="black", linewidths=1.2)
    plt.colorbar(filled, ax=ax, label="P(class 1 | x)")
    scatter_classes(X, y, ax)
    ax.set_title(title)
    return ax


def plot_loss_curves(history, ax=None, *, title: str = "Training loss", log_scale: bool = False):
    """Training (and validation, if recorded) loss per epoch from a ``History``."""
    ax = ax or plt.gca()
    epochs = np.arange(1, len(history.loss) + 1)
    ax.plot(epochs, history.loss, label="training")
    if history.val_loss:
        ax.plot(epochs, history.val_loss, label="validation")
        ax.legend()
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    return ax


def plot_confusion_matrix(C: np.ndarray, ax=None, *, title: str = "Confusion matrix"):
    """Heatmap of a confusion matrix C (K, K): rows are true classes, columns predictions."""
    import seaborn as sns

    ax = ax or plt.gca()
    sns.heatmap(C, annot=True, fmt="d", cmap="Blues", cbar=False, square=True, ax=ax)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    return ax
