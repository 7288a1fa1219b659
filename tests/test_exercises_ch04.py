"""The checks of chapter 4's exercises (training MLPs): realistic slips and cheats fail with a
message that names them (that the instructor's solutions pass the visible and the hidden checks and
the stubs fail is tested in ``test_exercise_judges.py``).

Measured (20 grading seeds): a finite-difference backward pass for exercise 4.4
(``cp.numerical_gradient`` of sum(G * forward(Z)) for Z, gamma and beta) is off from the derived
one by at least 4.9e-10 of the gradient's size (input, gamma and beta gradients alike), 49 times
``DERIVED_RTOL`` = 1e-11; Ioffe and Szegedy's longer form of the derivation agrees to 3.6e-16.
For exercise 4.3 see ``HIDDEN_ACCURACY`` in ``ch04_training_mlps.py``. A nearest-neighbour
lookup of the public test images is not caught: it is a 1-nearest-neighbour classifier fit on the
test split, which classifies altered digits (and the training images, 98%) as well as a network
does, so no judge of predictions can tell it from an honest model; the exercise text forbids it.
"""

from __future__ import annotations

import textwrap

import pytest
from exercise_harness import (
    answer_source,
    assert_cheat_caught,
    assert_fails,
    hidden,
    replaying,
    slipped,
    solution_fixture,
    variant,
    visible,
)

PREFIX = "04"
SEEDS = range(1, 6)
solution = solution_fixture(PREFIX)


# 4.1 -------------------------------------------------------------------------------------------

MOMENTUM = "def momentum_step(theta, v, grad, lr, mu):\n    {}\n"


@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        ("v = mu * v + lr * grad\n    return theta + v, v", "opposite sign"),
        ("v = mu * v - lr * grad\n    return theta - v, v", "you took: it is the right values"),
        ("v = mu * v - grad\n    return theta + v, v", "missing the learning rate"),
        ("return theta + v, mu * v - lr * grad", "velocity of the step before"),
        ("v = v - lr * grad\n    return theta + v, v", "not multiplied by mu"),
        ("v = mu * v - lr * grad\n    return v, theta + v", "wrong order"),
        ("v *= mu\n    v -= lr * grad\n    return theta + v, v", "changed its input v in place"),
    ],
    ids=["sign", "theta-minus-v", "no-lr", "old-velocity", "no-mu", "order", "in-place"],
)
def test_momentum_slips(solution, body, phrase):
    assert_fails("4.1", variant(solution, MOMENTUM.format(body)), solution, phrase)


@pytest.mark.parametrize(("exercise", "name"), [("4.1", "momentum_step"), ("4.2", "adam_step")])
def test_hard_coded_steps_fail_hidden(solution, exercise, name):
    assert_cheat_caught(exercise, replaying(solution, exercise, name), solution, "after step 1")


def test_no_reference_to_copy(solution):
    """The red team's cheat: return the arrays of the check's own optimizer. The check keeps
    none where an answer could find it, on any frame of the call stack."""
    source = """
    import inspect

    def momentum_step(theta, v, grad, lr, mu):
        for frame in inspect.stack():
            for value in frame.frame.f_locals.values():
                if isinstance(value, cp.SGD):
                    return value.parameters[0].value.copy(), value.velocities[0].copy()
        return theta, v
    """
    assert_fails("4.1", variant(solution, source), solution, "after step 1")


# 4.2 -------------------------------------------------------------------------------------------

ADAM = "def adam_step(theta, grad, m, s, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):\n    {}\n"
MOMENTS = "m = beta1 * m + (1 - beta1) * grad\n    s = beta2 * s + (1 - beta2) * grad**2\n    "
HATS = "m / (1 - beta1**t), s / (1 - beta2**t)"


