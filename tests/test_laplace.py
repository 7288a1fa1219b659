"""LastLayerLaplace: the Hessian of the negative log posterior, the MAP, and the predictive.

The Hessian is checked against finite differences of the hand-written gradient (itself checked
against finite differences of the value) and against its formula; ``fit`` must reach the mode
(the gradient, summed point by point, vanishes there; plain Newton without a line search, written
here, reaches the same point) and must refuse a point where the gradient does not vanish; the
probit approximation is compared with Monte Carlo over weight samples and with the predictive
integral computed on a fine grid.
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
    find_map,
    gradient_tolerance,
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


def newton_map(Phi, t, prior_precision, steps=30, w=None):
    """The MAP of Bayesian logistic regression by plain Newton steps, w <- w - H^-1 grad E,
    from w = 0 (where they converge for these small problems) unless told otherwise."""
    w = np.zeros(Phi.shape[1]) if w is None else np.array(w, dtype=float)
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


def gradient_by_points(w, Phi, t, prior_precision):
    """grad E written independently of coursepkg: one term per training point."""
    g = prior_precision * w
    for phi, tn in zip(Phi, t, strict=True):
        g = g + (1.0 / (1.0 + np.exp(-phi @ w)) - tn) * phi
    return g


def test_fit_finds_the_mode_and_computes_the_formula_there():
    rng = np.random.default_rng(3)
    model = small_network(rng)
    X, y = toy_data(rng)
    laplace = LastLayerLaplace(model, prior_precision=2.0).fit(X, y)

    Phi = np.column_stack([np.tanh(X @ model[0].W.value + model[0].b.value), np.ones(len(X))])
    w_trained = np.append(model[2].W.value[:, 0], model[2].b.value)
    np.testing.assert_allclose(laplace.features(X), Phi, rtol=1e-14)
    np.testing.assert_array_equal(laplace.w_trained, w_trained)
    # the random last layer is far from the mode; fit moves to where the gradient vanishes
    assert np.linalg.norm(gradient_by_points(w_trained, Phi, y, 2.0)) > 1.0
    assert np.linalg.norm(gradient_by_points(laplace.w_map, Phi, y, 2.0)) < 1e-10
    assert laplace.gradient_norm < 1e-10 and laplace.newton_steps >= 2
    np.testing.assert_allclose(laplace.w_map, newton_map(Phi, y, 2.0), rtol=1e-10, atol=1e-12)
    p = sigmoid(Phi @ laplace.w_map)
    H = sum(
        pn * (1 - pn) * np.outer(phi, phi) for pn, phi in zip(p, Phi, strict=True)
    ) + 2.0 * np.eye(6)
    np.testing.assert_allclose(laplace.H, H, rtol=1e-12)
    assert np.linalg.eigvalsh(laplace.H).min() >= 2.0 - 1e-12  # positive definite: H >= lambda I
    np.testing.assert_allclose(laplace.Sigma @ laplace.H, np.eye(6), atol=1e-12)
    assert laplace.H.dtype == laplace.Sigma.dtype == laplace.w_map.dtype == np.float64
    assert laplace.n_train == len(X)
    # the model is not changed, and its weights are copied: training it later changes nothing
    np.testing.assert_array_equal(np.append(model[2].W.value[:, 0], model[2].b.value), w_trained)
    w_map = laplace.w_map.copy()
    model[2].W.value[...] = 0.0
    np.testing.assert_array_equal(laplace.w_trained, w_trained)
    np.testing.assert_array_equal(laplace.w_map, w_map)


def test_mode_of_a_relu_network_on_separable_data():
    """ReLU features and separable labels: without the prior the likelihood has no maximum (the
    weights would grow forever); with it, the mode exists and fit finds it."""
    rng = np.random.default_rng(10)
    X = rng.standard_normal((100, 2))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    model = Sequential(Linear(2, 20, rng=0, init="he"), ReLU(), Linear(20, 1, rng=1))
    model[2].W.value *= 50.0  # a last layer as a long run without weight decay leaves it
    for lam in (1.0, 1e-3):
        laplace = LastLayerLaplace(model, prior_precision=lam).fit(X, y)
        Phi = laplace.features(X)
        g = gradient_by_points(laplace.w_map, Phi, y, lam)
        assert np.linalg.norm(g) <= gradient_tolerance(laplace.w_map, Phi, lam)
        g_trained = gradient_by_points(laplace.w_trained, Phi, y, lam)
        assert np.linalg.norm(g_trained) > 1e6 * np.linalg.norm(g)
        assert negative_log_posterior(laplace.w_map, Phi, y, lam) < negative_log_posterior(
            laplace.w_trained, Phi, y, lam
        )
        # a mode: E rises in every direction, as H > 0 says
        for d in 1e-3 * rng.standard_normal((5, Phi.shape[1])):
            assert negative_log_posterior(laplace.w_map + d, Phi, y, lam) > negative_log_posterior(
                laplace.w_map, Phi, y, lam
            )


def test_the_line_search_never_increases_E_from_a_far_start():
    """Plain Newton overshoots from a start far out on the flat part of E and diverges; with the
    backtracking line search every step lowers E, and it still converges."""
    rng = np.random.default_rng(11)
    X, y = toy_data(rng, N=50)
    Phi = np.column_stack([X, np.ones(len(X))])
    lam = 1e-2
    w_far = np.array([-40.0, 30.0, 20.0])  # confidently wrong on most points
    plain_newton = newton_map(Phi, y, lam, steps=5, w=w_far)
    assert not np.isfinite(plain_newton).all() or negative_log_posterior(
        plain_newton, Phi, y, lam
    ) > negative_log_posterior(w_far, Phi, y, lam)
    values = [
        negative_log_posterior(find_map(w_far, Phi, y, lam, max_steps=k)[0], Phi, y, lam)
        for k in range(12)
    ]
    assert np.all(np.diff(values) <= 0)
    w, steps = find_map(w_far, Phi, y, lam)
    assert np.linalg.norm(negative_log_posterior_gradient(w, Phi, y, lam)) <= gradient_tolerance(
        w, Phi, lam
    )
    assert steps < 30


def test_fit_refuses_a_point_whose_gradient_does_not_vanish():
    rng = np.random.default_rng(12)
    model = small_network(rng)
    model[2].W.value *= 100.0
    X, y = toy_data(rng)
    laplace = LastLayerLaplace(model, prior_precision=1.0)
    with pytest.raises(RuntimeError, match=r"no mode found: after 1 Newton steps \|grad E\|"):
        laplace.fit(X, y, max_steps=1)
    assert laplace.w_map is None and laplace.Sigma is None  # nothing half-fitted is left
    laplace.fit(X, y)  # with the default number of steps it converges
    assert laplace.gradient_norm <= gradient_tolerance(
        laplace.w_map, laplace.features(X), laplace.prior_precision
    )


def test_newton_map_has_zero_gradient_and_the_laplace_hessian():
    rng = np.random.default_rng(4)
    X, y = toy_data(rng, N=60)
    Phi = np.column_stack([X, np.ones(len(X))])
    w = newton_map(Phi, y, prior_precision=0.5)
    assert np.linalg.norm(negative_log_posterior_gradient(w, Phi, y, 0.5)) < 1e-10

    model = Linear.from_weights(w[:2, None], w[2:])  # Bayesian logistic regression
    laplace = LastLayerLaplace(model, prior_precision=0.5).fit(X, y)
    assert laplace.newton_steps == 0  # already at the mode: fit keeps it
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
    assert np.abs(laplace.w_map).max() < 1e-10  # so strong a prior holds the mode at 0
    p_map = sigmoid(laplace.features(X) @ laplace.w_map)
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
    np.testing.assert_allclose(mu, Phi @ laplace.w_map, rtol=1e-12)
    np.testing.assert_allclose(s2, [phi @ laplace.Sigma @ phi for phi in Phi], rtol=1e-12)
    # mu is the logit of the network whose last layer is w_MAP
    model[2].W.value[:, 0], model[2].b.value[:] = laplace.w_map[:-1], laplace.w_map[-1:]
    np.testing.assert_allclose(mu, model(X[:4]).ravel(), rtol=1e-12)


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
    with pytest.raises(ValueError, match=r"y must lie in \[0, 1\] for 2 classes"):
        laplace.fit(X, np.array([0, 1, 2, 0]))
    with pytest.raises(ValueError, match=r"y must be integer class labels of shape \(N,\)"):
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


# Bad and extreme input, one kind at a time (issue 11) ---------------------------------------


def relu_laplace(dtype=np.float64, prior_precision=1.0):
    model = Sequential(
        Linear(2, 16, rng=0, init="he", dtype=dtype), ReLU(), Linear(16, 1, rng=1, dtype=dtype)
    )
    return LastLayerLaplace(model, prior_precision=prior_precision)


def relu_data(N=30):
    rng = np.random.default_rng(13)
    X = rng.standard_normal((N, 2))
    return X, (X[:, 0] + 0.5 * rng.standard_normal(N) > 0).astype(int)


def test_empty_inputs_are_refused_everywhere():
    X, y = relu_data()
    laplace = relu_laplace()
    with pytest.raises(ValueError, match="empty data set"):
        laplace.fit(np.ones((0, 2)), np.ones(0))
    laplace.fit(X, y)
    for call in (
        lambda E: laplace.predictive_probabilities(E),
        lambda E: laplace.predictive_probabilities(E, method="samples"),
        laplace.logit_mean_and_variance,
    ):
        with pytest.raises(ValueError, match="empty X"):
            call(np.ones((0, 2)))


def test_integer_inputs_and_labels_give_the_float_results():
    X, y = relu_data()
    X_int = np.round(3 * X).astype(np.int32)
    a = relu_laplace().fit(X_int, y)
    b = relu_laplace().fit(X_int.astype(np.float64), y.astype(np.float64))
    c = relu_laplace().fit(X_int.astype(np.float64), y.astype(bool).reshape(-1, 1))
    np.testing.assert_array_equal(a.w_map, b.w_map)
    np.testing.assert_array_equal(a.w_map, c.w_map)
    np.testing.assert_array_equal(
        a.predictive_probabilities(X_int[:5]), b.predictive_probabilities(X_int[:5] * 1.0)
    )


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_refused(bad):
    X, y = relu_data()
    laplace = relu_laplace()
    X_bad = X.copy()
    X_bad[3, 1] = bad
    with pytest.raises(ValueError, match=r"X contains NaN or infinite values \(the first at index"):
        laplace.fit(X_bad, y)
    y_bad = y.astype(float)
    y_bad[2] = bad
    with pytest.raises(ValueError, match="y contains NaN or infinite values"):
        laplace.fit(X, y_bad)
    laplace.fit(X, y)
    with pytest.raises(ValueError, match="X contains NaN or infinite values"):
        laplace.predictive_probabilities(X_bad)


def test_huge_inputs_give_the_limit_along_the_ray_not_nan():
    """Along a ray alpha x the probit probability of a ReLU network tends to a limit strictly
    inside (0, 1) (Kristiadi et al. 2020). The old code computed mu and s^2 first, which
    overflow to inf for alpha = 1e300, and returned NaN from inf / inf."""
    X, y = relu_data()
    laplace = relu_laplace().fit(X, y)
    direction = np.array([[1.0, -2.0], [-3.0, 0.5]])
    p = [laplace.predictive_probabilities(a * direction) for a in (1e3, 1e6, 1e300)]
    assert np.all(np.isfinite(p[-1])) and np.all((p[-1] > 0) & (p[-1] < 1))
    np.testing.assert_allclose(p[-1], p[1], rtol=1e-5)  # settled at the limit long before
    np.testing.assert_allclose(p[1], p[0], rtol=1e-2)


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.zeros((1, 30)), r"y must be integer class labels of shape \(N,\) or \(N, 1\)"),
        (np.zeros((30, 2)), "For one-hot targets Y use Y.argmax"),
        (np.float64(1.0), r"shape \(N,\) or \(N, 1\), got shape \(\)"),
        (np.full(30, 0.5), "got the non-integer value 0.5"),
        (np.full(30, -1), r"y must lie in \[0, 1\]"),
        (np.array(["0"] * 30), "y must be integer class labels, got dtype <U1"),
    ],
)
def test_wrong_labels_are_refused(labels, message):
    X, _ = relu_data()
    with pytest.raises((ValueError, TypeError), match=message):
        relu_laplace().fit(X, labels)


def test_float32_models_and_inputs_are_fitted_in_float64():
    X, y = relu_data()
    a = relu_laplace().fit(X, y)
    b = relu_laplace(np.float32).fit(X.astype(np.float32), y)
    for name in ("w_trained", "w_map", "H", "Sigma"):
        assert getattr(b, name).dtype == np.float64, name
    # the same mode up to the rounding of the float32 features, and a true mode of those
    np.testing.assert_allclose(b.w_map, a.w_map, rtol=1e-4, atol=1e-5)
    assert b.gradient_norm <= gradient_tolerance(b.w_map, b.features(X.astype(np.float32)), 1.0)
    p = b.predictive_probabilities(X.astype(np.float32))
    assert p.dtype == np.float64
    np.testing.assert_allclose(p, a.predictive_probabilities(X), atol=1e-5)


def test_fit_options_are_checked():
    X, y = relu_data()
    with pytest.raises(ValueError, match="max_steps must be a positive integer"):
        relu_laplace().fit(X, y, max_steps=0)
    with pytest.raises(TypeError, match="max_steps must be a positive integer"):
        relu_laplace().fit(X, y, max_steps=2.5)


@pytest.mark.parametrize("prior_precision", [1e-20, 1e-300])
def test_a_negligible_prior_gives_a_clear_error(prior_precision):
    """Dead ReLU units leave H = lambda along their weights, singular in float64 for a tiny lambda;
    the old code passed NumPy's bare 'Matrix is not positive definite' on."""
    X, y = relu_data()
    with pytest.raises(
        ValueError, match=r"not positive definite in float64: prior_precision = 1e-"
    ):
        relu_laplace(prior_precision=prior_precision).fit(X, y)
