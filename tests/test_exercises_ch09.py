"""The checks of chapter 9's exercises (automatic differentiation): realistic slips and cheats fail
with a message that names them, and correct answers written differently pass (that the
instructor's solutions pass the visible and the hidden checks and the stubs fail is tested in
``test_exercise_judges.py``).

Measured (20 grading seeds, ``DERIVED_RTOL`` = 1e-11):

* 9.1: a finite-difference VJP, g (silu(x + h) - silu(x - h)) / 2h with h = 1e-6, is off from
  the derived one by at least 7.4e-10 of the gradient's size (median 1.8e-9; 224 to 420
  inputs, four of them beyond +-709); correct answers written differently agree with the
  instructor's to 3.7e-16 (s (1 + x (1 - s))) and 3.8e-15 (a sigmoid from tanh).
* 9.2: a finite-difference backward pass (``cp.numerical_gradient`` of sum(G * forward(X)), on
  196 to 440 inputs, rows of RMS 0.5 to 5) is off by at least 3.0e-10 in dL/dX (median 6.4e-10)
  and 2.1e-10 in dL/dgamma; the corrected backward pass written differently (the X / r^3 form
  of the derivation, dL/dgamma from the parent class) agrees to 2.2e-16.

Responses (JSON, as the probe cell prints them) are at most 17 kB for 9.1, 15 kB for 9.2 and
1.5 kB for 9.3; each hidden respond call takes about 2 ms or less, each visible check under
30 ms (9.3's runs the engine on its five networks).
"""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
from exercise_harness import (
    assert_cheat_caught,
    assert_fails,
    exercise_notebook,
    hidden,
    replaying,
    slipped,
    solution_fixture,
    variant,
    visible,
)

PREFIX = "09"
SEEDS = range(1, 6)
solution = solution_fixture(PREFIX)


def passes(exercise: str, namespace: dict, solution: dict) -> None:
    """The visible check and the hidden checks on five grading seeds pass."""
    assert visible(exercise, namespace) == f"PASS exercise {exercise}"
    for seed in SEEDS:
        assert hidden(exercise, namespace, solution, seed) == "PASS", seed


def cell_source(cell_id: str) -> str:
    """The instructor's source of the notebook's cell ``cell_id``."""
    nb = nbformat.read(exercise_notebook(PREFIX), as_version=4)
    (source,) = [cell.source for cell in nb.cells if cell.get("id") == cell_id]
    return source


def slipped_cell(solution: dict, cell_id: str, old: str, new: str) -> dict:
    """The solution's namespace with the cell ``cell_id`` run again, ``old`` replaced by ``new``
    (exactly once)."""
    source = cell_source(cell_id)
    assert source.count(old) == 1, f"{old!r} is not in cell {cell_id} exactly once"
    return variant(solution, source.replace(old, new))


# 9.1 -------------------------------------------------------------------------------------------

SLOPE = "slope = s + X * s * (1.0 - s)"


@pytest.mark.parametrize(
    ("old", "new", "phrase"),
    [
        (SLOPE, "slope = s", "the term x s (1 - s) of the product rule is missing"),
        (SLOPE, "slope = X * s * (1.0 - s)", "the term s of the product rule is missing"),
        (SLOPE, "slope = s * (1.0 - s)", "the VJP of the sigmoid, not of x sigmoid(x)"),
        (SLOPE, "slope = s - X * s * (1.0 - s)", "the second term has the wrong sign"),
        ("lambda g: g * slope", "lambda g: slope", "multiply it by the upstream gradient g"),
        ("lambda g: g * slope", "lambda g: -g * slope", "the opposite sign"),
        ("ad.Tensor(X * s,", "ad.Tensor(s,", "It is sigmoid(x); silu(x) is x times sigmoid(x)"),
        ('"silu"', '"swish"', 'call it "silu"'),
        (
            "cp.sigmoid(x.value)",
            "1.0 / (1.0 + np.exp(-x.value))",
            "not stable for large |x|",
        ),
        ("[(x, lambda", "[(ad.Tensor(X), lambda", "not a copy of it"),
        ("return ad.Tensor(X * s, ", "return (X * s, ", "should return an ad.Tensor"),
        ("lambda g: g * slope", "lambda g: None", "failed in your VJP: AttributeError"),
        ("lambda g: g * slope", "lambda g: g.ravel() * slope", "failed in your VJP: ValueError"),
    ],
    ids=[
        "no-x-term",
        "no-s-term",
        "sigmoid-vjp",
        "inner-sign",
        "no-upstream",
        "sign",
        "value-is-sigmoid",
        "op-name",
        "overflow",
        "parent-copied",
        "not-a-tensor",
        "vjp-returns-none",
        "vjp-wrong-shape",
    ],
)
def test_silu_slips(solution, old, new, phrase):
    assert_fails("9.1", slipped(solution, "9.1", old, new), solution, phrase)


