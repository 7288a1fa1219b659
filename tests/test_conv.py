"""Conv2d, conv2d_naive, MaxPool2d and Flatten against hand-computed values and direct definitions.

Images are channels-last, (N, H, W, C); Conv2d weights are (kh, kw, C_in, C_out). The direct
definitions below extract every window with explicit index arrays, independently of the im2col and
loop implementations they check. Gradients are checked by finite differences in
``test_gradients.py``; bad inputs in ``test_errors.py``.
"""

import numpy as np
import pytest

from coursepkg import (
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    conv2d_naive,
)


def pair(value):
    return value if isinstance(value, tuple) else (value, value)


def windows(X, kernel_size, stride):
    """All windows of X (N, H, W, C): shape (N, H_out, W_out, kh, kw, C), by index arrays."""
    (kh, kw), (sh, sw) = pair(kernel_size), pair(stride)
    Ho, Wo = (X.shape[1] - kh) // sh + 1, (X.shape[2] - kw) // sw + 1
    rows = sh * np.arange(Ho)[:, None] + np.arange(kh)  # rows[i, u] = i sh + u
    cols = sw * np.arange(Wo)[:, None] + np.arange(kw)  # cols[j, v] = j sw + v
    return X[:, rows[:, None, :, None], cols[None, :, None, :], :]


def direct_conv2d(X, W, b, stride=1, padding=0):
    """Z[n, i, j, f] = b[f] + sum_{u, v, c} X_pad[n, i sh + u, j sw + v, c] W[u, v, c, f]."""
    ph, pw = pair(padding)
    X_pad = np.pad(X, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    return np.einsum("nijuvc,uvcf->nijf", windows(X_pad, W.shape[:2], stride), W) + b


def conv_layer(W, b=None, **options):
    """A Conv2d with the given weights (kh, kw, C_in, C_out) and biases (C_out,)."""
    kh, kw, C_in, C_out = W.shape
    layer = Conv2d(C_in, C_out, (kh, kw), bias=b is not None, **options)
    layer.W.value[...] = W
    if b is not None:
        layer.b.value[...] = b
    return layer


# A tiny example: a 3 x 3 image, one channel, and a 2 x 2 kernel that is not symmetric (a layer
# that flipped it, computing a convolution instead of a cross-correlation, would give other values).
IMAGE = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]).reshape(1, 3, 3, 1)
KERNEL = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(2, 2, 1, 1)


# Convolution: forward values. ------------------------------------------------------------------


def test_conv2d_by_hand():
    Z = conv_layer(KERNEL, [0.5]).forward(IMAGE)
    expected = [
        [1 * 1 + 2 * 2 + 3 * 4 + 4 * 5 + 0.5, 1 * 2 + 2 * 3 + 3 * 5 + 4 * 6 + 0.5],  # 37.5, 47.5
        [1 * 4 + 2 * 5 + 3 * 7 + 4 * 8 + 0.5, 1 * 5 + 2 * 6 + 3 * 8 + 4 * 9 + 0.5],  # 67.5, 77.5
    ]
    np.testing.assert_array_equal(Z[0, :, :, 0], [[37.5, 47.5], [67.5, 77.5]])
    np.testing.assert_array_equal(Z[0, :, :, 0], expected)
    np.testing.assert_array_equal(conv2d_naive(IMAGE, KERNEL, np.array([0.5])), Z)


def test_conv2d_with_padding_and_stride_by_hand():
    # One row and column of zeros around the image, windows 2 apart: output 2 x 2, and each
    # window keeps only the pixels that are not padding.
    Z = conv_layer(KERNEL, [0.0], stride=2, padding=1).forward(IMAGE)
    expected = [
        [4 * 1, 3 * 2 + 4 * 3],  # rows -1..0, cols -1..0: X[0, 0] under W[1, 1]; cols 1..2
        [2 * 4 + 4 * 7, 1 * 5 + 2 * 6 + 3 * 8 + 4 * 9],  # rows 1..2, cols -1..0; cols 1..2
    ]
    np.testing.assert_array_equal(Z[0, :, :, 0], [[4.0, 18.0], [36.0, 77.0]])
    np.testing.assert_array_equal(Z[0, :, :, 0], expected)
    np.testing.assert_array_equal(conv2d_naive(IMAGE, KERNEL, np.zeros(1), 2, 1), Z)


