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

CONV_MATRIX = """
def conv_matrix(K, H, W, s):
    kh, kw = K.shape
    Ho, Wo = {sizes}
    M = np.zeros((Ho, Wo, H, W))
    for i in range(Ho):
        for j in range(Wo):
            M[i, j, s * i : s * i + kh, s * j : s * j + kw] = {kernel}
    return {result}
"""
FLOOR = "(H - kh) // s + 1, (W - kw) // s + 1"


def conv_matrix_source(sizes=FLOOR, kernel="K", result="M.reshape(Ho * Wo, H * W)") -> str:
    return CONV_MATRIX.format(sizes=sizes, kernel=kernel, result=result)


@pytest.mark.parametrize(
    ("source", "phrase"),
    [
        (conv_matrix_source(kernel="K[::-1, ::-1]"), "a convolution with the flipped kernel"),
        (
            conv_matrix_source(result="M.transpose(0, 1, 3, 2).reshape(Ho * Wo, H * W)"),
            "Its columns take the pixels column by column",
        ),
        (
            conv_matrix_source(result="M.transpose(1, 0, 2, 3).reshape(Ho * Wo, H * W)"),
            "Its rows are in the wrong order",
        ),
        (conv_matrix_source(result="M.reshape(Ho * Wo, H * W).T"), "the transpose?"),
        (
            conv_matrix_source(sizes="H - kh + 1, W - kw + 1").replace("s * ", ""),
            "the stride s is ignored",
        ),
    ],
    ids=["flipped-kernel", "pixels-by-column", "rows-by-column", "transposed", "no-stride"],
)
def test_conv_matrix_slips(solution, source, phrase):
    assert_fails("6.2", variant(solution, source), solution, phrase)


def test_conv_matrix_wrong_row_is_named(solution):
    # The last output column of every row of outputs is left at zero.
    source = conv_matrix_source().replace("for j in range(Wo)", "for j in range(Wo - 1)")
    assert_fails(
        "6.2",
        variant(solution, source),
        solution,
        "row 2 of M (output pixel (0, 2), whose window starts at pixel (0, 4)) for H=8, W=7, s=2",
        hidden_phrase="of M (output pixel (0, ",
    )


def test_conv_matrix_by_kernel_offsets_passes(solution):
    # Another correct answer: one strided assignment per kernel entry, no loop over pixels.
    source = """
    def conv_matrix(K, H, W, s):
        kh, kw = K.shape
        Ho, Wo = (H - kh) // s + 1, (W - kw) // s + 1
        M = np.zeros((Ho, Wo, H, W))
        i, j = np.meshgrid(np.arange(Ho), np.arange(Wo), indexing="ij")
        for u in range(kh):
            for v in range(kw):
                M[i, j, s * i + u, s * j + v] = K[u, v]
        return M.reshape(Ho * Wo, H * W)
    """
    namespace = variant(solution, source)
    assert visible("6.2", namespace) == "PASS exercise 6.2"
    for seed in (1, 2, 3):
        assert hidden("6.2", namespace, solution, seed) == "PASS"


def test_conv_matrix_hard_coded_fails_hidden(solution):
    assert_cheat_caught(
        "6.2", replaying(solution, "6.2", "conv_matrix"), solution, "conv_matrix(K, H="
    )


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
