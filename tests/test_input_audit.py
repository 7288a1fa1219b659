"""The rest of the package audit (issue 11): each kind of bad or extreme input, per function.

Every test here failed on the code before the audit: it returned a silent wrong answer (a NaN
gradient, an empty data set, a parameter stepped twice), warned of an overflow, or raised a raw
NumPy error instead of a message that names the problem.
"""

import warnings

import numpy as np
import pytest

import coursepkg as cp
from coursepkg import plotting

RNG = np.random.default_rng(0)
X_DENSE = RNG.standard_normal((4, 3))
X_IMAGES = RNG.standard_normal((2, 6, 6, 1))


def modules_with_inputs():
    """(module, input) pairs, one per module with a backward pass."""
    return [
        (cp.Linear(3, 2, rng=0), X_DENSE),
        (cp.BayesianLinear(3, 2, rng=0), X_DENSE),
        (cp.Tanh(), X_DENSE),
        (cp.ReLU(), X_DENSE),
        (cp.Sigmoid(), X_DENSE),
        (cp.Arctan(), X_DENSE),
        (cp.Conv2d(1, 2, 3, rng=0), X_IMAGES),
        (cp.MaxPool2d(2), X_IMAGES),
        (cp.Flatten(), X_IMAGES),
    ]


IDS = [repr(m) for m, _ in modules_with_inputs()]


# Backward passes: the upstream gradient ------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize(("module", "X"), modules_with_inputs(), ids=IDS)
def test_backward_refuses_a_non_finite_upstream_gradient(module, X, bad):
    out = module.forward(X)
    grad = np.ones_like(out)
    grad.flat[-1] = bad
    with pytest.raises(ValueError, match=r"backward: grad_out contains NaN or infinite"):
        module.backward(grad)


@pytest.mark.parametrize(("module", "X"), modules_with_inputs(), ids=IDS)
def test_backward_turns_an_integer_upstream_gradient_into_floats(module, X):
    out = module.forward(X)
    grad_in = module.backward(np.ones(out.shape, dtype=int))
    assert grad_in.dtype == np.float64  # ReLU returned int64 before
    assert grad_in.shape == X.shape


# Extreme but finite values --------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_arctan_derivative_at_huge_inputs_is_its_limit_without_overflow(dtype):
    big = 1e200 if dtype == np.float64 else 1e30
    Z = np.array([[big, -big, 3.0, 0.0]], dtype=dtype)
    layer = cp.Arctan()
    layer.forward(Z)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grad = layer.backward(np.ones_like(Z))
    assert grad.dtype == dtype
    np.testing.assert_allclose(grad, [[0.0, 0.0, 0.1, 1.0]], rtol=1e-6, atol=0)


# Empty batches -------------------------------------------------------------------------------


def test_flatten_passes_an_empty_batch_through_both_ways():
    layer = cp.Flatten()
    out = layer.forward(np.zeros((0, 4, 4, 3)))
    assert out.shape == (0, 48)
    assert layer.backward(np.zeros((0, 48))).shape == (0, 4, 4, 3)


# conv2d_naive: the reference implementation checks its inputs like Conv2d does -------------


def test_conv2d_naive_refuses_nan_images():
    X = np.full((1, 5, 5, 1), np.nan)
    with pytest.raises(ValueError, match="conv2d_naive: X contains NaN"):
        cp.conv2d_naive(X, np.ones((3, 3, 1, 2)), np.zeros(2))


def test_conv2d_naive_refuses_mismatched_channels_and_biases():
    X = np.zeros((1, 5, 5, 3))
    with pytest.raises(ValueError, match="X has 3 channels"):
        cp.conv2d_naive(X, np.ones((3, 3, 1, 2)), np.zeros(2))
    with pytest.raises(ValueError, match=r"b needs shape \(2,\)"):
        cp.conv2d_naive(X, np.ones((3, 3, 3, 2)), np.zeros(3))


def test_conv2d_naive_refuses_a_kernel_larger_than_the_padded_input_and_bad_strides():
    with pytest.raises(ValueError, match="larger than the padded input"):
        cp.conv2d_naive(np.zeros((1, 2, 2, 1)), np.ones((3, 3, 1, 1)), np.zeros(1))
    with pytest.raises(ValueError, match="stride must be a positive integer"):
        cp.conv2d_naive(np.zeros((1, 5, 5, 1)), np.ones((3, 3, 1, 1)), np.zeros(1), stride=0)


def test_conv2d_naive_computes_integer_inputs_in_floating_point():
    Z = cp.conv2d_naive(np.ones((1, 4, 4, 1), int), np.ones((3, 3, 1, 1), int), np.zeros(1, int))
    assert Z.dtype == np.float64
    np.testing.assert_array_equal(Z, np.full((1, 2, 2, 1), 9.0))


