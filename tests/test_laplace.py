"""LastLayerLaplace: the Hessian of the negative log posterior, the MAP, and the predictive.

The Hessian is checked against finite differences of the hand-written gradient (itself checked
against finite differences of the value) and against its formula; the MAP of a Bayesian logistic
regression is found by Newton's method; the probit approximation is compared with Monte Carlo
over weight samples and with the predictive integral computed on a fine grid.
"""

import numpy as np
import pytest

from coursepkg import (
    BayesianLinear,
    LastLayerLaplace,
    Linear,
    ReLU,
    Sequential,
    Tanh,
    numerical_gradient,
    predictive_entropy,
    sigmoid,
)
from coursepkg.gradcheck import relative_error
from coursepkg.laplace import (
    negative_log_posterior,
    negative_log_posterior_gradient,
    negative_log_posterior_hessian,
    probit_approximation,
)

TOLERANCE = 1e-7


def small_network(rng, n_hidden=5):
    """A 2-n_hidden-1 tanh network with random weights (float64)."""
    return Sequential(Linear(2, n_hidden, rng=rng), Tanh(), Linear(n_hidden, 1, rng=rng))


def toy_data(rng, N=40):
    X = rng.standard_normal((N, 2))
    y = (X[:, 0] + 0.5 * X[:, 1] + 0.7 * rng.standard_normal(N) > 0).astype(int)
    return X, y


def newton_map(Phi, t, prior_precision, steps=30):
    """The MAP of Bayesian logistic regression by Newton's method, w <- w - H^-1 grad E."""
    w = np.zeros(Phi.shape[1])
    for _ in range(steps):
        g = negative_log_posterior_gradient(w, Phi, t, prior_precision)
        w = w - np.linalg.solve(negative_log_posterior_hessian(w, Phi, prior_precision), g)
    return w


def integral_predictive(mu, s2):
    """int sigmoid(z) N(z; mu, s2) dz on a fine grid of z = mu + s u, u ~ N(0, 1)."""
    u = np.linspace(-10.0, 10.0, 4001)
    weights = np.exp(-(u**2) / 2) / np.sqrt(2 * np.pi) * (u[1] - u[0])
    return sigmoid(mu[:, None] + np.sqrt(s2)[:, None] * u) @ weights


# The negative log posterior, its gradient and its Hessian ---------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_and_hessian_by_finite_differences(seed):
    rng = np.random.default_rng(seed)
    Phi = np.column_stack([rng.standard_normal((12, 4)), np.ones(12)])
    t = rng.integers(0, 2, 12).astype(float)
    w = 1.5 * rng.standard_normal(5)
    lam = 0.7

    g = negative_log_posterior_gradient(w, Phi, t, lam)
    g_num = numerical_gradient(lambda: negative_log_posterior(w, Phi, t, lam), w)
    assert relative_error(g, g_num) <= TOLERANCE

    H = negative_log_posterior_hessian(w, Phi, lam)
    H_num = np.zeros_like(H)
    for i in range(len(w)):  # row i: finite differences of the i-th entry of the gradient
        H_num[i] = numerical_gradient(
            lambda i=i: negative_log_posterior_gradient(w, Phi, t, lam)[i], w
        )
    assert relative_error(H, H_num) <= TOLERANCE
    np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-14)


def test_fit_computes_the_formula_on_the_network_features():
    rng = np.random.default_rng(3)
    model = small_network(rng)
    X, y = toy_data(rng)
    laplace = LastLayerLaplace(model, prior_precision=2.0).fit(X, y)

    Phi = np.column_stack([np.tanh(X @ model[0].W.value + model[0].b.value), np.ones(len(X))])
    w_map = np.append(model[2].W.value[:, 0], model[2].b.value)
    np.testing.assert_allclose(laplace.features(X), Phi, rtol=1e-14)
    np.testing.assert_array_equal(laplace.w_map, w_map)
    p = sigmoid(Phi @ w_map)
    H = sum(
        pn * (1 - pn) * np.outer(phi, phi) for pn, phi in zip(p, Phi, strict=True)
    ) + 2.0 * np.eye(6)
    np.testing.assert_allclose(laplace.H, H, rtol=1e-12)
    np.testing.assert_allclose(laplace.Sigma @ laplace.H, np.eye(6), atol=1e-12)
    assert laplace.H.dtype == laplace.Sigma.dtype == np.float64
    assert laplace.n_train == len(X)
    # the last layer's weights are copied: later training does not change the fitted posterior
    model[2].W.value[...] = 0.0
    np.testing.assert_array_equal(laplace.w_map, w_map)


