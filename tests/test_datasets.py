"""Seeded data sets: deterministic, right shapes and labels, balanced; the digits split."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from coursepkg import (
    load_digits_split,
    make_annuli,
    make_linearly_separable,
    make_moons,
    make_xor_blobs,
    sample_function,
    train_test_split,
)

# generator, keyword arguments, expected number of samples, expected labels
GENERATORS = [
    pytest.param(make_linearly_separable, {"n_samples": 200}, 200, [0, 1], id="separable"),
    pytest.param(make_xor_blobs, {"n_samples": 200}, 200, [0, 1], id="xor"),
    pytest.param(make_annuli, {"n_samples": 300, "n_classes": 3}, 300, [0, 1, 2], id="annuli-3"),
    pytest.param(make_annuli, {"n_samples": 100, "n_classes": 4}, 100, [0, 1, 2, 3], id="annuli-4"),
    pytest.param(make_moons, {"n_samples": 200}, 200, [0, 1], id="moons"),
]


@pytest.mark.parametrize(("make", "kwargs", "n", "labels"), GENERATORS)
def test_generator_shapes_labels_and_balance(make, kwargs, n, labels):
    X, y = make(**kwargs, seed=0)
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype.kind in "iu"
    np.testing.assert_array_equal(np.unique(y), labels)
    counts = np.bincount(y)
    assert np.all(counts == n // len(labels)), f"unbalanced classes: {counts}"
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize(("make", "kwargs", "n", "labels"), GENERATORS)
def test_generator_same_seed_same_data_other_seed_other_data(make, kwargs, n, labels):
    X1, y1 = make(**kwargs, seed=3)
    X2, y2 = make(**kwargs, seed=3)
    X3, y3 = make(**kwargs, seed=4)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(X1, X3)


@pytest.mark.parametrize(("make", "kwargs", "n", "labels"), GENERATORS)
def test_generator_accepts_a_generator_as_seed(make, kwargs, n, labels):
    X1, y1 = make(**kwargs, seed=np.random.default_rng(5))
    X2, y2 = make(**kwargs, seed=5)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)


def test_generators_shuffle_the_classes():
    # Classes are not stored in blocks: the labels of the first half are mixed.
    _, y = make_xor_blobs(200, seed=0)
    assert 0 < y[:100].mean() < 1


def test_linearly_separable_blobs_are_centred_where_documented():
    X, y = make_linearly_separable(2000, std=0.6, seed=0)
    np.testing.assert_allclose(X[y == 0].mean(axis=0), [-1.5, -1.0], atol=0.06)
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [1.5, 1.0], atol=0.06)
    np.testing.assert_allclose(X[y == 0].std(axis=0), [0.6, 0.6], atol=0.05)


def test_xor_labels_follow_the_quadrants():
    X, y = make_xor_blobs(400, std=0.35, seed=0)
    xor_label = (X[:, 0] * X[:, 1] < 0).astype(int)  # class 1 in quadrants II and IV
    assert np.mean(xor_label == y) > 0.98


def test_annuli_radius_grows_with_the_class():
    X, y = make_annuli(600, 3, noise=0.1, seed=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    for k in range(3):
        assert radius[y == k].mean() == pytest.approx(k + 1, abs=0.03)


def test_moons_without_noise_lie_on_their_half_circles():
    X, y = make_moons(100, noise=0.0, seed=0)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    assert np.all(upper[:, 1] >= -1e-12)  # centred at (0, 0), upper half
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)
    assert np.all(lower[:, 1] <= 0.5 + 1e-12)  # centred at (1, 0.5), lower half


def test_make_moons_odd_sample_count():
    X, y = make_moons(7, seed=0)
    assert X.shape == (7, 2)
    np.testing.assert_array_equal(np.bincount(y), [3, 4])


@pytest.mark.parametrize(
    ("name", "f"),
    [
        ("square", lambda x: x**2),
        ("sine", lambda x: np.sin(np.pi * x)),
        ("abs", np.abs),
        ("step", lambda x: (x >= 0).astype(float)),
    ],
)
def test_sample_function_without_noise(name, f):
    x, t = sample_function(name, 21, x_range=(-2.0, 2.0))
    assert x.shape == (21, 1) and t.shape == (21, 1)
    np.testing.assert_allclose(x[:, 0], np.linspace(-2.0, 2.0, 21))
    np.testing.assert_allclose(t, f(x), atol=1e-15)


def test_sample_function_noise_is_seeded():
    x, t1 = sample_function("square", 30, noise=0.1, seed=1)
    _, t2 = sample_function("square", 30, noise=0.1, seed=1)
    _, t3 = sample_function("square", 30, noise=0.1, seed=2)
    np.testing.assert_array_equal(t1, t2)
    assert not np.allclose(t1, t3)
    assert np.std(t1 - x**2) == pytest.approx(0.1, rel=0.4)


def rows(A):
    """The rows of a 2-D array as a set of bytes, to compare data sets as sets of samples."""
    return {row.tobytes() for row in np.ascontiguousarray(A)}


def test_train_test_split_is_a_stratified_partition():
    X = np.arange(40.0).reshape(20, 2)
    y = np.array([0] * 10 + [1] * 6 + [2] * 4)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.5, seed=0)
    np.testing.assert_array_equal(np.bincount(y_test), [5, 3, 2])
    np.testing.assert_array_equal(np.bincount(y_train), [5, 3, 2])
    assert not rows(X_train) & rows(X_test)
    assert rows(X_train) | rows(X_test) == rows(X)
    # every sample keeps its own label: here y is a function of the first feature
    for X_part, y_part in ((X_train, y_train), (X_test, y_test)):
        np.testing.assert_array_equal(y_part, y[(X_part[:, 0] / 2).astype(int)])


@pytest.fixture(scope="module")
def digits():
    return load_digits_split(seed=0)


def test_digits_split_sizes_and_shapes(digits):
    X_train, X_test, y_train, y_test = digits
    assert len(X_train) + len(X_test) == 1797
    assert X_train.shape == (1258, 64) and X_test.shape == (539, 64)  # 539 = 0.3 * 1797, rounded
    assert y_train.shape == (1258,) and y_test.shape == (539,)


def test_digits_are_scaled_to_the_unit_interval(digits):
    X_train, X_test, _, _ = digits
    for X in (X_train, X_test):
        assert X.min() == 0.0 and X.max() == 1.0  # raw pixels are 0..16, divided by 16


def test_digits_split_is_stratified_70_30(digits):
    _, _, y_train, y_test = digits
    per_class = np.bincount(load_digits().target)  # 174 to 183 images per digit
    test_counts = np.bincount(y_test, minlength=10)
    # each class contributes round(0.3 * its size) test images
    assert np.all(np.abs(test_counts - 0.3 * per_class) <= 0.5)
    np.testing.assert_array_equal(np.bincount(y_train, minlength=10) + test_counts, per_class)


def test_digits_split_is_a_partition_without_overlap(digits):
    X_train, X_test, y_train, y_test = digits
    bunch = load_digits()
    assert not rows(X_train) & rows(X_test)  # the 1,797 images are all distinct
    assert rows(X_train) | rows(X_test) == rows(bunch.data / 16.0)
    # images keep their labels
    label_of = {
        row.tobytes(): label for row, label in zip(bunch.data / 16.0, bunch.target, strict=True)
    }
    for X, y in ((X_train, y_train), (X_test, y_test)):
        assert [label_of[row.tobytes()] for row in X] == list(y)


def test_digits_split_is_seeded(digits):
    again = load_digits_split(seed=0)
    other = load_digits_split(seed=1)
    for a, b in zip(digits, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert rows(digits[1]) != rows(other[1])
