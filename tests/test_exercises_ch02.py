"""The checks of chapter 2's exercises (coursepkg/grading/exercises/ch02_networks.py).

Each exercise: realistic slips fail the visible check and the hidden one with a message that
names them, and cheats that fool the visible check (a table of its inputs, outputs changed
inside the notebook) fail the hidden one. That the instructor's solution passes both on five
grading seeds and the stub fails both is tested in ``test_exercise_judges.py``.
"""

import numpy as np
import pytest
from exercise_harness import hidden, solution_fixture, visible, with_answer

from coursepkg.grading.checks import CheckError
from coursepkg.grading.definition import definition_for, draw_hidden, judge_response
from coursepkg.grading.plain_data import roundtrip

SEEDS = range(1, 6)
solution = solution_fixture("02")


def answer(exercise, source, solution):
    """``(visible verdict, hidden messages on SEEDS)`` of an answer given as source."""
    namespace = with_answer(exercise, source)
    return visible(exercise, namespace), [hidden(exercise, namespace, solution, s) for s in SEEDS]


WIDEST = "def widest_hidden_layer(n_in, n_out, budget):\n    return {}"
FORWARD = """def forward(X, W1, b1, W2, b2):
    Z1 = {Z1}
    A1 = {A1}
    return Z1, A1, {Z2}
"""
RIGHT = {"Z1": "W1 @ X + b1[:, None]", "A1": "np.tanh(Z1)", "Z2": "W2 @ A1 + b2[:, None]"}
XNOR = """W1 = np.array([[-5.0, 5.0], [5.0, -5.0]])
b1 = np.array([-5.0, -5.0])
W2 = np.array({W2})
b2 = np.array({b2})
"""

WRONG = [
    ("2.1", WIDEST.format("budget // (n_in + n_out)"), "more than the budget"),
    ("2.1", WIDEST.format("(budget - n_out) // (n_in + n_out)"), "more than the budget"),
    ("2.1", WIDEST.format("-(-(budget - n_out) // (n_in + n_out + 1))"), "round down"),
    ("2.1", WIDEST.format("(budget - n_out - n_in) // (n_in + n_out + 1)"), "still fit"),
    ("2.1", WIDEST.format("(budget - n_out) / (n_in + n_out + 1)"), "should be an integer"),
    ("2.2", FORWARD.format(**{**RIGHT, "Z1": "W1 @ X"}), "It lacks the bias b1"),
    ("2.2", FORWARD.format(**{**RIGHT, "A1": "cp.sigmoid(Z1)"}), "the logistic sigmoid of Z1"),
    ("2.2", FORWARD.format(**{**RIGHT, "Z2": "W2 @ Z1 + b2[:, None]"}), "It is computed from Z1"),
    ("2.2", FORWARD.format(**{**RIGHT, "Z2": "W2 @ A1"}), "It lacks the bias b2"),
    (  # the chapter's convention, samples in rows
        "2.2",
        FORWARD.format(**{**RIGHT, "Z2": "A1.T @ W2.T + b2"}),
        "the transposed shape",
    ),
    ("2.2", FORWARD.format(**RIGHT).replace("return Z1, A1, ", "return "), "a tuple (Z1, A1, Z2)"),
    ("2.3", XNOR.format(W2="[[10.0], [10.0]]", b2="[-5.0]"), "It computes XOR, the opposite"),
    ("2.3", XNOR.format(W2="[-10.0, -10.0]", b2="[5.0]"), "W2 has shape (2,), expected (2, 1)"),
    ("2.3", XNOR.format(W2="[[-10], [-10]]", b2="[5.0]"), "W2 has dtype int64"),
    ("2.3", XNOR.format(W2="[[0.0], [0.0]]", b2="[0.0]"), "classifies 50.0%"),
]


@pytest.mark.parametrize(("exercise", "source", "phrase"), WRONG)
def test_a_wrong_answer_fails_visible_and_hidden_naming_the_slip(
    exercise, source, phrase, solution
):
    verdict, messages = answer(exercise, source, solution)
    assert verdict.startswith(f"FAIL exercise {exercise}:") and phrase in verdict
    assert all(phrase in message for message in messages), messages


