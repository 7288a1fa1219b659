"""Smoke tests of the plot helpers (Agg backend, set in conftest.py): they draw and return axes."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.text import Annotation

from coursepkg import History, Linear, Sequential, Tanh, confusion_matrix, make_annuli
from coursepkg.plotting import (
    grid_over,
    plot_computational_graph,
    plot_confusion_matrix,
    plot_decision_regions,
    plot_loss_curves,
    plot_probability_map,
    scatter_classes,
)

X, y = make_annuli(60, 3, seed=0)
X2, y2 = X[y < 2], y[y < 2]  # a two-class subset


def test_grid_over_covers_the_points_with_a_margin():
    xx, yy, grid = grid_over(X, resolution=11, margin=0.5)
    assert xx.shape == yy.shape == (11, 11)
    assert grid.shape == (121, 2)
    np.testing.assert_allclose(grid.min(axis=0), X.min(axis=0) - 0.5)
    np.testing.assert_allclose(grid.max(axis=0), X.max(axis=0) + 0.5)


def test_grid_over_rejects_points_that_are_not_2d():
    with pytest.raises(ValueError, match=r"grid_over: expected 2-D points of shape \(N, 2\)"):
        grid_over(np.zeros((5, 3)))


def test_scatter_classes_draws_one_labelled_set_per_class():
    _, ax = plt.subplots()
    assert scatter_classes(X, y, ax) is ax
    assert len(ax.collections) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1", "class 2"]


def test_scatter_classes_applies_the_marker_size_to_every_class():
    _, ax = plt.subplots()
    scatter_classes(X, y, ax, s=40)
    assert [c.get_sizes()[0] for c in ax.collections] == [40, 40, 40]


def test_scatter_classes_uses_the_current_axes_by_default():
    _, ax = plt.subplots()
    assert scatter_classes(X, y) is ax


def test_plot_decision_regions_with_a_multiclass_module():
    model = Sequential(Linear(2, 5, rng=0), Tanh(), Linear(5, 3, rng=1))
    _, ax = plt.subplots()
    out = plot_decision_regions(model, X, y, ax, resolution=20, title="regions")
    assert isinstance(out, Axes) and out is ax
    assert ax.get_title() == "regions"
    assert len(ax.collections) >= 4  # filled regions + one scatter per class


def test_plot_decision_regions_with_one_logit_per_point():
    _, ax = plt.subplots()
    out = plot_decision_regions(lambda P: P[:, 0] - P[:, 1], X2, y2, ax, resolution=20)
    assert isinstance(out, Axes)


@pytest.mark.parametrize(
    "predict",
    [lambda P: P[:, 0], lambda P: P[:, :1], lambda P: np.column_stack([P[:, 0], -P[:, 0]])],
    ids=["(M,)", "(M, 1)", "(M, 2)"],
)
def test_plot_probability_map(predict):
    fig, ax = plt.subplots()
    out = plot_probability_map(predict, X2, y2, ax, resolution=20, title="P(class 1)")
    assert isinstance(out, Axes) and out is ax
    assert ax.get_title() == "P(class 1)"
    assert len(fig.axes) == 2  # the map and its colour bar


def test_plot_probability_map_rejects_three_outputs():
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match=r"expected one or two outputs per point, got \(400, 3\)"):
        plot_probability_map(lambda P: np.zeros((len(P), 3)), X, y, ax, resolution=20)


def test_plot_loss_curves_training_only():
    _, ax = plt.subplots()
    out = plot_loss_curves(History(loss=[1.0, 0.5, 0.25]), ax, log_scale=True)
    assert isinstance(out, Axes)
    assert len(ax.lines) == 1
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3])  # epochs count from 1
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"


def test_plot_loss_curves_with_validation():
    _, ax = plt.subplots()
    plot_loss_curves(History(loss=[1.0, 0.5], val_loss=[1.1, 0.7]), ax)
    assert len(ax.lines) == 2
    assert ax.get_legend() is not None


def test_plot_confusion_matrix():
    C = confusion_matrix(np.array([0, 1, 2, 2]), np.array([0, 2, 2, 2]), 3)
    _, ax = plt.subplots()
    out = plot_confusion_matrix(C, ax, title="digits")
    assert isinstance(out, Axes) and out is ax
    assert ax.get_title() == "digits"
    assert sorted(t.get_text() for t in ax.texts) == sorted(str(c) for c in C.ravel())


GRAPH_NODES = {"x": (0, 2), "y": (0, 0), "+": (2, 1), "f": (4, 1)}
GRAPH_EDGES = [("x", "+", -2.0, 1.5), ("y", "+", 5.0, 1.5), ("+", "f", 3.0, 1.0)]


def _labels(ax):
    """The axes' texts without the arrows (an Annotation is a Text too)."""
    return [t for t in ax.texts if not isinstance(t, Annotation)]


def test_plot_computational_graph_writes_values_in_green_and_gradients_in_red():
    _, ax = plt.subplots()
    out = plot_computational_graph(GRAPH_NODES, GRAPH_EDGES, ax, operations="+", title="g")
    assert out is ax and ax.get_title() == "g"
    green = [t.get_text() for t in _labels(ax) if t.get_color() == "green"]
    red = [t.get_text() for t in _labels(ax) if t.get_color() == "red"]
    assert green == ["-2", "5", "3"] and red == ["1.5", "1.5", "1"]
    names = [t.get_text() for t in _labels(ax) if t.get_color() not in ("green", "red")]
    assert names == ["x", "y", "+", "f"]
    assert len(ax.patches) == 1  # one circle, for the one operation
    assert sum(isinstance(t, Annotation) for t in ax.texts) == 3  # one arrow per edge


def test_plot_computational_graph_puts_the_value_above_and_the_gradient_below():
    _, ax = plt.subplots()
    plot_computational_graph({"a": (0, 0), "b": (3, 0)}, [("a", "b", 7.0, -1.0)], ax)
    value, grad = _labels(ax)[:2]
    assert (value.get_text(), grad.get_text()) == ("7", "-1")
    # 0.45 of the way along the edge, 0.22 above and below it
    np.testing.assert_allclose(value.get_position(), (1.35, 0.22))
    np.testing.assert_allclose(grad.get_position(), (1.35, -0.22))
    assert ax.get_xlim() == (-0.5, 3.5) and ax.get_ylim() == (-0.5, 0.5)


@pytest.mark.parametrize(
    "nodes, edges, operations, message",
    [
        ({}, [], (), "nodes is empty"),
        ({"a": (0, 0, 1)}, [], (), r"position of node 'a' must be two numbers"),
        ({"a": (0, 0), "b": (1, 0)}, [("a", "c", 1.0, 1.0)], (), r"names node 'c', which is not"),
        ({"a": (0, 0), "b": (0, 0)}, [("a", "b", 1.0, 1.0)], (), "at the same place"),
        ({"a": (0, 0), "b": (1, 0)}, [("a", "b", 1.0)], (), r"\(source, target, value, gradient\)"),
        ({"a": (0, 0), "b": (1, 0)}, [("a", "b", np.nan, 1.0)], (), "NaN or infinite"),
        ({"a": (0, 0), "b": (1, 0)}, [], "+", r"operation '\+' is not in nodes"),
    ],
)
def test_plot_computational_graph_rejects_bad_graphs(nodes, edges, operations, message):
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match=message):
        plot_computational_graph(nodes, edges, ax, operations=operations)
