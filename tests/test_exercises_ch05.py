"""The checks of chapter 5's exercises (regularization): realistic slips and cheats fail with a
message that names them (that the instructor's solutions pass the visible and the hidden checks and
the stubs fail is tested in ``test_exercise_judges.py``).

Measured on 300 grading seeds (the smallest error of the first array a cheat gets wrong): a
finite-difference gradient is off from the derived one by at least 2e-9 of its size in 5.1
(``cp.numerical_gradient`` of -log_prior; 1e-10 for central differences of w^2 / (2 sigma^2)),
6e-10 in 5.3 (1e-10 elementwise) and 3e-11 in 5.6 (at least 3.9e-10 on the largest array, over
100 seeds), against ``DERIVED_RTOL`` = 1e-11; the solutions pass all 300 seeds. Exercise 5.5:
see ``_HIDDEN_RMS`` in the definition module for the margins.
"""

from __future__ import annotations

import numpy as np
import pytest
from exercise_harness import (
    answer_source,
    assert_cheat_caught,
    assert_fails,
    slipped,
    solution_fixture,
    variant,
)

from coursepkg.grading.definition import definition_for

PREFIX = "05"
solution = solution_fixture(PREFIX)


def visible_reference(exercise: str) -> tuple[dict, dict]:
    """The visible inputs of an exercise and what its check expects for them."""
    definition = definition_for(exercise)
    inputs, secrets = definition.draw(np.random.default_rng(definition.visible_seed), False)
    return inputs, definition.reference(inputs, secrets)


# 5.1 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "phrase"),
    [
        (" - 0.5 * n_elements * np.log(2 * np.pi * sigma**2)", "", "normalizing constant"),
        ("0.5 * n_elements * np.log", "0.5 * np.log", "each of the M ="),
        ("np.sum(w**2) / (2 * sigma**2)", "np.sum(w**2) / sigma**2", "not by 2 sigma^2"),
        ("return w / sigma**2", "return -w / sigma**2", "opposite sign"),
        ("return w / sigma**2", "return w / sigma", "It is w / sigma"),
    ],
)
def test_5_1_slips_are_named(solution, old, new, phrase):
    assert_fails("5.1", slipped(solution, "5.1", old, new), solution, phrase)


def test_5_1_finite_differences_fail(solution):
    # The old check's tolerance (1e-10) already refused them; now it says why.
    cheat = variant(
        solution,
        """
        def penalty_grad(w, sigma):
            w = np.array(w, dtype=float)
            return cp.numerical_gradient(lambda: -log_prior(w, sigma), w)
        """,
    )
    assert_fails("5.1", cheat, solution, "finite differences")


def test_5_1_answers_hard_coded_for_the_visible_inputs_fail_hidden(solution):
    inputs, expected = visible_reference("5.1")
    table = {
        case["w"].tobytes(): (value, grad)
        for case, value, grad in zip(
            inputs["cases"], expected["log_priors"], expected["grads"], strict=True
        )
    }
    cheat = dict(solution)
    cheat["log_prior"] = lambda w, sigma: table.get(w.tobytes(), (0.0, None))[0]
    cheat["penalty_grad"] = lambda w, sigma: table.get(w.tobytes(), (0.0, np.zeros_like(w)))[1]
    assert_cheat_caught("5.1", cheat, solution, "log_prior(w of shape")


# 5.2 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "phrase"),
    [
        ('"mean": 2 * s**2 / N', '"mean": 2 * s**2', "(the batch size) times"),
        ('"half_sum": s**2', '"half_sum": 2 * s**2', "twice the right values"),
        ("return float(c / sigma**2)", "return float(c / sigma**2 / s**2)", "factor s^2"),
    ],
)
def test_5_2_slips_are_named(solution, old, new, phrase):
    assert_fails("5.2", slipped(solution, "5.2", old, new), solution, phrase)


def test_5_2_answers_hard_coded_for_the_visible_inputs_fail_hidden(solution):
    inputs, _ = visible_reference("5.2")
    table = {
        (case["loss"], case["s"], case["sigma"]): solution["weight_decay_for"](
            case["sigma"], case["s"], inputs["N"], case["loss"]
        )
        for case in inputs["cases"]
    }
    cheat = dict(solution)
    cheat["weight_decay_for"] = lambda sigma, s, N, loss="mean": table.get((loss, s, sigma), 0.01)
    assert_cheat_caught("5.2", cheat, solution, "not a fixed positive multiple")


