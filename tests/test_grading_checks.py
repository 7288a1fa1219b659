"""Unit tests of the check helpers and the solution markers (no kernel, no notebooks)."""

from __future__ import annotations

import numpy as np
import pytest

import coursepkg as cp
from coursepkg.grading import (
    CheckError,
    check_exercise,
    expect_array,
    expect_float,
    expect_gradients,
    expect_int,
    expect_true,
)
from coursepkg.grading.compare import diagnose, expect_close
from coursepkg.grading.exercise_format import FormatError, stub_solutions


class AlwaysEqual:
    def __eq__(self, other):
        return True

    def __array__(self, dtype=None, copy=None):
        return np.zeros(2)


class FloatThatLies(float):
    def __eq__(self, other):
        return True


def verdict(capsys, block) -> str:
    with check_exercise("9.9"):
        block()
    return capsys.readouterr().out


def test_pass_prints_exactly_one_line(capsys):
    assert verdict(capsys, lambda: expect_float(2.0, "x", reference=2.0)) == "PASS exercise 9.9\n"


def test_output_of_the_answer_is_swallowed(capsys):
    def noisy():
        print("debugging output")
        import sys

        print("PASS exercise 9.9", file=sys.stderr)
        raise CheckError("x is wrong.")

    assert verdict(capsys, noisy) == "FAIL exercise 9.9: x is wrong.\n"


@pytest.mark.parametrize(
    "error, expected",
    [
        (NotImplementedError("stub"), "still raises NotImplementedError"),
        (SystemExit(0), "called sys.exit()"),
        (NameError("name 'w' is not defined"), "name 'w' is not defined (run your answer"),
        (ZeroDivisionError("division by zero"), "raised ZeroDivisionError: division by zero"),
    ],
)
def test_exceptions_become_one_fail_line(capsys, error, expected):
    def raise_it():
        raise error

    out = verdict(capsys, raise_it)
    assert out.startswith("FAIL exercise 9.9: ") and expected in out and out.count("\n") == 1


def test_keyboard_interrupt_is_not_swallowed():
    with pytest.raises(KeyboardInterrupt), check_exercise("1.1"):
        raise KeyboardInterrupt


@pytest.mark.parametrize(
    "value", [AlwaysEqual(), FloatThatLies(3.0), "3.0", [3.0], np.array([3.0]), True]
)
def test_expect_float_rejects_anything_but_exact_numbers(value):
    with pytest.raises(CheckError, match="should be a number"):
        expect_float(value, "x", reference=3.0)


def test_expect_int_rejects_floats_and_wrong_values():
    with pytest.raises(CheckError, match="should be an integer"):
        expect_int(9.0, "n", reference=9)
    with pytest.raises(CheckError, match="n is 8, expected 9"):
        expect_int(np.int64(8), "n", reference=9)
    assert expect_int(np.int64(9), "n", reference=9) == 9


class Sub(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)


@pytest.mark.parametrize("value", [AlwaysEqual(), [0.0, 0.0], np.zeros(2).view(Sub)])
def test_expect_array_rejects_non_arrays(value):
    with pytest.raises(CheckError, match="should be a NumPy array"):
        expect_array(value, "w", reference=[0.0, 0.0])


def test_expect_array_names_shape_dtype_and_value_problems():
    with pytest.raises(CheckError, match=r"grad_W has shape \(3,\), expected \(2, 3\)"):
        expect_array(np.zeros(3), "grad_W", shape=(2, 3))
    with pytest.raises(CheckError, match="dtype int64, expected floating point"):
        expect_array(np.zeros(3, dtype=np.int64), "w", dtype="float")
    with pytest.raises(CheckError, match="dtype float32, expected float64"):
        expect_array(np.zeros(3, dtype=np.float32), "w", dtype=np.float64)
    with pytest.raises(CheckError, match=r"at index \(1,\): 5 instead of 2"):
        expect_array(np.array([1.0, 5.0]), "w", reference=[1.0, 2.0])
    with pytest.raises(CheckError, match="NaN or infinite"):
        expect_array(np.array([np.nan]), "w")


def test_expect_true_needs_a_real_true():
    expect_true(np.bool_(True), "never shown")
    with pytest.raises(CheckError, match="too low"):
        expect_true(AlwaysEqual(), "too low")


