"""The clipping of log sigma in the mixture density loss, in float64 and float32 (issue 11, item 7).

log sigma is clipped to [-L, L] so that no exponential overflows: L = 50 in float64 and L = 22 in
float32, whose largest number (3.4e38) is far smaller. At and beyond the bounds the loss and its
gradient are finite, emit no RuntimeWarning, and the scale gradient is zero outside the range.
"""

import numpy as np
import pytest

from coursepkg import MixtureDensityLoss, mdn, mixture_parameters

DTYPES = [np.float64, np.float32]
ACTIVATIONS = ["exp", "softplus"]


def strict_float():
    """Overflow, 0/0 and log 0 become exceptions inside the block."""
    return np.errstate(over="raise", invalid="raise", divide="raise")


def outputs_with_scales(s, dtype, *, N=50, K=2, seed=0):
    """Outputs (N, 3K) with every scale pre-activation equal to ``s``, and targets (N,)."""
    rng = np.random.default_rng(seed)
    Y = 3.0 * rng.standard_normal((N, 3 * K))
    Y[:, 2 * K :] = s
    return Y.astype(dtype), (3.0 * rng.standard_normal(N)).astype(dtype)


def limit(dtype):
    return mdn.log_sigma_limit(dtype)


def test_the_limits_per_dtype():
    assert limit(np.float64) == mdn.LOG_SIGMA_LIMIT == 50.0
    assert limit(np.float32) == 22.0
    # e^(2L), the largest 1 / sigma^2, leaves at least a square root of room below the maximum
    for dtype in DTYPES:
        assert np.exp(4.0 * limit(dtype)) <= np.finfo(dtype).max


@pytest.mark.parametrize("sigma_activation", ACTIVATIONS)
def test_float32_collapsed_scales_give_a_finite_loss_and_gradient(sigma_activation):
    # the example: float32 outputs with log sigma around -50
    Y, t = outputs_with_scales(-50.0, np.float32)
    loss = MixtureDensityLoss(2, sigma_activation=sigma_activation)
    with strict_float():
        value = loss(Y, t)
        grad = loss.backward()
    assert np.isfinite(value) and grad.dtype == np.float32 and np.all(np.isfinite(grad))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sigma_activation", ACTIVATIONS)
@pytest.mark.parametrize("where", ["at", "just outside", "far outside"])
@pytest.mark.parametrize("side", [-1.0, 1.0])
def test_finite_at_and_beyond_the_clip_bounds(dtype, sigma_activation, where, side):
    L = limit(dtype)
    if sigma_activation == "softplus" and side > 0:
        s = {"at": np.exp(L), "just outside": 1.5 * np.exp(L), "far outside": 1e30}[where]
    else:
        s = side * {"at": L, "just outside": L + 0.5, "far outside": 60.0}[where]
    Y, t = outputs_with_scales(s, dtype)
    loss = MixtureDensityLoss(2, sigma_activation=sigma_activation)
    with strict_float():
        value = loss(Y, t)
        grad = loss.backward()
        mixture = mixture_parameters(Y, 2, sigma_activation=sigma_activation)
        mixture.mode(iterations=5)
        mixture.density(np.linspace(-3.0, 3.0, 7).astype(dtype))
    assert np.isfinite(value) and grad.dtype == dtype and np.all(np.isfinite(grad))
    assert np.all(np.isfinite(mixture.sigma)) and np.all(mixture.sigma > 0)
    sigma_bound = np.exp(np.array(side * L, dtype=dtype))
    np.testing.assert_allclose(mixture.sigma, sigma_bound, rtol=10 * np.finfo(dtype).eps)
    scale_grad = grad[:, 4:]
    if where == "at":  # the bound itself is inside: its gradient flows
        assert np.any(scale_grad != 0.0)
    else:  # outside, the clipped log sigma is constant
        np.testing.assert_array_equal(scale_grad, 0.0)


@pytest.mark.parametrize("sigma_activation", ACTIVATIONS)
def test_float32_agrees_with_float64_at_the_float32_bound(sigma_activation):
    s = -limit(np.float32)
    Y, t = outputs_with_scales(s, np.float64)
    loss64 = MixtureDensityLoss(2, sigma_activation=sigma_activation)
    loss32 = MixtureDensityLoss(2, sigma_activation=sigma_activation)
    value64 = loss64(Y, t)
    value32 = loss32(Y.astype(np.float32), t.astype(np.float32))
    assert value32 == pytest.approx(value64, rel=1e-5)
    np.testing.assert_allclose(loss32.backward(), loss64.backward(), rtol=1e-4, atol=1e-6)


def test_float64_does_not_clip_inside_its_own_range():
    # a float64 log sigma of -30 lies outside the float32 range but inside float64's: it stays,
    # and its gradient flows
    Y, t = outputs_with_scales(-30.0, np.float64, N=4)
    np.testing.assert_array_equal(mixture_parameters(Y, 2).sigma, np.exp(-30.0))
    loss = MixtureDensityLoss(2)
    loss(Y, t)
    assert np.all(np.any(loss.backward()[:, 4:] != 0.0, axis=1))  # the responsible component
