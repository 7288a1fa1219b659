"""BayesianLinear, its KL term, the ELBO and the predictive helpers of Bayes by backprop.

Gradients are checked by central finite differences in float64 with the noise held fixed
(mode "fixed"), where the layer is an ordinary deterministic function of (X, mu, rho). The KL is
checked against its closed form, a Monte Carlo estimate, and zero when q equals the prior.
"""

import copy

import numpy as np
import pytest

from coursepkg import (
    SGD,
    BayesianLinear,
    BinaryCrossEntropy,
    Linear,
    ReLU,
    Sequential,
    SoftmaxCrossEntropy,
    Tanh,
    grad_check,
    kl_divergence,
    negative_elbo,
    numerical_gradient,
    predictive_entropy,
    predictive_probabilities,
    set_mode,
    softplus,
    train_elbo,
)
from coursepkg.bayes_linear import (
    gaussian_kl,
    gaussian_kl_gradients,
    inverse_softplus,
    log_softplus,
)
from coursepkg.gradcheck import relative_error

TOLERANCE = 1e-7
SHAPES = [(1, 1, 1), (4, 3, 2), (7, 5, 6)]  # (N, n_in, n_out)


def random_layer(rng, n_in, n_out, prior_sigma=1.3):
    """A layer with random means and spread-out sigmas (about 0.1 to 2), noise held fixed."""
    layer = BayesianLinear(n_in, n_out, prior_sigma=prior_sigma, rng=rng)
    layer.mu_W.value[...] = rng.standard_normal((n_in, n_out))
    layer.mu_b.value[...] = rng.standard_normal(n_out)
    layer.rho_W.value[...] = rng.uniform(-2.0, 2.0, (n_in, n_out))
    layer.rho_b.value[...] = rng.uniform(-2.0, 2.0, n_out)
    layer.freeze_noise()
    return layer


# Gradients of the layer ------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", [0, 1])
def test_bayesian_linear_gradients_with_fixed_noise(shape, seed):
    rng = np.random.default_rng(seed)
    N, n_in, n_out = shape
    layer = random_layer(rng, n_in, n_out)
    result = grad_check(layer, rng.standard_normal((N, n_in)), seed=seed)
    assert set(result.errors) == {
        "input",
        "param 0 (mu_W)",
        "param 1 (rho_W)",
        "param 2 (mu_b)",
        "param 3 (rho_b)",
    }
    assert result.max_error <= TOLERANCE, str(result)


def test_bayesian_linear_gradients_in_mean_mode():
    rng = np.random.default_rng(3)
    layer = random_layer(rng, 4, 3)
    layer.mode = "mean"
    result = grad_check(layer, rng.standard_normal((5, 4)))
    assert result.max_error <= TOLERANCE, str(result)
    assert np.all(layer.rho_W.grad == 0) and np.all(layer.rho_b.grad == 0)


def test_gradients_of_a_network_of_bayesian_layers():
    rng = np.random.default_rng(4)
    network = Sequential(random_layer(rng, 3, 5), Tanh(), random_layer(rng, 5, 2))
    result = grad_check(network, rng.standard_normal((6, 3)))
    assert result.max_error <= TOLERANCE, str(result)


class WrongRhoGradient(BayesianLinear):
    """A planted bug: forgets the factor sigmoid(rho) = dsigma/drho in the rho gradient."""

    def backward(self, grad_Z):
        grad_X = super().backward(grad_Z)
        grad_W = self._X.T @ grad_Z
        self.rho_W.grad += grad_W * self.eps_W * (1.0 - self._sigmoid_rho())
        return grad_X

    def _sigmoid_rho(self):
        return 1.0 / (1.0 + np.exp(-self.rho_W.value))


def test_grad_check_catches_a_wrong_rho_gradient():
    rng = np.random.default_rng(5)
    layer = WrongRhoGradient(4, 3, rng=rng, init_sigma=0.5)
    layer.freeze_noise()
    result = grad_check(layer, rng.standard_normal((5, 4)))
    assert result.errors["param 1 (rho_W)"] > 1e-2
    assert result.errors["param 0 (mu_W)"] <= TOLERANCE


def test_forward_computes_X_W_plus_b_with_the_sampled_weights():
    rng = np.random.default_rng(6)
    layer = random_layer(rng, 3, 2)
    X = rng.standard_normal((4, 3))
    W = layer.mu_W.value + softplus(layer.rho_W.value) * layer.eps_W
    b = layer.mu_b.value + softplus(layer.rho_b.value) * layer.eps_b
    np.testing.assert_allclose(layer.forward(X), X @ W + b, rtol=1e-12)
    layer.mode = "mean"
    np.testing.assert_allclose(layer.forward(X), X @ layer.mu_W.value + layer.mu_b.value)


