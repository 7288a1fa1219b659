"""The reverse-mode engine ``coursepkg.autodiff``: values, gradients, agreement, errors, memory.

* forward values of every operation against known numbers;
* every operation's gradient against central finite differences (float64, relative error
  <= 1e-7), broadcasting and indexing included, and against the ``autograd`` library;
* the engine against the hand-written modules, to 1e-12 relative to the largest entry: an MLP with
  SoftmaxCrossEntropy, the mixture density loss, a Bayesian network's negative ELBO with fixed
  noise, and a convolution written as im2col and one matrix product;
* the messages for bad input, and the tape's node and memory accounting.

Each function below that the engine and autograd must agree on is written once, over a namespace
``m`` of elementary functions: ``coursepkg.autodiff`` itself, or ``AG``, the same names built from
``autograd.numpy``. Operators (+, @, indexing, .sum()) are shared by Tensors and autograd's boxes.
"""

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.scipy.special import logsumexp as ag_logsumexp

from coursepkg import (
    Conv2d,
    Linear,
    MixtureDensityLoss,
    ReLU,
    Sequential,
    SoftmaxCrossEntropy,
    Tanh,
    negative_elbo,
    numerical_gradient,
)
from coursepkg import autodiff as ad
from coursepkg.bayes_linear import BayesianLinear
from coursepkg.gradcheck import relative_error
from coursepkg.mdn import HALF_LOG_2PI

FD_TOLERANCE = 1e-7  # central differences, as in test_gradients.py
AGREEMENT = 1e-12  # two exact computations in float64, relative to the largest entry

AG = SimpleNamespace(
    exp=anp.exp,
    log=anp.log,
    tanh=anp.tanh,
    sigmoid=lambda x: 0.5 * (anp.tanh(0.5 * x) + 1.0),
    relu=lambda x: anp.maximum(x, 0.0),
    softplus=lambda x: anp.logaddexp(0.0, x),
    logsumexp=ag_logsumexp,
    log_softmax=lambda x, axis=-1: x - ag_logsumexp(x, axis=axis, keepdims=True),
)


