"""The checks of chapter 6's exercises (convolutional networks): realistic slips and cheats fail
with a message that names them (that the instructor's solutions pass the visible and the hidden
checks and the stubs fail is tested in ``test_exercise_judges.py``).

Measured (20 grading seeds): a finite-difference backward pass for exercise 6.3
(``cp.numerical_gradient`` of sum(G * forward(X)), on 960 to 6,144 inputs) is off from the
derived one by at least 8.7e-10 of the gradient's size, 87 times ``DERIVED_RTOL`` = 1e-11; a
correct answer written differently (0.25 times the sum of four strided slices, a loop over the
window positions) agrees to 3.2e-16.
"""

from __future__ import annotations

import numpy as np
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

PREFIX = "06"
solution = solution_fixture(PREFIX)


# 6.1 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formula", "phrase"),
    [
        ("(H + 2 * p - k) // s + 1", "the dilation is ignored"),
        ("(H + 2 * p - d * k) // s + 1", "the kernel spans d k rows"),
        ("(H + 2 * p - d * (k - 1) - 1) // s", "the + 1 is missing"),
        ("-((d * (k - 1) + 1 - H - 2 * p) // s) + 1", "it rounds up"),
        ("(H + p - d * (k - 1) - 1) // s + 1", "the padding counts once"),
        ("H + 2 * p - d * (k - 1)", "the stride s is ignored"),
        ("(H + 2 * p - d * (k - 1) - 1) / s + 1", "use integer division"),
    ],
    ids=[
        "no-dilation",
        "span-dk",
        "no-plus-one",
        "ceil",
        "one-sided-padding",
        "no-stride",
        "true-division",
    ],
)
def test_output_size_slips(solution, formula, phrase):
    source = f"def conv_output_size(H, k, p, s, d):\n    return {formula}\n"
    assert_fails("6.1", variant(solution, source), solution, phrase)


def test_output_sizes_hard_coded_fail_hidden(solution):
    source = """
    def conv_output_size(H, k, p, s, d):
        known = {(28, 5, 0, 1, 1): 24, (28, 3, 1, 1, 1): 28, (28, 5, 2, 2, 1): 14,
                 (28, 4, 0, 3, 1): 9, (7, 7, 0, 1, 1): 1, (32, 3, 1, 2, 1): 16,
                 (28, 3, 0, 1, 2): 24, (28, 3, 2, 1, 2): 28, (28, 5, 1, 2, 3): 9,
                 (7, 3, 0, 1, 3): 1, (32, 3, 2, 3, 2): 11}
        return known.get((H, k, p, s, d), 1)
    """
    assert_cheat_caught("6.1", variant(solution, source), solution, "conv_output_size(H=")


# 6.2 -------------------------------------------------------------------------------------------

WINDOWS = "np.array([X[n, i:i+kh, j:j+kw].reshape(-1) for n in range(N) for {} for {}])"
LOOPS = (
    "def im2col(X, kh, kw):\n    N, H, W = X.shape\n    {}\n    Ho, Wo = H - kh + 1, W - kw + 1\n"
)


@pytest.mark.parametrize(
    ("source", "phrase"),
    [
        (
            LOOPS.format("") + "    return " + WINDOWS.format("j in range(Wo)", "i in range(Ho)"),
            "The rows are in the wrong order",
        ),
        (
            LOOPS.format("kh, kw = kw, kh")
            + "    return "
            + WINDOWS.format("i in range(Ho)", "j in range(Wo)"),
            "are kh (the window's height, along H) and kw (its width, along W) swapped?",
        ),
        (
            "from numpy.lib.stride_tricks import sliding_window_view\n\n"
            "def im2col(X, kh, kw):\n"
            "    return sliding_window_view(X, (kh, kw), axis=(1, 2)).reshape(-1, kh * kw).T\n",
            "the transpose?",
        ),
    ],
    ids=["rows-by-column", "kh-kw-swapped", "transposed"],
)
def test_im2col_slips(solution, source, phrase):
    assert_fails("6.2", variant(solution, source), solution, phrase)


def test_im2col_window_read_by_column(solution):
    namespace = slipped(solution, "6.2", "cols[:, :, :, u * kw + v]", "cols[:, :, :, v * kh + u]")
    assert_fails("6.2", namespace, solution, "Each window is read column by column")


def test_im2col_wrong_window_names_the_row(solution):
    source = LOOPS.format("") + "    return " + WINDOWS.format("i in range(Ho)", "j in range(Wo)")
    source = source.replace("X[n, i:i+kh, j:j+kw]", "X[n, i:i+kh, max(j-1, 0):max(j-1, 0)+kw]")
    assert_fails(
        "6.2", variant(solution, source), solution, "of cols (image 0, output pixel (0, 1))"
    )


