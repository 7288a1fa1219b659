"""Smoke tests of the plot helpers (Agg backend, set in conftest.py): they draw and return axes."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes

from coursepkg import History, Linear, Sequential, Tanh, confusion_matrix, make_annuli
from coursepkg.plotting import (
    grid_over,
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
