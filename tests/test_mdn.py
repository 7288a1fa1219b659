"""Mixture density networks: the mixture NLL and its hand-derived gradient, the mixture's density,
mean and mode, the inverse-problem data, and clear errors for bad input.

Outputs Y (N, 3K) hold K mixing logits a, K means mu and K scale pre-activations s per sample.
"""

import numpy as np
import pytest

from coursepkg import (
    GaussianMixture,
    MixtureDensityLoss,
    grad_check_loss,
    make_inverse_problem,
    mixture_parameters,
    numerical_gradient,
)
from coursepkg.gradcheck import relative_error
from coursepkg.mdn import LOG_SIGMA_LIMIT

TOLERANCE = 1e-7
NOT_FINITE = "contains NaN or infinite values"


def strict_float():
    """Turn floating-point overflow, 0/0 and log 0 into exceptions inside a ``with`` block."""
    return np.errstate(over="raise", invalid="raise", divide="raise")


def random_outputs(rng, N, K, *, logit_scale=1.0, mu_scale=1.0, s_range=(-1.0, 1.0)):
    """Outputs (N, 3K) = [a | mu | s] and targets (N,) drawn from a seeded generator."""
    a = logit_scale * rng.standard_normal((N, K))
    mu = mu_scale * rng.standard_normal((N, K))
    s = rng.uniform(*s_range, (N, K))
    return np.concatenate([a, mu, s], axis=1), rng.standard_normal(N)


def direct_nll(Y, t, K):
    """The mixture NLL computed plainly: -mean log sum_k pi_k N(t | mu_k, sigma_k^2)."""
    a, mu, s = Y[:, :K], Y[:, K : 2 * K], Y[:, 2 * K :]
    pi = np.exp(a) / np.sum(np.exp(a), axis=1, keepdims=True)
    sigma = np.exp(s)
    t = t.reshape(-1, 1)
    gauss = np.exp(-((t - mu) ** 2) / (2 * sigma**2)) / (np.sqrt(2 * np.pi) * sigma)
    return -np.mean(np.log(np.sum(pi * gauss, axis=1)))


# The loss: values. ----------------------------------------------------------------------------


@pytest.mark.parametrize("K", [1, 2, 3, 5])
@pytest.mark.parametrize("seed", [0, 1])
def test_nll_equals_a_direct_computation(K, seed):
    Y, t = random_outputs(np.random.default_rng(seed), 8, K)
    assert MixtureDensityLoss(K)(Y, t) == pytest.approx(direct_nll(Y, t, K), rel=1e-12)


def test_nll_by_hand_for_one_standard_normal_component():
    # K = 1, mu = 0, sigma = e^0 = 1, t = 0: -log N(0 | 0, 1) = log(2 pi) / 2
    assert MixtureDensityLoss(1)(np.zeros((1, 3)), np.zeros(1)) == pytest.approx(
        0.5 * np.log(2 * np.pi), rel=1e-15
    )


def test_one_component_is_the_gaussian_nll():
    rng = np.random.default_rng(3)
    Y, t = random_outputs(rng, 10, 1)
    mu, s = Y[:, 1], Y[:, 2]
    gaussian_nll = np.mean(0.5 * np.log(2 * np.pi) + s + 0.5 * (t - mu) ** 2 * np.exp(-2 * s))
    loss = MixtureDensityLoss(1)
    assert loss(Y, t) == pytest.approx(gaussian_nll, rel=1e-12)
    grad = loss.backward()
    np.testing.assert_array_equal(grad[:, 0], 0.0)  # one component: pi = gamma = 1
    np.testing.assert_allclose(grad[:, 1], (mu - t) * np.exp(-2 * s) / 10, rtol=1e-12)


def test_targets_as_a_column_give_the_same_loss_and_gradient():
    Y, t = random_outputs(np.random.default_rng(4), 6, 3)
    loss = MixtureDensityLoss(3)
    value, grad = loss(Y, t), loss.backward()
    assert loss(Y, t.reshape(-1, 1)) == value
    np.testing.assert_array_equal(loss.backward(), grad)


def test_float32_in_float32_out():
    Y, t = random_outputs(np.random.default_rng(5), 6, 3)
    loss = MixtureDensityLoss(3)
    value = loss(Y.astype(np.float32), t.astype(np.float32))
    assert isinstance(value, float) and np.isfinite(value)
    assert loss.backward().dtype == np.float32


