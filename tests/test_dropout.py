"""Dropout: known values, the inverted scaling, modes, a gradient check with the mask fixed,
bad input; and the training/evaluation modes of Module, Sequential, train and predict."""

import numpy as np
import pytest

from coursepkg import (
    SGD,
    Dropout,
    Linear,
    MeanSquaredError,
    Module,
    ReLU,
    Sequential,
    grad_check,
    predict,
    train,
)

TOLERANCE = 1e-7


def test_forward_values_follow_the_seeded_draws():
    # The mask is (u >= p) / (1 - p) for the uniform draws u of the layer's generator.
    X = np.arange(1.0, 13.0).reshape(3, 4)
    d = Dropout(0.25, rng=7)
    u = np.random.default_rng(7).random((3, 4))
    expected = X * (u >= 0.25) / 0.75
    np.testing.assert_allclose(d(X), expected, rtol=1e-15)
    np.testing.assert_allclose(d.mask, (u >= 0.25) / 0.75, rtol=1e-15)


def test_a_hand_computed_example_with_p_one_half():
    # With p = 1/2 every kept value doubles and every dropped one is 0.
    X = np.array([[1.0, -2.0, 3.0, 4.0]])
    Y = Dropout(0.5, rng=3)(X)
    kept = Y != 0
    assert kept.any() and (~kept).any()  # seed 3 keeps some entries and drops others
    np.testing.assert_array_equal(Y[kept], 2 * X[kept])


def test_inverted_scaling_keeps_the_mean():
    # E[Y] = X: the mean over a million entries of ones is 1 within a few standard errors
    # (the standard deviation of one entry is sqrt(p / (1 - p)) = 1 for p = 1/2).
    Y = Dropout(0.5, rng=0)(np.ones((1000, 1000)))
    assert abs(Y.mean() - 1.0) < 5e-3
    assert abs((Y == 0).mean() - 0.5) < 5e-3


def test_masks_differ_between_forward_passes():
    d = Dropout(0.5, rng=0)
    X = np.ones((4, 50))
    assert not np.array_equal(d(X), d(X))


def test_p_zero_and_evaluation_mode_are_the_identity():
    X = np.random.default_rng(0).standard_normal((5, 3))
    np.testing.assert_array_equal(Dropout(0.0, rng=0)(X), X)
    d = Dropout(0.9, rng=0).eval()
    np.testing.assert_array_equal(d(X), X)
    assert d.mask is None
    np.testing.assert_array_equal(d.backward(np.ones((5, 3))), np.ones((5, 3)))


def test_backward_multiplies_by_the_same_mask():
    d = Dropout(0.3, rng=1)
    X = np.ones((6, 4))
    Y = d(X)
    G = np.arange(24.0).reshape(6, 4)
    np.testing.assert_array_equal(d.backward(G), G * Y)  # Y = mask for X of ones


class FixedMaskDropout(Module):
    """Dropout whose generator restarts at every forward pass, so that finite differences see
    one fixed mask (a fresh mask per pass would make the function random)."""

    def __init__(self, p, seed):
        self.inner, self.seed = Dropout(p), seed

    def forward(self, X):
        self.inner.rng = np.random.default_rng(self.seed)
        return self.inner.forward(X)

    def backward(self, grad_out):
        return self.inner.backward(grad_out)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 3, 2)])
def test_gradient_check_with_the_mask_fixed(seed, shape):
    X = np.random.default_rng(seed).standard_normal(shape)
    result = grad_check(FixedMaskDropout(0.4, seed), X)
    assert result.max_error <= TOLERANCE, result


def test_gradient_check_inside_a_network():
    rng = np.random.default_rng(0)
    net = Sequential(Linear(3, 6, rng=1), FixedMaskDropout(0.5, 2), Linear(6, 2, rng=3))
    result = grad_check(net, rng.standard_normal((4, 3)))
    assert result.max_error <= TOLERANCE, result


def test_float32_stays_float32():
    X = np.ones((3, 4), dtype=np.float32)
    d = Dropout(0.5, rng=0)
    Y = d(X)
    assert Y.dtype == np.float32
    assert set(np.unique(Y)) <= {0.0, 2.0}
    assert d.backward(np.ones_like(X)).dtype == np.float32


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5, float("nan")])
def test_p_outside_zero_one_is_refused(p):
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        Dropout(p)