def test_newton_map_has_zero_gradient_and_the_laplace_hessian():
    rng = np.random.default_rng(4)
    X, y = toy_data(rng, N=60)
    Phi = np.column_stack([X, np.ones(len(X))])
    w = newton_map(Phi, y, prior_precision=0.5)
    assert np.linalg.norm(negative_log_posterior_gradient(w, Phi, y, 0.5)) < 1e-10

    model = Linear.from_weights(w[:2, None], w[2:])  # Bayesian logistic regression
    laplace = LastLayerLaplace(model, prior_precision=0.5).fit(X, y)
    np.testing.assert_allclose(laplace.w_map, w, rtol=1e-15)
    np.testing.assert_allclose(laplace.H, negative_log_posterior_hessian(w, Phi, 0.5), rtol=1e-12)
    # the Gaussian is the quadratic expansion of E at the mode: E(w + d) - E(w) ~ d^T H d / 2
    d = 1e-3 * rng.standard_normal(3)
    dE = negative_log_posterior(w + d, Phi, y, 0.5) - negative_log_posterior(w, Phi, y, 0.5)
    assert dE == pytest.approx(0.5 * d @ laplace.H @ d, rel=1e-3)


# The predictive ----------------------------------------------------------------------------


def test_probit_is_the_map_prediction_without_uncertainty():
    mu = np.array([-30.0, -2.0, 0.0, 0.5, 8.0])
    np.testing.assert_allclose(probit_approximation(mu, np.zeros(5)), sigmoid(mu), rtol=1e-15)
    # and the fitted object with a tiny Sigma (huge prior precision) predicts sigmoid(mu)
    rng = np.random.default_rng(5)
    model = small_network(rng)
    X, y = toy_data(rng)
    laplace = LastLayerLaplace(model, prior_precision=1e12).fit(X, y)
    mu, s2 = laplace.logit_mean_and_variance(X)
    assert s2.max() < 1e-10
    p_map = sigmoid(model(X)).ravel()
    np.testing.assert_allclose(laplace.predictive_probabilities(X), p_map, atol=1e-10)
    np.testing.assert_allclose(
        laplace.predictive_probabilities(X, method="samples", n_samples=10), p_map, atol=1e-5
    )


def test_logit_variance_is_the_quadratic_form():
    rng = np.random.default_rng(6)
    model = small_network(rng)
    X, y = toy_data(rng)
    laplace = LastLayerLaplace(model).fit(X, y)
    mu, s2 = laplace.logit_mean_and_variance(X[:4])
    Phi = laplace.features(X[:4])
    np.testing.assert_allclose(mu, model(X[:4]).ravel(), rtol=1e-12)
    np.testing.assert_allclose(s2, [phi @ laplace.Sigma @ phi for phi in Phi], rtol=1e-12)


def test_probit_approximation_is_close_to_the_integral():
    mu, s = np.meshgrid(np.linspace(-8.0, 8.0, 81), np.linspace(0.0, 6.0, 31))
    mu, s2 = mu.ravel(), s.ravel() ** 2
    exact = integral_predictive(mu, s2)
    assert np.abs(probit_approximation(mu, s2) - exact).max() < 0.02  # about 0.015 at worst
    assert np.abs(sigmoid(mu) - exact).max() > 0.25  # ignoring the uncertainty is far worse


def test_probit_and_samples_agree_with_the_integral():
    rng = np.random.default_rng(7)
    model = small_network(rng)
    model[2].W.value *= 10.0  # logits of several units, as in a trained network
    X, y = toy_data(rng)
    laplace = LastLayerLaplace(model, prior_precision=0.3).fit(X, y)
    X_new = 3.0 * rng.standard_normal((20, 2))
    mu, s2 = laplace.logit_mean_and_variance(X_new)
    assert np.abs(mu).max() > 3.0 and np.sqrt(s2).max() > 1.5
    exact = integral_predictive(mu, s2)
    probit = laplace.predictive_probabilities(X_new)
    samples = laplace.predictive_probabilities(X_new, method="samples", n_samples=20_000, seed=1)
    assert np.abs(probit - exact).max() < 0.02
    assert np.abs(samples - exact).max() < 0.01  # Monte Carlo error ~ 0.5 / sqrt(20000)
    np.testing.assert_array_equal(
        samples, laplace.predictive_probabilities(X_new, method="samples", n_samples=20_000, seed=1)
    )


