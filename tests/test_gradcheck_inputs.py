"""The finite-difference entry points refuse inputs they cannot differentiate correctly, and
``grad_check`` says when an input lies at a kink.

* Integer arrays cannot hold u + eps: ``numerical_gradient`` of sum(u**2) at the integers
  [1, 2, 3] gave [500000, 1500000, 2500000] instead of [2, 4, 6], and float32 gave about
  [1.97, 3.82, 5.72]. Every entry point now raises a TypeError for anything but float64.
* At a kink (ReLU at exactly 0, a tie in max pooling) central differences are wrong even for a
  correct backward pass: ``grad_check(ReLU(), X)`` with zeros in X reported about 0.16 with no
  hint why. The result now lists those entries and the error away from them.
"""

import numpy as np
import pytest

from coursepkg import (
    Linear,
    MaxPool2d,
    MeanSquaredError,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    grad_check,
    grad_check_loss,
    numerical_gradient,
)
from coursepkg.gradcheck import relative_error


def sum_of_squares(u):
    return lambda: float(np.sum(u.astype(np.float64) ** 2))


# Integer and float32 arrays. -----------------------------------------------------------------


def test_numerical_gradient_of_the_issue_example_is_right_in_float64():
    u = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(numerical_gradient(sum_of_squares(u), u), [2.0, 4.0, 6.0], rtol=1e-9)


@pytest.mark.parametrize(
    "dtype", [np.int64, np.int32, np.uint8, np.float32, np.float16, np.complex128, np.bool_]
)
def test_numerical_gradient_refuses_every_dtype_but_float64(dtype):
    u = np.array([1, 2, 3]).astype(dtype)
    with pytest.raises(
        TypeError, match=rf"numerical_gradient: .*need float64.*got {np.dtype(dtype)}"
    ):
        numerical_gradient(sum_of_squares(u), u)


@pytest.mark.parametrize("u", [[1.0, 2.0, 3.0], 2.0, np.float64(2.0)])
def test_numerical_gradient_refuses_what_it_cannot_change_in_place(u):
    with pytest.raises(TypeError, match=r"must be the NumPy array that f reads"):
        numerical_gradient(lambda: 0.0, u)


def test_numerical_gradient_refuses_a_read_only_array():
    u = np.broadcast_to(np.ones(1), (3,))
    with pytest.raises(ValueError, match=r"u is read-only"):
        numerical_gradient(lambda: float(np.sum(u)), u)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_numerical_gradient_refuses_non_finite_values(bad):
    u = np.array([1.0, bad])
    with pytest.raises(ValueError, match=r"u contains NaN or infinite values"):
        numerical_gradient(sum_of_squares(u), u)


@pytest.mark.parametrize("entry", ["numerical_gradient", "grad_check", "grad_check_loss"])
@pytest.mark.parametrize("eps", [0.0, -1e-6, np.nan, np.inf])
def test_every_entry_point_refuses_a_bad_step(entry, eps):
    u = np.ones((2, 2))
    call = {
        "numerical_gradient": lambda: numerical_gradient(sum_of_squares(u), u, eps),
        "grad_check": lambda: grad_check(Tanh(), u, eps=eps),
        "grad_check_loss": lambda: grad_check_loss(MeanSquaredError(), u, u, eps=eps),
    }[entry]
    with pytest.raises(ValueError, match=rf"{entry}: eps must be a positive finite number"):
        call()


@pytest.mark.parametrize("dtype", [np.int64, np.float32])
def test_grad_check_and_grad_check_loss_refuse_integer_and_float32_inputs(dtype):
    X = np.array([[1, 2], [3, 4]]).astype(dtype)
    with pytest.raises(TypeError, match=rf"grad_check: .*need float64.*got {np.dtype(dtype)}"):
        grad_check(Tanh(), X)
    with pytest.raises(TypeError, match=rf"grad_check_loss: .*need float64.*got {np.dtype(dtype)}"):
        grad_check_loss(MeanSquaredError(), X, np.ones((2, 2)))


def test_grad_check_refuses_an_empty_batch():
    # it used to report a relative error of 0 for every array, checking nothing
    with pytest.raises(ValueError, match=r"grad_check: X is empty \(shape \(0, 3\)\)"):
        grad_check(Linear(3, 2), np.zeros((0, 3)))