def test_modes_sample_fixed_and_mean():
    X = np.ones((2, 3))
    layer = BayesianLinear(3, 2, rng=0, init_sigma=0.5)
    first, second = layer(X), layer(X)
    assert not np.allclose(first, second)  # "sample": new weights every pass
    layer.freeze_noise()
    np.testing.assert_array_equal(layer(X), layer(X))
    layer.mode = "mean"
    np.testing.assert_array_equal(layer(X), X @ layer.mu_W.value + layer.mu_b.value)


def test_float32_stays_float32():
    layer = BayesianLinear(3, 2, rng=0, dtype=np.float32)
    Z = layer(np.ones((4, 3), dtype=np.float32))
    assert Z.dtype == np.float32
    layer.backward(np.ones_like(Z))
    layer.kl_backward(0.5)
    assert all(p.grad.dtype == np.float32 for p in layer.parameters())


# Reparameterization ----------------------------------------------------------------------


def test_sampled_weights_have_mean_mu_and_std_sigma():
    rng = np.random.default_rng(7)
    layer = random_layer(rng, 3, 2)
    layer.mode = "sample"
    samples = np.array([layer.current_weights()[0] for _ in range(20_000)])
    sigma = layer.sigma_W
    # standard errors: sigma / sqrt(S) for the mean, about sigma / sqrt(2 S) for the std
    assert np.all(np.abs(samples.mean(axis=0) - layer.mu_W.value) < 5 * sigma / np.sqrt(20_000))
    np.testing.assert_allclose(samples.std(axis=0), sigma, rtol=0.03)


def test_same_seed_gives_the_same_outputs():
    def run():
        layer = BayesianLinear(3, 4, rng=11, init_sigma=0.3)
        return layer(np.ones((2, 3))), layer(np.ones((2, 3)))

    a, b = run(), run()
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_softplus_helpers():
    for sigma in [1e-3, 0.05, 1.0, 7.0]:
        assert softplus(np.array(inverse_softplus(sigma))) == pytest.approx(sigma, rel=1e-12)
    rho = np.array([-1000.0, -40.0, -5.0, 0.0, 30.0])
    expected = [-1000.0, -40.0, np.log(np.log1p(np.exp(-5.0))), np.log(np.log(2.0)), np.log(30.0)]
    np.testing.assert_allclose(log_softplus(rho), expected, rtol=1e-12)


# The KL term -----------------------------------------------------------------------------


def test_kl_matches_the_closed_form():
    rng = np.random.default_rng(8)
    layer = random_layer(rng, 4, 3, prior_sigma=0.7)
    p = 0.7
    total = 0.0
    for mu, rho in ((layer.mu_W, layer.rho_W), (layer.mu_b, layer.rho_b)):
        s = np.log1p(np.exp(rho.value))
        total += np.sum(np.log(p / s) + (s**2 + mu.value**2) / (2 * p**2) - 0.5)
    assert layer.kl() == pytest.approx(total, rel=1e-12)
    # Two layers with equal parameters (a copy: one object may not sit at two positions).
    model = Sequential(layer, Tanh(), copy.deepcopy(layer))
    assert kl_divergence(model) == pytest.approx(2 * total, rel=1e-12)


def test_kl_matches_a_monte_carlo_estimate():
    rng = np.random.default_rng(9)
    mu = rng.standard_normal(5)
    rho = rng.uniform(-1.0, 1.0, 5)
    prior_sigma = 1.5
    sigma = softplus(rho)
    S = 200_000
    w = mu + sigma * rng.standard_normal((S, 5))

    def log_normal(x, m, s):
        return -0.5 * np.log(2 * np.pi * s**2) - (x - m) ** 2 / (2 * s**2)

    mc = np.mean(np.sum(log_normal(w, mu, sigma) - log_normal(w, 0.0, prior_sigma), axis=1))
    assert gaussian_kl(mu, rho, prior_sigma) == pytest.approx(mc, rel=0.02)


def test_kl_is_zero_when_q_equals_the_prior():
    layer = BayesianLinear(3, 2, prior_sigma=0.8, init_sigma=0.8, init="zeros", rng=0)
    assert layer.kl() == pytest.approx(0.0, abs=1e-12)
    layer.kl_backward()
    for p in layer.parameters():
        np.testing.assert_allclose(p.grad, 0.0, atol=1e-12)
    layer.mu_W.value[0, 0] = 0.1
    assert layer.kl() > 0