@pytest.mark.parametrize("sigma_activation", ["exp", "softplus"])
def test_no_warnings_and_finite_results_at_huge_outputs(sigma_activation):
    rng = np.random.default_rng(6)
    K = 3
    a = 1e6 * rng.standard_normal((5, K))
    mu = 1e4 * rng.standard_normal((5, K))
    s = 1e3 * rng.choice([-1.0, 1.0], (5, K))
    Y = np.concatenate([a, mu, s], axis=1)
    loss = MixtureDensityLoss(K, sigma_activation=sigma_activation)
    with strict_float():
        value = loss(Y, rng.standard_normal(5))
        grad = loss.backward()
        mixture = mixture_parameters(Y, K, sigma_activation=sigma_activation)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert np.all(mixture.sigma > 0) and np.all(np.isfinite(mixture.sigma))


def test_a_target_far_from_every_mean_gives_a_finite_loss():
    # sum_k pi_k N(t | mu_k, 1) underflows to 0 here, so the plain formula takes log(0).
    Y = np.array([[0.0, 0.0, -20.0, 20.0, 0.0, 0.0]])
    loss = MixtureDensityLoss(2)
    with strict_float():
        value = loss(Y, np.array([60.0]))
        grad = loss.backward()
    # the nearer component (mu = 20) takes all the responsibility: -log(1/2 N(60 | 20, 1))
    assert value == pytest.approx(np.log(2) + 0.5 * np.log(2 * np.pi) + 800.0, rel=1e-12)
    np.testing.assert_allclose(grad[0], [0.5, -0.5, 0.0, -40.0, 0.0, 1.0 - 1600.0], rtol=1e-12)


def test_scales_are_clipped_and_their_gradient_is_zero_outside():
    Y = np.array([[0.0, 0.0, 0.2, -0.2, LOG_SIGMA_LIMIT + 10, -0.3]])
    loss = MixtureDensityLoss(2)
    loss(Y, np.array([0.1]))
    assert loss.backward()[0, 4] == 0.0
    assert mixture_parameters(Y, 2).sigma[0, 0] == pytest.approx(np.exp(LOG_SIGMA_LIMIT))


@pytest.mark.parametrize("sigma_activation", ["exp", "softplus"])
def test_gradient_with_clipped_scales(sigma_activation):
    # beyond +-LOG_SIGMA_LIMIT, log sigma is constant, so its gradient is exactly zero
    rng = np.random.default_rng(12)
    Y, t = random_outputs(rng, 6, 4)
    Y[:, 10] = LOG_SIGMA_LIMIT + 10.0  # a very wide component
    Y[:, 11] = -LOG_SIGMA_LIMIT - 10.0 if sigma_activation == "exp" else -1000.0  # very narrow
    loss = MixtureDensityLoss(4, sigma_activation=sigma_activation)
    assert grad_check_loss(loss, Y, t) <= TOLERANCE
    grad = loss.backward()
    np.testing.assert_array_equal(grad[:, 11], 0.0)
    if sigma_activation == "exp":  # softplus(60) = 60 is not clipped
        np.testing.assert_array_equal(grad[:, 10], 0.0)


def test_softplus_scales():
    Y, t = random_outputs(np.random.default_rng(7), 5, 2)
    mixture = mixture_parameters(Y, 2, sigma_activation="softplus")
    np.testing.assert_allclose(mixture.sigma, np.log1p(np.exp(Y[:, 4:])), rtol=1e-12)
    expected = -np.mean(np.log(np.diag(mixture.density(t))))
    assert MixtureDensityLoss(2, sigma_activation="softplus")(Y, t) == pytest.approx(expected)


# The loss: gradients. -------------------------------------------------------------------------

CASES = {  # name: keyword arguments of random_outputs
    "moderate": {},
    "saturated mixing logits": {"logit_scale": 1e3},
    "narrow components": {"s_range": (-6.0, -4.0), "mu_scale": 0.01},
    "wide components": {"s_range": (4.0, 8.0), "mu_scale": 100.0},
    "far means": {"mu_scale": 30.0},
}


