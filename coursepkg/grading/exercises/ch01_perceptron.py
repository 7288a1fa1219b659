"""Checks of the exercises of chapter 1, the perceptron."""

from __future__ import annotations

import numpy as np

from ...datasets import make_linearly_separable
from ...gradcheck import numerical_gradient
from ...losses import BinaryCrossEntropy
from ..checks import (
    CheckError,
    expect_array,
    expect_float,
    expect_int,
    expect_true,
    expect_tuple,
    fail,
)
from ..compare import DERIVED_RTOL, expect_close, expect_close_float
from ..definition import ExerciseDefinition, register

CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
"""The four inputs of a two-input logic gate."""

_GATES = {
    (1, 1, 1, 0): "NAND",
    (0, 0, 0, 1): "AND",
    (0, 1, 1, 1): "OR",
    (1, 0, 0, 0): "NOR",
    (0, 1, 1, 0): "XOR",
    (1, 0, 0, 1): "XNOR",
}


def _corner(x: np.ndarray) -> str:
    return f"({x[0]:g}, {x[1]:g})"


def _nand_hint(z: np.ndarray, outputs: np.ndarray, corners: np.ndarray) -> str:
    """What a wrong NAND neuron computes instead: a point on the boundary, or another gate."""
    wrong = np.flatnonzero(outputs != np.array([1, 1, 1, 0]))
    on_boundary = [i for i in wrong if z[i] == 0.0]
    if on_boundary:
        where = ", ".join(_corner(corners[i]) for i in on_boundary)
        return (
            f"w^T x + b is exactly 0 at {where}, where the neuron outputs 0: it fires only "
            "where w^T x + b > 0 (strictly)."
        )
    gate = _GATES.get(tuple(int(v) for v in outputs))
    if gate == "AND":
        return "These are the outputs of AND, NAND's opposite: flip the signs of w and b."
    if gate:
        return f"These are the outputs of {gate}."
    return ""


@register
class NandNeuron(ExerciseDefinition):
    """1.1: the weights and bias of a threshold neuron that computes NAND."""

    id, answers, visible_seed = "1.1", ("w_nand", "b_nand"), 11

    def draw(self, rng, hidden):
        # The answer is two constants: the four corners are all a gate has, visible or hidden.
        return {"corners": CORNERS.copy()}, {}

    def respond(self, inputs, w_nand, b_nand):
        return {"w_nand": w_nand, "b_nand": b_nand}

    def judge(self, response, expected, inputs, secrets, hidden):
        w = expect_array(response.get("w_nand"), "w_nand", shape=(2,), dtype="float")
        b = expect_float(response.get("b_nand"), "b_nand")
        corners = inputs["corners"]
        with np.errstate(all="ignore"):  # huge weights give inf, and the outputs say so
            z = corners @ w.astype(np.float64) + b
        outputs = (z > 0).astype(int)
        try:
            expect_array(
                outputs,
                "the neuron's outputs on (0,0), (0,1), (1,0), (1,1)",
                reference=[1, 1, 1, 0],
            )
        except CheckError as exc:
            hint = _nand_hint(z, outputs, corners)
            fail(f"{exc} {hint}" if hint else str(exc))


def _epoch_hint(run, w0, b0, w, b, updates, want) -> str:
    """The likely slip of a wrong margin-perceptron epoch that started from (w0, b0), or ``""``.

    ``want`` is the expected (w, b, updates) of the epoch."""
    X, t, eta, margin = run["X"], run["t"], run["eta"], run["margin"]
    want_w, want_b, want_updates = np.asarray(want[0], dtype=float), float(want[1]), int(want[2])
    with np.errstate(all="ignore"):
        margins = t * (X @ w0 + b0)
        steps_w, steps_b = (w - w0) * eta, (b - b0) * eta
    unchanged = np.array_equal(w, w0) and b == b0
    if unchanged and updates == 0 and want_updates > 0 and np.any(margins == margin):
        return (
            f"No update was made, yet some samples have t_n (w^T x_n + b) exactly equal to the "
            f"margin {margin:g}: such a point is updated too (<= margin, not < margin)."
        )
    if updates == int(np.sum(margins <= margin)) != want_updates:
        return (
            f"Your {updates} updates are the samples the starting line leaves within the margin: "
            "the rule visits the samples one at a time and updates w and b at once, so later "
            "samples are judged by the updated line."
        )
    if updates > 0 and b == b0 != want_b and np.allclose(w, want_w, rtol=1e-12, atol=1e-12):
        return (
            f"b is still the b passed in after {updates} updates: does every update also "
            "change the bias, b <- b + eta t_n?"
        )
    if updates == want_updates and eta != 1 and np.allclose(w - w0, want_w - w0, rtol=1e-12):
        if np.isclose(b - b0, (want_b - b0) / eta, rtol=1e-12):
            return f"The bias step is t_n, not eta t_n: the learning rate eta = {eta:g} is missing."
    same_w = np.allclose(steps_w, want_w - w0, rtol=1e-12, atol=1e-12)
    if updates == want_updates and eta != 1 and same_w and np.isclose(steps_b, want_b - b0):
        return (
            f"Each step is t_n x_n; the rule scales it by the learning rate, eta = {eta:g}: "
            "w <- w + eta t_n x_n, b <- b + eta t_n."
        )
    if updates < want_updates and margin > 0:
        return (
            f"Fewer updates than the rule makes: a sample is updated when t_n (w^T x_n + b) "
            f"<= margin = {margin:g}, also when it is on the right side but too close to the "
            "line, not only when it is wrong (<= 0)."
        )
    return ""


