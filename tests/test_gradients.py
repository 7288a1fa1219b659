"""Finite-difference gradient checks of every module and loss that has a backward pass.

One parametrized test covers them all: each case builds a module (or loss) and an input from a
seeded generator, and returns the relative errors that ``grad_check`` / ``grad_check_loss`` report.
For the image layers the shape is that of the input batch, (N, H, W, C_in); the case's name says
the layer's kernel size k, stride s and padding p.
A correct float64 backward pass gives about 1e-10; we require at most 1e-7. Further tests make sure
that the check itself can fail: a backward pass with a planted bug must give a large error.
"""

import numpy as np
import pytest

from coursepkg import (
    Arctan,
    BinaryCrossEntropy,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    MeanSquaredError,
    ReLU,
    Sequential,
    Sigmoid,
    SoftmaxCrossEntropy,
    Tanh,
    grad_check,
    grad_check_loss,
    numerical_gradient,
)

TOLERANCE = 1e-7
SEEDS = [0, 1, 2]
KINK_MARGIN = 1e-2  # ReLU inputs stay this far from 0, far beyond the step eps = 1e-6


def away_from_zero(rng, shape, margin=KINK_MARGIN):
    """Random values with |x| in [margin, 2], random signs: never near ReLU's kink."""
    return rng.uniform(margin, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def distinct_values(rng, shape, gap=KINK_MARGIN):
    """A random order of the values 0, gap, 2 gap, ...: no two inputs of a max-pooling window are
    closer than ``gap``, so a step of eps = 1e-6 never changes which one is the maximum."""
    return gap * rng.permutation(int(np.prod(shape))).reshape(shape).astype(np.float64)


# Each case maps (rng, shape) to {checked array: relative error}. ------------------------------


def linear_case(rng, shape):
    N, n_in, n_out = shape
    layer = Linear(n_in, n_out, rng=rng)
    layer.b.value[...] = rng.standard_normal(n_out)  # non-zero biases, so b matters
    return grad_check(layer, rng.standard_normal((N, n_in)), seed=rng).errors


def activation_case(activation_cls, input_scale=2.0):
    def case(rng, shape):
        return grad_check(
            activation_cls(), input_scale * rng.standard_normal(shape), seed=rng
        ).errors

    return case


def relu_case(rng, shape):
    return grad_check(ReLU(), away_from_zero(rng, shape), seed=rng).errors


def deep_network_case(rng, shape):
    """Linear/Tanh/ReLU/Sigmoid/Arctan stacked five layers deep, with non-zero biases."""
    N, n_in = shape
    widths = [n_in, 8, 7, 6, 5, 3]
    activations = [Tanh(), ReLU(), Sigmoid(), Arctan()]
    modules = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layer = Linear(a, b, rng=rng, init="he" if i == 1 else "xavier")
        layer.b.value[...] = 0.1 * rng.standard_normal(b)
        modules.append(layer)
        if i < len(activations):
            modules.append(activations[i])
    network = Sequential(*modules)
    X = rng.standard_normal((N, n_in))
    # The check is only meaningful away from ReLU's kink: verify it for this seed.
    relu_index = modules.index(activations[1])
    relu_input = Sequential(*modules[:relu_index]).forward(X)
    assert np.min(np.abs(relu_input)) > 1e-4, "test setup: a ReLU input lies at the kink"
    return grad_check(network, X, seed=rng).errors


def conv2d_case(kernel_size, c_out, **options):
    """Conv2d(C_in, c_out, kernel_size, **options) on a standard normal batch of images."""

    def case(rng, shape):
        layer = Conv2d(shape[3], c_out, kernel_size, rng=rng, **options)
        if layer.b is not None:
            layer.b.value[...] = rng.standard_normal(c_out)  # non-zero biases, so b matters
        return grad_check(layer, rng.standard_normal(shape), seed=rng).errors

    return case


def max_pool_case(kernel_size, stride=None):
    def case(rng, shape):
        pool = MaxPool2d(kernel_size, stride)
        return grad_check(pool, distinct_values(rng, shape), seed=rng).errors

    return case


def flatten_case(rng, shape):
    return grad_check(Flatten(), rng.standard_normal(shape), seed=rng).errors


def window_gaps(A, size):
    """For each non-overlapping size x size window of A (N, H, W, C) whose maximum is positive:
    the maximum minus the runner-up. Small gaps would make max pooling's choice unstable."""
    N, H, W, C = A.shape
    Ho, Wo = H // size, W // size
    windows = A[:, : Ho * size, : Wo * size].reshape(N, Ho, size, Wo, size, C)
    windows = np.sort(windows.transpose(0, 1, 3, 5, 2, 4).reshape(-1, size * size), axis=1)
    positive = windows[:, -1] > 0
    return windows[positive, -1] - windows[positive, -2]


def conv_net_case(rng, shape):
    """Conv2d, ReLU, MaxPool2d, a strided Conv2d, Flatten and Linear: a small image classifier."""
    N, H, W, C = shape
    conv1 = Conv2d(C, 3, 3, padding=1, rng=rng)
    conv2 = Conv2d(3, 4, (2, 3), stride=(1, 2), rng=rng, init="xavier")
    for conv in (conv1, conv2):
        conv.b.value[...] = 0.1 * rng.standard_normal(conv.out_channels)
    Ho, Wo = conv2.output_shape(H // 2, W // 2)
    features = Sequential(conv1, ReLU(), MaxPool2d(2), conv2, Flatten())
    network = Sequential(*features, Linear(Ho * Wo * 4, 3, rng=rng))
    network[-1].b.value[...] = 0.1 * rng.standard_normal(3)
    X = rng.standard_normal(shape)
    # The check is only meaningful away from ReLU's kink and from ties in the pooling windows:
    # verify both for this seed.
    relu_input = conv1.forward(X)
    assert np.min(np.abs(relu_input)) > 1e-4, "test setup: a ReLU input lies at the kink"
    gaps = window_gaps(np.maximum(relu_input, 0.0), 2)
    assert gaps.size == 0 or gaps.min() > 1e-4, "test setup: a pooling window has a near tie"
    return grad_check(network, X, seed=rng).errors


def mse_case(rng, shape):
    predictions = rng.standard_normal(shape)
    targets = rng.standard_normal(shape)
    return {"predictions": grad_check_loss(MeanSquaredError(), predictions, targets)}


def bce_case(rng, shape):
    logits = 3.0 * rng.standard_normal(shape)
    targets = rng.integers(0, 2, shape).astype(float)
    targets[0] = 0.3  # soft targets in (0, 1) are allowed too
    return {"logits": grad_check_loss(BinaryCrossEntropy(), logits, targets)}


def softmax_ce_case(rng, shape):
    N, K = shape
    logits = 3.0 * rng.standard_normal((N, K))
    labels = rng.integers(0, K, N)
    return {"logits": grad_check_loss(SoftmaxCrossEntropy(), logits, labels)}


CASES = {
    # name: (case, shapes to check)
    "Linear": (linear_case, [(1, 1, 1), (4, 3, 2), (7, 5, 6)]),
    "Sigmoid": (activation_case(Sigmoid), [(1, 1), (4, 3), (2, 3, 4)]),
    "Tanh": (activation_case(Tanh), [(1, 1), (4, 3), (2, 3, 4)]),
    "ReLU": (relu_case, [(1, 1), (4, 3), (2, 3, 4)]),
    "Arctan": (activation_case(Arctan, input_scale=3.0), [(1, 1), (4, 3), (2, 3, 4)]),
    "Sequential": (deep_network_case, [(1, 3), (6, 4)]),
    # Convolution: square and rectangular kernels, strides 1, 2, 3 and (2, 1), paddings 0, 1, 2
    # and (1, 0), one and several channels in and out, odd image sizes, with and without bias.
    "Conv2d-k1": (conv2d_case(1, c_out=1), [(1, 1, 1, 1), (2, 3, 4, 3)]),
    "Conv2d-k3": (conv2d_case(3, c_out=2), [(1, 3, 3, 1), (2, 5, 7, 3)]),
    "Conv2d-k2x3-s2": (conv2d_case((2, 3), c_out=3, stride=2), [(1, 5, 5, 1), (2, 6, 7, 2)]),
    "Conv2d-k3-s3-p1": (conv2d_case(3, c_out=2, stride=3, padding=1), [(2, 7, 7, 2), (1, 8, 5, 1)]),
    "Conv2d-k3-p2-nobias": (
        conv2d_case(3, c_out=1, padding=2, bias=False, init="xavier"),
        [(1, 1, 2, 1), (2, 4, 5, 2)],
    ),
    "Conv2d-k3x2-s(2,1)-p(1,0)": (
        conv2d_case((3, 2), c_out=2, stride=(2, 1), padding=(1, 0)),
        [(1, 3, 2, 1), (2, 5, 4, 3)],
    ),
    "Conv2d-k5-full": (conv2d_case(5, c_out=2), [(3, 5, 5, 2)]),  # one output pixel per image
    # Max pooling: tiling, overlapping (stride < kernel) and gapped (stride > kernel) windows,
    # and inputs whose last rows and columns do not fill a window (7 x 5 with kernel 2).
    "MaxPool2d-k2": (max_pool_case(2), [(1, 2, 2, 1), (2, 4, 6, 2), (2, 7, 5, 3)]),
    "MaxPool2d-k2-s1": (max_pool_case(2, stride=1), [(2, 4, 5, 2)]),
    "MaxPool2d-k2-s3": (max_pool_case(2, stride=3), [(2, 7, 8, 2), (1, 6, 5, 1)]),
    "MaxPool2d-k3": (max_pool_case(3), [(1, 3, 3, 1), (2, 8, 7, 2)]),
    "MaxPool2d-k3-s1": (max_pool_case(3, stride=1), [(2, 5, 6, 2)]),
    "MaxPool2d-k3-s2": (max_pool_case(3, stride=2), [(1, 7, 7, 2), (2, 6, 8, 1)]),
    "MaxPool2d-k2x3-s(1,2)": (max_pool_case((2, 3), stride=(1, 2)), [(2, 4, 7, 2)]),
    "Flatten": (flatten_case, [(1, 1), (2, 3, 4), (2, 3, 4, 5)]),
    "ConvNet": (conv_net_case, [(2, 6, 6, 1), (1, 7, 9, 2)]),
    "MeanSquaredError": (mse_case, [(1,), (5,), (4, 3)]),
    "BinaryCrossEntropy": (bce_case, [(1,), (6,), (6, 1)]),
    "SoftmaxCrossEntropy": (softmax_ce_case, [(1, 2), (5, 3), (8, 10)]),
}

PARAMS = [
    pytest.param(name, shape, id=f"{name}-{'x'.join(map(str, shape))}")
    for name, (_, shapes) in CASES.items()
    for shape in shapes
]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("name", "shape"), PARAMS)
def test_backward_matches_finite_differences(name, shape, seed):
    case, _ = CASES[name]
    errors = case(np.random.default_rng(seed), shape)
    worst = max(errors, key=errors.get)
    assert errors[worst] <= TOLERANCE, (
        f"{name} {shape} seed {seed}: {worst} has relative error {errors[worst]:.2e}; {errors}"
    )


def test_grad_check_checks_the_input_and_every_parameter():
    rng = np.random.default_rng(0)
    network = Sequential(Linear(3, 4, rng=rng), Tanh(), Linear(4, 2, rng=rng))
    result = grad_check(network, rng.standard_normal((5, 3)))
    assert list(result.errors) == [
        "input",
        "param 0 (W)",
        "param 1 (b)",
        "param 2 (W)",
        "param 3 (b)",
    ]


def test_grad_check_restores_the_input_and_the_parameters():
    rng = np.random.default_rng(0)
    layer = Linear(3, 2, rng=rng)
    X = rng.standard_normal((4, 3))
    X_before, W_before, b_before = X.copy(), layer.W.value.copy(), layer.b.value.copy()
    grad_check(layer, X)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(layer.W.value, W_before)
    np.testing.assert_array_equal(layer.b.value, b_before)


def test_numerical_gradient_of_a_known_function():
    u = np.array([[1.0, -2.0], [0.5, 3.0]])
    grad = numerical_gradient(lambda: float(np.sum(u**3)), u)
    np.testing.assert_allclose(grad, 3 * u**2, rtol=1e-8)  # d/du sum(u^3) = 3 u^2


def test_numerical_gradient_of_a_non_contiguous_array():
    # A Fortran-ordered (transposed) array: perturbing a flattened copy would give zeros.
    u = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    grad = numerical_gradient(lambda: float(np.sum(u**2)), u)
    np.testing.assert_allclose(grad, 2 * u, rtol=1e-8, atol=1e-8)  # d/du sum(u^2) = 2 u


def test_grad_check_accepts_a_transposed_input():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 5)).T  # shape (5, 3), not C-contiguous
    assert grad_check(Linear(3, 2, rng=rng), X).max_error <= TOLERANCE