def max_relative(a, b) -> float:
    """max |a - b| over the largest |b|: the error in units of the largest entry."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = np.max(np.abs(b), initial=0.0)
    return float(np.max(np.abs(a - b), initial=0.0) / (scale if scale > 0 else 1.0))


# Forward values. ----------------------------------------------------------------------------

X23 = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
KNOWN_VALUES = [
    ("add", lambda x: x + np.array([10.0, 20.0, 30.0]), [[11, 22, 33], [14, 25, 36]]),
    ("subtract", lambda x: 1.0 - x, [[0, -1, -2], [-3, -4, -5]]),
    ("multiply", lambda x: x * np.array([[2.0], [3.0]]), [[2, 4, 6], [12, 15, 18]]),
    ("divide", lambda x: x / 2.0, [[0.5, 1, 1.5], [2, 2.5, 3]]),
    ("negative", lambda x: -x, -X23),
    ("power", lambda x: x**2, X23**2),
    ("matmul", lambda x: x @ np.ones((3, 1)), [[6], [15]]),
    ("exp", lambda x: ad.exp(x * 0.0), np.ones((2, 3))),
    ("log", lambda x: ad.log(x), np.log(X23)),
    ("tanh", lambda x: ad.tanh(x * 0.0), np.zeros((2, 3))),
    ("sigmoid", lambda x: ad.sigmoid(x - x), np.full((2, 3), 0.5)),
    ("relu", lambda x: ad.relu(x - 3.0), [[0, 0, 0], [1, 2, 3]]),
    ("softplus", lambda x: ad.softplus(x - x), np.full((2, 3), np.log(2.0))),
    ("sum", lambda x: x.sum(), 21.0),
    ("sum-axis", lambda x: x.sum(axis=0), [5, 7, 9]),
    ("mean-axis-keepdims", lambda x: x.mean(axis=1, keepdims=True), [[2], [5]]),
    ("reshape", lambda x: x.reshape(3, 2), [[1, 2], [3, 4], [5, 6]]),
    ("transpose", lambda x: x.T, X23.T),
    ("getitem", lambda x: x[np.array([0, 1]), np.array([2, 0])], [3, 4]),
    ("logsumexp", lambda x: ad.logsumexp(ad.log(x), axis=1), np.log([6.0, 15.0])),
    ("log_softmax", lambda x: ad.log_softmax(ad.log(x), axis=1), np.log(X23 / [[6], [15]])),
    ("logsumexp-large", lambda x: ad.logsumexp(x * 1000.0, axis=None), 6000.0),
]


@pytest.mark.parametrize(("name", "f", "expected"), KNOWN_VALUES, ids=[k[0] for k in KNOWN_VALUES])
def test_forward_values(name, f, expected):
    np.testing.assert_allclose(f(ad.Tensor(X23)).value, expected, rtol=1e-15, atol=1e-15)


def test_numbers_and_arrays_work_on_either_side_of_an_operator():
    x = ad.Tensor(X23)
    for result in (2.0 * x, np.float64(2.0) * x, np.ones(3) * x, np.ones((4, 2)) @ x, 1 - x):
        assert isinstance(result, ad.Tensor)  # not an object array of Tensors


# Gradients of every operation: finite differences and autograd. ----------------------------


def normal(*shape):
    return lambda rng: rng.standard_normal(shape)


def positive(*shape):
    return lambda rng: rng.uniform(0.5, 2.0, shape)


def away_from_zero(*shape):  # ReLU's kink stays far beyond the finite-difference step
    return lambda rng: rng.uniform(0.1, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


LABELS = np.array([2, 0, 1, 2])
OPS = {
    # name: (f(m, *inputs), how to draw each input)
    "add": (lambda m, a, b: a + b, [normal(4, 3), normal(4, 3)]),
    "add-broadcast-row": (lambda m, a, b: a + b, [normal(4, 3), normal(3)]),
    "add-broadcast-both": (lambda m, a, b: a + b, [normal(4, 1), normal(1, 3)]),
    "subtract-broadcast-scalar": (lambda m, a, b: a - b, [normal(), normal(2, 3)]),
    "multiply-broadcast-3d": (lambda m, a, b: a * b, [normal(2, 1, 3), normal(4, 1)]),
    "divide-broadcast": (lambda m, a, b: a / b, [normal(4, 3), positive(4, 1)]),
    "numbers-either-side": (
        lambda m, x: 2.0 * x - 3.0 + x / 4.0 - 1.0 / (x * x + 1.0),
        [normal(3)],
    ),
    "arrays-on-the-left": (
        lambda m, x: np.arange(1.0, 4.0) * x + np.ones((2, 3)) - np.full(3, 2.0) / (x * x + 1),
        [normal(2, 3)],
    ),
    "negative": (lambda m, x: -x, [normal(3, 2)]),
    "power-3": (lambda m, x: x**3, [normal(3, 2)]),
    "power-half": (lambda m, x: x**0.5, [positive(3, 2)]),
    "power-minus-2": (lambda m, x: x**-2, [positive(3, 2)]),
    "matmul": (lambda m, a, b: a @ b, [normal(4, 3), normal(3, 5)]),
    "exp": (lambda m, x: m.exp(x), [normal(3, 4)]),
    "log": (lambda m, x: m.log(x), [positive(3, 4)]),
    "tanh": (lambda m, x: m.tanh(x), [normal(3, 4)]),
    "sigmoid": (lambda m, x: m.sigmoid(3.0 * x), [normal(3, 4)]),
    "relu": (lambda m, x: m.relu(x), [away_from_zero(3, 4)]),
    "softplus": (lambda m, x: m.softplus(3.0 * x), [normal(3, 4)]),
    "sum-all": (lambda m, x: x.sum(), [normal(3, 4)]),
    "sum-axis": (lambda m, x: x.sum(axis=0), [normal(3, 4)]),
    "sum-axis-keepdims": (lambda m, x: x.sum(axis=1, keepdims=True), [normal(3, 4)]),
    "sum-two-axes": (lambda m, x: x.sum(axis=(0, 2)), [normal(2, 3, 4)]),
    "mean-all": (lambda m, x: x.mean(), [normal(3, 4)]),
    "mean-axis": (lambda m, x: x.mean(axis=0), [normal(3, 4)]),
    "reshape": (lambda m, x: x.reshape(6, 2), [normal(3, 4)]),
    "transpose": (lambda m, x: x.T, [normal(3, 4)]),
    "transpose-axes": (lambda m, x: x.transpose((2, 0, 1)), [normal(2, 3, 4)]),
    "getitem-slices": (lambda m, x: x[1:, ::2], [normal(4, 5)]),
    "getitem-integer": (lambda m, x: x[1], [normal(4, 5)]),
    "getitem-integer-arrays": (lambda m, x: x[np.arange(4), LABELS], [normal(4, 3)]),
    "getitem-repeated": (lambda m, x: x[np.array([0, 0, 3, 0])], [normal(4, 3)]),
    "getitem-boolean": (lambda m, x: x[np.array([True, False, True, True])], [normal(4, 3)]),
    "logsumexp-axis": (lambda m, x: m.logsumexp(x, axis=1), [normal(4, 3)]),
    "logsumexp-keepdims": (lambda m, x: m.logsumexp(x, axis=0, keepdims=True), [normal(4, 3)]),
    "logsumexp-all": (lambda m, x: m.logsumexp(3.0 * x, axis=None), [normal(4, 3)]),
    "log_softmax": (lambda m, x: m.log_softmax(x, axis=1), [normal(4, 3)]),
    "cross-entropy": (
        lambda m, Z: -m.log_softmax(Z, axis=1)[np.arange(4), LABELS].mean(),
        [normal(4, 3)],
    ),
}


def draw(name, seed):
    """The function of OPS[name], its inputs, and random output weights R (so that the checked
    scalar sum(R * f) depends on every output entry)."""
    f, makers = OPS[name]
    rng = np.random.default_rng(seed)
    inputs = [make(rng) for make in makers]
    out = f(ad, *[ad.Tensor(u) for u in inputs])
    return f, inputs, rng.standard_normal(out.shape)


def engine_gradients(f, inputs, R):
    tensors = [ad.Tensor(u) for u in inputs]
    return ad.gradients((R * f(ad, *tensors)).sum(), tensors)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", OPS)
def test_operation_gradients_match_finite_differences(name, seed):
    f, inputs, R = draw(name, seed)
    analytic = engine_gradients(f, inputs, R)

    def L() -> float:
        return float(np.sum(R * f(ad, *[ad.Tensor(u) for u in inputs]).value))

    for i, (u, a) in enumerate(zip(inputs, analytic, strict=True)):
        error = relative_error(a, numerical_gradient(L, u))
        assert error <= FD_TOLERANCE, f"{name}, input {i}: relative error {error:.2e}"


@pytest.mark.parametrize("name", OPS)
def test_operation_values_and_gradients_match_autograd(name):
    f, inputs, R = draw(name, 2)
    ours = engine_gradients(f, inputs, R)
    assert max_relative(f(ad, *map(ad.Tensor, inputs)).value, f(AG, *inputs)) <= AGREEMENT
    for i, a in enumerate(ours):
        theirs = autograd.grad(lambda *xs: anp.sum(R * f(AG, *xs)), i)(*inputs)
        assert max_relative(a, theirs) <= AGREEMENT, f"{name}, input {i}"


# Four models written once for both engines, and their hand-written counterparts. -------------


def mlp_loss(m, X, W1, b1, W2, b2, y, activation="tanh"):
    """Mean cross-entropy of a Linear-activation-Linear network."""
    Z = getattr(m, activation)(X @ W1 + b1) @ W2 + b2
    return -m.log_softmax(Z, axis=1)[np.arange(len(y)), y].mean()


def mdn_loss(m, Y, t, K, sigma_activation="exp"):
    """MixtureDensityLoss's negative log-likelihood, as its docstring writes it."""
    a, mu, s = Y[:, :K], Y[:, K : 2 * K], Y[:, 2 * K :]
    log_sigma = s if sigma_activation == "exp" else m.log(m.softplus(s))
    Z = (t.reshape(-1, 1) - mu) * m.exp(-log_sigma)
    log_phi = m.log_softmax(a, axis=1) - log_sigma - 0.5 * Z**2 - HALF_LOG_2PI
    return -m.logsumexp(log_phi, axis=1).mean()