# Parameters and weight tying --------------------------------------------------------------------


def test_a_parameter_refuses_non_finite_or_non_numeric_values():
    with pytest.raises(ValueError, match=r"Parameter\(W\): value contains NaN"):
        cp.Parameter(np.array([1.0, np.nan]), "W")
    with pytest.raises(TypeError, match="must hold real numbers"):
        cp.Parameter(np.array(["a"]), "W")


def tied_network():
    """Two Linear layers that share one weight matrix (weight tying)."""
    first, second = cp.Linear(3, 3, rng=0), cp.Linear(3, 3, rng=1)
    second.W = first.W
    return cp.Sequential(first, cp.Tanh(), second), first.W


def test_a_shared_parameter_is_listed_once_and_its_gradient_sums_both_uses():
    net, W = tied_network()
    params = net.parameters()
    assert len(params) == 3  # W once, two biases
    assert sum(p is W for p in params) == 1
    assert cp.grad_check(net, RNG.standard_normal((5, 3))).max_error < 1e-7


def test_an_optimizer_steps_a_shared_parameter_once():
    net, W = tied_network()
    net.zero_grad()
    net.backward(np.ones_like(net.forward(X_DENSE)))
    expected = W.value - 0.1 * W.grad
    cp.SGD(net.parameters() + [W], lr=0.1).step()  # W listed twice by hand: still one step
    np.testing.assert_array_equal(W.value, expected)


# Optimizers: non-finite and overflowing gradients ----------------------------------------------


@pytest.mark.parametrize("make", [cp.SGD, cp.Adam], ids=["SGD", "Adam"])
def test_a_step_with_a_nan_gradient_fails_and_changes_nothing(make):
    layer = cp.Linear(2, 2, rng=0)
    optimizer = make(layer.parameters(), lr=0.1)
    before = [p.value.copy() for p in layer.parameters()]
    layer.b.grad[...] = 1.0
    layer.W.grad[0, 1] = np.nan
    with pytest.raises(
        ValueError, match=r"gradient of Parameter\(W.*NaN or infinite.*no parameter"
    ):
        optimizer.step()
    for p, old in zip(layer.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.value, old)


@pytest.mark.parametrize(("dtype", "huge"), [(np.float64, 1e300), (np.float32, 1e20)])
def test_adam_refuses_a_gradient_whose_square_overflows(dtype, huge):
    layer = cp.Linear(2, 2, rng=0, dtype=dtype)
    optimizer = cp.Adam(layer.parameters(), lr=0.1)
    before = layer.W.value.copy()
    layer.W.grad[...] = huge
    with pytest.raises(ValueError, match="whose square overflows"):
        optimizer.step()
    np.testing.assert_array_equal(layer.W.value, before)
    assert optimizer.t == 0


# minibatches ------------------------------------------------------------------------------------


def test_minibatches_checks_its_sizes_and_accepts_a_seed():
    with pytest.raises(ValueError, match="minibatches: batch_size must be a positive integer"):
        list(cp.minibatches(5, 0, np.random.default_rng(0)))
    with pytest.raises(ValueError, match="minibatches: n_samples must be a non-negative"):
        list(cp.minibatches(-1, 2, np.random.default_rng(0)))
    from_seed = list(cp.minibatches(5, 2, 0))
    from_generator = list(cp.minibatches(5, 2, np.random.default_rng(0)))
    assert [b.tolist() for b in from_seed] == [b.tolist() for b in from_generator]


# Data sets: exactly n_samples, every class present --------------------------------------------

CLUSTERED = [
    (cp.make_linearly_separable, 2),
    (cp.make_xor_blobs, 2),
    (cp.make_annuli, 3),
    (cp.make_moons, 2),
]


@pytest.mark.parametrize(("make", "n_classes"), CLUSTERED, ids=lambda v: getattr(v, "__name__", v))
@pytest.mark.parametrize("n_samples", [5, 7, 13])
def test_generators_return_exactly_n_samples_with_every_class(make, n_classes, n_samples):
    X, y = make(n_samples)
    assert X.shape == (n_samples, 2) and y.shape == (n_samples,)
    counts = sorted(np.bincount(y).tolist(), reverse=True)  # make_moons gives class 1 the extra
    assert counts == [
        n_samples // n_classes + (k < n_samples % n_classes) for k in range(n_classes)
    ]