def test_conv2d_without_input_grad_returns_none_and_correct_parameter_gradients():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 5, 6, 2))
    layer = Conv2d(2, 3, (3, 2), stride=(2, 1), padding=1, rng=0, input_grad=False)
    layer.b.value[...] = rng.standard_normal(3)
    R = rng.standard_normal(layer.forward(X).shape)
    assert layer.backward(R) is None
    twin = Conv2d(2, 3, (3, 2), stride=(2, 1), padding=1, rng=0)  # the same weights
    twin.b.value[...] = layer.b.value
    twin.forward(X)
    assert twin.backward(R).shape == X.shape
    for p, q in zip(layer.parameters(), twin.parameters(), strict=True):
        np.testing.assert_array_equal(p.grad, q.grad)
        numerical = numerical_gradient(lambda: float(np.sum(R * layer.forward(X))), p.value)
        np.testing.assert_allclose(p.grad, numerical, rtol=1e-7, atol=1e-8)


# The check must be able to fail: modules and losses with a planted bug. -----------------------


class LinearBiasMean(Linear):
    """Bug: the bias gradient averages over the batch instead of summing."""

    def backward(self, grad_Z):
        self.W.grad += self._X.T @ grad_Z
        self.b.grad += grad_Z.mean(axis=0)
        return grad_Z @ self.W.value.T