def elbo_loss(m, X, y, params, noise, prior_sigma, n_train):
    """Negative ELBO per sample of BayesianLinear-Tanh-BayesianLinear with fixed noise:
    cross-entropy + KL(q || p) / n_train, W = mu + softplus(rho) eps."""
    pairs = zip(params, noise, strict=True)
    W1, b1, W2, b2 = (mu + m.softplus(rho) * eps for (mu, rho), eps in pairs)
    kl = 0.0
    for mu, rho in params:
        sigma = m.softplus(rho)
        log_ratio = np.log(prior_sigma) - m.log(sigma)
        kl = kl + (log_ratio + (sigma**2 + mu**2) / (2.0 * prior_sigma**2) - 0.5).sum()
    return mlp_loss(m, X, W1, b1, W2, b2, y) + kl / n_train


def conv2d_im2col(m, X, W, b, stride):
    """Cross-correlation as Conv2d computes it, without padding: gather every window with integer
    arrays (im2col), then one matrix product. Shapes: X (N, H, W, C), W (kh, kw, C, F), b (F,)."""
    N, H, Wd, C = X.shape
    kh, kw, _, F = W.shape
    (sh, sw), Ho, Wo = stride, (H - kh) // stride[0] + 1, (Wd - kw) // stride[1] + 1
    rows = sh * np.arange(Ho)[:, None] + np.arange(kh)  # (Ho, kh): input row of each window row
    cols = sw * np.arange(Wo)[:, None] + np.arange(kw)
    n = np.arange(N)[:, None, None, None, None]
    windows = X[n, rows[None, :, None, :, None], cols[None, None, :, None, :]]  # (N,Ho,Wo,kh,kw,C)
    Z = windows.reshape(N * Ho * Wo, kh * kw * C) @ W.reshape(kh * kw * C, F) + b
    return Z.reshape(N, Ho, Wo, F)