def test_kl_gradient_by_finite_differences():
    rng = np.random.default_rng(10)
    layer = random_layer(rng, 4, 3, prior_sigma=0.6)
    layer.zero_grad()
    layer.kl_backward(scale=2.5)
    for p in layer.parameters():
        numerical = numerical_gradient(lambda: 2.5 * layer.kl(), p.value)
        assert relative_error(p.grad, numerical) <= TOLERANCE, p.name


def test_kl_gradient_is_finite_for_tiny_sigmas():
    mu, rho = np.zeros(3), np.array([-800.0, -50.0, -10.0])
    grad_mu, grad_rho = gaussian_kl_gradients(mu, rho, 1.0)
    assert np.all(np.isfinite(grad_rho)) and np.isfinite(gaussian_kl(mu, rho, 1.0))
    np.testing.assert_allclose(grad_rho[:2], -1.0, atol=1e-12)  # sigmoid(rho)/sigma -> 1


# The ELBO --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "loss, n_out, targets",
    [
        (BinaryCrossEntropy, 1, lambda rng, N: rng.integers(0, 2, (N, 1)).astype(float)),
        (SoftmaxCrossEntropy, 3, lambda rng, N: rng.integers(0, 3, N)),
    ],
)
def test_negative_elbo_gradient(loss, n_out, targets):
    rng = np.random.default_rng(12)
    model = Sequential(random_layer(rng, 2, 4), Tanh(), random_layer(rng, 4, n_out))
    X, y = rng.standard_normal((6, 2)), targets(rng, 6)
    data_loss = loss()
    model.zero_grad()
    terms = negative_elbo(model, data_loss, X, y, n_train=20, n_samples=3)
    assert terms.loss == pytest.approx(terms.nll + terms.kl / 20)

    def value():
        return negative_elbo(model, data_loss, X, y, n_train=20, backward=False).loss

    # eps = 1e-5: some gradients are ~1e-3 of a loss ~1, where the round-off of eps = 1e-6
    # alone is ~1e-7 relative; the truncation error at 1e-5 is still ~1e-10.
    for p in model.parameters():
        numerical = numerical_gradient(value, p.value, eps=1e-5)
        assert relative_error(p.grad, numerical) <= TOLERANCE, p.name


def test_negative_elbo_averages_the_data_term_over_weight_samples():
    rng = np.random.default_rng(13)
    model = Sequential(BayesianLinear(2, 1, rng=0, init_sigma=0.5))
    X, y = rng.standard_normal((5, 2)), rng.integers(0, 2, (5, 1))
    seeded = negative_elbo(model, BinaryCrossEntropy(), X, y, n_train=5, n_samples=4)
    model[0].rng = np.random.default_rng(0)  # replay: model built with rng=0 drew its mu first
    model[0].rng.standard_normal((2, 1))
    singles = [
        negative_elbo(model, BinaryCrossEntropy(), X, y, n_train=5, backward=False).nll
        for _ in range(4)
    ]
    assert seeded.nll == pytest.approx(np.mean(singles), rel=1e-12)


def test_train_elbo_lowers_the_loss_and_is_reproducible():
    def run():
        rng = np.random.default_rng(14)
        X = rng.standard_normal((60, 2))
        y = (X[:, 0] * X[:, 1] > 0).astype(int)
        model = Sequential(
            BayesianLinear(2, 8, rng=0, init="he"), ReLU(), BayesianLinear(8, 2, rng=1)
        )
        history = train_elbo(
            model,
            SoftmaxCrossEntropy(),
            SGD(model.parameters(), lr=0.1),
            X,
            y,
            epochs=30,
            batch_size=20,
            progress=False,
        )
        return history

    a, b = run(), run()
    assert a.loss == b.loss and a.kl == b.kl
    assert a.loss[-1] < a.loss[0]
    np.testing.assert_allclose(np.array(a.loss), np.array(a.nll) + np.array(a.kl) / 60)


# Prediction ------------------------------------------------------------------------------


def test_predictive_probabilities_average_over_weight_samples():
    rng = np.random.default_rng(15)
    model = Sequential(random_layer(rng, 2, 3), Tanh(), random_layer(rng, 3, 1))
    set_mode(model, "sample")
    X = rng.standard_normal((7, 2))
    P = predictive_probabilities(model, X, n_samples=50, seed=1)
    assert P.shape == (7,)
    np.testing.assert_array_equal(P, predictive_probabilities(model, X, n_samples=50, seed=1))
    assert all(layer.mode == "sample" for layer in (model[0], model[2]))  # restored
    # by hand: the same noise, drawn layer by layer from the same generator
    noise = np.random.default_rng(1)
    by_hand = 0.0
    for _ in range(50):
        for layer in (model[0], model[2]):
            layer.resample_noise(noise)
        set_mode(model, "fixed")
        by_hand += 1.0 / (1.0 + np.exp(-model(X).ravel())) / 50
    np.testing.assert_allclose(P, by_hand, rtol=1e-12)


