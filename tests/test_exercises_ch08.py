"""The checks of chapter 8's exercises (Bayesian neural networks): realistic slips and cheats fail
with a message that names them (that the instructor's solutions pass the visible and the hidden
checks and the stubs fail is tested in ``test_exercise_judges.py``).

Measured (20 grading seeds): on the hidden inputs a finite-difference backward pass for exercise
8.2 (``cp.numerical_gradient`` of sum(G * forward(X)) over mu and rho; the input gradient is
given) is off from the derived gradients by at least 5.8e-10 of their size (median 1.1e-9), and
elementwise central differences for exercise 8.3 by at least 6.3e-10 (``cp.numerical_gradient``
of the summed KL: 6e-7); ``DERIVED_RTOL`` is 1e-11.
"""

from __future__ import annotations

import pytest
from exercise_harness import (
    hidden,
    replaying,
    solution_fixture,
    visible,
    with_answer,
    with_slip,
)

PREFIX = "08"
EXERCISES = ["8.1", "8.2", "8.3", "8.4", "8.5"]
ANSWER_NAMES = {
    "8.1": "sample_weights",
    "8.3": "kl_and_gradients",
    "8.4": "negative_elbo_by_hand",
    "8.5": "uncertainty_decomposition",
}
SEEDS = range(1, 6)
solution = solution_fixture(PREFIX)


@pytest.mark.parametrize("exercise", sorted(ANSWER_NAMES))
def test_table_of_the_visible_inputs_fails_hidden(solution, exercise):
    cheat = replaying(solution, exercise, ANSWER_NAMES[exercise])
    for seed in (1, 2):
        assert hidden(exercise, cheat, solution, seed) != "PASS"


SLIPS = [  # exercise, replaced, replacement, a phrase the visible and hidden messages both hold
    (
        "8.1",
        "sigma = np.maximum(rho, 0.0) + np.log1p(np.exp(-np.abs(rho)))",
        "sigma = np.log1p(np.exp(rho))",
        "softplus overflowed",
    ),
    (
        "8.1",
        "sigma = np.maximum(rho, 0.0) + np.log1p(np.exp(-np.abs(rho)))",
        "sigma = rho",
        "sigma = softplus(rho), not rho",
    ),
    ("8.1", "return mu + sigma * eps", "return mu + sigma", "the noise eps is missing"),
    (
        "8.2",
        "self.rho.grad += grad_W * self.eps * np.exp(self.rho.value)",
        "self.rho.grad += grad_W * self.eps",
        "The factor dsigma/drho = exp(rho) is missing",
    ),
    (
        "8.2",
        "self.rho.grad += grad_W * self.eps * np.exp(self.rho.value)",
        "self.rho.grad += grad_W * self.eps * cp.sigmoid(self.rho.value)",
        "It uses sigmoid(rho), the slope of softplus",
    ),
    (
        "8.2",
        "self.rho.grad += grad_W * self.eps * np.exp(self.rho.value)",
        "self.rho.grad += grad_W * np.exp(self.rho.value)",
        "The noise eps is missing",
    ),
    (
        "8.2",
        "self._W = self.mu.value + np.exp(self.rho.value) * self.eps",
        "self._W = self.mu.value + cp.softplus(self.rho.value) * self.eps",
        "forward",
    ),
    (
        "8.2",
        "grad_W = self._X.T @ grad_Z",
        "grad_W = self._X.T @ grad_Z / len(grad_Z)",
        "a mean where the sum belongs",
    ),
    (
        "8.2",
        "self.mu.grad += grad_W",
        "self.mu.grad[...] = grad_W",
        "backward must add into self.mu.grad (+=), not replace it",
    ),
    (
        "8.3",
        "grad_rho = (sigma / sigma_p**2 - 1.0 / sigma) * cp.sigmoid(rho)",
        "grad_rho = sigma / sigma_p**2 - 1.0 / sigma",
        "It is dKL/dsigma",
    ),
    ("8.3", " - 0.5\n", "\n", "the constant -1/2 is missing"),
    (
        "8.3",
        "return kl, grad_mu, grad_rho",
        "return float(np.sum(kl)), grad_mu, grad_rho",
        "not their sum",
    ),
    (
        "8.3",
        "grad_mu = (mu - mu_p) / sigma_p**2",
        "grad_mu = (mu_p - mu) / sigma_p**2",
        "opposite sign",
    ),
    (
        "8.4",
        "return float(data_term + kl / n_train)",
        "return float(data_term + kl)",
        "a missing 1/N",
    ),
    (
        "8.4",
        "return float(data_term + kl / n_train)",
        "return float(len(X) * data_term + kl / n_train)",
        "the data term is a sum over the batch",
    ),
    (
        "8.4",
        "return float(data_term + kl / n_train)",
        "return float(data_term + kl / len(X))",
        "It divides the KL by the batch size B",
    ),
    (
        "8.4",
        "kl = sum(layer.kl() for layer in model if isinstance(layer, cp.BayesianLinear))",
        "kl = model[0].kl()",
        "It has the KL of the first 1 Bayesian layer(s) only",
    ),
    (
        "8.5",
        "H[positive] -= q[positive] * np.log(q[positive])",
        "H -= q * np.log(q)",
        "use 0 log 0 = 0 without np.log(0)",
    ),
    (
        "8.5",
        "H[positive] -= q[positive] * np.log(q[positive])",
        "H[positive] -= q[positive] * np.log2(q[positive])",
        "It is in bits",
    ),
    (
        "8.5",
        "aleatoric = binary_entropy(P).mean(axis=0)",
        "aleatoric = binary_entropy(P.mean(axis=0))",
        "the aleatoric part averages the entropies H[p_s]",
    ),
]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow warns in a kernel, no more
@pytest.mark.parametrize("exercise, old, new, phrase", SLIPS, ids=lambda v: str(v)[:24])
def test_slip_fails_visible_and_hidden_naming_it(solution, exercise, old, new, phrase):
    namespace = with_slip(exercise, old, new)
    verdict = visible(exercise, namespace)
    assert verdict.startswith(f"FAIL exercise {exercise}:") and phrase in verdict, verdict
    message = hidden(exercise, namespace, solution, 1)
    assert phrase in message, message