def test_silu_composed_from_the_engines_operations_fails(solution):
    source = """
    def silu(x):
        return x * ad.sigmoid(x)
    """
    phrase = "silu(x) recorded 2 operations on the tape (sigmoid, multiply)"
    assert_fails("9.1", variant(solution, source), solution, phrase)


def test_silu_whose_vjp_runs_the_engine_fails(solution):
    # One node on the tape, but its VJP differentiates the composition with a sweep of its own.
    source = """
    def silu(x):
        def vjp(g):
            inner = ad.Tensor(x.value)
            return ad.gradients(inner * ad.sigmoid(inner), inner, upstream=g)

        return ad.Tensor(x.value * cp.sigmoid(x.value), "silu", [(x, vjp)])
    """
    assert_fails("9.1", variant(solution, source), solution, "ran a reverse sweep of its own")


def test_silu_finite_difference_vjp_fails_hidden(solution):
    source = """
    def silu(x):
        X, h = x.value, 1e-6
        f = lambda Z: Z * cp.sigmoid(Z)
        slope = (f(X + h) - f(X - h)) / (2 * h)
        return ad.Tensor(f(X), "silu", [(x, lambda g: g * slope)])
    """
    assert_cheat_caught("9.1", variant(solution, source), solution, "finite differences are not")


def test_silu_hard_coded_fails_hidden(solution):
    cheat = replaying(solution, "9.1", "silu")
    for seed in (1, 2):
        assert hidden("9.1", cheat, solution, seed) != "PASS"


@pytest.mark.parametrize(
    "slope",
    ["s * (1.0 + X * (1.0 - s))", "s + X * np.exp(-np.logaddexp(0.0, X) - np.logaddexp(0.0, -X))"],
    ids=["factored", "sigmoid-product-from-logs"],
)
def test_silu_written_differently_passes(solution, slope):
    passes("9.1", slipped(solution, "9.1", SLOPE, f"slope = {slope}"), solution)


def test_silu_with_a_sigmoid_from_tanh_passes(solution):
    namespace = slipped(
        solution, "9.1", "cp.sigmoid(x.value)", "0.5 * (1.0 + np.tanh(0.5 * x.value))"
    )
    passes("9.1", namespace, solution)


# 9.2 -------------------------------------------------------------------------------------------

TAPED_RMS = "rms = ((X * X).mean(axis=1, keepdims=True) + eps) ** 0.5"


@pytest.mark.parametrize(
    ("old", "new", "phrase"),
    [
        (TAPED_RMS, TAPED_RMS.replace("axis=1", "axis=0"), "It normalizes each column"),
        (TAPED_RMS, TAPED_RMS.replace(".mean(", ".sum("), "the root of the sum of the squares"),
        (TAPED_RMS, TAPED_RMS.replace(" ** 0.5", ""), "It divides by the mean square"),
        (TAPED_RMS, TAPED_RMS.replace(" + eps", ""), "eps is missing"),
        ("return X / rms * gamma", "return X / rms", "does not depend on gamma through"),
    ],
    ids=["axis-0", "sum", "no-root", "no-eps", "no-gamma"],
)
def test_rmsnorm_taped_slips(solution, old, new, phrase):
    assert_fails("9.2", slipped(solution, "9.2", old, new), solution, phrase)


def test_rmsnorm_taped_through_numpy_is_not_on_the_tape(solution):
    source = """
    def rmsnorm_taped(X, gamma, eps):
        V = X.value
        r = np.sqrt(np.mean(V**2, axis=1, keepdims=True) + eps)
        return ad.Tensor(V / r * gamma.value)
    """
    phrase = "does not depend on X through the engine's operations"
    assert_fails("9.2", variant(solution, source), solution, phrase)


def test_rmsnorm_taped_with_r_off_the_tape_is_named(solution):
    # The classic slip: r from X.value is a constant to the sweep.
    source = """
    def rmsnorm_taped(X, gamma, eps):
        r = np.sqrt(np.mean(X.value**2, axis=1, keepdims=True) + eps)
        return X / r * gamma
    """
    assert_fails("9.2", variant(solution, source), solution, "as if r were a constant")


ROW_MEAN = "row_mean = (H * normalized).mean(axis=1, keepdims=True)"
RETURN = "return (H - normalized * row_mean) / self._r"