def test_conv2d_backward_by_hand():
    layer = conv_layer(KERNEL, [0.5])
    layer.forward(IMAGE)
    grad_X = layer.backward(np.ones((1, 2, 2, 1)))
    # dL/dW[u, v] = sum over the 4 windows of the pixel under W[u, v]: the 2 x 2 block at (u, v).
    np.testing.assert_array_equal(
        layer.W.grad[:, :, 0, 0], [[1 + 2 + 4 + 5, 2 + 3 + 5 + 6], [4 + 5 + 7 + 8, 5 + 6 + 8 + 9]]
    )
    np.testing.assert_array_equal(layer.b.grad, [4.0])  # one per output pixel
    # dL/dX[p, q] = sum of the weights that touched pixel (p, q): all four for the centre.
    np.testing.assert_array_equal(
        grad_X[0, :, :, 0], [[1, 1 + 2, 2], [1 + 3, 1 + 2 + 3 + 4, 2 + 4], [3, 3 + 4, 4]]
    )


def test_conv2d_adds_over_input_channels_and_keeps_output_channels_apart():
    X = np.concatenate([IMAGE, 10 * IMAGE], axis=3)  # channel 1 is 10 times channel 0
    W = np.zeros((2, 2, 2, 3))
    W[:, :, 0, 0] = KERNEL[:, :, 0, 0]  # filter 0 sees channel 0 only
    W[:, :, 1, 1] = KERNEL[:, :, 0, 0]  # filter 1 sees channel 1 only
    W[:, :, :, 2] = KERNEL[:, :, :, 0]  # filter 2 sees both, with the same kernel
    Z = conv_layer(W, [0.0, 0.0, 1.0]).forward(X)
    single = [[37.0, 47.0], [67.0, 77.0]]  # test_conv2d_by_hand without the bias
    np.testing.assert_array_equal(Z[0, :, :, 0], single)
    np.testing.assert_array_equal(Z[0, :, :, 1], 10 * np.array(single))
    np.testing.assert_array_equal(Z[0, :, :, 2], 11 * np.array(single) + 1)


def test_direct_conv2d_agrees_with_the_hand_example():
    np.testing.assert_array_equal(
        direct_conv2d(IMAGE, KERNEL, [0.5])[0, :, :, 0], [[37.5, 47.5], [67.5, 77.5]]
    )
    np.testing.assert_array_equal(
        direct_conv2d(IMAGE, KERNEL, [0.0], stride=2, padding=1)[0, :, :, 0],
        [[4.0, 18.0], [36.0, 77.0]],
    )


CONFIGS = [
    # (N, H, W, C_in, C_out, kernel_size, stride, padding)
    (1, 1, 1, 1, 1, 1, 1, 0),
    (2, 5, 5, 1, 3, 3, 1, 0),
    (2, 6, 7, 3, 2, 3, 1, 1),
    (3, 7, 6, 2, 4, (2, 3), 2, 0),
    (2, 8, 5, 2, 2, 3, 3, 2),
    (1, 4, 4, 3, 1, 4, 1, 0),  # kernel as large as the image: one output pixel
    (2, 3, 3, 1, 2, 5, 1, 1),  # kernel larger than the image, but not than the padded image
    # one input channel takes the grey-image path of im2col: cover stride and padding there too
    (3, 9, 8, 1, 4, (3, 2), 2, 1),
    (2, 7, 7, 1, 5, 5, 1, 2),
]