FINITE_DIFFERENCES = {
    "8.2": """
class ReparamLinear(cp.Module):
    def __init__(self, mu, rho, eps):
        self.mu = cp.Parameter(np.array(mu, dtype=float), "mu")
        self.rho = cp.Parameter(np.array(rho, dtype=float), "rho")
        self.eps = np.array(eps, dtype=float)
        self._X = None

    def forward(self, X):
        self._X = X
        self._W = self.mu.value + np.exp(self.rho.value) * self.eps
        return X @ self._W

    def backward(self, grad_Z):
        X = np.array(self._X, dtype=float)

        def L():
            W = self.mu.value + np.exp(self.rho.value) * self.eps
            return float(np.sum(grad_Z * (X @ W)))

        self.mu.grad += cp.numerical_gradient(L, self.mu.value)
        self.rho.grad += cp.numerical_gradient(L, self.rho.value)
        return grad_Z @ self._W.T  # given in the exercise

    def parameters(self):
        return [self.mu, self.rho]
""",
    "8.3": """
def kl_and_gradients(mu, rho, mu_p, sigma_p):
    def kl(mu, rho):
        sigma = cp.softplus(rho)
        return np.log(sigma_p / sigma) + (sigma**2 + (mu - mu_p) ** 2) / (2 * sigma_p**2) - 0.5

    h = 1e-6
    grad_mu = (kl(mu + h, rho) - kl(mu - h, rho)) / (2 * h)
    return kl(mu, rho), grad_mu, (kl(mu, rho + h) - kl(mu, rho - h)) / (2 * h)
""",
    "8.3 summed": """
def kl_and_gradients(mu, rho, mu_p, sigma_p):
    def kl():
        sigma = cp.softplus(rho)
        return np.log(sigma_p / sigma) + (sigma**2 + (mu - mu_p) ** 2) / (2 * sigma_p**2) - 0.5

    mu, rho = np.array(mu, dtype=float), np.array(rho, dtype=float)
    total = lambda: float(np.sum(kl()))
    return kl(), cp.numerical_gradient(total, mu), cp.numerical_gradient(total, rho)
""",
}


@pytest.mark.parametrize("cheat", sorted(FINITE_DIFFERENCES))
def test_finite_differences_pass_visible_and_fail_hidden(solution, cheat):
    exercise = cheat.split()[0]
    namespace = with_answer(exercise, FINITE_DIFFERENCES[cheat])
    assert visible(exercise, namespace) == f"PASS exercise {exercise}"
    assert "finite differences" in hidden(exercise, namespace, solution, 1)