@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        (MOMENTS + "return theta - lr * m / (np.sqrt(s) + eps), m, s", "Both bias corrections"),
        (
            MOMENTS + "return theta - lr * m / (np.sqrt(s / (1 - beta2**t)) + eps), m, s",
            "The bias correction of m",
        ),
        (
            MOMENTS + "return theta - lr * m / (1 - beta1**t) / (np.sqrt(s) + eps), m, s",
            "The bias correction of s",
        ),
        (
            MOMENTS + f"mh, sh = {HATS}\n    return theta - lr * mh / (np.sqrt(sh) + eps), s, m",
            "returned (theta, s, m): the right arrays in the wrong order",
        ),
        (
            "m = beta1 * m + (1 - beta1) * grad\n    s = beta2 * s + (1 - beta2) * grad\n    "
            f"mh, sh = {HATS}\n    return theta - lr * mh / (np.sqrt(np.abs(sh)) + eps), m, s",
            "averages squared gradients",
        ),
        (
            "m = (1 - beta1) * m + beta1 * grad\n    s = beta2 * s + (1 - beta2) * grad**2\n    "
            f"mh, sh = {HATS}\n    return theta - lr * mh / (np.sqrt(sh) + eps), m, s",
            "swaps the weights beta and 1 - beta",
        ),
        (
            MOMENTS + f"mh, sh = {HATS}\n    return theta + lr * mh / (np.sqrt(sh) + eps), m, s",
            "opposite sign",
        ),
        (
            MOMENTS + f"mh, sh = {HATS}\n    return theta - lr * mh / np.sqrt(sh + eps), m, s",
            "outside the square root",
        ),
        (
            "beta1, beta2, eps = 0.9, 0.999, 1e-8\n    " + MOMENTS + f"mh, sh = {HATS}\n"
            "    return theta - lr * mh / (np.sqrt(sh) + eps), m, s",
            "used the default 0.9, not the beta passed",
        ),
        (
            "t = t + 1\n    " + MOMENTS + f"mh, sh = {HATS}\n"
            "    return theta - lr * mh / (np.sqrt(sh) + eps), m, s",
            "beta^(t+1)",
        ),
    ],
    ids=[
        "no-bias-corrections",
        "no-m-correction",
        "no-s-correction",
        "m-s-swapped",
        "grad-not-squared",
        "beta-weights-swapped",
        "sign",
        "eps-inside-sqrt",
        "ignores-keywords",
        "t-off-by-one",
    ],
)
def test_adam_slips(solution, body, phrase):
    assert_fails("4.2", variant(solution, ADAM.format(body)), solution, phrase)


# 4.3 -------------------------------------------------------------------------------------------

BASELINE = """
_baseline = cp.Sequential(cp.Linear(64, 16, rng=0), cp.Sigmoid(), cp.Linear(16, 10, rng=1))
cp.train(_baseline, cp.SoftmaxCrossEntropy(), cp.SGD(_baseline.parameters(), lr=0.1),
         X_train, y_train, epochs=10, batch_size=32, seed=0, progress=False)
"""


def test_weak_network_fails(solution):
    namespace = variant(solution, BASELINE + "digits_model = _baseline\n")
    verdict = visible("4.3", namespace)
    assert verdict == "FAIL exercise 4.3: test accuracy 76.3%, below the 95% required.", verdict
    for seed in (1, 2):
        assert "below the 90% required" in hidden("4.3", namespace, solution, seed)


def test_digits_model_must_be_a_module(solution):
    namespace = variant(solution, "def digits_model(X):\n    return np.zeros((len(X), 10))\n")
    assert_fails("4.3", namespace, solution, "should be a coursepkg Module")


def test_honest_network_just_above_95_passes_hidden(solution):
    """Softmax regression, 15 epochs of Adam: 95.2% on the test split, the weakest honest model
    measured (at least 93.1% on the altered digits over 30 seeds)."""
    source = """
    digits_model = cp.Sequential(cp.Linear(64, 10, rng=0))
    cp.train(digits_model, cp.SoftmaxCrossEntropy(), cp.Adam(digits_model.parameters(), lr=1e-2),
             X_train, y_train, epochs=15, batch_size=32, seed=0, progress=False)
    """
    namespace = variant(solution, source)
    assert visible("4.3", namespace) == "PASS exercise 4.3"
    for seed in SEEDS:
        assert hidden("4.3", namespace, solution, seed) == "PASS", seed


def test_lookup_table_of_the_test_set_fails_hidden(solution):
    """The red team's cheat: the public test images' labels from a table, the 76% baseline for
    anything else."""
    source = """
    _, _X_public, _, _y_public = cp.load_digits_split(test_fraction=0.3, seed=0)

    class Lookup(cp.Module):
        table = {x.tobytes(): label for x, label in zip(_X_public, _y_public)}

        def forward(self, X):
            logits = _baseline(X)
            for row, x in zip(logits, X):
                if x.tobytes() in self.table:
                    row[...] = cp.one_hot(np.array([self.table[x.tobytes()]]), 10)[0]
            return logits

    digits_model = Lookup()
    """
    source = BASELINE + textwrap.dedent(source)
    assert_cheat_caught("4.3", variant(solution, source), solution, "below the 90% required")


def test_labels_by_position_fail_hidden(solution):
    """A cheat that ignores the images: the test labels in the order of the public split."""
    source = """
    _, _, _, _y_public = cp.load_digits_split(test_fraction=0.3, seed=0)

    class ByPosition(cp.Module):
        def forward(self, X):
            return cp.one_hot(_y_public[: len(X)], 10)

    digits_model = ByPosition()
    """
    assert_cheat_caught("4.3", variant(solution, source), solution, "below the 90% required")