def test_im2col_sliding_window_view_passes(solution):
    source = (
        "from numpy.lib.stride_tricks import sliding_window_view\n\n"
        "def im2col(X, kh, kw):\n"
        "    return sliding_window_view(X, (kh, kw), axis=(1, 2)).reshape(-1, kh * kw)\n"
    )
    namespace = variant(solution, source)
    assert visible("6.2", namespace) == "PASS exercise 6.2"
    assert hidden("6.2", namespace, solution, 1) == "PASS"


def test_im2col_hard_coded_fails_hidden(solution):
    assert_cheat_caught("6.2", replaying(solution, "6.2", "im2col"), solution, "im2col(X, ")


# 6.3 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "phrase"),
    [
        ("/ 4.0", "", "the 1/4 is missing"),
        ("/ 4.0", "/ 16.0", "divided by 4 twice"),
        ("/ 4.0", "/ 2.0", "it is exactly twice the right values"),
        ("/ 4.0", "/ -4.0", "opposite sign"),
        (".mean(axis=(2, 4))", ".sum(axis=(2, 4))", "its sum"),
        (
            "np.repeat(np.repeat(grad_A, 2, axis=1), 2, axis=2)",
            "np.tile(grad_A, (1, 2, 2, 1))",
            "np.tile repeats the whole grid of windows",
        ),
        (
            "grad = np.repeat(np.repeat(grad_A, 2, axis=1), 2, axis=2) / 4.0",
            "grad = np.zeros(self._shape)\n        grad[:, ::2, ::2] = grad_A / 4.0",
            "The four pixels of a window should all get a quarter",
        ),
    ],
    ids=["forgot-quarter", "quarter-twice", "half", "sign", "sum-forward", "tile", "corner-only"],
)
def test_avg_pool_slips(solution, old, new, phrase):
    assert_fails("6.3", slipped(solution, "6.3", old, new), solution, phrase)


def test_avg_pool_names_the_input_gradient(solution):
    namespace = slipped(solution, "6.3", "/ 4.0", "")
    message = hidden("6.3", namespace, solution, 1)
    assert message.startswith("the input gradient dL/dX that AvgPool2d().backward(grad_A)")


def test_avg_pool_backward_must_follow_the_latest_forward(solution):
    source = """
    class AvgPool2d(cp.Module):
        def __init__(self):
            self._shape = None

        def forward(self, X):
            N, H, W, C = X.shape
            self._shape = self._shape or X.shape  # remembers the first input's shape only
            return X.reshape(N, H // 2, 2, W // 2, 2, C).mean(axis=(2, 4))

        def backward(self, grad_A):
            grad = np.repeat(np.repeat(grad_A, 2, axis=1), 2, axis=2) / 4.0
            return np.resize(grad, self._shape)
    """
    assert_fails("6.3", variant(solution, source), solution, "latest forward pass")


def test_avg_pool_finite_differences_fail_hidden(solution):
    source = answer_source(PREFIX, "6.3").split("    def backward")[0]
    source = source.replace("self._shape = X.shape", "self._shape, self._X = X.shape, X.copy()")
    source += """
    def backward(self, grad_A):
        X = self._X.copy()
        return cp.numerical_gradient(lambda: float(np.sum(grad_A * self.forward(X))), X)
"""
    namespace = variant(solution, source)
    assert_cheat_caught("6.3", namespace, solution, "finite differences are not")
    assert "quarter" not in hidden("6.3", namespace, solution, 1)  # no misleading slip named


def test_avg_pool_hard_coded_fails_hidden(solution):
    """A module that replays the instructor's outputs for the visible inputs."""
    namespace, table = dict(solution), {}
    real = solution["AvgPool2d"]

    class Recording(real):
        def forward(self, X):
            table[X.tobytes()] = result = super().forward(X)
            return result

        def backward(self, grad_A):
            table[grad_A.tobytes()] = result = super().backward(grad_A)
            return result

    namespace["AvgPool2d"] = Recording
    assert visible("6.3", namespace) == "PASS exercise 6.3"

    class Replay(real):
        def forward(self, X):
            return table.get(X.tobytes(), np.zeros((1, 1, 1, 1)))

        def backward(self, grad_A):
            return table.get(grad_A.tobytes(), np.zeros((1, 1, 1, 1)))

    namespace["AvgPool2d"] = Replay
    assert_cheat_caught("6.3", namespace, solution, "AvgPool2d().forward(X)")