OTHER_RIGHT_ANSWERS = {
    "8.1": """
def sample_weights(mu, rho, eps):
    return mu + np.logaddexp(0.0, rho) * eps
""",
    "8.2": """
class ReparamLinear(cp.Module):
    def __init__(self, mu, rho, eps):
        self.mu = cp.Parameter(np.array(mu, dtype=float), "mu")
        self.rho = cp.Parameter(np.array(rho, dtype=float), "rho")
        self.eps = np.array(eps, dtype=float)

    def forward(self, X):
        self._X = X
        self._W = self.mu.value + np.exp(self.rho.value) * self.eps
        return X @ self.mu.value + X @ (np.exp(self.rho.value) * self.eps)

    def backward(self, grad_Z):
        sigma = np.exp(self.rho.value)
        self.mu.grad += np.einsum("ni,no->io", self._X, grad_Z)
        self.rho.grad += (self._X.T @ grad_Z) * (self._W - self.mu.value)  # eps * sigma
        sampled = sigma * self.eps
        return grad_Z @ self.mu.value.T + grad_Z @ sampled.T

    def parameters(self):
        return [self.mu, self.rho]
""",
    "8.3": """
def kl_and_gradients(mu, rho, mu_p, sigma_p):
    sigma, slope = np.logaddexp(0.0, rho), 1.0 / (1.0 + np.exp(-rho))
    kl = np.log(sigma_p) - np.log(sigma) + (sigma**2 + (mu - mu_p) ** 2) / (2 * sigma_p**2) - 0.5
    return kl, (mu - mu_p) / sigma_p / sigma_p, sigma * slope / sigma_p**2 - slope / sigma
""",
    "8.4": """
def negative_elbo_by_hand(model, X, y, n_train):
    z = model(X)
    bce = np.mean(y * cp.softplus(-z) + (1.0 - y) * cp.softplus(z))
    return float(bce + cp.kl_divergence(model) / n_train)
""",
    "8.5": """
def uncertainty_decomposition(P):
    def H(p):
        q = 1.0 - p
        a = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
        return -(a + np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0)), 0.0))

    total, aleatoric = H(P.mean(axis=0)), H(P).mean(axis=0)
    return total, aleatoric, total - aleatoric
""",
}


@pytest.mark.parametrize("exercise", EXERCISES)
def test_other_right_answers_pass(solution, exercise):
    """Answers written differently (other formulas, other rounding) pass the hidden checks."""
    namespace = with_answer(exercise, OTHER_RIGHT_ANSWERS[exercise])
    assert visible(exercise, namespace) == f"PASS exercise {exercise}"
    for seed in SEEDS:
        assert hidden(exercise, namespace, solution, seed) == "PASS", seed


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the notebook's own cell calls it too
def test_warnings_are_reported_as_data(solution):
    """8.5: a warning inside the answer reaches the judge as data (the kernel's warning filters
    and error states do not matter) and fails the check."""
    answer = """
def uncertainty_decomposition(P):
    import warnings

    warnings.warn("something odd", RuntimeWarning)
    total = cp.predictive_entropy(P.mean(axis=0))
    aleatoric = cp.predictive_entropy(P.reshape(-1)).reshape(P.shape).mean(axis=0)
    return total, aleatoric, total - aleatoric
"""
    namespace = with_answer("8.5", answer)
    assert "raised RuntimeWarning: something odd" in visible("8.5", namespace)
    assert "raised RuntimeWarning: something odd" in hidden("8.5", namespace, solution, 1)


@pytest.mark.parametrize(
    "exercise, answer",
    [
        ("8.1", "def sample_weights(mu, rho, eps):\n    return W_reference\n"),
        ("8.4", "def negative_elbo_by_hand(model, X, y, n_train):\n    return reference\n"),
    ],
)
def test_the_checks_values_are_out_of_reach(solution, exercise, answer):
    """The old check cells of 8.1 and 8.4 left their expected values in globals, which an answer
    could return; the checks now compute them inside a function, after the answer ran."""
    namespace = with_answer(exercise, answer)
    assert "is not defined" in visible(exercise, namespace)
    assert "is not defined" in hidden(exercise, namespace, solution, 1)
