"""Plot helpers shared by the chapters: decision regions, probability maps, curves, confusions,
computational graphs."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ._validation import as_float_array, as_labels, check_positive_int
from .functional import sigmoid, softmax
from .training import History
from .variational import ELBOHistory

CLASS_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]


def _points(X, where: str) -> np.ndarray:
    """X as a non-empty, finite float array of 2-D points (N, 2), or a clear error."""
    X = as_float_array(X, "X", where, ndim=2)
    if X.shape[1] != 2:
        raise ValueError(f"{where}: expected 2-D points of shape (N, 2), got {X.shape}.")
    if len(X) == 0:
        raise ValueError(f"{where}: X holds no points (shape {X.shape}); there is nothing to plot.")
    return X


def grid_over(X: np.ndarray, resolution: int = 200, margin: float = 0.5):
    """A regular grid covering the 2-D points X (N, 2) plus a margin.

    Returns: xx, yy (resolution, resolution) coordinate arrays and the grid as points
    (resolution**2, 2), ready to feed to a model.
    """
    X = _points(X, "grid_over")
    resolution = check_positive_int(resolution, "resolution", "grid_over")
    if resolution < 2:
        raise ValueError(f"grid_over: resolution must be at least 2, got {resolution}.")
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    xx, yy = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def scatter_classes(X: np.ndarray, y: np.ndarray, ax=None, **kwargs):
    """Scatter 2-D points X (N, 2) coloured by their class labels y (N,), with a legend.

    Raises:
        ValueError, TypeError: X not (N, 2) finite numbers, y not class labels (the rule of
            ``one_hot``), or X and y of different lengths.
    """
    X = _points(X, "scatter_classes")
    y = as_labels(y, "y", "scatter_classes")
    if len(y) != len(X):
        raise ValueError(f"scatter_classes: X holds {len(X)} points but y {len(y)} labels.")
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
    ax.legend(loc="best")
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
    """Training (and validation, if recorded) loss per epoch from a ``History``.

    Raises:
        TypeError: ``history`` is not a History (e.g. a plain list of losses).
        ValueError: the history has no epoch, or ``log_scale`` with a loss <= 0.
    """
    if not isinstance(history, History | ELBOHistory):
        raise TypeError(
            "plot_loss_curves: expected the History that train returns, got a "
            f"{type(history).__name__}. For a plain list of losses use ax.plot(losses)."
        )
    if not history.loss:
        raise ValueError("plot_loss_curves: the history has no epoch to plot.")
    if log_scale and min(history.loss + list(getattr(history, "val_loss", []))) <= 0:
        raise ValueError(
            "plot_loss_curves: log_scale needs losses > 0; this history has a loss <= 0."
        )
    ax = ax or plt.gca()
    epochs = np.arange(1, len(history.loss) + 1)
    ax.plot(epochs, history.loss, label="training")
    if getattr(history, "val_loss", None):  # an ELBOHistory has no validation loss
        ax.plot(epochs, history.val_loss, label="validation")
        ax.legend()
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    return ax


def plot_computational_graph(nodes, edges, ax=None, *, operations=(), title: str = ""):
    """Draw a computational graph with its forward values and backward gradients on the edges.

    Each edge is an arrow from one node to the next. Above it (to its left, seen along the arrow)
    the value the forward pass sent along it is written in green; below it, the gradient the
    backward pass sent back, in red. This is the picture of backpropagation in chapter 3 (after
    the circuit diagrams of CS231n's notes on backpropagation).

    Args:
        nodes: dict name -> (x, y), each node's position in data coordinates. Keep nodes at
            least about 1 unit apart: the circles have radius 0.3 and the labels sit 0.22 off
            the edge.
        edges: sequence of (source, target, value, gradient): two node names and two real
            numbers, printed with the ``g`` format.
        operations: names of the nodes that compute something (drawn as circles, e.g. "+", "×");
            the other nodes (inputs, output) are drawn as plain names.
        ax: the axes to draw on (default: the current axes).
        title: the axes' title.

    Returns:
        The axes. Their aspect is equal and their limits fit the nodes with a margin of 0.5.

    Raises:
        ValueError: no nodes, a position that is not two finite numbers, an edge that does not
            have four entries, names a node missing from ``nodes`` or joins a node to itself
            (or to a node at the same place), a value or gradient that is NaN or infinite, or
            an operation that is not a node.
        TypeError: a position, value or gradient that is not a number.
    """
    where = "plot_computational_graph"
    if not nodes:
        raise ValueError(f"{where}: nodes is empty; give each node a position (x, y).")
    positions = {}
    for name, position in nodes.items():
        positions[name] = as_float_array(position, f"the position of node {name!r}", where)
        if positions[name].shape != (2,):
            raise ValueError(
                f"{where}: the position of node {name!r} must be two numbers (x, y), got "
                f"{position!r}."
            )
    checked = []
    for edge in edges:
        if len(edge) != 4:
            raise ValueError(
                f"{where}: each edge is (source, target, value, gradient), got {edge!r}."
            )
        source, target, value, grad = edge
        for name in (source, target):
            if name not in positions:
                raise ValueError(
                    f"{where}: edge {source!r} -> {target!r} names node {name!r}, which is not "
                    f"in nodes ({', '.join(map(repr, positions))})."
                )
        length = np.linalg.norm(positions[target] - positions[source])
        if length == 0.0:
            raise ValueError(
                f"{where}: edge {source!r} -> {target!r} joins two points at the same place."
            )
        what = f"the value and gradient of edge {source!r} -> {target!r}"
        value_grad = as_float_array([value, grad], what, where)
        checked.append((positions[source], positions[target], length, *value_grad))
    for name in operations:
        if name not in positions:
            raise ValueError(f"{where}: operation {name!r} is not in nodes.")

    ax = ax or plt.gca()
    for start, end, length, value, grad in checked:
        along = (end - start) / length
        normal = np.array([-along[1], along[0]])  # "up" for an edge that runs to the right
        # Stop the arrow short of both ends so that it does not run into the circles or names.
        ax.annotate(
            "",
            xy=end - 0.3 * along,
            xytext=start + 0.25 * along,
            arrowprops={"arrowstyle": "-|>", "color": "0.4", "lw": 1.5},
        )
        label_at = start + 0.45 * (end - start)
        style = {"ha": "center", "va": "center", "fontsize": 12, "weight": "bold"}
        ax.text(*(label_at + 0.22 * normal), f"{value:g}", color="green", **style)
        ax.text(*(label_at - 0.22 * normal), f"{grad:g}", color="red", **style)
    for name, (x, y) in positions.items():
        if name in operations:
            circle = plt.Circle((x, y), 0.3, facecolor="#e8eef7", edgecolor="0.3", lw=1.5)
            ax.add_patch(circle)
        ax.text(x, y, str(name), ha="center", va="center", fontsize=15)
    corners = np.array(list(positions.values()))
    ax.set_xlim(corners[:, 0].min() - 0.5, corners[:, 0].max() + 0.5)
    ax.set_ylim(corners[:, 1].min() - 0.5, corners[:, 1].max() + 0.5)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel(
        "forward pass: values (green) along the arrows;   "
        "backward pass: gradients (red) against them"
    )
    ax.set_title(title)
    return ax


def plot_confusion_matrix(C: np.ndarray, ax=None, *, title: str = "Confusion matrix"):
    """Heatmap of a confusion matrix C (K, K): rows are true classes, columns predictions.

    Raises:
        ValueError: C is not a non-empty square matrix of counts (integers >= 0).
    """
    import seaborn as sns

    C = np.asarray(C)
    if C.ndim != 2 or C.shape[0] != C.shape[1] or C.size == 0:
        raise ValueError(
            f"plot_confusion_matrix: expected a square matrix (K, K) with K >= 1, got shape "
            f"{C.shape}."
        )
    if C.dtype.kind not in "biu" and not (
        C.dtype.kind == "f" and np.all(np.isfinite(C)) and np.all(C == np.round(C))
    ):
        raise ValueError("plot_confusion_matrix: C must hold counts (whole numbers).")
    if np.any(C < 0):
        raise ValueError("plot_confusion_matrix: C must hold counts, got a negative entry.")
    C = C.astype(np.int64)

    ax = ax or plt.gca()
    sns.heatmap(C, annot=True, fmt="d", cmap="Blues", cbar=False, square=True, ax=ax)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    return ax