@pytest.mark.parametrize(
    ("make", "minimum"),
    [
        (cp.make_linearly_separable, 2),
        (cp.make_xor_blobs, 4),
        (cp.make_annuli, 3),
        (cp.make_moons, 2),
    ],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_generators_refuse_fewer_samples_than_clusters(make, minimum):
    with pytest.raises(ValueError, match=f"n_samples must be at least {minimum}"):
        make(minimum - 1)


# train_test_split -------------------------------------------------------------------------------


def test_train_test_split_refuses_an_empty_data_set():
    with pytest.raises(ValueError, match="train_test_split: got an empty data set"):
        cp.train_test_split(np.zeros((0, 2)), np.zeros(0, int))


def test_train_test_split_refuses_to_stratify_by_real_valued_targets():
    x, t = cp.make_sinusoid(20, random_x=True)
    with pytest.raises(ValueError, match=r"stratify=True needs class labels.*non-integer"):
        cp.train_test_split(x, t[:, 0])
    x_train, x_test, _, _ = cp.train_test_split(x, t, stratify=False)
    assert (len(x_train), len(x_test)) == (14, 6)


@pytest.mark.parametrize(
    ("n", "fraction", "empty"), [(1, 0.3, "test"), (20, 0.99, "training"), (3, 0.1, "test")]
)
def test_train_test_split_refuses_a_split_with_an_empty_part(n, fraction, empty):
    X, y = np.zeros((n, 2)), np.arange(n) % 2
    with pytest.raises(ValueError, match=f"leaves the {empty} part empty"):
        cp.train_test_split(X, y, test_fraction=fraction)


# GaussianMixture: float32 and tiny scales -------------------------------------------------------


@pytest.mark.parametrize("sigma", [1e-20, 1e-30, 1e-45])
def test_a_float32_mixture_with_a_tiny_scale_has_a_finite_mode_and_density(sigma):
    mixture = cp.GaussianMixture(
        np.array([[0.3, 0.7]], np.float32),
        np.array([[0.0, 1.0]], np.float32),
        np.array([[sigma, 1.0]], np.float32),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mode = mixture.mode()
        density = mixture.density(np.array([0.0, 0.5, 1.0], np.float32))
    assert mode.dtype == np.float32 and mode[0] == 0.0  # the spike is the highest peak
    assert np.all(np.isfinite(density)) and density[0, 0] > 1e18


def test_a_mixture_refuses_a_scale_whose_inverse_square_overflows():
    with pytest.raises(ValueError, match="sigma must be at least 1e-150"):
        cp.GaussianMixture([[0.5, 0.5]], [[0.0, 1.0]], [[1e-200, 1.0]])


# Plotting: the input of every helper is checked ------------------------------------------------


def predict_two_classes(points):
    return np.column_stack([points[:, 0], -points[:, 0]])


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (np.zeros((0, 2)), "holds no points"),
        (np.array([[np.nan, 0.0], [1.0, 1.0]]), "contains NaN"),
        (np.zeros((3, 3)), r"shape \(N, 2\)"),
    ],
    ids=["empty", "nan", "three features"],
)
def test_plots_over_the_plane_refuse_bad_points(X, message):
    with pytest.raises(ValueError, match=message):
        plotting.plot_decision_regions(predict_two_classes, X, np.zeros(len(X), int))
    with pytest.raises(ValueError, match=message):
        plotting.grid_over(X)


def test_grid_over_needs_at_least_two_points_per_axis():
    with pytest.raises(ValueError, match="resolution must be at least 2"):
        plotting.grid_over(np.zeros((3, 2)), resolution=1)


def test_scatter_classes_checks_labels_and_lengths():
    X, y = cp.make_moons(20)
    with pytest.raises(ValueError, match="X holds 20 points but y 3 labels"):
        plotting.scatter_classes(X, y[:3])
    with pytest.raises(ValueError, match=r"non-integer value [01]\.5"):
        plotting.scatter_classes(X, y + 0.5)


def test_plot_loss_curves_needs_a_history_with_epochs():
    with pytest.raises(TypeError, match="expected the History that train returns, got a list"):
        plotting.plot_loss_curves([1.0, 0.5])
    with pytest.raises(ValueError, match="no epoch"):
        plotting.plot_loss_curves(cp.History())
    history = cp.History(loss=[1.0, 0.0])
    with pytest.raises(ValueError, match="log_scale needs losses > 0"):
        plotting.plot_loss_curves(history, log_scale=True)


def test_plot_loss_curves_draws_an_elbo_history():
    ax = plotting.plot_loss_curves(cp.ELBOHistory(loss=[3.0, 2.0], nll=[1.0, 0.5], kl=[2.0, 1.5]))
    assert len(ax.lines) == 1


@pytest.mark.parametrize(
    ("C", "message"),
    [
        (np.zeros((2, 3), int), "square matrix"),
        (np.zeros((0, 0), int), "square matrix"),
        (np.array([[1, -1], [0, 2]]), "negative entry"),
        (np.array([[1.5, 0.0], [0.0, 2.0]]), "whole numbers"),
    ],
    ids=["not square", "empty", "negative", "fractional"],
)
def test_plot_confusion_matrix_needs_a_square_matrix_of_counts(C, message):
    with pytest.raises(ValueError, match=message):
        plotting.plot_confusion_matrix(C)