# 5.3 -------------------------------------------------------------------------------------------

_SIGN = "return np.sign(w).astype(float) / b"


@pytest.mark.parametrize(
    ("old", "new", "phrase"),
    [
        (_SIGN, "return np.sign(w).astype(float)", "division by b is missing"),
        (_SIGN, "return np.where(w >= 0, 1.0, -1.0) / b", "wrong only where w_i = 0"),
        (_SIGN, "return -np.sign(w).astype(float) / b", "opposite sign"),
        ("np.sum(np.abs(w)) / b", "np.sum(w) / b", "absolute values |w_i| are missing"),
    ],
)
def test_5_3_slips_are_named(solution, old, new, phrase):
    assert_fails("5.3", slipped(solution, "5.3", old, new), solution, phrase)


def test_5_3_finite_differences_pass_visible_and_fail_hidden(solution):
    cheat = variant(
        solution,
        """
        def laplace_penalty_grad(w, b):
            w = np.array(w, dtype=float)
            return cp.numerical_gradient(lambda: laplace_penalty(w, b), w)
        """,
    )
    assert_cheat_caught("5.3", cheat, solution, "finite differences")


def test_5_3_answers_hard_coded_for_the_visible_inputs_fail_hidden(solution):
    inputs, _ = visible_reference("5.3")
    grads = {
        case["w"].tobytes(): solution["laplace_penalty_grad"](case["w"], case["b"])
        for case in inputs["cases"]
    }
    cheat = dict(solution)
    cheat["laplace_penalty_grad"] = lambda w, b: grads.get(w.tobytes(), np.sign(w) * 1.0)
    assert_cheat_caught("5.3", cheat, solution, "laplace_penalty_grad(w of shape")


# 5.4 -------------------------------------------------------------------------------------------

_IMPROVES = "if loss < best - min_delta:"


def test_5_4_visible_expectations_are_the_known_ones():
    """The values the old check cell had, worked out by hand, are what cp.EarlyStopping gives."""
    _, expected = visible_reference("5.4")
    assert expected["results"] == [
        (5, 8),
        (1, 3),
        (3, 5),
        (2, 3),
        (5, 5),
        (4, 6),
        (124, 129),
        (187, 237),
        (187, 387),
        (174, 224),
    ]


@pytest.mark.parametrize(
    ("old", "new", "phrase"),
    [
        (_IMPROVES, "if loss <= best - min_delta:", "an equal loss counts as an improvement"),
        (_IMPROVES, "if loss < best:", "min_delta is ignored"),
        ("if wait >= patience:", "if wait > patience:", "stops one epoch late"),
        ("if wait >= patience:", "if wait >= patience - 1:", "stops one epoch early"),
        ("return best_epoch, epoch", "return [best_epoch, epoch]", "should return a tuple"),
    ],
)
def test_5_4_slips_are_named(solution, old, new, phrase):
    assert_fails("5.4", slipped(solution, "5.4", old, new), solution, phrase)


def test_5_4_epochs_counted_from_0_are_named(solution):
    source = answer_source(PREFIX, "5.4").replace("start=1", "start=0")
    source = source.replace("len(val_losses)\n", "len(val_losses) - 1\n")
    assert_fails("5.4", variant(solution, source), solution, "counted from 0")


def test_5_4_best_epoch_after_the_stop_is_named(solution):
    cheat = variant(
        solution,
        """
        def early_stopping_epochs(val_losses, patience, min_delta=0.0):
            best, best_epoch, wait, stop = np.inf, 0, 0, None
            for epoch, loss in enumerate(val_losses, start=1):
                if loss < best - min_delta:
                    best, best_epoch, wait = loss, epoch, 0
                else:
                    wait += 1
                    if wait >= patience and stop is None:
                        stop = epoch
            return best_epoch, stop or len(val_losses)
        """,
    )
    assert_fails("5.4", cheat, solution, "the best epoch is taken over all epochs")


def test_5_4_answers_hard_coded_for_the_visible_inputs_fail_hidden(solution):
    inputs, expected = visible_reference("5.4")
    table = {
        (len(case["losses"]), case["patience"], case["min_delta"]): result
        for case, result in zip(inputs["cases"], expected["results"], strict=True)
    }
    cheat = dict(solution)
    cheat["early_stopping_epochs"] = lambda losses, patience, min_delta=0.0: table.get(
        (len(losses), patience, min_delta), (1, len(losses))
    )
    assert_cheat_caught("5.4", cheat, solution, "epoch of early_stopping_epochs")