@pytest.mark.parametrize("sigma_activation", ["exp", "softplus"])
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize(("N", "K"), [(1, 1), (4, 2), (10, 3), (6, 5)])
def test_gradient_matches_finite_differences(N, K, case, sigma_activation):
    Y, t = random_outputs(np.random.default_rng(N * 10 + K), N, K, **CASES[case])
    loss = MixtureDensityLoss(K, sigma_activation=sigma_activation)
    assert grad_check_loss(loss, Y, t) <= TOLERANCE


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_block_of_the_gradient_matches_finite_differences(seed):
    # grad_check_loss compares whole arrays; here each block (logits, means, scales) on its own,
    # so that a small block cannot hide behind a large one.
    K = 3
    Y, t = random_outputs(np.random.default_rng(seed), 7, K)
    loss = MixtureDensityLoss(K)
    loss(Y, t)
    analytic = loss.backward()
    numerical = numerical_gradient(lambda: loss.forward(Y, t), Y)
    for block in range(3):
        cols = slice(block * K, (block + 1) * K)
        assert relative_error(analytic[:, cols], numerical[:, cols]) <= TOLERANCE


class ForgotPi(MixtureDensityLoss):
    """dL/da = -gamma instead of pi - gamma."""

    def backward(self):
        grad = super().backward()
        a = self._cache[0]
        grad[:, : self.n_components] -= np.exp(a) / np.exp(a).sum(1, keepdims=True) / len(a)
        return grad


class ForgotVariance(MixtureDensityLoss):
    """dL/dmu = gamma (mu - t) instead of gamma (mu - t) / sigma^2."""

    def backward(self):
        grad = super().backward()
        log_sigma = self._cache[2]
        K = self.n_components
        grad[:, K : 2 * K] *= np.exp(2 * log_sigma)
        return grad


class WrongScaleSign(MixtureDensityLoss):
    """dL/ds = gamma (1 + z^2) instead of gamma (1 - z^2)."""

    def backward(self):
        grad = super().backward()
        Z, gamma = self._cache[1], self._cache[4]
        grad[:, 2 * self.n_components :] += 2 * gamma * Z**2 / len(Z)
        return grad


@pytest.mark.parametrize("wrong_loss", [ForgotPi, ForgotVariance, WrongScaleSign])
def test_a_wrong_gradient_fails_the_check(wrong_loss):
    Y, t = random_outputs(np.random.default_rng(8), 6, 3, s_range=(-1.0, 0.5))
    assert grad_check_loss(MixtureDensityLoss(3), Y, t) <= TOLERANCE
    assert grad_check_loss(wrong_loss(3), Y, t) > 1e-2


# The mixture: parameters, density, mean, mode. ------------------------------------------------