@dataclass
class Case:
    """One model, differentiated by the hand-written modules and by the engine.

    Attributes:
        names, arrays: the differentiated arrays (inputs and parameters) and their values.
        hand, engine: dL/d(array) for each, from the modules' backward passes and from a sweep.
        value_hand, value_engine: the forward results (a loss, or a convolution's output).
        scalar: (m, *arrays) -> the scalar whose gradient was taken, for autograd.
    """

    names: list[str]
    arrays: list[np.ndarray]
    hand: list[np.ndarray]
    engine: list[np.ndarray]
    value_hand: object
    value_engine: np.ndarray
    scalar: Callable


def mlp_case(activation):
    rng = np.random.default_rng(0)
    N, n_in, n_hidden, K = 8, 5, 7, 4
    layers = [Linear(n_in, n_hidden, rng=rng), Linear(n_hidden, K, rng=rng)]
    for layer in layers:
        layer.b.value[...] = 0.3 * rng.standard_normal(layer.n_out)
    net = Sequential(layers[0], Tanh() if activation == "tanh" else ReLU(), layers[1])
    X, y = rng.standard_normal((N, n_in)), rng.integers(0, K, N)
    loss = SoftmaxCrossEntropy()
    value = loss.forward(net.forward(X), y)
    hand = [net.backward(loss.backward())] + [p.grad for p in net.parameters()]
    arrays = [X] + [p.value for p in net.parameters()]
    tensors = [ad.Tensor(A) for A in arrays]
    L = mlp_loss(ad, *tensors, y, activation)
    engine = ad.gradients(L, tensors)

    def scalar(m, *arrays):
        return mlp_loss(m, *arrays, y, activation)

    return Case(["X", "W1", "b1", "W2", "b2"], arrays, hand, engine, value, L.value, scalar)


def mdn_case(sigma_activation):
    rng = np.random.default_rng(0)
    N, K = 10, 3
    Y, t = rng.standard_normal((N, 3 * K)), 2.0 * rng.standard_normal(N)
    loss = MixtureDensityLoss(K, sigma_activation=sigma_activation)
    value, hand = loss.forward(Y, t), loss.backward()
    Y_tensor = ad.Tensor(Y)
    L = mdn_loss(ad, Y_tensor, t, K, sigma_activation)

    def scalar(m, Y):
        return mdn_loss(m, Y, t, K, sigma_activation)

    return Case(["Y"], [Y], [hand], [ad.gradients(L, Y_tensor)], value, L.value, scalar)