def test_grad_check_loss_refuses_an_empty_batch():
    with pytest.raises(ValueError, match=r"grad_check_loss: predictions is empty"):
        grad_check_loss(MeanSquaredError(), np.zeros((0, 2)), np.zeros((0, 2)))


def test_numerical_gradient_values_are_unchanged_for_float64():
    """Bit for bit the central difference (f(u + eps) - f(u - eps)) / (2 eps)."""
    rng = np.random.default_rng(0)
    u = rng.standard_normal((3, 4))
    f = lambda: float(np.sum(np.sin(u) * u))  # noqa: E731
    expected = np.zeros_like(u)
    for i in np.ndindex(u.shape):
        v = u.copy()
        v[i] += 1e-6
        f_plus = float(np.sum(np.sin(v) * v))
        v[i] = u[i] - 1e-6
        f_minus = float(np.sum(np.sin(v) * v))
        expected[i] = (f_plus - f_minus) / 2e-6
    np.testing.assert_array_equal(numerical_gradient(f, u), expected)


# Kinks. -------------------------------------------------------------------------------------


def relu_input_with_zeros():
    X = np.random.default_rng(1).standard_normal((4, 5))
    X[0, 1] = X[2, 3] = X[3, 0] = 0.0
    return X


def test_grad_check_of_relu_at_zero_names_the_kinks():
    X = relu_input_with_zeros()
    result = grad_check(ReLU(), X)
    assert (
        result.max_error > 1e-2
    )  # the error itself is unchanged: the central differences are wrong
    assert result.kinks == {"input": [(0, 1), (2, 3), (3, 0)]}
    assert result.errors_away_from_kinks["input"] < 1e-8  # backward is right everywhere else
    report = str(result)
    assert "3 entries of input (the first at index (0, 1)) lie within eps of a kink" in report
    assert "Finite differences are not valid at a kink" in report


@pytest.mark.parametrize("offset", [3e-7, -3e-7, 9e-7])
def test_grad_check_flags_inputs_within_the_step_of_the_kink(offset):
    X = np.random.default_rng(2).standard_normal((3, 3))
    X[1, 2] = offset
    result = grad_check(ReLU(), X)
    assert result.kinks == {"input": [(1, 2)]}
    assert result.errors_away_from_kinks["input"] < 1e-8


def test_grad_check_of_relu_at_a_kink_everywhere():
    result = grad_check(ReLU(), np.zeros((2, 3)))
    assert len(result.kinks["input"]) == 6
    assert result.errors_away_from_kinks["input"] is None
    assert "away from them" not in str(result)


def test_grad_check_flags_a_kink_reached_through_a_parameter():
    net = Sequential(Linear(2, 3, rng=0), ReLU())  # zero biases: every pre-activation is 0
    result = grad_check(net, np.zeros((2, 2)))
    assert "param 1 (b)" in result.kinks


def test_grad_check_flags_a_tie_in_max_pooling():
    X = np.random.default_rng(3).standard_normal((1, 2, 2, 1))
    X[0, 1, 1, 0] = X[0, 0, 0, 0] = np.max(X) + 1.0  # two maxima in the one window
    result = grad_check(MaxPool2d(2), X)
    assert result.kinks == {"input": [(0, 0, 0, 0), (0, 1, 1, 0)]}


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("scale", [0.1, 1.0, 5.0])
def test_smooth_inputs_give_no_kinks_and_the_same_report(seed, scale):
    rng = np.random.default_rng(seed)
    X = scale * rng.standard_normal((4, 3))
    net = Sequential(Linear(3, 5, rng=seed), Tanh(), Linear(5, 4, rng=seed + 1), Sigmoid())
    relu_X = X + np.sign(X) * 0.1  # ReLU away from its kink is smooth too
    for module, inputs in ((net, X), (ReLU(), relu_X)):
        result = grad_check(module, inputs, seed=seed)
        assert result.kinks == {} and result.errors_away_from_kinks == {}
        assert "kink" not in str(result)
        assert len(str(result).splitlines()) == len(result.errors) + 1


def test_smooth_errors_are_the_plain_relative_errors():
    X = np.random.default_rng(4).standard_normal((3, 4))
    R = np.random.default_rng(0).standard_normal((3, 4))
    module = Tanh()
    module.forward(X)
    analytic = module.backward(R)
    u = X.copy()
    numerical = numerical_gradient(lambda: float(np.sum(R * module.forward(u))), u)
    assert grad_check(module, X).errors == {"input": relative_error(analytic, numerical)}
