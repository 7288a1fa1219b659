"""Checks of the exercises of chapter 3, backpropagation."""

from __future__ import annotations

import numpy as np

from ...activations import sigmoid
from ...gradcheck import numerical_gradient
from ..checks import CheckError, expect_array, fail, results_per_case
from ..compare import expect_close, gradient_tolerance
from ..definition import ExerciseDefinition, register


def _elementwise_fd(f, Z: np.ndarray, G: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """dL/dZ for L = sum(G * f(Z)) with f elementwise, by central differences (all at once)."""
    return G * (f(Z + h) - f(Z - h)) / (2 * h)


@register
class ChainRuleByHand(ExerciseDefinition):
    """3.1: grad_f(x, y, z) for f = sigmoid(x y + z)."""

    id, answers, visible_seed = "3.1", ("grad_f",), 31

    def draw(self, rng, hidden):
        if not hidden:
            return {"points": [(-2.0, 5.0, -4.0), (0.5, 0.25, 1.0), (1.5, -2.0, 0.0)]}, {}
        points = rng.uniform(-2.0, 2.0, (6, 3))
        return {"points": [tuple(float(v) for v in p) for p in points]}, {}

    def respond(self, inputs, grad_f):
        return {"grads": [grad_f(*point) for point in inputs["points"]]}

    def reference(self, inputs, secrets):
        def gradient(point):
            v = np.array(point)
            return numerical_gradient(lambda: float(sigmoid(v[0] * v[1] + v[2])), v)

        return {"grads": [gradient(point) for point in inputs["points"]]}

    def judge(self, response, expected, inputs, secrets, hidden):
        message = "grad_f did not return one value per point."
        grads = results_per_case(
            response, "grads", len(inputs["points"]), "grad_f", message=message
        )
        for point, got, want in zip(inputs["points"], grads, expected["grads"], strict=True):
            name = f"grad_f{tuple(round(v, 4) for v in point)}"
            expect_close(got, want, name, **gradient_tolerance(hidden))


def _leaky(Z, alpha):
    return np.where(Z > 0, Z, alpha * Z)


def _away_from_zero(Z: np.ndarray, margin: float) -> np.ndarray:
    """Z with every entry at least ``margin`` from 0 (finite differences mislead at a kink)."""
    return np.where(np.abs(Z) < margin, np.copysign(margin, Z) + Z, Z)


@register
class LeakyReLUBackward(ExerciseDefinition):
    """3.2: the backward pass of a leaky ReLU module."""

    id, answers, visible_seed = "3.2", ("LeakyReLU",), 32

    def draw(self, rng, hidden):
        shape, alpha = ((48, 40), float(rng.uniform(0.05, 0.3))) if hidden else ((6, 4), 0.1)
        scale = 3.0 if hidden else 1.0
        Z = _away_from_zero(scale * rng.standard_normal(shape), 0.01)
        Z2 = _away_from_zero(scale * rng.standard_normal(shape), 0.01)
        if hidden:
            # A tenth of the entries within 1e-9 to 1e-3 of the kink: a derivation is exact
            # there, finite differences of any fixed step straddle the kink for some of them.
            near = rng.random(shape) < 0.1
            tiny = np.exp(rng.uniform(np.log(1e-9), np.log(1e-3), shape))
            Z = np.where(near, np.copysign(tiny, rng.standard_normal(shape)), Z)
        G, G2 = rng.standard_normal(shape), rng.standard_normal(shape)
        return {"alpha": alpha, "Z": Z, "G": G, "Z2": Z2, "G2": G2}, {}

    def respond(self, inputs, LeakyReLU):  # noqa: N803 (the answer's name)
        layer = LeakyReLU(alpha=inputs["alpha"])
        A = layer.forward(inputs["Z"].copy())
        grad = layer.backward(inputs["G"].copy())
        # A second pass through the same layer: backward must use the latest forward's input.
        layer.forward(inputs["Z2"].copy())
        return {"A": A, "grad_Z": grad, "grad_Z2": layer.backward(inputs["G2"].copy())}

    def reference(self, inputs, secrets):
        alpha = inputs["alpha"]

        def f(Z):
            return _leaky(Z, alpha)

        return {
            "A": f(inputs["Z"]),
            "grad_Z": _elementwise_fd(f, inputs["Z"], inputs["G"]),
            "grad_Z2": _elementwise_fd(f, inputs["Z2"], inputs["G2"]),
        }

    def judge(self, response, expected, inputs, secrets, hidden):
        layer = f"LeakyReLU({inputs['alpha']:.3g})"
        expect_close(response.get("A"), expected["A"], f"{layer}.forward(Z)", rtol=1e-12)
        tolerance = gradient_tolerance(hidden)
        name = f"the input gradient dL/dZ that {layer}.backward(grad_A) returned"
        try:
            expect_close(response.get("grad_Z"), expected["grad_Z"], name, **tolerance)
        except CheckError as exc:
            hint = _leaky_hint(response.get("grad_Z"), expected["grad_Z"], inputs["Z"])
            fail(f"{exc} {hint}".strip())
        name = f"{name} after a second forward pass (on another Z)"
        try:
            expect_close(response.get("grad_Z2"), expected["grad_Z2"], name, **tolerance)
        except CheckError as exc:
            fail(f"{exc} Does backward use the input of the latest forward call?")


def _leaky_hint(got, want, Z) -> str:
    """Which side of the kink a wrong leaky-ReLU gradient gets wrong, if only one."""
    if type(got) is not np.ndarray or got.shape != Z.shape or not np.all(np.isfinite(got)):
        return ""
    off = np.abs(got - want) > 1e-6 * np.max(np.abs(want))
    if np.array_equal(off, Z <= 0):
        return "Exactly the entries where Z <= 0 are off: there the slope is alpha."
    if np.array_equal(off, Z > 0):
        return "Exactly the entries where Z > 0 are off: there the slope is 1."
    return ""


def _standardize(X, eps):
    mu = X.mean(axis=1, keepdims=True)
    return (X - mu) / np.sqrt(X.var(axis=1, keepdims=True) + eps)


def _standardize_hint(grad: np.ndarray, X: np.ndarray, eps: float) -> str:
    """Which path of exercise 3.3 a wrong gradient lacks, from two invariances of the forward
    pass: adding a constant to a row changes no output, so every row of dL/dX sums to 0 (the
    path through mu makes sure of that); scaling a row about its mean changes the outputs only
    through eps, so sum_j (X_nj - mu_n) dL/dX_nj is almost 0 (the path through sigma)."""
    if type(grad) is not np.ndarray or grad.shape != X.shape or not np.all(np.isfinite(grad)):
        return ""
    size = float(np.max(np.abs(grad), initial=0.0)) * X.shape[1]
    if size == 0.0:
        return ""
    centred = X - X.mean(axis=1, keepdims=True)
    var = X.var(axis=1)
    shift = np.abs(grad.sum(axis=1)) / size
    stretch = np.abs((centred * grad).sum(axis=1)) / (size * np.abs(centred).max(axis=1))
    allowed = 1e-6 + 2 * eps / var.min()
    if np.max(shift) > 1e-6:
        return (
            "Its rows do not sum to 0, yet adding a constant to a row of X changes no output of "
            "Standardize: the path through the mean mu_n is missing or wrong."
        )
    if np.max(stretch) > allowed:
        return (
            "Scaling a row of X about its mean leaves the outputs (almost) unchanged, but not "
            "your gradient's prediction: the path through sigma_n is missing or wrong."
        )
    return ""


@register
class StandardizeBackward(ExerciseDefinition):
    """3.3: the backward pass of per-row standardization, derived."""

    id, answers, visible_seed = "3.3", ("Standardize",), 33

    def draw(self, rng, hidden):
        if not hidden:
            X = rng.standard_normal((4, 5)) * 2.0 + 1.0
            return {"eps": 1e-5, "X": X, "G": rng.standard_normal((4, 5))}, {}
        N, D = int(rng.integers(24, 40)), int(rng.integers(30, 60))
        scale = rng.uniform(0.5, 4.0, (N, 1))
        X = rng.standard_normal((N, D)) * scale + rng.uniform(-3.0, 3.0, (N, 1))
        eps = float(rng.choice([1e-5, 1e-3]))
        return {"eps": eps, "X": X, "G": rng.standard_normal((N, D))}, {}

    def respond(self, inputs, Standardize):  # noqa: N803 (the answer's name)
        layer = Standardize(eps=inputs["eps"])
        Y = layer.forward(inputs["X"].copy())
        return {"Y": Y, "grad_X": layer.backward(inputs["G"].copy())}

    def reference(self, inputs, secrets):
        X, G, eps = inputs["X"], inputs["G"], inputs["eps"]
        numerical = numerical_gradient(lambda: float(np.sum(G * _standardize(X, eps))), X)
        return {"Y": _standardize(X, eps), "grad_X": numerical}

    def judge(self, response, expected, inputs, secrets, hidden):
        X = inputs["X"]
        layer = f"Standardize(eps={inputs['eps']:g})"
        expect_close(
            response.get("Y"), expected["Y"], f"{layer}.forward(X)", rtol=1e-10, atol=1e-12
        )
        name = f"the input gradient dL/dX that {layer}.backward(grad_Y) returned"
        try:
            expect_array(response.get("grad_X"), name, shape=X.shape, dtype="float")
            tolerance = gradient_tolerance(hidden)
            expect_close(response.get("grad_X"), expected["grad_X"], name, **tolerance)
        except CheckError as exc:
            hint = _standardize_hint(response.get("grad_X"), X, inputs["eps"])
            fail(f"{exc} {hint}" if hint else str(exc))