def elbo_case():
    rng = np.random.default_rng(0)
    N, n_in, n_hidden, K, n_train, prior_sigma = 6, 3, 5, 3, 40, 0.7
    layers = [
        BayesianLinear(n_in, n_hidden, prior_sigma=prior_sigma, rng=rng),
        BayesianLinear(n_hidden, K, prior_sigma=prior_sigma, rng=rng),
    ]
    for layer in layers:  # mu and rho away from their starting values, so every term matters
        for p in layer.parameters():
            p.value[...] += 0.5 * rng.standard_normal(p.shape)
        layer.freeze_noise()  # mode "fixed": every forward pass uses this noise
    model = Sequential(layers[0], Tanh(), layers[1])
    X, y = rng.standard_normal((N, n_in)), rng.integers(0, K, N)
    terms = negative_elbo(model, SoftmaxCrossEntropy(), X, y, n_train=n_train)
    hand = [p.grad for p in model.parameters()]
    noise = [layers[0].eps_W, layers[0].eps_b, layers[1].eps_W, layers[1].eps_b]

    def scalar(m, *arrays):  # mu_W, rho_W, mu_b, rho_b of each layer, in that order
        params = [(arrays[i], arrays[i + 1]) for i in range(0, len(arrays), 2)]
        return elbo_loss(m, X, y, params, noise, prior_sigma, n_train)

    arrays = [p.value for p in model.parameters()]
    tensors = [ad.Tensor(A) for A in arrays]
    L = scalar(ad, *tensors)
    names = [f"{p.name} (layer {i // 4 + 1})" for i, p in enumerate(model.parameters())]
    return Case(names, arrays, hand, ad.gradients(L, tensors), terms.loss, L.value, scalar)


def conv_case(kernel_size, stride, channels):
    rng = np.random.default_rng(0)
    C, F = channels
    layer = Conv2d(C, F, kernel_size, stride=stride, rng=rng)
    layer.b.value[...] = rng.standard_normal(F)
    X = rng.standard_normal((2, 7, 6, C))
    Z = layer.forward(X)
    R = rng.standard_normal(Z.shape)  # dL/dZ: checks the vector-Jacobian product directly
    hand = [layer.backward(R), layer.W.grad, layer.b.grad]
    arrays = [X, layer.W.value, layer.b.value]
    tensors = [ad.Tensor(A) for A in arrays]
    Z_engine = conv2d_im2col(ad, *tensors, layer.stride)
    engine = ad.gradients(Z_engine, tensors, upstream=R)

    def scalar(m, *arrays):
        return (R * conv2d_im2col(m, *arrays, layer.stride)).sum()

    return Case(["X", "W", "b"], arrays, hand, engine, Z, Z_engine.value, scalar)


CASES = {
    "MLP-tanh": lambda: mlp_case("tanh"),
    "MLP-relu": lambda: mlp_case("relu"),
    "MDN-exp": lambda: mdn_case("exp"),
    "MDN-softplus": lambda: mdn_case("softplus"),
    "ELBO-fixed-noise": elbo_case,
    "Conv2d-k3-s1": lambda: conv_case((3, 3), 1, (2, 3)),
    "Conv2d-k2x3-s2-grey": lambda: conv_case((2, 3), 2, (1, 2)),
    "Conv2d-k3x2-s(2,1)": lambda: conv_case((3, 2), (2, 1), (3, 2)),
}


@pytest.mark.parametrize("name", CASES)
def test_engine_matches_the_hand_written_modules(name):
    case = CASES[name]()
    assert max_relative(case.value_engine, case.value_hand) <= AGREEMENT, f"{name}: value"
    for array, hand, engine in zip(case.names, case.hand, case.engine, strict=True):
        error = max_relative(engine, hand)
        assert error <= AGREEMENT, (
            f"{name}: dL/d{array} differs by {error:.2e} of its largest entry"
        )


@pytest.mark.parametrize("name", CASES)
def test_engine_matches_autograd(name):
    case = CASES[name]()
    for i, (array, engine) in enumerate(zip(case.names, case.engine, strict=True)):
        theirs = autograd.grad(lambda *arrays: case.scalar(AG, *arrays), i)(*case.arrays)
        assert max_relative(engine, theirs) <= AGREEMENT, f"{name}: dL/d{array}"


# How the sweep treats gradients. ----------------------------------------------------------


def test_a_tensor_used_twice_gets_both_gradients():
    x = ad.Tensor(np.array([1.0, -2.0, 3.0]))
    (x * x + x).sum().backward()  # d/dx (x^2 + x) = 2x + 1
    np.testing.assert_array_equal(x.grad, [3.0, -3.0, 7.0])