class WrongBias(cp.Linear):
    def backward(self, grad_Z):
        self.W.grad += self._X.T @ grad_Z
        self.b.grad += grad_Z.mean(axis=0)  # should be the sum
        return grad_Z @ self.W.value.T


class LyingBackward(cp.Tanh):
    def backward(self, grad_A):
        return AlwaysEqual()


def test_expect_gradients_names_the_wrong_array():
    X = np.random.default_rng(0).standard_normal((4, 3))
    expect_gradients(cp.Linear(3, 2, rng=0), X)
    with pytest.raises(CheckError, match=r"gradient of param 1 \(b\)"):
        expect_gradients(WrongBias(3, 2, rng=0), X)
    with pytest.raises(CheckError, match="input gradient returned by .* should be a NumPy array"):
        expect_gradients(LyingBackward(), X)
    with pytest.raises(CheckError, match="should be a coursepkg Module"):
        expect_gradients(lambda X: X, X)


RIGHT = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.0], [0.0, 4.0, 2.0]])


@pytest.mark.parametrize(
    ("actual", "batch_size", "named"),
    [
        (2 * RIGHT, None, "twice the right values"),
        (0.5 * RIGHT, None, "half the right values"),
        (-RIGHT, None, "opposite sign"),
        (-2 * RIGHT, None, "-2 times"),
        (-0.5 * RIGHT, None, "-1/2 times"),
        (3 * RIGHT, 3, "N = 3 (the batch size) times"),
        (RIGHT / 3, 3, "divided by N = 3"),
        (RIGHT.T, None, "the transpose"),
        (np.zeros((3, 3)), None, "all zeros"),
        (2 * RIGHT * (1 + 1e-7), None, "twice the right values"),  # within 1e-6: still named
        (2 * RIGHT + 1e-5, None, ""),  # beyond 1e-6 of the largest entry: no slip named
        (3 * RIGHT, None, ""),  # the batch size is not known
        (RIGHT + 1.0, 3, ""),
    ],
)
def test_diagnose_names_the_slip_that_close_to_recognizes(actual, batch_size, named):
    said = diagnose(actual, RIGHT, batch_size=batch_size)
    assert (named in said and said != "") if named else said == ""


def test_diagnose_names_no_factor_of_a_value_that_overflows():
    # 2 * 1e308 is inf: a test relative to that largest entry would accept anything as "twice".
    assert diagnose(np.array([5.0, 3.0]), np.array([1e308, 1.0])) == ""


def test_stub_keeps_indentation_and_code_outside_regions():
    source = (
        "def f(x):\n"
        "    y = 2\n"
        "    ### BEGIN SOLUTION\n"
        "    return x * y\n"
        "    ### END SOLUTION\n"
        "### BEGIN SOLUTION\n"
        "z = 1\n"
        "### END SOLUTION"
    )
    stub = stub_solutions(source, "1.2")
    assert "return x * y" not in stub and "z = 1" not in stub
    assert '    raise NotImplementedError("Exercise 1.2: write your code here")' in stub
    assert stub.startswith("def f(x):\n    y = 2\n    # YOUR CODE HERE\n")
    compile(stub, "stub", "exec")  # still valid Python


@pytest.mark.parametrize(
    "source",
    [
        "### BEGIN SOLUTION\nx = 1",
        "x = 1\n### END SOLUTION",
        "### BEGIN SOLUTION\n### BEGIN SOLUTION",
    ],
)
def test_unbalanced_markers_are_reported(source):
    with pytest.raises(FormatError):
        stub_solutions(source, "1.1")


def test_values_that_print_alike_are_shown_with_all_their_digits():
    # float32 arithmetic agrees to about 7 digits: at 6 digits the two numbers would read alike.
    expected = np.linspace(1.0, 600.0, 50)
    value = expected.astype(np.float32).astype(np.float64) * (1 + 1e-7)
    with pytest.raises(CheckError) as caught:
        expect_close(value, expected, "v", rtol=1e-12)
    message = str(caught.value)
    assert "514.42864031004638 instead of 514.42857142857144" in message, message
    assert "relative difference 1e-07; float32 arithmetic rounds at about 6e-08" in message