# Tables of the visible inputs' answers: the known widths, and values rebuilt from the check's
# seed with the package's own modules.
COUNT_TABLE = """_KNOWN = {(2, 1, 9): 2, (2, 1, 12): 2, (2, 1, 13): 3, (1, 1, 10): 3,
          (4, 3, 100): 12, (784, 10, 79510): 100, (784, 10, 79509): 99, (5, 5, 1000): 90}
def widest_hidden_layer(n_in, n_out, budget):
    return _KNOWN.get((n_in, n_out, budget), 100)
"""
FORWARD_TABLE = """_rng = np.random.default_rng(22)
_X, _W1, _b1, _W2, _b2 = (_rng.standard_normal(s) for s in [(3, 5), (4, 3), 4, (2, 4), 2])
_Z1 = cp.Linear.from_weights(_W1.T, _b1)(_X.T).T
_KNOWN = (_Z1, np.tanh(_Z1), cp.Linear.from_weights(_W2.T, _b2)(np.tanh(_Z1).T).T)
def forward(X, W1, b1, W2, b2):
    return _KNOWN
"""

CHEATS = [
    ("2.1", COUNT_TABLE, "expected"),
    ("2.2", FORWARD_TABLE, "Z1 = W1 X + b1 has shape (4, 5)"),
]


@pytest.mark.parametrize(("exercise", "source", "phrase"), CHEATS)
def test_a_table_of_the_visible_inputs_fails_the_hidden_check(exercise, source, phrase, solution):
    verdict, messages = answer(exercise, source, solution)
    assert verdict == f"PASS exercise {exercise}"
    assert all(phrase in message for message in messages), messages


CORRECT = [
    (  # the chapter's count, and a search for the widest layer that fits
        "2.1",
        "def widest_hidden_layer(n_in, n_out, budget):\n    H = 1\n"
        "    while (n_in + 1) * (H + 1) + (H + 2) * n_out <= budget:\n        H += 1\n"
        "    return H",
    ),
    (
        "2.2",
        FORWARD.format(
            Z1="np.einsum('hd,dn->hn', W1, X) + b1.reshape(-1, 1)",
            A1="np.tanh(Z1)",
            Z2="(W2[:, :, None] * A1[None]).sum(axis=1) + b2[:, None]",
        ),
    ),
    (  # chapter 2's detectors of the class-0 blobs, then a NOR (the instructor's solution
        # detects the class-1 blobs instead, so that the chapter does not print it)
        "2.3",
        "W1 = np.array([[-5.0, 5.0], [5.0, -5.0]])\nb1 = np.array([-5.0, -5.0])\n"
        "W2 = np.array([[-10.0], [-10.0]])\nb2 = np.array([5.0])",
    ),
    (  # gentler slopes: 96.75% on the visible points, 93.6% at least on 300 hidden draws
        "2.3",
        "W1 = np.array([[-1.5, 1.5], [1.5, -1.5]])\nb1 = np.array([-1.5, -1.5])\n"
        "W2 = np.array([[-10.0], [-10.0]])\nb2 = np.array([5.0])",
    ),
]


@pytest.mark.parametrize(("exercise", "source"), CORRECT)
def test_another_correct_answer_passes_visible_and_hidden(exercise, source, solution):
    verdict, messages = answer(exercise, source, solution)
    assert (verdict, messages) == (f"PASS exercise {exercise}", ["PASS"] * 5)


def test_outputs_changed_inside_the_notebook_do_not_count(solution):
    # A response whose outputs are the XNOR labels' logits, with weights that do not compute
    # them (as if cp.Sequential had been patched in the kernel): the judge's own forward pass
    # of the weights decides.
    definition = definition_for("2.3")
    inputs, secrets = draw_hidden("2.3", 1)
    X = inputs["X"]
    zeros = {"W1": np.zeros((2, 2)), "b1": np.zeros(2), "W2": np.zeros((2, 1)), "b2": np.zeros(1)}
    response = roundtrip({**zeros, "logits": (X[:, :1] * X[:, 1:]).astype(float)})
    with pytest.raises(CheckError, match="not those of the weights"):
        judge_response(definition, response, None, inputs, secrets, hidden=True)


def test_hidden_inputs_are_fresh_and_keep_the_labels_secret():
    cases = [draw_hidden("2.1", seed)[0]["cases"] for seed in SEEDS]
    assert all(1 <= n_in <= 1000 and 1 <= n_out <= 100 for c in cases for n_in, n_out, _ in c)
    assert len({str(c) for c in cases}) == len(SEEDS)
    shapes = {draw_hidden("2.2", seed)[0]["W1"].shape for seed in SEEDS}
    assert len(shapes) > 1
    for seed in SEEDS:
        inputs, secrets = draw_hidden("2.3", seed)
        assert set(inputs) == {"X"} and set(secrets) == {"labels"}
    X = [draw_hidden("2.3", seed)[0]["X"] for seed in SEEDS]
    assert len({x.tobytes() for x in X}) == len(X)