def test_backward_adds_into_grad_and_gradients_leaves_it_alone():
    x = ad.Tensor(np.array([1.0, 2.0]))
    y = (x * 3.0).sum()
    y.backward(keep_tape=True)
    y.backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])  # two sweeps add up, as Parameter.grad does
    z = (x * x).sum()
    np.testing.assert_array_equal(ad.gradients(z, x), [2.0, 4.0])
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])


def test_inputs_get_arrays_of_their_own():
    a, b = ad.Tensor(np.ones(3)), ad.Tensor(np.ones(3))
    (a + b).sum().backward()  # add passes one array on to both operands
    a.grad += 1.0
    np.testing.assert_array_equal(b.grad, np.ones(3))


def test_gradient_with_respect_to_an_intermediate_tensor():
    rng = np.random.default_rng(0)
    Z_array, y = rng.standard_normal((5, 3)), np.array([0, 2, 1, 1, 0])
    loss = SoftmaxCrossEntropy()
    loss.forward(Z_array, y)
    Z = ad.Tensor(Z_array) * 1.0  # an operation's result, not an input
    L = -ad.log_softmax(Z, axis=1)[np.arange(5), y].mean()
    assert max_relative(ad.gradients(L, Z), loss.backward()) <= AGREEMENT


def test_upstream_gives_the_vector_jacobian_product():
    rng = np.random.default_rng(0)
    X, W, G = rng.standard_normal((4, 3)), ad.Tensor(rng.standard_normal((3, 2))), np.ones((4, 2))
    (X @ W).backward(upstream=G)
    np.testing.assert_allclose(W.grad, X.T @ G, rtol=1e-15)


def test_a_long_tape_does_not_reach_the_recursion_limit():
    x = ad.Tensor(np.array(0.5))
    y = x
    for _ in range(2000):  # a recursive search would need 4000 frames (the limit is 1000)
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == 1.0


# Bad input: an error from us that names the problem. -----------------------------------------

T = ad.Tensor(X23)
BAD_INPUTS = [
    ("string", lambda: ad.Tensor(["a", "b"]), TypeError, r"Tensor: value must hold real numbers"),
    ("object", lambda: ad.Tensor(np.array([None])), TypeError, r"got an array of dtype object"),
    ("complex", lambda: ad.Tensor([1j]), TypeError, r"dtype complex128"),
    ("string-operand", lambda: T + "a", TypeError, r"add: an operand must hold real numbers"),
    ("nan", lambda: ad.Tensor([1.0, np.nan]), ValueError, r"NaN or infinite .* index \(1,\)"),
    ("broadcast", lambda: T + np.ones(4), ValueError, r"add on shapes \(2, 3\) and \(4,\)"),
    (
        "matmul-shapes",
        lambda: T @ np.ones((2, 5)),
        ValueError,
        r"shapes \(2, 3\) and \(2, 5\) do not fit",
    ),
    ("matmul-vector", lambda: T @ np.ones(3), ValueError, r"expected two matrices .* x.reshape"),
    (
        "log",
        lambda: ad.log(T - 2.0),
        ValueError,
        r"log on shape \(2, 3\): .* is nan. log needs pos",
    ),
    ("divide-by-0", lambda: T / np.array([1.0, 0.0, 1.0]), ValueError, r"is inf. Is a divisor 0"),
    ("exp-overflow", lambda: ad.exp(T * 300.0), ValueError, r"exp on shape .* overflows float64"),
    (
        "power-of-tensor",
        lambda: T**T,
        TypeError,
        r"exponent must be a constant number, got a Tensor",
    ),
    ("sum-axis", lambda: T.sum(axis=2), ValueError, r"sum on shape \(2, 3\): axis 2 is out of"),
    ("logsumexp-axis", lambda: ad.logsumexp(T, axis=-3), ValueError, r"logsumexp on shape .* axis"),
    ("reshape", lambda: T.reshape(4, 2), ValueError, r"reshape on shape \(2, 3\): cannot reshape"),
    ("transpose", lambda: T.transpose((0, 0)), ValueError, r"transpose on shape \(2, 3\)"),
    ("index-range", lambda: T[np.array([0, 2])], IndexError, r"getitem on shape \(2, 3\): index 2"),
    ("index-float", lambda: T[0.5], IndexError, r"getitem on shape \(2, 3\): only integers"),
    ("numpy-function", lambda: np.exp(T), TypeError, r"does not support ufuncs"),
    (
        "not-scalar",
        lambda: T.sum(axis=0).backward(),
        ValueError,
        r"shape \(3,\), not a single number",
    ),
    (
        "upstream-shape",
        lambda: T.sum(axis=0).backward(np.ones(2)),
        ValueError,
        r"upstream has shape \(2,\)",
    ),
    (
        "upstream-dtype",
        lambda: T.sum().backward("1"),
        TypeError,
        r"upstream must hold real numbers",
    ),
    ("upstream-nan", lambda: T.sum().backward(np.nan), ValueError, r"upstream contains NaN"),
    (
        "not-on-tape",
        lambda: ad.gradients(T.sum(), [ad.Tensor(1.0)]),
        ValueError,
        r"not on the tape",
    ),
    ("not-a-tensor", lambda: ad.gradients(T.sum(), [X23]), TypeError, r"input 0 is a ndarray"),
    ("tape-of-array", lambda: ad.tape_stats(X23), TypeError, r"expected a Tensor, got a ndarray"),
]