def _epoch_result(result, label: str, epoch: int) -> tuple[np.ndarray, float, int]:
    """The (w, b, updates) of one call, type-checked."""
    call = f"margin_perceptron_epoch (epoch {epoch} {label})"
    expect_tuple(result, 3, call, "(w, b, updates)", lists=True)
    w = expect_array(result[0], f"w after epoch {epoch} {label}", shape=(2,), dtype="float")
    b = expect_float(result[1], f"b after epoch {epoch} {label}")
    updates = expect_int(result[2], f"the number of updates in epoch {epoch} {label}")
    return w.astype(np.float64), b, updates


def _run_label(X: np.ndarray, w: np.ndarray, b: float, eta: float, margin: float, what) -> str:
    start = "w = 0 and b = 0" if not np.any(w) and b == 0 else f"w = {w.tolist()}, b = {b:g}"
    return f"on the {len(X)} {what} with eta = {eta:g} and margin = {margin:g}, from {start}"


def _separable_grid_points(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """20 to 40 points on a grid of step 1/4 in [-3, 3]^2, at least 0.4 from a random line.

    Coordinates, weights and biases that are multiples of 1/4 (and learning rates and margins
    that are multiples of 1/4 too) keep every sum and product of a perceptron epoch exact in
    floating point, so that the instructor's epochs and any correct answer agree to the last
    bit, and a point exactly on the margin is exactly on it.
    """
    n = int(rng.integers(20, 41))
    angle, offset = rng.uniform(0.0, 2 * np.pi), rng.uniform(-1.0, 1.0)
    normal = np.array([np.cos(angle), np.sin(angle)])
    while True:
        X = rng.integers(-12, 13, (8 * n, 2)) / 4.0
        side = X @ normal + offset
        keep = np.abs(side) >= 0.4
        X, t = X[keep][:n], np.where(side[keep][:n] > 0, 1, -1)
        if len(X) == n and 2 <= np.sum(t == 1) <= n - 2:
            return X, t


@register
class PerceptronEpoch(ExerciseDefinition):
    """1.2: one epoch of the perceptron rule with a learning rate and a margin."""

    id, answers, visible_seed = "1.2", ("margin_perceptron_epoch",), 12

    def draw(self, rng, hidden):
        if not hidden:
            X_small = np.array([[1.0, 2.0], [-1.0, -1.5], [2.0, -0.5], [-2.0, 1.0]])
            t_small = np.array([1, -1, 1, -1])
            X_sep, y_sep = make_linearly_separable(60, std=0.5, seed=3)
            zeros = np.zeros(2)
            runs = [  # (X, t, eta, margin, epochs, what)
                (X_small, t_small, 0.5, 1.0, 1, "samples"),
                (X_small, t_small, 1.0, 0.0, 1, "samples"),
                (X_sep, 2 * y_sep - 1, 0.5, 2.0, 20, "separable points"),
            ]
            runs = [
                {
                    "X": X,
                    "t": t,
                    "w": zeros,
                    "b": 0.0,
                    "eta": eta,
                    "margin": margin,
                    "epochs": epochs,
                    "label": _run_label(X, zeros, 0.0, eta, margin, what),
                }
                for X, t, eta, margin, epochs, what in runs
            ]
            runs[2]["converge"] = True
            return {"runs": runs}, {}
        X, t = _separable_grid_points(rng)
        # From zeros with margin 0, the first sample lies exactly on the margin (the "<=" case);
        # from a random start the epochs follow another path. Learning rates other than 1 and
        # margins other than 0 show a missing eta or margin.
        random_start = (rng.integers(-8, 9, 2) / 4.0, int(rng.integers(-8, 9)) / 4)
        starts = [(np.zeros(2), 0.0, 0.0), (np.zeros(2), 0.0, None), (*random_start, None)]
        runs = []
        for w, b, margin in starts:
            eta = float(rng.choice([0.25, 0.5, 0.75, 1.5, 2.0]))
            margin = int(rng.integers(1, 9)) / 4 if margin is None else margin
            label = _run_label(X, w, b, eta, margin, "new points")
            run = {"X": X, "t": t, "w": w, "b": float(b), "eta": eta, "margin": margin}
            runs.append({**run, "epochs": 6, "label": label})
        return {"runs": runs}, {}

    def respond(self, inputs, margin_perceptron_epoch):
        results, given = [], []
        for run in inputs["runs"]:
            w, b = run["w"], run["b"]
            run_results, run_given = [], []
            for _ in range(run["epochs"]):
                # A copy per call: afterwards it shows whether the answer changed the w passed in.
                w_in = w.copy() if type(w) is np.ndarray else w
                X, t = run["X"].copy(), run["t"].copy()
                result = margin_perceptron_epoch(X, t, w_in, b, run["eta"], run["margin"])
                run_results.append(result)
                run_given.append(w_in)
                if type(result) not in (tuple, list) or len(result) != 3:
                    break  # the judge reports it; the next epoch would have no w and b
                w, b = result[0], result[1]
            results.append(run_results)
            given.append(run_given)
        return {"results": results, "w_given": given}

    def reference(self, inputs, secrets):
        # Known values for the four samples, worked by hand. With eta = 1/2 and margin 1:
        # sample 1 has t (w^T x + b) = 0 <= 1, so w = (1/2, 1), b = 1/2; sample 2 then has 3/2
        # (no update); sample 3 has exactly 1 (an update: w = (3/2, 3/4), b = 1); sample 4 has
        # 5/4 (no update). With eta = 1 and margin 0 (Rosenblatt's rule): sample 1 lies on the
        # boundary and sample 4 is misclassified by w = (1, 2), b = 1, so w = (1, 2) - (-2, 1)
        # and b = 1 - 1. The separable run is judged by the convergence criterion.
        return {
            "results": [
                [(np.array([1.5, 0.75]), 1.0, 2)],
                [(np.array([3.0, 1.0]), 0.0, 2)],
                None,
            ]
        }

    def judge(self, response, expected, inputs, secrets, hidden):
        runs = inputs["runs"]
        results, given = response.get("results"), response.get("w_given")
        lists = type(results) is list and type(given) is list
        if not lists or not len(results) == len(given) == len(runs):
            fail("the check received no results of margin_perceptron_epoch.")
        wanted_runs = expected["results"]
        for run, steps, w_given, wanted in zip(runs, results, given, wanted_runs, strict=True):
            self._judge_run(run, steps, w_given, wanted)

    def _judge_run(self, run, steps, w_given, wanted) -> None:
        X, t, label, margin = run["X"], run["t"], run["label"], run["margin"]
        if type(steps) is not list or type(w_given) is not list or len(w_given) != len(steps):
            fail(f"the check received no results of margin_perceptron_epoch {label}.")
        w, b, history = run["w"], run["b"], []
        for epoch in range(1, run["epochs"] + 1):
            if len(steps) < epoch:
                fail(f"margin_perceptron_epoch gave no result for epoch {epoch} {label}.")
            new_w, new_b, updates = _epoch_result(steps[epoch - 1], label, epoch)
            if wanted is not None:
                want = wanted[epoch - 1]
                try:
                    expect_close(new_w, want[0], f"w after epoch {epoch} {label}", rtol=1e-12)
                    name = f"b after epoch {epoch} {label}"
                    expect_close_float(new_b, float(want[1]), name, rtol=1e-12, atol=1e-12)
                    name = f"the number of updates in epoch {epoch} {label}"
                    expect_int(updates, name, reference=int(want[2]))
                except CheckError as exc:
                    hint = _epoch_hint(run, w, b, new_w, new_b, updates, want)
                    fail(f"{exc} {hint}" if hint else str(exc))
            passed = w_given[epoch - 1]
            if type(passed) is not np.ndarray or not np.array_equal(passed, w):
                fail(
                    f"margin_perceptron_epoch changed the w passed in (epoch {epoch} {label}): "
                    "it must stay as it was; update a copy, e.g. w = np.array(w, dtype=float)."
                )
            w, b = new_w, new_b
            history.append(updates)
        if run.get("converge"):
            epochs = run["epochs"]
            expect_true(
                history[0] > 0 and history[-1] == 0,
                f"on separable data the updates should fall to 0 within {epochs} epochs, "
                f"got {history}.",
            )
            with np.errstate(all="ignore"):
                outside = float(np.mean(t * (X @ w + b) > margin))
            expect_true(
                outside == 1.0,
                f"after an epoch without updates every point should lie beyond the margin, "
                f"t_n (w^T x_n + b) > {margin:g}; {outside:.1%} of the points do.",
            )


def _bce_loss(X, t, w, b) -> float:
    return BinaryCrossEntropy()(X @ w + b[0], t)


@register
class BCEGradients(ExerciseDefinition):
    """1.3: the gradient of the mean binary cross-entropy of a logistic neuron, derived."""

    id, answers, visible_seed = "1.3", ("bce_gradients",), 13

    def draw(self, rng, hidden):
        if not hidden:
            X = rng.standard_normal((9, 2))
            t = (rng.random(9) < 0.5).astype(float)
            w, b = rng.standard_normal(2), 0.3
            return {"X": X, "t": t, "w": w, "b": b}, {}
        # Large weights make the loss large next to its gradient, so that the rounding error of
        # a finite difference of the loss stays far above DERIVED_RTOL. Measured on 200 grading
        # seeds, relative to the gradient's largest entry: central differences
        # (cp.numerical_gradient) are off by 9e-11 at least (median 1.2e-9) with the default
        # step 1e-6, by 2.8e-11 at least with step 1e-5; derived forms (mean, sum / N, X.T @ r,
        # einsum, a sigmoid of one's own) by 2.2e-15 at most.
        n = int(rng.integers(300, 601))
        X = rng.standard_normal((n, 2)) * rng.uniform(0.5, 2.0) + rng.uniform(-1.0, 1.0, 2)
        t = (rng.random(n) < 0.5).astype(float)
        w = rng.standard_normal(2) * rng.uniform(8.0, 16.0)
        return {"X": X, "t": t, "w": w, "b": float(rng.uniform(-2.0, 2.0))}, {}

    def respond(self, inputs, bce_gradients):
        X, t, w = inputs["X"].copy(), inputs["t"].copy(), inputs["w"].copy()
        return {"result": bce_gradients(X, t, w, float(inputs["b"]))}

    def reference(self, inputs, secrets):
        X, t, w, b = inputs["X"], inputs["t"], inputs["w"].copy(), np.array([inputs["b"]])
        grad_w = numerical_gradient(lambda: _bce_loss(X, t, w, b), w)
        grad_b = float(numerical_gradient(lambda: _bce_loss(X, t, w, b), b)[0])
        return {"result": (grad_w, grad_b)}

    def judge(self, response, expected, inputs, secrets, hidden):
        result = response.get("result")
        grad_w, grad_b = expect_tuple(result, 2, "bce_gradients", "(grad_w, grad_b)", lists=True)
        want_w, want_b = expected["result"]
        want_w, want_b = np.asarray(want_w, dtype=np.float64), float(want_b)
        n = len(inputs["t"])
        name_w, name_b = "grad_w (dL/dw)", "grad_b (dL/db)"
        if not hidden:  # against finite differences, as closely as they reach
            expect_close(grad_w, want_w, name_w, rtol=1e-5, atol=1e-9, batch_size=n)
            expect_close_float(grad_b, want_b, name_b, rtol=1e-5, atol=1e-9, batch_size=n)
            return
        # A derivation is exact up to rounding; the tolerance is relative to the largest entry
        # of the whole gradient (w and b), since either part may be small by cancellation.
        scale = max(float(np.max(np.abs(want_w))), abs(want_b))
        atol = DERIVED_RTOL * scale
        expect_close(grad_w, want_w, name_w, rtol=0.0, atol=atol, batch_size=n, derived=True)
        number = expect_float(grad_b, name_b)
        error = abs(number - want_b) / scale
        if DERIVED_RTOL < error < 1e-4:  # what expect_close(derived=True) says for arrays
            fail(
                f"{name_b} agrees with the derived value only to {error:.0e} of the gradient's "
                "size; a derived gradient is exact up to rounding (about 1e-15), finite "
                "differences are not. This exercise asks for the derivation: compute the "
                "gradient from your formula."
            )
        expect_close_float(number, want_b, name_b, rtol=0.0, atol=atol, batch_size=n)