def test_mixture_parameters_read_the_three_blocks():
    Y, _ = random_outputs(np.random.default_rng(9), 4, 3)
    pi, mu, sigma = mixture_parameters(Y, 3)
    assert pi.shape == mu.shape == sigma.shape == (4, 3)
    np.testing.assert_allclose(pi.sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(pi, np.exp(Y[:, :3]) / np.exp(Y[:, :3]).sum(1, keepdims=True))
    np.testing.assert_array_equal(mu, Y[:, 3:6])
    np.testing.assert_allclose(sigma, np.exp(Y[:, 6:]), rtol=1e-15)


def test_density_integrates_to_one():
    rng = np.random.default_rng(10)
    a, mu = rng.standard_normal((5, 4)), 3 * rng.standard_normal((5, 4))
    mixture = GaussianMixture(
        np.exp(a) / np.exp(a).sum(1, keepdims=True), mu, rng.uniform(0.1, 2, (5, 4))
    )
    t = np.linspace(-30, 30, 30001)
    p = mixture.density(t)
    assert p.shape == (5, 30001) and np.all(p >= 0)
    np.testing.assert_allclose(np.sum(p, axis=1) * (t[1] - t[0]), 1.0, rtol=1e-8)


def test_density_by_hand():
    # one standard normal: p(0) = 1 / sqrt(2 pi); equal halves at +-1 with sigma 1, at t = 1:
    # (N(0) + N(2)) / 2 = (1 + e^-2) / (2 sqrt(2 pi))
    mixture = GaussianMixture([[1.0, 0.0], [0.5, 0.5]], [[0.0, 5.0], [-1.0, 1.0]], np.ones((2, 2)))
    p = mixture.density(np.array([0.0, 1.0]))
    c = 1 / np.sqrt(2 * np.pi)
    np.testing.assert_allclose(p[0, 0], c, rtol=1e-15)
    np.testing.assert_allclose(p[1, 1], (1 + np.exp(-2)) * c / 2, rtol=1e-15)


def test_mean_by_hand():
    mixture = GaussianMixture(
        [[0.25, 0.75], [1.0, 0.0]], [[-1.0, 3.0], [2.0, 7.0]], np.ones((2, 2))
    )
    np.testing.assert_allclose(mixture.mean(), [2.0, 2.0])


def test_mode_of_hand_made_mixtures():
    pi = [
        [0.3, 0.7],  # two separate peaks: the heavier one wins
        [0.8, 0.2],  # a narrow light peak (height 0.8) beats a wide heavy one (height 0.16)
        [0.5, 0.5],  # means 1 sigma apart: one merged peak in the middle
        [1.0, 0.0],  # a single component
    ]
    mu = [[0.0, 5.0], [0.0, 4.0], [-0.5, 0.5], [2.0, -3.0]]
    sigma = [[0.5, 0.5], [2.0, 0.1], [1.0, 1.0], [0.3, 1.0]]
    mixture = GaussianMixture(pi, mu, sigma)
    mode = mixture.mode()
    np.testing.assert_allclose(mode[[0, 2, 3]], [5.0, 0.0, 2.0], atol=1e-9)
    # the wide component's slope pulls the narrow peak down by about 0.022 / 80 = 2.7e-4
    assert 4.0 - 5e-4 < mode[1] < 4.0 - 1e-4
    # the mean is not the mode: 0.8 * 0 + 0.2 * 4 = 0.8 in the second row
    assert mixture.mean()[1] == pytest.approx(0.8)


def test_mode_is_the_highest_point_of_the_density():
    rng = np.random.default_rng(11)
    a = 2 * rng.standard_normal((50, 3))
    pi = np.exp(a) / np.exp(a).sum(1, keepdims=True)
    mixture = GaussianMixture(pi, rng.uniform(-2, 2, (50, 3)), rng.uniform(0.1, 1.0, (50, 3)))
    t = np.linspace(-6, 6, 24001)
    grid_max = mixture.density(t).max(axis=1)
    at_mode = np.diag(mixture.density(mixture.mode()))
    assert np.all(at_mode >= grid_max * (1 - 1e-6))


def test_mixture_unpacks_and_has_a_short_repr():
    mixture = GaussianMixture([[1.0]], [[0.0]], [[1.0]])
    pi, mu, sigma = mixture
    assert pi.shape == (1, 1) and repr(mixture) == "GaussianMixture(N=1, K=1)"


# The inverse problem. -------------------------------------------------------------------------


def test_inverse_problem_data():
    x, t = make_inverse_problem(500, noise=0.1, seed=0)
    assert x.shape == t.shape == (500, 1) and x.dtype == t.dtype == np.float64
    assert np.all((t >= 0) & (t <= 1))
    residual = x - (t + 0.3 * np.sin(2 * np.pi * t))
    assert np.all(np.abs(residual) <= 0.1) and residual.std() > 0.04  # uniform on [-0.1, 0.1]
    np.testing.assert_array_equal(make_inverse_problem(500, seed=0)[0], x)
    assert not np.array_equal(make_inverse_problem(500, seed=1)[0], x)


def test_inverse_problem_without_noise_and_its_multiple_branches():
    x, t = make_inverse_problem(2000, noise=0.0, seed=3)
    np.testing.assert_allclose(x, t + 0.3 * np.sin(2 * np.pi * t), rtol=1e-15)
    middle = np.abs(x - 0.5) < 0.02  # x = 0.5 is reached near t = 0.15, 0.5 and 0.85
    assert t[middle].min() < 0.25 and t[middle].max() > 0.75


# Errors. --------------------------------------------------------------------------------------


@pytest.mark.parametrize("K", [0, -2])
def test_non_positive_number_of_components(K):
    with pytest.raises(ValueError, match="n_components .* must be a positive integer"):
        MixtureDensityLoss(K)
    with pytest.raises(ValueError, match="n_components .* must be a positive integer"):
        mixture_parameters(np.zeros((2, 3)), K)


def test_non_integer_number_of_components():
    with pytest.raises(TypeError, match="n_components .* must be a positive integer, got 2.5"):
        MixtureDensityLoss(2.5)


def test_unknown_sigma_activation():
    with pytest.raises(ValueError, match="sigma_activation must be one of"):
        MixtureDensityLoss(2, sigma_activation="relu")


def test_outputs_of_the_wrong_width_name_k_and_the_width():
    message = r"outputs have 7 columns, but a mixture of K=2 components needs 3K = 6"
    with pytest.raises(ValueError, match=message):
        MixtureDensityLoss(2)(np.zeros((4, 7)), np.zeros(4))
    with pytest.raises(ValueError, match=message):
        mixture_parameters(np.zeros((4, 7)), 2)


def test_one_dimensional_outputs():
    with pytest.raises(ValueError, match=r"expected outputs with 2 dimensions, got 1"):
        MixtureDensityLoss(1)(np.zeros(3), np.zeros(3))


def test_empty_batch():
    with pytest.raises(ValueError, match=r"empty"):  # raised by the shared Loss check
        MixtureDensityLoss(2)(np.zeros((0, 6)), np.zeros(0))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_outputs_and_targets(bad):
    outputs = np.zeros((3, 6))
    outputs[1, 2] = bad
    with pytest.raises(ValueError, match=f"outputs {NOT_FINITE}"):
        MixtureDensityLoss(2)(outputs, np.zeros(3))
    with pytest.raises(ValueError, match=f"targets {NOT_FINITE}"):
        MixtureDensityLoss(2)(np.zeros((3, 6)), np.array([0.0, bad, 0.0]))
    with pytest.raises(ValueError, match=f"outputs {NOT_FINITE}"):
        mixture_parameters(outputs, 2)


def test_targets_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"targets must be 1-D values of shape \(N,\) or \(N, 1\)"):
        MixtureDensityLoss(2)(np.zeros((4, 6)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="hold 4 samples but targets hold 3"):
        MixtureDensityLoss(2)(np.zeros((4, 6)), np.zeros(3))


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match="backward was called before forward"):
        MixtureDensityLoss(2).backward()