class LinearNoTranspose(Linear):
    """Bug: the input gradient multiplies by W instead of W^T (shapes agree for square W)."""

    def backward(self, grad_Z):
        self.W.grad += self._X.T @ grad_Z
        self.b.grad += grad_Z.sum(axis=0)
        return grad_Z @ self.W.value


class TanhForgotSquare(Tanh):
    """Bug: tanh'(z) written as 1 - tanh(z) instead of 1 - tanh(z)^2."""

    def phi_prime(self, Z, A):
        return 1.0 - A


class SigmoidFromZ(Sigmoid):
    """Bug: sigmoid'(z) computed from Z instead of A = sigmoid(Z)."""

    def phi_prime(self, Z, A):
        return Z * (1.0 - Z)


class Conv2dFlippedInputGradient(Conv2d):
    """Bug: dL/dX computed with the kernel turned by 180 degrees (a convolution, where the
    forward pass computes a cross-correlation). dL/dW and dL/db do not use W and stay right."""

    def backward(self, grad_Z):
        W = self.W.value.copy()
        self.W.value[...] = W[::-1, ::-1]
        try:
            return super().backward(grad_Z)
        finally:
            self.W.value[...] = W


class MaxPool2dSpreadGradient(MaxPool2d):
    """Bug: each output's gradient is shared equally by its 2 x 2 window (average pooling's
    backward pass) instead of going to the window's maximum."""

    def forward(self, X):
        self._X_shape = X.shape
        return super().forward(X)

    def backward(self, grad_A):
        spread = np.repeat(np.repeat(grad_A, 2, axis=1), 2, axis=2) / 4
        grad_X = np.zeros(self._X_shape)
        grad_X[:, : spread.shape[1], : spread.shape[2]] = spread
        return grad_X


