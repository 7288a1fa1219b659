"""Infinite inputs to the stable helpers of functional.py give their limits, or a clear error
where no limit exists, and never nan or a RuntimeWarning (issue 11, item 3).

pyproject.toml turns every RuntimeWarning into an error, so each call below also checks that.
"""

import numpy as np
import pytest

from coursepkg import log_softmax, logsumexp, sigmoid, softmax, softplus

INF = np.inf
DTYPES = [np.float64, np.float32]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("Z", "expected"),
    [
        ([-INF, -INF], -INF),  # used to be nan with "divide by zero"
        ([INF, 0.0], INF),  # used to be nan
        ([INF, INF], INF),
        ([INF, -INF], INF),
        ([INF, 1e4], INF),
        ([-INF, 0.0], 0.0),
        ([-INF, 3.0, -INF], 3.0),
    ],
)
def test_logsumexp_of_infinities_is_the_limit(Z, expected, dtype):
    out = logsumexp(np.array(Z, dtype=dtype))
    assert out == expected
    assert out.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_logsumexp_row_of_minus_inf_poisons_nothing(dtype):
    Z = np.array([[0.0, 0.0], [-INF, -INF], [INF, 1.0], [1.0, 2.0]], dtype=dtype)
    out = logsumexp(Z, axis=1)
    expected = [np.log(2.0), -INF, INF, 2.0 + np.log1p(np.exp(-1.0))]
    np.testing.assert_allclose(out, expected, rtol=1e-6 if dtype == np.float32 else 1e-15)
    assert out.dtype == dtype
    # along the other axis, and with keepdims, the same limits
    np.testing.assert_array_equal(logsumexp(Z.T, axis=0, keepdims=True).shape, (1, 4))
    np.testing.assert_allclose(logsumexp(Z.T, axis=0), out)


def test_logsumexp_of_finite_values_is_accurate_and_keeps_all_axes_options():
    # log(e^0 + e^-40) = log1p(e^-40) = 4.248354255291589e-18: needs log1p, not log(1 + ...)
    exact = 4.248354255291589e-18
    assert logsumexp(np.array([0.0, -40.0])) == pytest.approx(exact, rel=1e-14, abs=0)
    assert logsumexp(np.zeros((2, 3)), axis=None) == pytest.approx(np.log(6.0), rel=1e-15, abs=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_and_log_softmax_limits(dtype):
    Z = np.array([[INF, 1.0, -INF], [-INF, 0.0, 0.0], [1e6, 0.0, -1e6]], dtype=dtype)
    P = softmax(Z, axis=1)
    np.testing.assert_array_equal(P, [[1.0, 0.0, 0.0], [0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    L = log_softmax(Z, axis=1)
    expected = [[0.0, -INF, -INF], [-INF, -np.log(2.0), -np.log(2.0)], [0.0, -1e6, -2e6]]
    np.testing.assert_allclose(L, expected, rtol=1e-6)
    assert P.dtype == dtype and L.dtype == dtype


@pytest.mark.parametrize("func", [softmax, log_softmax])
@pytest.mark.parametrize(
    ("Z", "message"),
    [
        ([[0.0, 1.0], [-INF, -INF]], r"a slice along axis 1 is all -inf.*no value"),
        ([[INF, INF], [0.0, 1.0]], r"a slice along axis 1 holds \+inf more than once"),
    ],
    ids=["all-minus-inf", "two-plus-inf"],
)
def test_softmax_without_a_limit_is_a_clear_error(func, Z, message):
    with pytest.raises(ValueError, match=rf"{func.__name__}: {message}"):
        func(np.array(Z), axis=1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_and_softplus_of_infinities(dtype):
    Z = np.array([-INF, -1e6, 0.0, 1e6, INF], dtype=dtype)
    np.testing.assert_array_equal(sigmoid(Z), [0.0, 0.0, 0.5, 1.0, 1.0])
    np.testing.assert_array_equal(softplus(Z), [0.0, 0.0, np.log(dtype(2.0)), 1e6, INF])
    assert sigmoid(Z).dtype == dtype and softplus(Z).dtype == dtype


def test_nan_stays_in_its_entry_or_slice_without_a_warning():
    assert np.isnan(sigmoid(np.array([np.nan, 0.0]))).tolist() == [True, False]
    assert np.isnan(softplus(np.array([np.nan, 0.0]))).tolist() == [True, False]
    Z = np.array([[np.nan, 0.0], [0.0, 0.0]])
    assert np.isnan(logsumexp(Z, axis=1)).tolist() == [True, False]
    assert np.isnan(softmax(Z, axis=1)).tolist() == [[True, True], [False, False]]
    assert np.isnan(log_softmax(Z, axis=1)).tolist() == [[True, True], [False, False]]


@pytest.mark.parametrize("dtype", DTYPES)
def test_logits_at_the_end_of_the_float_range_give_limits_without_a_warning(dtype):
    big = np.finfo(dtype).max
    Z = np.array([big, -big], dtype=dtype)  # big - (-big) overflows: exp of it is 0 all the same
    np.testing.assert_array_equal(softmax(Z), [1.0, 0.0])
    np.testing.assert_array_equal(log_softmax(Z), [0.0, -INF])
    assert logsumexp(Z) == big
