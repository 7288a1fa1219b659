"""The checks of chapter 7's exercises (mixture density networks): realistic slips and cheats fail
with a message that names them (that the instructor's solutions pass the visible and the hidden
checks and the stubs fail is tested in ``test_exercise_judges.py``).

Measured (20 grading seeds, 2 cores): a finite-difference gradient for exercise 7.3
(``cp.numerical_gradient`` of the package's loss) is off from the derived one by at least 6e-10
of the gradient's size on some hidden case of every seed, 60 times ``DERIVED_RTOL`` = 1e-11.
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

PREFIX = "07"
EXERCISES = ["7.1", "7.2", "7.3", "7.4"]
ANSWER_NAMES = {
    "7.1": "mixture_from_outputs",
    "7.2": "mixture_nll",
    "7.3": "mixture_nll_grad",
    "7.4": "mixture_mean_variance",
}
SEEDS = range(1, 6)
solution = solution_fixture(PREFIX)


@pytest.mark.parametrize("exercise", EXERCISES)
def test_table_of_the_visible_inputs_fails_hidden(solution, exercise):
    cheat = replaying(solution, exercise, ANSWER_NAMES[exercise])
    for seed in (1, 2):
        assert hidden(exercise, cheat, solution, seed) != "PASS"


SLIPS = [  # exercise, replaced, replacement, a phrase the visible and hidden messages both hold
    (
        "7.1",
        "e = np.exp(a - a.max(axis=1, keepdims=True))",
        "e = np.exp(a)",
        "subtract each row's largest a_j",
    ),
    ("7.1", "np.exp(s)", "s.copy()", "It is s, from the columns of s"),
    (
        "7.1",
        "e / e.sum(axis=1, keepdims=True)",
        "e / e.sum(axis=0, keepdims=True)",
        "Its columns sum to 1, not its rows",
    ),
    (
        "7.2",
        " - 0.5 * np.log(2 * np.pi)",
        "",
        "the constant -ln(2 pi)/2 of ln phi_k is missing",
    ),
    (
        "7.2",
        "return float(-(v_max + np.log(np.sum(np.exp(log_phi - v_max)))))",
        "return float(-np.log(np.sum(np.exp(log_phi))))",
        "stay in log space",
    ),
    ("7.2", "return float(-(", "return float((", "the opposite sign"),
    (
        "7.3",
        "dlogsigma_ds = cp.sigmoid(s) / sigma",
        "dlogsigma_ds = cp.sigmoid(s)",
        "the chain rule goes through ln sigma",
    ),
    (
        "7.3",
        "grad_a = cp.softmax(a) - gamma",
        "grad_a = gamma - cp.softmax(a)",
        "dE/da (the first K entries): it is the right values with the opposite sign",
    ),
    (
        "7.3",
        "grad_m = gamma * (mu - t) / sigma**2",
        "grad_m = gamma * (mu - t) / sigma",
        "Wrong: dE/dm (entries K to 2K-1) (the other blocks are right)",
    ),
    ("7.4", "return mean, within + between", "return mean, within", "spread within the components"),
    (
        "7.4",
        "within = np.sum(pi * sigma**2, axis=1)",
        "within = np.sum(pi * sigma, axis=1)",
        "It uses sigma_k where sigma_k^2 belongs",
    ),
    (
        "7.4",
        "return mean, within + between",
        "return mean, within + between + mean**2",
        "It is E[t^2]",
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


FINITE_DIFFERENCES = """
def mixture_nll_grad(y, t, K, sigma_activation="exp"):
    y = np.array(y, dtype=float)
    loss = cp.MixtureDensityLoss(K, sigma_activation=sigma_activation)
    return cp.numerical_gradient(lambda: loss(y[None, :], np.array([t])), y)
"""


def test_finite_difference_gradient_fails_hidden(solution):
    cheat = with_answer("7.3", FINITE_DIFFERENCES)
    for seed in (1, 2, 3):
        assert "finite differences" in hidden("7.3", cheat, solution, seed)
    # The chapter's visible check already compared entry by entry to 1e-7 (and 1e-10 absolute),
    # which central differences miss on its tiny entries; it says so.
    assert "finite differences" in visible("7.3", cheat)


def test_package_gradient_passes(solution):
    """The package's own backward is exact: the check cannot tell it from a derivation."""
    answer = """
def mixture_nll_grad(y, t, K, sigma_activation="exp"):
    loss = cp.MixtureDensityLoss(K, sigma_activation=sigma_activation)
    loss(y[None, :], np.array([t]))
    return loss.backward()[0]
"""
    namespace = with_answer("7.3", answer)
    assert visible("7.3", namespace) == "PASS exercise 7.3"
    assert hidden("7.3", namespace, solution, 1) == "PASS"


OTHER_RIGHT_ANSWERS = {
    "7.1": """
def mixture_from_outputs(Y, K):
    return cp.softmax(Y[:, :K], axis=1), np.array(Y[:, K : 2 * K]), np.exp(Y[:, 2 * K :])
""",
    "7.2": """
def mixture_nll(y, t, K):
    a, mu, s = y[:K], y[K : 2 * K], y[2 * K :]
    sigma = np.exp(s)
    log_phi = cp.log_softmax(a) - np.log(sigma) - (t - mu) ** 2 / (2 * sigma**2)
    return -float(cp.logsumexp(log_phi - 0.5 * np.log(2 * np.pi)))
""",
    "7.3": """
def mixture_nll_grad(y, t, K, sigma_activation="exp"):
    a, mu, s = y[:K], y[K : 2 * K], y[2 * K :]
    if sigma_activation == "exp":
        log_sigma, slope = s, 1.0
    else:
        log_sigma = np.log(np.log1p(np.exp(s)))
        slope = 1.0 / (1.0 + np.exp(-s)) / np.log1p(np.exp(s))
    sigma = np.exp(log_sigma)
    log_phi = cp.log_softmax(a) - log_sigma - (t - mu) ** 2 / (2 * sigma**2)
    gamma = np.exp(log_phi - cp.logsumexp(log_phi))
    pi = np.exp(cp.log_softmax(a))
    grad_s = (gamma - gamma * (t - mu) ** 2 / sigma**2) * slope
    return np.concatenate([pi - gamma, gamma * (mu - t) / sigma / sigma, grad_s])
""",
    "7.4": """
def mixture_mean_variance(pi, mu, sigma):
    mean = (pi * mu).sum(axis=1)
    return mean, (pi * (sigma**2 + mu**2)).sum(axis=1) - mean**2
""",
}


@pytest.mark.parametrize("exercise", EXERCISES)
def test_other_right_answers_pass(solution, exercise):
    """Answers written differently (other formulas, other rounding) pass the hidden checks."""
    namespace = with_answer(exercise, OTHER_RIGHT_ANSWERS[exercise])
    assert visible(exercise, namespace) == f"PASS exercise {exercise}"
    for seed in SEEDS:
        assert hidden(exercise, namespace, solution, seed) == "PASS", seed


def test_the_checks_values_are_out_of_reach(solution):
    """The old check cell of 7.2 left its expected value in a global, ``reference``, which an
    answer could return; the check now computes it inside a function, after the answer ran."""
    namespace = with_answer("7.2", "def mixture_nll(y, t, K):\n    return reference\n")
    assert "name 'reference' is not defined" in visible("7.2", namespace)
    assert "reference" not in namespace
    assert "name 'reference' is not defined" in hidden("7.2", namespace, solution, 1)
