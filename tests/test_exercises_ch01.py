"""The checks of chapter 1's exercises (coursepkg/grading/exercises/ch01_perceptron.py).

Each exercise: realistic slips fail the visible check and the hidden one with a message that
names them, and cheats that fool the visible check (a table of its inputs, finite differences
where a derivation is asked) fail the hidden one. That the instructor's solution passes both on
five grading seeds and the stub fails both is tested in ``test_exercise_judges.py``.
"""

import pytest
from exercise_harness import hidden, solution_fixture, visible, with_answer

from coursepkg.grading.definition import draw_hidden

SEEDS = range(1, 6)
solution = solution_fixture("01")


def answer(exercise, source, solution):
    """``(visible verdict, hidden messages on SEEDS)`` of an answer given as source."""
    namespace = with_answer(exercise, source)
    return visible(exercise, namespace), [hidden(exercise, namespace, solution, s) for s in SEEDS]


EPOCH = """def margin_perceptron_epoch(X, t, w, b, eta, margin):
    w = np.array(w, dtype=float)
    b = float(b)
    updates = 0
    for x_n, t_n in zip(X, t):
        if t_n * (x_n @ w + b) {test}:
            w += {step} * x_n
            {bias}
            updates += 1
    return w, b, updates
"""


def epoch(test="<= margin", step="eta * t_n", bias="b += eta * t_n"):
    """The margin perceptron epoch, with one part replaced by a slip."""
    return EPOCH.format(test=test, step=step, bias=bias)


BATCH_EPOCH = """
    wrong = t * (X @ w + b) <= margin
    w = w + eta * (t[wrong, None] * X[wrong]).sum(axis=0)
    return w, float(b + eta * t[wrong].sum()), int(wrong.sum())
"""

GRADIENTS = """def bce_gradients(X, t, w, b):
    r = {residual}
    return {grad_w}, {grad_b}
"""

WRONG = [
    ("1.1", "w_nand = np.array([1.0, 1.0])\nb_nand = -1.5", "the outputs of AND"),
    ("1.1", "w_nand = np.array([-1.0, -1.0])\nb_nand = 1.0", "exactly 0 at (0, 1), (1, 0)"),
    ("1.1", "w_nand = np.array([-1, -1])\nb_nand = 1.5", "w_nand has dtype int64"),
    ("1.1", "w_nand = np.array([-1.0, -1.0])\nb_nand = np.array([1.5])", "b_nand should be a"),
    ("1.2", epoch(test="< margin"), "after epoch 1 on the"),
    ("1.2", epoch(test="<= 0"), "after epoch 1 on the"),
    ("1.2", epoch(bias="pass"), "after epoch"),
    ("1.2", epoch(step="t_n", bias="b += t_n"), "w after epoch 1 on the"),
    (  # updates the caller's w in place
        "1.2",
        epoch().replace("w = np.array(w, dtype=float)", "pass"),
        "margin_perceptron_epoch changed the w passed in",
    ),
    (
        "1.2",
        "def margin_perceptron_epoch(X, t, w, b, eta, margin):" + BATCH_EPOCH,
        "the rule visits the samples one at a time",
    ),
    ("1.2", epoch().replace("updates = 0", "updates = 0.0"), "should be an integer"),
    (
        "1.2",
        epoch().replace(", updates\n", "\n"),
        "should return a tuple (w, b, updates)",
    ),
    (
        "1.3",
        GRADIENTS.format(residual="cp.sigmoid(X @ w + b) - t", grad_w="X.T @ r", grad_b="r.sum()"),
        "a sum over the batch where the mean belongs",
    ),
    (
        "1.3",
        GRADIENTS.format(
            residual="(t - cp.sigmoid(X @ w + b)) / len(t)", grad_w="X.T @ r", grad_b="r.sum()"
        ),
        "a flipped sign",
    ),
    (
        "1.3",
        GRADIENTS.format(
            residual="cp.sigmoid(X @ w + b) - t", grad_w="X.T @ r / len(t)", grad_b="r.sum()"
        ),
        "grad_b (dL/db) is",
    ),
    (
        "1.3",
        GRADIENTS.format(
            residual="(cp.sigmoid(X @ w + b) - t) / len(t)",
            grad_w="X.T @ r",
            grad_b="np.array([r.sum()])",
        ),
        "grad_b (dL/db) should be a number",
    ),
]