@pytest.mark.parametrize(
    ("N", "H", "W", "C_in", "C_out", "kernel_size", "stride", "padding"), CONFIGS
)
def test_conv2d_agrees_with_conv2d_naive_and_the_direct_definition(
    N, H, W, C_in, C_out, kernel_size, stride, padding
):
    rng = np.random.default_rng(0)
    layer = Conv2d(C_in, C_out, kernel_size, stride=stride, padding=padding, rng=rng)
    layer.b.value[...] = rng.standard_normal(C_out)
    X = rng.standard_normal((N, H, W, C_in))
    Z = layer.forward(X)
    Z_naive = conv2d_naive(X, layer.W.value, layer.b.value, stride, padding)
    Z_direct = direct_conv2d(X, layer.W.value, layer.b.value, stride, padding)
    np.testing.assert_allclose(Z, Z_naive, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(Z_naive, Z_direct, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("stride", "padding"), [((2, 1), (1, 0)), ((1, 3), (0, 2)), (2, (2, 1))])
def test_conv2d_with_different_vertical_and_horizontal_stride_and_padding(stride, padding):
    rng = np.random.default_rng(1)
    layer = Conv2d(2, 3, (3, 2), stride=stride, padding=padding, rng=rng)
    layer.b.value[...] = rng.standard_normal(3)
    X = rng.standard_normal((2, 7, 6, 2))
    np.testing.assert_allclose(
        layer.forward(X),
        direct_conv2d(X, layer.W.value, layer.b.value, stride, padding),
        rtol=1e-12,
        atol=1e-12,
    )


GREY = np.arange(2 * 4 * 5, dtype=np.float64).reshape(2, 4, 5) % 7  # two grey 4 x 5 images
NCHW = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5) % 7  # channels first


@pytest.mark.parametrize(
    "X",
    [
        pytest.param(GREY[..., None], id="grey[..., None]"),
        pytest.param(GREY[:, :, :, np.newaxis], id="grey[:, :, :, newaxis]"),
        pytest.param(np.expand_dims(GREY, -1), id="expand_dims(grey, -1)"),
        pytest.param(NCHW.transpose(0, 2, 3, 1), id="nchw.transpose(0, 2, 3, 1)"),
        pytest.param(np.asfortranarray(NCHW.transpose(0, 2, 3, 1)), id="fortran-order"),
        pytest.param(NCHW.transpose(0, 2, 3, 1)[:, ::2, ::-1, 1:], id="strided-slice"),
    ],
)
def test_conv2d_gives_the_same_result_for_any_memory_layout_of_the_input(X):
    # The error message for 3-D input recommends X[..., None] for grey images.
    layer = Conv2d(X.shape[3], 2, (2, 3), rng=0)
    expected = direct_conv2d(X.copy(), layer.W.value, layer.b.value)
    np.testing.assert_allclose(layer.forward(X), expected, rtol=1e-12, atol=1e-12)
    layer.backward(np.ones_like(expected))
    np.testing.assert_allclose(
        layer.W.grad, np.einsum("nijuvc->uvc", windows(X, (2, 3), 1))[..., None].repeat(2, 3)
    )


def test_conv2d_without_bias():
    layer = conv_layer(KERNEL)
    assert layer.b is None
    assert [p.name for p in layer.parameters()] == ["W"]
    np.testing.assert_array_equal(layer.forward(IMAGE)[0, :, :, 0], [[37.0, 47.0], [67.0, 77.0]])


def test_conv2d_accepts_integer_images_as_float():
    Z = conv_layer(KERNEL, [0.5]).forward(IMAGE.astype(np.int64))
    assert Z.dtype == np.float64
    np.testing.assert_array_equal(Z[0, :, :, 0], [[37.5, 47.5], [67.5, 77.5]])


# Output sizes: floor((H + 2 padding - kernel) / stride) + 1. ---------------------------------


@pytest.mark.parametrize(
    ("H", "W", "kernel_size", "stride", "padding", "expected"),
    [
        (28, 28, 5, 1, 0, (24, 24)),  # (28 - 5) / 1 + 1
        (28, 28, 3, 1, 1, (28, 28)),  # "same" padding: (28 + 2 - 3) / 1 + 1
        (28, 28, 2, 2, 0, (14, 14)),  # (28 - 2) / 2 + 1
        (7, 5, 3, 2, 0, (3, 2)),  # floor(4 / 2) + 1, floor(2 / 2) + 1
        (7, 5, 2, 3, 1, (3, 2)),  # floor(7 / 3) + 1, floor(5 / 3) + 1
        (8, 5, 3, 3, 2, (4, 3)),  # floor(9 / 3) + 1, floor(6 / 3) + 1
        (6, 6, (3, 1), (2, 1), (1, 0), (3, 6)),  # floor(5 / 2) + 1, (6 - 1) / 1 + 1
        (3, 3, 3, 2, 0, (1, 1)),
    ],
)
def test_conv2d_output_size(H, W, kernel_size, stride, padding, expected):
    layer = Conv2d(2, 3, kernel_size, stride=stride, padding=padding, rng=0)
    assert layer.output_shape(H, W) == expected
    Z = layer.forward(np.ones((4, H, W, 2)))
    assert Z.shape == (4, *expected, 3)
    assert layer.backward(np.ones_like(Z)).shape == (4, H, W, 2)