BUGGY_MODULES = [
    pytest.param(lambda rng: LinearBiasMean(3, 2, rng=rng), (6, 3), "param 1 (b)", id="bias-mean"),
    pytest.param(lambda rng: LinearNoTranspose(3, 3, rng=rng), (4, 3), "input", id="no-transpose"),
    pytest.param(lambda rng: TanhForgotSquare(), (4, 3), "input", id="tanh-no-square"),
    pytest.param(lambda rng: SigmoidFromZ(), (4, 3), "input", id="sigmoid-from-z"),
    pytest.param(
        lambda rng: Conv2dFlippedInputGradient(2, 3, 3, rng=rng),
        (2, 5, 5, 2),
        "input",
        id="conv2d-flip",
    ),
    pytest.param(
        lambda rng: MaxPool2dSpreadGradient(2), (2, 4, 5, 3), "input", id="max-pool-spread"
    ),
]


@pytest.mark.parametrize(("make_module", "shape", "buggy_array"), BUGGY_MODULES)
def test_grad_check_detects_a_wrong_module_backward(make_module, shape, buggy_array):
    rng = np.random.default_rng(0)
    module = make_module(rng)
    if isinstance(module, Linear):
        module.b.value[...] = rng.standard_normal(module.n_out)
    result = grad_check(module, rng.standard_normal(shape))
    assert result.max_error > 1e-2
    assert result.worst == buggy_array


class SoftmaxCrossEntropyNotAveraged(SoftmaxCrossEntropy):
    """Bug: the gradient of the mean loss is not divided by the batch size N."""

    def backward(self):
        return super().backward() * self._cached()[0].shape[0]


class BinaryCrossEntropyWrongSign(BinaryCrossEntropy):
    """Bug: t - sigmoid(z) instead of sigmoid(z) - t."""

    def backward(self):
        return -super().backward()


def test_grad_check_loss_detects_a_missing_division_by_n():
    rng = np.random.default_rng(0)
    logits, labels = rng.standard_normal((4, 3)), np.array([0, 2, 1, 2])
    assert grad_check_loss(SoftmaxCrossEntropyNotAveraged(), logits, labels) > 1e-2


def test_grad_check_loss_detects_a_wrong_sign():
    rng = np.random.default_rng(0)
    logits, targets = rng.standard_normal(5), np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    assert grad_check_loss(BinaryCrossEntropyWrongSign(), logits, targets) > 1e-2