@pytest.mark.parametrize(
    ("name", "f", "error", "match"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS]
)
def test_bad_input_raises_a_message_that_names_the_problem(name, f, error, match):
    with pytest.raises(error, match=match) as info:
        f()
    assert info.value.__suppress_context__ or info.value.__context__ is None  # no NumPy chain


def test_a_second_sweep_over_a_freed_tape_says_how_to_keep_it():
    x = ad.Tensor(np.ones(3))
    y = ad.tanh(x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"freed by an earlier backward .* keep_tape=True"):
        y.backward()
    with pytest.raises(RuntimeError, match=r"freed"):
        ad.gradients(y * 2.0, x)  # also through a new operation on top of the freed tape


def test_keep_tape_allows_a_second_sweep():
    x = ad.Tensor(np.array([0.5, -1.0]))
    y = ad.tanh(x).sum()
    first = ad.gradients(y, x, keep_tape=True)
    np.testing.assert_array_equal(ad.gradients(y, x), first)


# The tape's size. ----------------------------------------------------------------------


def test_tape_stats_of_a_small_tape():
    x = ad.Tensor(np.ones(3))  # an input: 24 bytes that exist without the tape
    y = ad.exp(x)  # 24 bytes
    flat = y.reshape(3, 1)  # a view of y: no new memory
    picked = flat[np.array([0, 2]), 0]  # 16 bytes of result, 16 bytes of saved index
    z = picked.sum()  # 8 bytes
    stats = ad.tape_stats(z)
    assert (stats.nodes, stats.operations, stats.saved_bytes) == (5, 4, 24 + 16 + 16 + 8)
    assert [node.op for node in ad.tape(z)] == ["input", "exp", "reshape", "getitem", "sum"]


def test_tape_stats_of_an_mlp_match_a_count_by_hand():
    N, n_in, H, K = 32, 20, 16, 5
    rng = np.random.default_rng(0)
    tensors = [
        ad.Tensor(rng.standard_normal(s)) for s in [(N, n_in), (n_in, H), (H,), (H, K), (K,)]
    ]
    y = rng.integers(0, K, N)
    L = mlp_loss(ad, *tensors, y)
    stats = ad.tape_stats(L)
    # Values: X @ W1, + b1, tanh (N x H each); @ W2, + b2, log_softmax's difference (N x K each);
    # logsumexp (N x 1); the picked log-probabilities (N); sum, / N, negation (scalars). Saved:
    # the index arrays np.arange(N) and y (N int64 each).
    floats = 3 * N * H + 3 * N * K + N + N + 3
    assert stats.saved_bytes == 8 * floats + 2 * 8 * N
    assert stats.operations == 11
    assert stats.nodes == 11 + 5 + 1  # and the inputs, and the constant N of the mean
    L.backward()
    with pytest.raises(RuntimeError, match="freed"):
        ad.tape_stats(L)  # the sweep dropped the tape


def test_coursepkg_itself_depends_on_numpy_only():
    # autograd is for the tests and the chapter; the engine must run where only NumPy is.
    code = "import sys, coursepkg.autodiff; print(sorted({'autograd', 'scipy'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