# Convolution: construction. ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("init", "expected_std"),
    [("he", np.sqrt(2 / (3 * 3 * 16))), ("xavier", np.sqrt(2 / (3 * 3 * 16 + 3 * 3 * 32)))],
)
def test_conv2d_initial_weight_scale(init, expected_std):
    layer = Conv2d(16, 32, 3, rng=0, init=init)  # fan_in = 3 3 16, fan_out = 3 3 32
    assert layer.W.shape == (3, 3, 16, 32)
    assert layer.W.value.std() == pytest.approx(expected_std, rel=0.03)
    np.testing.assert_array_equal(layer.b.value, np.zeros(32))


def test_conv2d_parameters_and_seed():
    layer = Conv2d(3, 4, (2, 5), rng=7)
    assert layer.kernel_size == (2, 5)
    assert layer.stride == (1, 1)
    assert layer.padding == (0, 0)
    assert [p.name for p in layer.parameters()] == ["W", "b"]
    assert layer.num_parameters() == 2 * 5 * 3 * 4 + 4
    np.testing.assert_array_equal(layer.W.value, Conv2d(3, 4, (2, 5), rng=7).W.value)
    assert not np.array_equal(layer.W.value, Conv2d(3, 4, (2, 5), rng=8).W.value)


def test_conv2d_accumulates_parameter_gradients_until_zero_grad():
    layer = conv_layer(KERNEL, [0.5])
    for _ in range(2):
        layer.forward(IMAGE)
        layer.backward(np.ones((1, 2, 2, 1)))
    np.testing.assert_array_equal(layer.b.grad, [8.0])  # twice test_conv2d_backward_by_hand's 4
    np.testing.assert_array_equal(layer.W.grad[:, :, 0, 0], 2 * np.array([[12, 16], [24, 28]]))
    layer.zero_grad()
    np.testing.assert_array_equal(layer.W.grad, np.zeros_like(layer.W.value))
    np.testing.assert_array_equal(layer.b.grad, [0.0])


# Max pooling. ---------------------------------------------------------------------------------


def test_max_pool_by_hand_ignores_the_rows_and_columns_that_do_not_fill_a_window():
    X = np.array(
        [
            [1.0, 5.0, 2.0, 0.0, 99.0],
            [3.0, 2.0, 7.0, 1.0, 99.0],
            [0.0, 4.0, 6.0, 6.0, 99.0],
            [9.0, 8.0, 6.0, 1.0, 99.0],
            [99.0, 99.0, 99.0, 99.0, 99.0],
        ]
    )[None, :, :, None]  # 5 x 5: the 2 x 2 windows leave out the last row and column
    pool = MaxPool2d(2)
    A = pool.forward(X)
    np.testing.assert_array_equal(A[0, :, :, 0], [[5.0, 7.0], [9.0, 6.0]])
    grad_X = pool.backward(np.array([[1.0, 2.0], [3.0, 4.0]])[None, :, :, None])
    expected = np.zeros((5, 5))
    expected[0, 1], expected[1, 2], expected[3, 0] = 1.0, 2.0, 3.0
    expected[2, 2] = 4.0  # the window [[6, 6], [6, 1]]: the first 6 in row-major order only
    np.testing.assert_array_equal(grad_X[0, :, :, 0], expected)


def test_max_pool_ties_send_the_gradient_once_to_the_first_maximum():
    X = np.array([[0.0, 5.0], [5.0, 5.0]])[None, :, :, None]
    pool = MaxPool2d(2)
    np.testing.assert_array_equal(pool.forward(X), [[[[5.0]]]])
    grad_X = pool.backward(np.full((1, 1, 1, 1), 3.0))
    np.testing.assert_array_equal(grad_X[0, :, :, 0], [[0.0, 3.0], [0.0, 0.0]])
    # All zeros, as after a ReLU: the first element of the window gets the gradient.
    pool.forward(np.zeros((1, 2, 2, 1)))
    np.testing.assert_array_equal(
        pool.backward(np.ones((1, 1, 1, 1)))[0, :, :, 0], [[1.0, 0.0], [0.0, 0.0]]
    )