def test_predictive_probabilities_for_several_classes_sum_to_one():
    rng = np.random.default_rng(16)
    model = Sequential(random_layer(rng, 2, 4))
    P = predictive_probabilities(model, rng.standard_normal((5, 2)), n_samples=10)
    assert P.shape == (5, 4)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)


def test_predictive_entropy_at_known_probabilities():
    H = predictive_entropy(np.array([0.0, 1.0, 0.5, 0.1]))
    expected = [0.0, 0.0, np.log(2), -(0.1 * np.log(0.1) + 0.9 * np.log(0.9))]
    np.testing.assert_allclose(H, expected, rtol=1e-12, atol=0)
    H = predictive_entropy(np.array([[0.25, 0.25, 0.25, 0.25], [1.0, 0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(H, [np.log(4), 0.0], rtol=1e-12, atol=0)


# Errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["prior_sigma", "init_sigma"])
@pytest.mark.parametrize("value", [0.0, -1.0, np.inf])
def test_non_positive_sigmas_are_rejected(name, value):
    with pytest.raises(ValueError, match=f"{name} must be a positive finite number"):
        BayesianLinear(2, 3, **{name: value})


def test_bad_layer_arguments_are_rejected():
    with pytest.raises(ValueError, match="n_out"):
        BayesianLinear(2, 0)
    with pytest.raises(ValueError, match="init must be one of"):
        BayesianLinear(2, 3, init="uniform")
    with pytest.raises(ValueError, match="mode must be one of"):
        BayesianLinear(2, 3).mode = "average"
    with pytest.raises(ValueError, match="mode must be one of"):
        set_mode(Sequential(BayesianLinear(2, 3)), "average")


def test_bad_input_shapes_are_rejected():
    layer = BayesianLinear(3, 2)
    with pytest.raises(ValueError, match=r"expected X with 2 dimensions, got 1"):
        layer.forward(np.ones(3))
    with pytest.raises(ValueError, match="X has 4 features per sample, but this layer expects 3"):
        layer.forward(np.ones((2, 4)))
    with pytest.raises(RuntimeError, match="backward was called before forward"):
        BayesianLinear(3, 2).backward(np.ones((2, 2)))
    layer.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"grad_out has shape \(2, 3\)"):
        layer.backward(np.ones((2, 3)))


def test_elbo_and_prediction_errors():
    model = Sequential(BayesianLinear(2, 1, rng=0))
    X, y = np.ones((4, 2)), np.ones((4, 1))
    with pytest.raises(ValueError, match="n_samples"):
        predictive_probabilities(model, X, n_samples=0)
    with pytest.raises(ValueError, match="n_samples"):
        negative_elbo(model, BinaryCrossEntropy(), X, y, n_train=4, n_samples=0)
    with pytest.raises(ValueError, match="n_train"):
        negative_elbo(model, BinaryCrossEntropy(), X, y, n_train=0)
    with pytest.raises(ValueError, match="empty X"):
        predictive_probabilities(model, np.ones((0, 2)))
    with pytest.raises(ValueError, match="empty batch"):
        negative_elbo(model, BinaryCrossEntropy(), X[:0], y[:0], n_train=4)
    with pytest.raises(ValueError, match="empty data set"):
        train_elbo(
            model, BinaryCrossEntropy(), SGD(model.parameters(), lr=0.1), X[:0], y[:0], epochs=1
        )
    with pytest.raises(ValueError, match="X has 4 samples but y has 3"):
        train_elbo(model, BinaryCrossEntropy(), SGD(model.parameters(), lr=0.1), X, y[:3], epochs=1)
    plain = Sequential(Linear(2, 1))
    with pytest.raises(ValueError, match="no BayesianLinear layer"):
        predictive_probabilities(plain, X)
    with pytest.raises(ValueError, match="no BayesianLinear layer"):
        negative_elbo(plain, BinaryCrossEntropy(), X, y, n_train=4)


def test_predictive_entropy_errors():
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\].*not logits"):
        predictive_entropy(np.array([0.2, 1.5]))
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        predictive_entropy(np.array([-0.1, 0.5]))
    with pytest.raises(ValueError, match="row 1 sums to"):
        predictive_entropy(np.array([[0.5, 0.5], [0.5, 0.6]]))
    with pytest.raises(ValueError, match=r"shape \(N,\) or \(N, K\)"):
        predictive_entropy(np.full((2, 2, 2), 0.5))
    with pytest.raises(ValueError, match="NaN"):
        predictive_entropy(np.array([np.nan, 0.5]))