@pytest.mark.parametrize(("exercise", "source", "phrase"), WRONG)
def test_a_wrong_answer_fails_visible_and_hidden_naming_the_slip(
    exercise, source, phrase, solution
):
    verdict, messages = answer(exercise, source, solution)
    assert verdict.startswith(f"FAIL exercise {exercise}:") and phrase in verdict
    assert all(phrase in message for message in messages), messages


FD_GRADIENTS = """def bce_gradients(X, t, w, b):
    w, b_ = np.array(w, dtype=float), np.array([float(b)])

    def loss():
        return cp.BinaryCrossEntropy()(X @ w + b_[0], t)

    return cp.numerical_gradient(loss, w, eps={eps}), float(cp.numerical_gradient(loss, b_)[0])
"""

CHEATS = [
    (  # the four samples' values hard-coded, a vectorized (batch) rule for the rest
        "1.2",
        "def margin_perceptron_epoch(X, t, w, b, eta, margin):\n    if X.shape == (4, 2):\n"
        "        if eta == 0.5:\n            return np.array([1.5, 0.75]), 1.0, 2\n"
        "        return np.array([3.0, 1.0]), 0.0, 2" + BATCH_EPOCH,
        "w after epoch 1 on the",
    ),
    ("1.3", FD_GRADIENTS.format(eps=1e-6), "finite differences are not"),
    ("1.3", FD_GRADIENTS.format(eps=1e-5), "finite differences are not"),
]


@pytest.mark.parametrize(("exercise", "source", "phrase"), CHEATS)
def test_a_cheat_passes_the_visible_check_and_fails_the_hidden_one(
    exercise, source, phrase, solution
):
    verdict, messages = answer(exercise, source, solution)
    assert verdict == f"PASS exercise {exercise}"
    assert all(phrase in message for message in messages), messages


CORRECT = [
    ("1.1", "w_nand = np.array([-2.0, -3.0])\nb_nand = 4"),
    (
        "1.2",
        "def margin_perceptron_epoch(X, t, w, b, eta, margin):\n    w, m = w.copy(), 0\n"
        "    for n in range(len(X)):\n        if t[n] * (np.dot(w, X[n]) + b) <= margin:\n"
        "            w, b, m = w + eta * t[n] * X[n], b + eta * t[n], m + 1\n"
        "    return w, float(b), m",
    ),
    (
        "1.3",
        GRADIENTS.format(
            residual="1 / (1 + np.exp(-(X @ w + b))) - t",
            grad_w="np.mean(r[:, None] * X, axis=0)",
            grad_b="float(np.mean(r))",
        ),
    ),
    (
        "1.3",
        GRADIENTS.format(
            residual="cp.sigmoid(np.einsum('nd,d->n', X, w) + b) - t",
            grad_w="np.sum(X * r[:, None], axis=0) / X.shape[0]",
            grad_b="np.sum(r) / X.shape[0]",
        ),
    ),
]


@pytest.mark.parametrize(("exercise", "source"), CORRECT)
def test_another_correct_answer_passes_visible_and_hidden(exercise, source, solution):
    verdict, messages = answer(exercise, source, solution)
    assert (verdict, messages) == (f"PASS exercise {exercise}", ["PASS"] * 5)


def test_hidden_inputs_are_fresh_for_every_seed():
    X = [draw_hidden("1.2", seed)[0]["runs"][1]["X"] for seed in SEEDS]
    assert len({x.tobytes() for x in X}) == len(X)
    starts = {tuple(draw_hidden("1.2", seed)[0]["runs"][2]["w"]) for seed in SEEDS}
    assert len(starts) == len(SEEDS)
    X = [draw_hidden("1.3", seed)[0]["X"] for seed in SEEDS]
    assert len({x.shape for x in X}) > 1