def test_max_pool_overlapping_windows_add_their_gradients():
    # Kernel 2, stride 1 on a 2 x 3 image: the windows [[1, 4], [3, 0]] and [[4, 2], [0, 1]] share
    # the middle column, and the 4 is the maximum of both.
    X = np.array([[1.0, 4.0, 2.0], [3.0, 0.0, 1.0]])[None, :, :, None]
    pool = MaxPool2d(2, stride=1)
    A = pool.forward(X)
    np.testing.assert_array_equal(A[0, :, :, 0], [[4.0, 4.0]])
    grad_X = pool.backward(np.array([[[[1.0], [10.0]]]]))
    np.testing.assert_array_equal(grad_X[0, :, :, 0], [[0.0, 11.0, 0.0], [0.0, 0.0, 0.0]])


def test_max_pool_keeps_channels_and_images_apart():
    X = np.zeros((2, 2, 2, 3))
    X[0, 0, 1, 0], X[0, 1, 0, 1], X[1, 1, 1, 2], X[1, 0, 0, 0] = 1.0, 2.0, 3.0, 4.0
    pool = MaxPool2d(2)
    np.testing.assert_array_equal(pool.forward(X)[:, 0, 0, :], [[1.0, 2.0, 0.0], [4.0, 0.0, 3.0]])
    grad_X = pool.backward(np.ones((2, 1, 1, 3)))
    expected = np.zeros((2, 2, 2, 3))
    expected[0, 0, 1, 0] = expected[0, 1, 0, 1] = expected[1, 1, 1, 2] = expected[1, 0, 0, 0] = 1
    expected[0, 0, 0, 2] = expected[1, 0, 0, 1] = 1  # all-zero windows: their first element
    np.testing.assert_array_equal(grad_X, expected)


def direct_max_pool(X, kernel_size, stride, grad_A):
    """Output and input gradient of max pooling, window by window: np.argmax returns the first
    maximum of the flattened window, i.e. in row-major window order."""
    kw, (sh, sw) = pair(kernel_size)[1], pair(stride)
    patches = windows(X, kernel_size, stride)  # (N, Ho, Wo, kh, kw, C)
    A = patches.max(axis=(3, 4))
    grad_X = np.zeros_like(X)
    for n, i, j, c in np.ndindex(A.shape):
        k = np.argmax(patches[n, i, j, :, :, c])
        grad_X[n, i * sh + k // kw, j * sw + k % kw, c] += grad_A[n, i, j, c]
    return A, grad_X


@pytest.mark.parametrize(
    ("shape", "kernel_size", "stride"),
    [
        ((2, 4, 4, 3), 2, 2),  # tiling
        ((2, 7, 5, 2), 2, 2),  # last row and column left out
        ((1, 6, 7, 2), 3, 1),  # overlapping
        ((2, 7, 7, 1), 3, 2),  # overlapping, odd size
        ((2, 8, 7, 2), 2, 3),  # gaps between windows
        ((1, 9, 8, 3), 3, 3),
        ((2, 6, 7, 2), (2, 3), (1, 2)),
        ((1, 12, 13, 2), (11, 12), 1),  # 132 window positions: more than an int8 index holds
        ((1, 17, 18, 2), (16, 17), 1),  # 272 window positions: more than a byte holds
    ],
)
@pytest.mark.parametrize("values", ["distinct", "many ties"])
def test_max_pool_agrees_with_the_direct_definition(shape, kernel_size, stride, values):
    rng = np.random.default_rng(0)
    if values == "distinct":
        X = rng.standard_normal(shape)
    else:
        X = rng.integers(0, 3, shape).astype(np.float64)  # small integers: ties everywhere
    pool = MaxPool2d(kernel_size, stride)
    A = pool.forward(X)
    grad_A = rng.standard_normal(A.shape)
    A_direct, grad_X_direct = direct_max_pool(X, kernel_size, stride, grad_A)
    np.testing.assert_array_equal(A, A_direct)
    np.testing.assert_allclose(pool.backward(grad_A), grad_X_direct, rtol=1e-15, atol=0)


def test_max_pool_stride_defaults_to_the_kernel_size():
    assert MaxPool2d(3).stride == (3, 3)
    assert MaxPool2d((2, 3)).stride == (2, 3)
    assert MaxPool2d().kernel_size == (2, 2)
    assert MaxPool2d(3, stride=1).stride == (1, 1)
    assert MaxPool2d().parameters() == []


# Flatten. ------------------------------------------------------------------------------------


def test_flatten_round_trip():
    X = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)
    flatten = Flatten()
    A = flatten.forward(X)
    assert A.shape == (2, 60)
    np.testing.assert_array_equal(A[1], np.arange(60, 120))  # row-major: image 1 after image 0
    np.testing.assert_array_equal(flatten.backward(A), X)
    np.testing.assert_array_equal(flatten.forward(np.ones((4, 3))), np.ones((4, 3)))


