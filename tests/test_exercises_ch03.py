"""The checks of chapter 3's exercises: common slips are named, and finite differences do not
pass for a derivation (that the solution passes on the visible inputs and on five grading seeds,
and the blank version fails, is tested in ``test_exercise_judges.py``)."""

from __future__ import annotations

import pytest
from exercise_harness import hidden, solution_fixture, visible, with_answer, with_slip

solution = solution_fixture("03")


SLIPS = [
    ("3.1", "local * y, local * x", "local * x, local * y", "differs from the expected"),
    ("3.2", "np.where(self._Z > 0, 1.0, self.alpha)", "1.0", "entries where Z <= 0 are off"),
    ("3.2", "return grad_A *", "return -grad_A *", "a flipped sign"),
    ("3.2", "return grad_A *", "return 2 * grad_A *", "a factor of 2 too many"),
    ("3.3", "G - mean_G - Y * mean_GY", "G - Y * mean_GY", "path through the mean mu_n"),
    ("3.3", "G - mean_G - Y * mean_GY", "G - mean_G", "path through sigma_n"),
]


@pytest.mark.parametrize(("exercise", "old", "new", "named"), SLIPS)
def test_slips_are_named(solution, exercise, old, new, named):
    wrong = with_slip(exercise, old, new)
    assert named in visible(exercise, wrong)
    assert named in hidden(exercise, wrong, solution, 3)


def test_finite_differences_pass_visibly_but_not_hidden(solution):
    grad_f = """\
def grad_f(x, y, z):
    v = np.array([x, y, z], dtype=float)
    return cp.numerical_gradient(lambda: float(cp.sigmoid(v[0] * v[1] + v[2])), v)
"""
    fd = with_answer("3.1", grad_f)
    assert visible("3.1", fd) == "PASS exercise 3.1"
    for seed in range(1, 6):
        assert "finite differences are not" in hidden("3.1", fd, solution, seed)


def test_answers_hard_coded_for_the_visible_inputs_fail_hidden(solution):
    values = {}
    for point in [(-2.0, 5.0, -4.0), (0.5, 0.25, 1.0), (1.5, -2.0, 0.0)]:
        values[point] = solution["grad_f"](*point).tolist()
    table = f"def grad_f(x, y, z):\n    return np.array({values!r}[(x, y, z)])"
    hard = with_answer("3.1", table)
    assert visible("3.1", hard) == "PASS exercise 3.1"
    assert "KeyError" in hidden("3.1", hard, solution, 1)