# 5.5 -------------------------------------------------------------------------------------------


def test_5_5_a_lambda_not_chosen_by_validation_fails(solution):
    wrong = variant(
        solution,
        """
        chosen_lambda = 0.03
        regularized_net = spread_network(30)
        fit(regularized_net, x, t, weight_decay=chosen_lambda)
        """,
    )
    phrase, hidden_phrase = "validation E_RMS 0.447", "against sin(2 pi x)"
    assert_fails("5.5", wrong, solution, phrase, hidden_phrase=hidden_phrase, seeds=(1,))


def test_5_5_the_history_in_place_of_the_network_is_named(solution):
    wrong = variant(
        solution,
        "regularized_net = fit(spread_network(30), x, t, weight_decay=chosen_lambda)",
    )
    assert_fails("5.5", wrong, solution, "got an object of type History", seeds=(1,))


def test_5_5_a_network_set_by_hand_fails(solution):
    cheat = variant(
        solution,
        """
        class SineNet(cp.Module):
            def forward(self, X):
                return np.sin(2 * np.pi * X)

        regularized_net = SineNet()
        """,
    )
    assert_fails("5.5", cheat, solution, "does not predict like spread_network(30)", seeds=(1,))


def test_5_5_a_lookup_table_of_the_public_points_fails_hidden(solution):
    cheat = variant(
        solution,
        """
        class Lookup(cp.Module):
            # The trained network's predictions on the validation and public test points only.
            def __init__(self, net, points):
                self.table = {p.tobytes(): net(p) for p in points}

            def forward(self, X):
                return self.table.get(X.tobytes(), np.zeros((len(X), 1)))

        x_test_public, _ = cp.make_sinusoid(1000, noise=0.3, random_x=True, seed=13)
        regularized_net = Lookup(regularized_net, [x_val, x_test_public])
        """,
    )
    assert_cheat_caught("5.5", cheat, solution, "does not predict like", seeds=(1,))


# 5.6 -------------------------------------------------------------------------------------------

_KEEP = "self.rng.random(X.shape) >= self.p"


@pytest.mark.parametrize(
    ("old", "new", "phrase"),
    [
        ("self.mask = keep / (1.0 - self.p)", "self.mask = keep * 1.0", "divided by 1 - p"),
        (_KEEP, "self.rng.random(X.shape) < self.p", "keep those with u >= p"),
        (_KEEP, "self.rng.binomial(1, 1 - self.p, X.shape) == 1", "u = self.rng.random"),
        ("return grad_out * self.mask  #", "return grad_out  #", "grad_out unchanged"),
        (
            "self.mask = None  # evaluation",
            "self.rng.random(X.shape)\n            self.mask = None  # evaluation",
            "Did the evaluation-mode forward pass draw from rng?",
        ),
    ],
)
def test_5_6_slips_are_named(solution, old, new, phrase):
    assert_fails("5.6", slipped(solution, "5.6", old, new), solution, phrase)


def test_5_6_a_mask_not_redrawn_is_named(solution):
    old = "        keep = self.rng.random(X.shape) >= self.p\n"
    new = (
        "        if getattr(self, 'kept', None) is None or self.kept.shape != X.shape:\n"
        "            self.kept = self.rng.random(X.shape) >= self.p\n"
        "        keep = self.kept\n"
    )
    assert_fails("5.6", slipped(solution, "5.6", old, new), solution, "draw a new mask")


def test_5_6_finite_differences_fail(solution):
    # The old check compared backward at 1e-12 and already refused them; now it says why.
    cheat = slipped(
        solution,
        "5.6",
        "return grad_out * self.mask  #",
        "mask, X = self.mask, np.array(grad_out, dtype=float)\n"
        "        return cp.numerical_gradient(lambda: float(np.sum(grad_out * X * mask)), X)  #",
    )
    assert_fails("5.6", cheat, solution, "finite differences")


def test_5_6_a_class_that_is_no_module_is_named(solution):
    wrong = variant(
        solution,
        """
        class MyDropout:
            def __init__(self, p, rng):
                self.p, self.rng = p, rng
        """,
    )
    assert_fails("5.6", wrong, solution, "should be a coursepkg Module")