@pytest.mark.parametrize("bad_sigma", [0.0, -1.0])
def test_mixture_rejects_non_positive_sigma(bad_sigma):
    with pytest.raises(ValueError, match="sigma must be positive"):
        GaussianMixture([[0.5, 0.5]], [[0.0, 1.0]], [[1.0, bad_sigma]])


def test_mixture_rejects_bad_mixing_coefficients():
    with pytest.raises(ValueError, match="non-negative with each row summing to one"):
        GaussianMixture([[0.5, 0.6]], [[0.0, 1.0]], [[1.0, 1.0]])
    with pytest.raises(ValueError, match="non-negative with each row summing to one"):
        GaussianMixture([[1.5, -0.5]], [[0.0, 1.0]], [[1.0, 1.0]])


def test_mixture_rejects_mismatched_shapes_and_empty_arrays():
    with pytest.raises(ValueError, match=r"the same shape \(N, K\), got \(1, 2\), \(1, 3\)"):
        GaussianMixture([[0.5, 0.5]], [[0.0, 1.0, 2.0]], [[1.0, 1.0]])
    with pytest.raises(ValueError, match="empty mixture"):
        GaussianMixture(np.zeros((0, 2)), np.zeros((0, 2)), np.ones((0, 2)))
    with pytest.raises(ValueError, match="expected pi with 2 dimensions"):
        GaussianMixture([1.0], [0.0], [1.0])
    with pytest.raises(ValueError, match=f"sigma {NOT_FINITE}"):
        GaussianMixture([[1.0]], [[0.0]], [[np.inf]])


def test_density_needs_a_1d_grid():
    mixture = GaussianMixture([[1.0]], [[0.0]], [[1.0]])
    with pytest.raises(ValueError, match="expected t with 1 dimensions"):
        mixture.density(np.zeros((3, 1)))


def test_inverse_problem_rejects_bad_arguments():
    with pytest.raises(ValueError, match="noise must be a number >= 0"):
        make_inverse_problem(10, noise=-0.1)
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        make_inverse_problem(0)