def test_weight_samples_have_the_posterior_covariance():
    rng = np.random.default_rng(8)
    model = small_network(rng, n_hidden=2)
    X, y = toy_data(rng)
    laplace = LastLayerLaplace(model, prior_precision=1.0).fit(X, y)
    eps = np.random.default_rng(0).standard_normal((100_000, 3))
    W = laplace.w_map + eps @ laplace._sample_factor
    np.testing.assert_allclose(np.cov(W.T), laplace.Sigma, atol=0.03 * laplace.Sigma.max())


def test_uncertainty_grows_away_from_the_data():
    rng = np.random.default_rng(9)
    X = 0.5 * rng.standard_normal((80, 2))
    y = (X[:, 0] + 0.3 * rng.standard_normal(80) > 0).astype(int)
    model = Sequential(Linear(2, 16, rng=0, init="he"), ReLU(), Linear(16, 1, rng=1))
    laplace = LastLayerLaplace(model, prior_precision=1.0)
    w = newton_map(laplace.features(X), y, 1.0)  # the exact MAP of the last layer
    model[2].W.value[:, 0], model[2].b.value[:] = w[:-1], w[-1:]
    laplace.fit(X, y)
    ray = np.array([[a, a] for a in (0.5, 2.0, 8.0, 32.0)])  # out of the data, into class 1
    _, s2 = laplace.logit_mean_and_variance(ray)
    assert np.all(np.diff(s2) > 0)
    H_map = predictive_entropy(sigmoid(model(ray)).ravel())
    H_laplace = predictive_entropy(laplace.predictive_probabilities(ray))
    assert np.all(H_laplace >= H_map)  # never more confident than the MAP network
    assert H_map[-1] < 1e-6 and H_laplace[-1] > 0.1  # certain far out, against uncertain


# Errors ------------------------------------------------------------------------------------


def test_bad_models_are_rejected():
    with pytest.raises(ValueError, match=r"last module must be Linear\(n_hidden, 1\)"):
        LastLayerLaplace(Sequential(Linear(2, 3), Tanh(), Linear(3, 2)))
    with pytest.raises(ValueError, match="last module must be Linear"):
        LastLayerLaplace(Sequential(Linear(2, 1), Tanh()))
    with pytest.raises(ValueError, match="must be deterministic"):
        LastLayerLaplace(Sequential(BayesianLinear(2, 3), Tanh(), Linear(3, 1)))
    with pytest.raises(TypeError, match="must be a Module"):
        LastLayerLaplace(np.ones((3, 1)))


@pytest.mark.parametrize("value", [0.0, -1.0, np.inf])
def test_non_positive_prior_precision_is_rejected(value):
    with pytest.raises(ValueError, match="prior_precision must be a positive finite number"):
        LastLayerLaplace(Linear(2, 1), prior_precision=value)


def test_bad_data_and_calls_are_rejected():
    laplace = LastLayerLaplace(Sequential(Linear(2, 3, rng=0), Tanh(), Linear(3, 1, rng=1)))
    X, y = np.ones((4, 2)), np.array([0, 1, 1, 0])
    with pytest.raises(RuntimeError, match=r"call fit\(X_train, y_train\) first"):
        laplace.predictive_probabilities(X)
    with pytest.raises(ValueError, match="empty data set"):
        laplace.fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="X has 4 samples but y has 3"):
        laplace.fit(X, y[:3])
    with pytest.raises(ValueError, match="labels y must be 0 or 1"):
        laplace.fit(X, np.array([0, 1, 2, 0]))
    with pytest.raises(ValueError, match=r"labels y of shape \(N,\) or \(N, 1\)"):
        laplace.fit(X, np.ones((4, 2)))
    with pytest.raises(ValueError, match="X has 5 features per sample, but this layer expects 2"):
        laplace.fit(np.ones((4, 5)), y)
    laplace.fit(X, y.reshape(-1, 1))  # (N, 1) labels are fine
    with pytest.raises(ValueError, match="empty X"):
        laplace.predictive_probabilities(np.ones((0, 2)))
    with pytest.raises(ValueError, match="method must be one of"):
        laplace.predictive_probabilities(X, method="exact")
    with pytest.raises(ValueError, match="n_samples"):
        laplace.predictive_probabilities(X, method="samples", n_samples=0)
    with pytest.raises(ValueError, match="NaN"):
        laplace.predictive_probabilities(np.array([[np.nan, 0.0]]))
    single = LastLayerLaplace(Linear(3, 1))
    with pytest.raises(ValueError, match="Reshape your data"):
        single.fit(np.ones(3), np.ones(3))