# 4.4 -------------------------------------------------------------------------------------------

BATCH_NORM_SLIPS = [
    (
        "mu, var = Z.mean(axis=0), Z.var(axis=0)",
        "mu, var = Z.mean(axis=0), Z.var(axis=0, ddof=1)",
        "normalized with the unbiased variance",
    ),
    ("unbiased = var * n / (n - 1)", "unbiased = var", "updated with the biased variance"),
    (
        "self.running_mean = (1 - m) * self.running_mean + m * mu",
        "self.running_mean = m * self.running_mean + (1 - m) * mu",
        "weight of the new batch statistic",
    ),
    ("if self.training:", "if True:", "normalized with the batch's own statistics"),
    (
        "mu, var = self.running_mean, self.running_var",
        "mu, var = self.running_mean, self.running_var\n"
        "            self.running_mean = 0.9 * self.running_mean + 0.1 * Z.mean(axis=0)",
        "must not update the running statistics",
    ),
    (
        "return self.gamma.value * self._Z_hat + self.beta.value",
        "return self.gamma.value * self._Z_hat",
        "The shift beta is missing",
    ),
    ("G = grad_Y * self.gamma.value", "G = grad_Y", "dL/dZ that MyBatchNorm"),
    ("G = grad_Y * self.gamma.value", "G = grad_Y", "The factor gamma is missing"),
    (
        "return (G - mean_G - self._Z_hat * mean_GZ) * self._inv_std",
        "return (G - self._Z_hat * mean_GZ) * self._inv_std",
        "the path through the batch mean mu is missing",
    ),
    (
        "return (G - mean_G - self._Z_hat * mean_GZ) * self._inv_std",
        "return (G - mean_G) * self._inv_std",
        "the path through the batch variance is missing",
    ),
    (
        "self.gamma.grad += (grad_Y * self._Z_hat).sum(axis=0)",
        "self.gamma.grad += (grad_Y * self._Z_hat).mean(axis=0)",
        "the gradient of gamma that backward accumulated (gamma.grad) differs",
    ),
    (
        "self.beta.grad += grad_Y.sum(axis=0)",
        "self.beta.grad += grad_Y.mean(axis=0)",
        "the gradient of beta that backward accumulated (beta.grad) differs",
    ),
    (
        "self.beta.grad += grad_Y.sum(axis=0)",
        "self.beta.grad += grad_Y.mean(axis=0)",
        "a mean where the sum belongs",
    ),
    (
        "self.gamma.grad += (grad_Y * self._Z_hat).sum(axis=0)",
        "self.gamma.grad[...] = (grad_Y * self._Z_hat).sum(axis=0)",
        "replaced gamma.grad instead of adding to it",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "phrase"),
    BATCH_NORM_SLIPS,
    ids=[
        "unbiased-normalization",
        "biased-running-var",
        "momentum-reversed",
        "eval-uses-batch",
        "eval-updates",
        "no-beta",
        "no-gamma-in-dZ-names-input",
        "no-gamma-in-dZ",
        "no-mean-path",
        "no-variance-path",
        "gamma-grad-mean",
        "beta-grad-mean-names-beta",
        "beta-grad-mean",
        "grad-overwritten",
    ],
)
def test_batch_norm_slips(solution, old, new, phrase):
    assert_fails("4.4", slipped(solution, "4.4", old, new), solution, phrase)


def test_batch_norm_finite_differences_fail_hidden(solution):
    """A generic backward pass: central differences of sum(G * forward(Z)) for Z, gamma, beta."""
    source = answer_source(PREFIX, "4.4").split("    def backward")[0]
    source = source.replace(
        "Z = np.asarray(Z, dtype=float)", "Z = np.asarray(Z, dtype=float)\n        self._Z = Z"
    )
    source += """
    def backward(self, grad_Y):
        Z = self._Z.copy()

        def loss():
            return float(np.sum(grad_Y * self.forward(Z)))

        grad_Z = cp.numerical_gradient(loss, Z)
        self.gamma.grad += cp.numerical_gradient(loss, self.gamma.value)
        self.beta.grad += cp.numerical_gradient(loss, self.beta.value)
        self.forward(Z)  # what the last forward pass stored, as before
        return grad_Z

    def parameters(self):
        return [self.gamma, self.beta]
"""
    assert_cheat_caught("4.4", variant(solution, source), solution, "finite differences are not")