@pytest.mark.parametrize("p", ["0.5", None, True])
def test_p_that_is_not_a_number_is_refused(p):
    with pytest.raises(TypeError, match="p"):
        Dropout(p)


def test_bad_input_is_refused():
    d = Dropout(0.5, rng=0)
    with pytest.raises(ValueError, match="NaN"):
        d(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="scalar"):
        d(np.float64(1.0))
    with pytest.raises(TypeError, match="real numbers"):
        d(np.array([["a"]]))


def test_backward_before_forward_and_of_a_wrong_shape_is_refused():
    d = Dropout(0.5, rng=0)
    with pytest.raises(RuntimeError, match="before forward"):
        d.backward(np.ones((2, 2)))
    d(np.ones((2, 2)))
    with pytest.raises(ValueError, match="shape"):
        d.backward(np.ones((2, 3)))


def test_an_empty_batch_passes_through():
    Y = Dropout(0.5, rng=0)(np.ones((0, 3)))
    assert Y.shape == (0, 3)


# Training and evaluation modes -------------------------------------------------------------


def test_modes_propagate_through_nested_containers():
    inner = Sequential(Linear(2, 3), Dropout(0.5))
    net = Sequential(inner, ReLU(), Linear(3, 1))
    assert all(m.training for m in (net, inner, inner[1], net[2]))
    assert net.eval() is net
    assert not any(m.training for m in (net, inner, inner[0], inner[1], net[1], net[2]))
    net.train()
    assert all(m.training for m in (net, inner, inner[0], inner[1], net[1], net[2]))
    net.train(False)
    assert not inner[1].training


def test_train_with_a_non_bool_mode_is_refused():
    with pytest.raises(TypeError, match="coursepkg.train"):
        Sequential(Linear(2, 1)).train(np.ones((3, 2)))


class ModeSpy(Module):
    """The identity, recording the mode of every forward pass."""

    def __init__(self):
        self.seen = []

    def forward(self, X):
        self.seen.append(self.training)
        return X

    def backward(self, grad_out):
        return grad_out


def data(n=40):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 2))
    return X, X @ np.array([[1.0], [-2.0]])


def test_train_steps_in_training_mode_and_evaluates_in_evaluation_mode():
    X, y = data()
    spy = ModeSpy()
    net = Sequential(Linear(2, 1, rng=0), spy)
    optimizer = SGD(net.parameters(), lr=0.1)
    train(net, MeanSquaredError(), optimizer, X, y, epochs=2, batch_size=20,
          metric=lambda out, t: 0.0, validation_data=(X, y), progress=False)  # fmt: skip
    # per epoch: 2 steps, then the metric on X and the validation loss (one chunk each)
    assert spy.seen == [True, True, False, False] * 2


def test_train_and_predict_restore_the_modes_they_found():
    X, y = data()
    net = Sequential(Linear(2, 1, rng=0), Dropout(0.5, rng=0))
    net[1].eval()  # a mixed state, e.g. set by hand
    train(net, MeanSquaredError(), SGD(net.parameters(), lr=0.1), X, y, epochs=1, progress=False)
    assert net.training and not net[1].training
    net.eval()
    predict(net, X)
    assert not net.training and not net[1].training
    net.train()
    predict(net, X, batch_size=7)
    assert net.training and net[1].training


def test_train_restores_the_modes_when_it_raises():
    X, y = data()
    net = Sequential(Linear(2, 1, rng=0), Dropout(0.5)).eval()
    with pytest.raises(ValueError, match="metric"):
        train(net, MeanSquaredError(), SGD(net.parameters(), lr=0.1), X, y, epochs=1,
              metric=lambda out, t: np.ones(3)[5], progress=False)  # fmt: skip
    assert not net.training and not net[1].training


def test_predict_switches_dropout_off():
    X, _ = data()
    net = Sequential(Linear(2, 3, rng=0), Dropout(0.5, rng=0))
    np.testing.assert_array_equal(predict(net, X), net[0](X))
    assert not np.array_equal(net(X), net[0](X))  # model(X) is still in training mode