# dtype: float32 stays float32 through every layer. ------------------------------------------


@pytest.mark.parametrize(
    "make_module",
    [
        lambda: Conv2d(2, 3, 3, padding=1, rng=0, dtype=np.float32),
        lambda: Conv2d(2, 3, (2, 3), stride=(2, 1), bias=False, rng=0, dtype=np.float32),
        lambda: MaxPool2d(2),
        lambda: MaxPool2d(3, stride=1),
        lambda: Flatten(),
        lambda: Sequential(
            Conv2d(2, 4, 3, rng=0, dtype=np.float32),
            ReLU(),
            MaxPool2d(2),
            Flatten(),
            Linear(8, 3, rng=0, dtype=np.float32),  # 2 x 1 x 4 features,
        ),
    ],
    ids=["Conv2d", "Conv2d-strided-nobias", "MaxPool2d", "MaxPool2d-overlapping", "Flatten", "net"],
)
def test_float32_in_float32_out(make_module):
    module = make_module()
    X = np.random.default_rng(0).standard_normal((2, 6, 5, 2)).astype(np.float32)
    out = module.forward(X)
    assert out.dtype == np.float32
    grad_X = module.backward(np.ones_like(out))
    assert grad_X.dtype == np.float32
    assert grad_X.shape == X.shape
    for p in module.parameters():
        assert p.value.dtype == np.float32
        assert p.grad.dtype == np.float32, p.name


def test_float32_conv2d_is_close_to_float64():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 6, 5, 2))
    layer32 = Conv2d(2, 3, 3, padding=1, rng=0, dtype=np.float32)
    layer64 = Conv2d(2, 3, 3, padding=1, rng=0)
    np.testing.assert_allclose(layer32.W.value, layer64.W.value, rtol=1e-6)
    layer64.W.value[...] = layer32.W.value  # the same weights, exactly
    np.testing.assert_allclose(
        layer32.forward(X.astype(np.float32)), layer64.forward(X), rtol=1e-5, atol=1e-5
    )


def test_grey_image_convolution_keeps_float32():
    layer = Conv2d(1, 3, 3, stride=2, padding=1, rng=0, dtype=np.float32)
    X = np.random.default_rng(0).standard_normal((2, 6, 5, 1)).astype(np.float32)
    Z = layer.forward(X)
    grad_X = layer.backward(np.ones_like(Z))
    assert Z.dtype == grad_X.dtype == layer.W.grad.dtype == layer.b.grad.dtype == np.float32
    assert grad_X.shape == X.shape


@pytest.mark.parametrize("positions", [(8, 16), (3, 43), (16, 16), (1, 257)])
def test_max_pool_finds_a_maximum_at_the_last_window_position(positions):
    """Window index k of the maximum up to kh kw - 1 = 127, 128, 255 and 256: int8 indices
    for at most 128 positions, int32 beyond, and no index wraps around."""
    kh, kw = positions
    rng = np.random.default_rng(0)
    X = rng.random((2, kh, kw, 3))
    X[0, -1, -1, :] = 2.0  # the last position of the only window
    X[1, 0, 0, :] = 2.0  # the first
    pool = MaxPool2d((kh, kw))
    np.testing.assert_array_equal(pool.forward(X), np.full((2, 1, 1, 3), 2.0))
    grad_X = pool.backward(np.ones((2, 1, 1, 3)))
    expected = np.zeros_like(X)
    expected[0, -1, -1, :] = expected[1, 0, 0, :] = 1.0
    np.testing.assert_array_equal(grad_X, expected)
