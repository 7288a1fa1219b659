"""The checks of chapter 7's exercises (mixture density networks): the instructor's solutions pass
the visible and the hidden checks, the stubs fail, and realistic slips and cheats fail with a
message that names them.

Measured (20 grading seeds, 2 cores): a finite-difference gradient for exercise 7.3
(``cp.numerical_gradient`` of the package's loss) is off from the derived one by at least 6e-10
of the gradient's size on some hidden case of every seed, 60 times ``DERIVED_RTOL`` = 1e-11.
"""

from __future__ import annotations

import numpy as np
import pytest
from exercise_harness import answer_source, hidden, notebook_namespace, visible

from coursepkg.grading import plain_data
from coursepkg.grading.checks import CheckError
from coursepkg.grading.definition import (
    decode_response,
    definition_for,
    draw_hidden,
    encode_response,
    judge_response,
    run_respond,
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


@pytest.fixture(scope="module")
def solution() -> dict:
    return notebook_namespace(PREFIX)


@pytest.fixture(scope="module")
def stubs() -> dict:
    return notebook_namespace(PREFIX, stubs=True)


def with_answer(exercise: str, source: str) -> dict:
    return notebook_namespace(PREFIX, {exercise: source})


def with_slip(exercise: str, old: str, new: str) -> dict:
    """The notebook with the instructor's answer to ``exercise``, ``old`` replaced by ``new``."""
    source = answer_source(PREFIX, exercise)
    assert source.count(old) == 1, f"{old!r} is not in the answer to {exercise} exactly once"
    return with_answer(exercise, source.replace(old, new))


def _key(args) -> str:
    return repr([a.tobytes() if isinstance(a, np.ndarray) else a for a in args])


def lookup_table(exercise: str) -> dict:
    """A cheat: the instructor's results on the visible inputs, replayed from a table (and the
    first of them for any other input)."""
    namespace = notebook_namespace(PREFIX)
    name, table = ANSWER_NAMES[exercise], {}
    real = namespace[name]

    def recording(*args, **kwargs):
        table[_key(args + tuple(kwargs.values()))] = result = real(*args, **kwargs)
        return result

    namespace[name] = recording
    assert visible(exercise, namespace) == f"PASS exercise {exercise}"

    def replay(*args, **kwargs):
        return table.get(_key(args + tuple(kwargs.values())), next(iter(table.values())))

    namespace[name] = replay
    return namespace


@pytest.mark.parametrize("exercise", EXERCISES)
def test_solution_passes_visible_and_hidden(solution, exercise):
    assert visible(exercise, solution) == f"PASS exercise {exercise}"
    for seed in SEEDS:
        assert hidden(exercise, solution, solution, seed) == "PASS", seed


@pytest.mark.parametrize("exercise", EXERCISES)
def test_stub_fails_visible_and_hidden(solution, stubs, exercise):
    assert "NotImplementedError" in visible(exercise, stubs)
    assert "NotImplementedError" in hidden(exercise, stubs, solution, 1)


@pytest.mark.parametrize("exercise", EXERCISES)
def test_table_of_the_visible_inputs_fails_hidden(solution, exercise):
    cheat = lookup_table(exercise)
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


def _mutations(value, depth: int = 0):
    """Copies of a decoded response, each with one part replaced by something hostile."""
    hostile = [plain_data.Opaque("list"), None, "text", float("nan"), np.array([np.nan])]
    if depth > 4:
        return
    if type(value) is dict:
        for key in value:
            yield {k: v for k, v in value.items() if k != key}
            for item in _mutations(value[key], depth + 1):
                yield {**value, key: item}
    elif type(value) in (list, tuple):
        if value:
            yield type(value)(list(value)[:-1])
        for index in {0, len(value) - 1} & set(range(len(value))):
            for item in _mutations(value[index], depth + 1):
                copy = list(value)
                copy[index] = item
                yield type(value)(copy)
    else:
        yield from hostile
        if type(value) is np.ndarray:
            yield value.T.copy() if value.ndim == 2 else value[:-1]
            yield value.astype(np.int64)


@pytest.mark.parametrize("exercise", EXERCISES)
def test_judge_survives_hostile_responses(solution, exercise):
    """Any malformed response is a FAIL with a message (CheckError), never a crash."""
    definition = definition_for(exercise)
    inputs, secrets = draw_hidden(exercise, 1)
    expected = decode_response(encode_response(run_respond(definition, solution, inputs)))
    count = 0
    for response in _mutations(expected):
        count += 1
        with pytest.raises(CheckError):
            judge_response(definition, response, expected, inputs, secrets, hidden=True)
    assert count > 10


def test_the_checks_values_are_out_of_reach(solution):
    """The old check cell of 7.2 left its expected value in a global, ``reference``, which an
    answer could return; the check now computes it inside a function, after the answer ran."""
    namespace = with_answer("7.2", "def mixture_nll(y, t, K):\n    return reference\n")
    assert "name 'reference' is not defined" in visible("7.2", namespace)
    assert "reference" not in namespace
    assert "name 'reference' is not defined" in hidden("7.2", namespace, solution, 1)
