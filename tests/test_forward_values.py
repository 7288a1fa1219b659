"""Forward passes (and a few hand-derived backward passes) against values computed by hand."""

import numpy as np
import pytest

from coursepkg import (
    Arctan,
    Linear,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    log_softmax,
    logsumexp,
    one_hot,
    sigmoid,
    softmax,
    softplus,
)

LN2, LN3, LN5 = np.log(2.0), np.log(3.0), np.log(5.0)

# A tiny layer used below: W (2, 3), b (3,).
W = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]])
b = np.array([0.5, -1.0, 2.0])
X = np.array([[1.0, 2.0], [3.0, 4.0]])


def test_linear_forward_by_hand():
    Z = Linear.from_weights(W, b).forward(X)
    expected = np.array(
        [
            [1 * 1 + 2 * 2 + 0.5, 1 * 0 + 2 * 1 - 1, 1 * -1 + 2 * 0 + 2],  # [5.5, 1, 1]
            [3 * 1 + 4 * 2 + 0.5, 3 * 0 + 4 * 1 - 1, 3 * -1 + 4 * 0 + 2],  # [11.5, 3, -1]
        ]
    )
    np.testing.assert_allclose(Z, [[5.5, 1.0, 1.0], [11.5, 3.0, -1.0]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(Z, expected, rtol=0, atol=1e-15)


def test_linear_backward_by_hand():
    layer = Linear.from_weights(W, b)
    layer.forward(X)
    grad_Z = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    grad_X = layer.backward(grad_Z)
    # dL/dW = X^T grad_Z: column 0 is X[0], column 1 is X[1], column 2 is zero.
    np.testing.assert_array_equal(layer.W.grad, [[1.0, 3.0, 0.0], [2.0, 4.0, 0.0]])
    np.testing.assert_array_equal(layer.b.grad, [1.0, 1.0, 0.0])  # column sums of grad_Z
    # dL/dX = grad_Z W^T: row 0 is W[:, 0] = [1, 2], row 1 is W[:, 1] = [0, 1].
    np.testing.assert_array_equal(grad_X, [[1.0, 2.0], [0.0, 1.0]])


def test_linear_accepts_integer_input_as_float():
    Z = Linear.from_weights(W, b).forward(np.array([[1, 2]]))
    assert Z.dtype == np.float64
    np.testing.assert_array_equal(Z, [[5.5, 1.0, 1.0]])


@pytest.mark.parametrize(("init", "expected_std"), [("xavier", np.sqrt(2 / 300)), ("he", 0.1)])
def test_linear_initial_weight_scale(init, expected_std):
    layer = Linear(200, 100, rng=0, init=init)  # xavier: 2 / (200 + 100); he: 2 / 200
    assert layer.W.shape == (200, 100)
    assert layer.W.value.std() == pytest.approx(expected_std, rel=0.02)
    np.testing.assert_array_equal(layer.b.value, np.zeros(100))


def test_linear_zeros_init_and_same_seed_same_weights():
    np.testing.assert_array_equal(Linear(3, 2, init="zeros").W.value, np.zeros((3, 2)))
    np.testing.assert_array_equal(Linear(3, 2, rng=7).W.value, Linear(3, 2, rng=7).W.value)
    assert not np.array_equal(Linear(3, 2, rng=7).W.value, Linear(3, 2, rng=8).W.value)


def test_linear_counts_its_parameters():
    layer = Linear(4, 3)
    assert layer.num_parameters() == 4 * 3 + 3
    assert [p.name for p in layer.parameters()] == ["W", "b"]


def test_parameter_owns_a_float_copy():
    source = np.array([1, 2, 3])
    p = Parameter(source, "w")
    source[0] = 100
    assert p.value.dtype == np.float64
    np.testing.assert_array_equal(p.value, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(p.grad, np.zeros(3))


# Activations at known points: phi(z) and phi'(z) (the backward pass with grad_A = 1). ----------

ACTIVATION_VALUES = [
    # sigmoid(0) = 1/2; sigmoid(ln 3) = 1 / (1 + 1/3) = 3/4; sigmoid(-ln 3) = 1/4.
    # sigmoid' = s (1 - s): 1/4, 3/16, 3/16.
    (Sigmoid, [0.0, LN3, -LN3], [0.5, 0.75, 0.25], [0.25, 0.1875, 0.1875]),
    # tanh(ln 2) = (2 - 1/2) / (2 + 1/2) = 3/5; tanh' = 1 - tanh^2: 1, 16/25, 16/25.
    (Tanh, [0.0, LN2, -LN2], [0.0, 0.6, -0.6], [1.0, 0.64, 0.64]),
    # relu' is 0 at the kink, by convention.
    (ReLU, [-2.0, 0.0, 3.0], [0.0, 0.0, 3.0], [0.0, 0.0, 1.0]),
    # arctan(1) = pi/4, arctan(-sqrt 3) = -pi/3; arctan' = 1 / (1 + z^2): 1, 1/2, 1/4.
    (Arctan, [0.0, 1.0, -np.sqrt(3.0)], [0.0, np.pi / 4, -np.pi / 3], [1.0, 0.5, 0.25]),
]


@pytest.mark.parametrize(
    ("activation_cls", "Z", "A", "dA_dZ"),
    ACTIVATION_VALUES,
    ids=[case[0].__name__ for case in ACTIVATION_VALUES],
)
def test_activation_values_and_derivatives(activation_cls, Z, A, dA_dZ):
    activation = activation_cls()
    Z = np.array([Z])
    np.testing.assert_allclose(activation.forward(Z), [A], rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(activation.backward(np.ones_like(Z)), [dA_dZ], rtol=1e-14)


def test_activations_keep_any_shape():
    Z = np.arange(24.0).reshape(2, 3, 4) - 12
    for activation in (Sigmoid(), Tanh(), ReLU(), Arctan()):
        assert activation.forward(Z).shape == Z.shape
        assert activation.backward(np.ones_like(Z)).shape == Z.shape


def test_sigmoid_of_huge_inputs_does_not_overflow():
    Z = np.array([[-1e4, -800.0, 0.0, 800.0, 1e4]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        A = Sigmoid().forward(Z)
        np.testing.assert_array_equal(sigmoid(Z), A)
        activation = Sigmoid()
        activation.forward(Z)
        grad = activation.backward(np.ones_like(Z))
    np.testing.assert_array_equal(A, [[0.0, 0.0, 0.5, 1.0, 1.0]])
    np.testing.assert_array_equal(grad, [[0.0, 0.0, 0.25, 0.0, 0.0]])


def test_sequential_composes_in_order():
    network = Sequential(Linear.from_weights(W, b), ReLU(), Linear.from_weights([[1.0]] * 3, [0]))
    # ReLU([[5.5, 1, 1], [11.5, 3, -1]]) summed over units: 7.5 and 14.5.
    np.testing.assert_array_equal(network.forward(X), [[7.5], [14.5]])
    assert len(network) == 3
    assert isinstance(network[1], ReLU)
    assert network.num_parameters() == (2 * 3 + 3) + (3 * 1 + 1)


# Numerically stable functions. -----------------------------------------------------------------


def test_softmax_by_hand():
    # exp(0), exp(ln 2), exp(ln 5) = 1, 2, 5, which sum to 8.
    P = softmax(np.array([[0.0, LN2, LN5], [LN3, 0.0, 0.0]]))
    np.testing.assert_allclose(P, [[1 / 8, 2 / 8, 5 / 8], [3 / 5, 1 / 5, 1 / 5]], rtol=1e-14)


def test_softmax_is_shift_invariant_and_stable():
    Z = np.array([[1.0, 2.0, 3.0]])
    with np.errstate(over="raise", invalid="raise"):
        P = softmax(Z + 1e4)
    np.testing.assert_allclose(P, softmax(Z), rtol=1e-12)
    np.testing.assert_allclose(P.sum(axis=1), [1.0], rtol=1e-15)


def test_softmax_along_axis_0():
    P = softmax(np.array([[0.0, 1.0], [LN3, 1.0]]), axis=0)
    np.testing.assert_allclose(P, [[0.25, 0.5], [0.75, 0.5]], rtol=1e-14)  # 1/(1+3), 3/(1+3)


def test_logsumexp_by_hand():
    # log(1 + 2 + 5) = log 8; log(e^1000 + e^1000 + e^-1000) = 1000 + log 2, with no overflow.
    with np.errstate(over="raise", invalid="raise"):
        values = logsumexp(np.array([[0.0, LN2, LN5], [1000.0, 1000.0, -1000.0]]), axis=1)
    np.testing.assert_allclose(values, [2.0794415416798357, 1000.6931471805599], rtol=1e-14)
    assert logsumexp(np.zeros((2, 3)), axis=1, keepdims=True).shape == (2, 1)


def test_log_softmax_is_log_of_softmax():
    Z = np.array([[0.0, LN2, LN5]])
    np.testing.assert_allclose(log_softmax(Z), np.log([[1 / 8, 2 / 8, 5 / 8]]), rtol=1e-14)


def test_softplus_by_hand_and_at_large_inputs():
    with np.errstate(over="raise", invalid="raise"):
        values = softplus(np.array([0.0, LN3, -1e4, 1e4]))
    # log(1 + 1) = ln 2; log(1 + 3) = ln 4; log(1 + e^-10000) = 0; log(1 + e^10000) = 10000.
    np.testing.assert_allclose(values, [LN2, 2 * LN2, 0.0, 1e4], rtol=1e-14)


def test_one_hot():
    np.testing.assert_array_equal(
        one_hot(np.array([2, 0, 1]), 3), [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    )