@pytest.mark.parametrize(
    ("old", "new", "phrase"),
    [
        (ROW_MEAN, ROW_MEAN.replace(".mean(", ".sum("), "the given RMSNorm's dL/dX, bug and all"),
        (RETURN, "return H / self._r", "the path through r is missing"),
        (RETURN, RETURN.replace("H - ", "H + "), "The term through r has the wrong sign"),
        (ROW_MEAN, ROW_MEAN + " / self._X.shape[1]", "divided by D once too often"),
        (RETURN, RETURN.replace("return (", "return -("), "the opposite sign"),
        (
            "self.gamma.grad += (grad_Y * normalized).sum(axis=0)",
            "self.gamma.grad = (grad_Y * normalized).sum(axis=0)",
            "add into gamma.grad (+=)",
        ),
        (
            "self.gamma.grad += (grad_Y * normalized).sum(axis=0)",
            "self.gamma.grad += (H * normalized).sum(axis=0)",
            "dL/dgamma was right in the given RMSNorm: keep it",
        ),
    ],
    ids=[
        "still-buggy",
        "no-path-through-r",
        "inner-sign",
        "mean-twice",
        "sign",
        "assigns",
        "gamma",
    ],
)
def test_fixed_rmsnorm_slips(solution, old, new, phrase):
    namespace = slipped_cell(solution, "ex9-2-fix", old, new)
    assert_fails("9.2", namespace, solution, phrase)


def test_the_given_rmsnorm_unfixed_is_named(solution):
    namespace = variant(solution, "FixedRMSNorm = RMSNorm")
    assert_fails("9.2", namespace, solution, "the given RMSNorm's dL/dX, bug and all")


def test_fixed_rmsnorm_that_runs_the_engine_fails(solution):
    # Exact gradients, but from the engine: the exercise asks for the derivation.
    source = """
    class FixedRMSNorm(RMSNorm):
        def backward(self, grad_Y):
            X, gamma = ad.Tensor(self._X), ad.Tensor(self.gamma.value)
            Y = rmsnorm_taped(X, gamma, self.eps)
            grad_X, grad_gamma = ad.gradients(Y, [X, gamma], upstream=grad_Y)
            self.gamma.grad += grad_gamma
            return grad_X
    """
    assert_fails("9.2", variant(solution, source), solution, "ran the engine's reverse sweep")


def test_fixed_rmsnorm_by_finite_differences_fails_hidden(solution):
    source = """
    class FixedRMSNorm(RMSNorm):
        def backward(self, grad_Y):
            X, gamma = self._X.copy(), self.gamma.value.copy()

            def loss():
                r = np.sqrt(np.mean(X**2, axis=1, keepdims=True) + self.eps)
                return float(np.sum(grad_Y * X / r * gamma))

            self.gamma.grad += cp.numerical_gradient(loss, gamma)
            return cp.numerical_gradient(loss, X)
    """
    assert_cheat_caught("9.2", variant(solution, source), solution, "finite differences are not")


def test_fixed_rmsnorm_hard_coded_fails_hidden(solution):
    """A module that replays the instructor's gradients for the visible inputs."""
    namespace, table = dict(solution), {}
    real = solution["FixedRMSNorm"]

    class Recording(real):
        def backward(self, grad_Y):
            before = self.gamma.grad.copy()
            table[grad_Y.tobytes()] = result = super().backward(grad_Y)
            table["gamma" + str(len(table))] = self.gamma.grad - before
            return result

    namespace["FixedRMSNorm"] = Recording
    assert visible("9.2", namespace) == "PASS exercise 9.2"
    steps = [value for key, value in table.items() if isinstance(key, str)]

    class Replay(real):
        calls = 0

        def backward(self, grad_Y):
            step = steps[Replay.calls % len(steps)]
            Replay.calls += 1
            if step.shape == self.gamma.grad.shape:
                self.gamma.grad += step
            return table.get(grad_Y.tobytes(), np.zeros_like(grad_Y))

    namespace["FixedRMSNorm"] = Replay
    assert_cheat_caught("9.2", namespace, solution, "FixedRMSNorm(gamma, eps=")


def test_fixed_rmsnorm_written_differently_passes(solution):
    # dL/dgamma from the parent class (its dL/dX dropped), dL/dX in the X / r^3 form.
    source = """
    class FixedRMSNorm(RMSNorm):
        def backward(self, grad_Y):
            super().backward(grad_Y)
            H, X, r = grad_Y * self.gamma.value, self._X, self._r
            D = X.shape[1]
            return H / r - X * np.sum(H * X, axis=1, keepdims=True) / (D * r**3)
    """
    passes("9.2", variant(solution, source), solution)


def test_rmsnorm_taped_written_differently_passes(solution):
    source = """
    def rmsnorm_taped(X, gamma, eps):
        D = X.shape[1]
        inverse = ((X**2).sum(axis=1, keepdims=True) / D + eps) ** -0.5
        return gamma * (X * inverse)
    """
    passes("9.2", variant(solution, source), solution)


# 9.3 -------------------------------------------------------------------------------------------

SWEEP = "sweep = 2 * one_pass - N * sizes[0] * sizes[1]"
PARAMETERS = "weight_count = sum(n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))"


@pytest.mark.parametrize(
    ("old", "new", "phrase"),
    [
        (SWEEP, "sweep = 2 * one_pass", "It counts dL/dX for the first layer"),
        (SWEEP, "sweep = one_pass", "It counts the weight gradients only"),
        ('"reverse_mode": one_pass + sweep', '"reverse_mode": sweep', "the backward pass alone"),
        (
            '"forward_mode": one_pass + weight_count * sweep',
            '"forward_mode": one_pass + weight_count * one_pass',
            "Each tangent pass costs as many multiplications as the backward pass",
        ),
        (
            '"forward_mode": one_pass + weight_count * sweep',
            '"forward_mode": weight_count * sweep',
            "The forward pass for the values (F) is missing",
        ),
        (
            PARAMETERS,
            PARAMETERS.replace("n_in * n_out", "(n_in + 1) * n_out"),
            "It counts the biases too",
        ),
        (PARAMETERS, PARAMETERS.replace("sizes[1:]", "sizes[1:-1]"), "last layer's weights"),
        (
            "one_pass = N * weight_count",
            "one_pass = N * weight_count / 1",
            "should be an exact integer (int), got an object of type float",
        ),
        ("one_pass = N * weight_count", "one_pass = weight_count", "The batch size N is missing"),
    ],
    ids=[
        "first-input-gradient",
        "weights-only",
        "no-forward-in-reverse",
        "tangent-costs-forward",
        "no-forward-in-forward-mode",
        "biases",
        "last-layer",
        "floats",
        "no-batch",
    ],
)
def test_multiplication_slips(solution, old, new, phrase):
    assert_fails("9.3", slipped(solution, "9.3", old, new), solution, phrase)


def test_parameters_off_by_one_is_named(solution):
    namespace = slipped(
        solution, "9.3", '"parameters": weight_count', '"parameters": weight_count + 1'
    )
    assert_fails("9.3", namespace, solution, "It is one too many")


def test_multiplications_by_a_loop_over_the_products_pass(solution):
    source = """
    def multiplications(sizes, N):
        shapes = [(N, a, b) for a, b in zip(sizes, sizes[1:])]  # (N, a) @ (a, b)
        forward = sum(n * a * b for n, a, b in shapes)
        grads_W = sum(a * n * b for n, a, b in shapes)  # A^T (a, N) @ dZ (N, b)
        grads_A = sum(n * b * a for n, a, b in shapes[1:])  # dZ (N, b) @ W^T (b, a)
        tangent = sum(n * a * b * (1 if l == 0 else 2) for l, (n, a, b) in enumerate(shapes))
        weights = sum(a * b for _, a, b in shapes)
        return {"forward": forward, "backward": grads_W + grads_A,
                "reverse_mode": forward + grads_W + grads_A,
                "forward_mode": forward + weights * tangent, "parameters": weights}
    """
    passes("9.3", variant(solution, source), solution)


@pytest.mark.parametrize("kind", ["defaultdict", "OrderedDict", "Counter"])
def test_multiplications_in_a_dict_subclass_pass(solution, kind):
    source = f"""
    import collections

    def multiplications(sizes, N):
        counts = collections.{kind}()
        for layer, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            counts["parameters"] = counts.get("parameters", 0) + a * b
            counts["forward"] = counts.get("forward", 0) + N * a * b
            counts["backward"] = counts.get("backward", 0) + N * a * b * (1 if layer == 0 else 2)
        counts["reverse_mode"] = counts["forward"] + counts["backward"]
        counts["forward_mode"] = counts["forward"] + counts["parameters"] * counts["backward"]
        return counts
    """
    passes("9.3", variant(solution, source), solution)


def test_forward_mode_that_skips_zero_tangents_is_told_to_count_densely(solution):
    # Skipping the products that are zero for a weight gives F + P F; the hint says both ways.
    namespace = slipped(
        solution,
        "9.3",
        '"forward_mode": one_pass + weight_count * sweep',
        '"forward_mode": one_pass + weight_count * one_pass',
    )
    assert_fails("9.3", namespace, solution, "counted densely in every layer")


def test_multiplications_hard_coded_fail_hidden(solution):
    cheat = replaying(solution, "9.3", "multiplications")
    for seed in (1, 2):
        assert "multiplications([" in hidden("9.3", cheat, solution, seed)
