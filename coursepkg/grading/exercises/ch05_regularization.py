"""Checks of the exercises of chapter 5, regularization.

The visible checks take their expected values from the package (``GaussianPrior``,
``EarlyStopping``, ``Dropout``), from central differences or from values known by hand. The
hidden checks compare with the instructor's answers on fresh inputs; exercise 5.5, a choice of
the weight decay, is judged by the error of the student's network on fresh points of sin(2 pi x).
"""

from __future__ import annotations

import numpy as np

from ...activations import Tanh
from ...datasets import make_sinusoid
from ...dropout import Dropout
from ...early_stopping import EarlyStopping
from ...gradcheck import grad_check, numerical_gradient
from ...linear import Linear
from ...losses import MeanSquaredError
from ...module import Module, Parameter, Sequential
from ...optim import Adam
from ...prior import GaussianPrior
from ...training import train
from ..checks import (
    FLOAT_TYPES,
    INTEGER_TYPES,
    CheckError,
    expect_array,
    expect_float,
    expect_int,
    expect_true,
    expect_tuple,
    fail,
)
from ..compare import (
    close_to,
    diagnose,
    expect_close,
    expect_close_float,
    gradient_tolerance,
    named_factor,
)
from ..definition import ExerciseDefinition, register

# Helpers shared by the exercises ------------------------------------------------------------


def _field(response: dict, key: str, count: int | None = None):
    """``response[key]``, and a list of ``count`` items if ``count`` is given; fails clearly
    for a response that lacks it (the answer's respond builds it, so only a response that did
    not come from ``respond`` can)."""
    if key not in response:
        fail(f"the check received no {key!r} from your answer; run the answer cell again.")
    value = response[key]
    if count is not None and (type(value) is not list or len(value) != count):
        fail(f"the check received an unreadable {key!r} from your answer.")
    return value


def _log_uniform(rng, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _hidden_shapes(rng, count: int = 4) -> list[tuple[int, ...]]:
    """``count`` shapes of 1 to 4 axes in random order, one of them with a few thousand entries
    (on which a finite-difference gradient is off by more than ``DERIVED_RTOL``), the others with
    at least 64."""
    shapes = [
        (int(rng.integers(40, 70)), int(rng.integers(40, 70))),
        (int(rng.integers(64, 300)),),
        tuple(int(n) for n in rng.integers(4, 8, 3)),
        tuple(int(n) for n in rng.integers(3, 6, 4)),
    ]
    chosen = [shapes[0]] + [shapes[i] for i in 1 + rng.permutation(3)[: count - 1]]
    return [chosen[i] for i in rng.permutation(count)]


# 5.1 -------------------------------------------------------------------------------------------


def _prior_parts(w: np.ndarray, sigma: float) -> tuple[float, float]:
    """``(penalty, constant)`` of -log p(w) = penalty + constant, from ``GaussianPrior``."""
    prior, param = GaussianPrior(sigma), [Parameter(w, "w")]
    penalty = prior.penalty(param)
    return penalty, -prior.log_prob(param) - penalty


def _log_prior_hint(value: float, expected: float, w: np.ndarray, sigma: float) -> str:
    """The slip that turns the right log p(w) into ``value``, from the parts of -log p(w)."""
    penalty, constant = _prior_parts(w, sigma)
    size = w.size
    slips = [
        (constant, f"the normalizing constant -(M/2) log(2 pi sigma^2) is missing (M = {size})"),
        (
            constant * (size - 1) / size,
            "the normalizing constant is there once, but each of the M = "
            f"{size} elements has its own -1/2 log(2 pi sigma^2)",
        ),
        (-penalty, "the squared weights are divided by sigma^2, not by 2 sigma^2"),
        (penalty * (1 - sigma), "the squared weights are divided by 2 sigma, not 2 sigma^2"),
        (0.5 * size * np.log(sigma), "the constant has log(2 pi sigma) for log(2 pi sigma^2)"),
        (expected / size - expected, "it is the mean over the elements, not the sum"),
        (-2 * expected, "it is -log p(w), not log p(w): a flipped sign"),
    ]
    scale = penalty + abs(constant)
    for shift, text in slips:
        if abs(value - (expected + shift)) <= 1e-8 * scale:
            return f"; {text}."
    return "."


@register
class GaussianLogPrior(ExerciseDefinition):
    """5.1: the Gaussian log-prior log p(w) and the gradient of -log p(w)."""

    id, answers, visible_seed = "5.1", ("log_prior", "penalty_grad"), 51

    def draw(self, rng, hidden):
        if not hidden:
            specs = [((5,), 1.0), ((3, 4), 0.5), ((2, 3, 2), 2.0)]
            cases = [{"w": rng.standard_normal(shape), "sigma": sigma} for shape, sigma in specs]
            return {"cases": cases}, {}
        cases = []
        for shape in _hidden_shapes(rng):
            sigma = _log_uniform(rng, 0.1, 5.0)
            cases.append({"w": rng.uniform(1.0, 4.0) * rng.standard_normal(shape), "sigma": sigma})
        return {"cases": cases}, {}

    def respond(self, inputs, log_prior, penalty_grad):
        values, grads = [], []
        for case in inputs["cases"]:
            values.append(log_prior(case["w"].copy(), case["sigma"]))
            grads.append(penalty_grad(case["w"].copy(), case["sigma"]))
        return {"log_priors": values, "grads": grads}

    def reference(self, inputs, secrets):
        values, grads = [], []
        for case in inputs["cases"]:
            prior, param = GaussianPrior(case["sigma"]), Parameter(case["w"], "w")
            values.append(prior.log_prob([param]))
            prior.add_penalty_grad([param])
            grads.append(param.grad)
        return {"log_priors": values, "grads": grads}

    def judge(self, response, expected, inputs, secrets, hidden):
        cases = inputs["cases"]
        values = _field(response, "log_priors", len(cases))
        grads = _field(response, "grads", len(cases))
        for i, case in enumerate(cases):
            w, sigma = case["w"], case["sigma"]
            where = f"(w of shape {w.shape}, sigma={sigma:.4g})"
            name = f"log_prior{where}"
            value, want = expect_float(values[i], name), float(expected["log_priors"][i])
            # Hidden: rounding error relative to the sizes of the two terms, which may cancel.
            penalty, constant = _prior_parts(w, sigma)
            allowed = 1e-11 * (penalty + abs(constant)) if hidden else 1e-10 * abs(want)
            if not abs(value - want) <= allowed:
                hint = _log_prior_hint(value, want, w, sigma)
                fail(f"{name} is {value:.10g}, expected {want:.10g}{hint}")
            hints = [
                (sigma, "It is w / sigma: the gradient of w^2 / (2 sigma^2) is w / sigma^2."),
                (
                    -1.0,
                    "It has the opposite sign: the gradient of log p(w), where the exercise asks "
                    "for that of -log p(w).",
                ),
            ]
            tolerance = gradient_tolerance(hidden, {"rtol": 1e-10, "atol": 1e-12, "derived": True})
            name = f"penalty_grad{where}"
            expect_close(grads[i], expected["grads"][i], name, factors=hints, **tolerance)


# 5.2 -------------------------------------------------------------------------------------------

_LOSSES = ("mean", "sum", "half_sum")


def _data_gradient(loss: str, X: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Gradient with respect to w of the data loss of the linear model (residuals r = X w - t),
    for each way of scaling it (the exercise text)."""
    N = X.shape[0]
    return {"mean": 2 * X.T @ r / N, "sum": 2 * X.T @ r, "half_sum": X.T @ r}[loss]


def _multiples(lam: float, X, t, case) -> list[float]:
    """For each w of the case: c with grad L + lam w = c grad(-log p(w | D)), or NaN if the two
    gradients are not parallel."""
    s, sigma = case["s"], case["sigma"]
    factors = []
    with np.errstate(all="ignore"):
        for w in case["ws"]:
            r = X @ w - t
            g_regularized = _data_gradient(case["loss"], X, r) + lam * w
            g_posterior = X.T @ r / s**2 + w / sigma**2  # gradient of -log p(w | D)
            c = float(g_regularized @ g_posterior / (g_posterior @ g_posterior))
            parallel = np.allclose(g_regularized, c * g_posterior, rtol=1e-9, atol=1e-12)
            factors.append(c if parallel else np.nan)
    return factors


def _parallel_lambda(X, t, case) -> float:
    """The lambda that makes grad L + lambda w parallel to grad(-log p(w | D)) at the case's w,
    by least squares in (lambda, c) (for naming a slip, never shown)."""
    rows, rhs = [], []
    for w in case["ws"]:
        r = X @ w - t
        g_posterior = X.T @ r / case["s"] ** 2 + w / case["sigma"] ** 2
        rows.append(np.stack([w, -g_posterior], axis=1))
        rhs.append(-_data_gradient(case["loss"], X, r))
    solution = np.linalg.lstsq(np.concatenate(rows), np.concatenate(rhs), rcond=None)[0]
    return float(solution[0])


def _weight_decay_hint(lam: float, X, t, case, N: int) -> str:
    target = _parallel_lambda(X, t, case)
    s, sigma = case["s"], case["sigma"]
    slip = diagnose(np.array([lam]), np.array([target]), batch_size=N)
    if not slip:
        named = [
            (1 / s**2, "it lacks the factor s^2 (the noise variance)"),
            (1 / s, "it has s where s^2 belongs"),
            (s**2, "it has s^2 one time too many"),
            (sigma, "it has sigma where sigma^2 belongs"),
        ]
        slip = named_factor(np.array([lam]), np.array([target]), named)
    return f" Compared with the lambda that works, {slip}." if slip else ""


@register
class WeightDecayForPrior(ExerciseDefinition):
    """5.2: the weight decay that makes a regularized loss the negative log-posterior."""

    id, answers, visible_seed = "5.2", ("weight_decay_for",), 52

    def draw(self, rng, hidden):
        if not hidden:
            N, D, params = 7, 3, [(0.3, 2.0), (1.5, 0.5)]
            X, t = rng.standard_normal((N, D)), rng.standard_normal(N)
            cases = [
                {"loss": loss, "s": s, "sigma": sigma, "ws": rng.standard_normal((4, D))}
                for loss in _LOSSES
                for s, sigma in params
            ]
            return {"N": N, "X": X, "t": t, "cases": cases}, {}
        N, D = int(rng.integers(20, 400)), int(rng.integers(2, 6))
        X = rng.uniform(0.5, 2.0) * rng.standard_normal((N, D))
        t = rng.standard_normal(N)
        cases = []
        for loss in _LOSSES:
            for _ in range(2):
                s, sigma = _log_uniform(rng, 0.05, 3.0), _log_uniform(rng, 0.1, 5.0)
                ws = rng.uniform(0.3, 3.0) * rng.standard_normal((4, D))
                cases.append({"loss": loss, "s": s, "sigma": sigma, "ws": ws})
        return {"N": N, "X": X, "t": t, "cases": [cases[i] for i in rng.permutation(6)]}, {}

    def respond(self, inputs, weight_decay_for):
        N = inputs["N"]
        return {
            "lambdas": [
                weight_decay_for(case["sigma"], case["s"], N, case["loss"])
                for case in inputs["cases"]
            ]
        }

    def judge(self, response, expected, inputs, secrets, hidden):
        N, X, t, cases = inputs["N"], inputs["X"], inputs["t"], inputs["cases"]
        lambdas = _field(response, "lambdas", len(cases))
        for i, case in enumerate(cases):
            name = (
                f"weight_decay_for(sigma={case['sigma']:.4g}, s={case['s']:.4g}, N={N}, "
                f'loss="{case["loss"]}")'
            )
            lam = expect_float(lambdas[i], name)
            factors = _multiples(lam, X, t, case)
            if not (np.allclose(factors, factors[0], rtol=1e-9) and factors[0] > 0):
                fail(
                    f"with lambda = {name} = {lam:.6g}, the regularized gradient is not a fixed "
                    "positive multiple of the gradient of -log p(w | D): the minima differ."
                    + _weight_decay_hint(lam, X, t, case, N)
                )
            if hidden:
                expect_close_float(lam, float(expected["lambdas"][i]), name, rtol=1e-10)


# 5.3 -------------------------------------------------------------------------------------------


def _abs_derivative(w: np.ndarray, b: float, h: float = 1e-6) -> np.ndarray:
    """d(|w_i| / b)/dw_i by central differences, all entries at once (0 at w_i = 0, as the
    subgradient the exercise asks for)."""
    w = np.asarray(w, dtype=np.float64)
    return (np.abs(w + h) - np.abs(w - h)) / (2 * h * b)


@register
class LaplacePenalty(ExerciseDefinition):
    """5.3: the L1 penalty of a Laplace prior and its (sub)gradient."""

    id, answers, visible_seed = "5.3", ("laplace_penalty", "laplace_penalty_grad"), 53

    def draw(self, rng, hidden):
        def case(w, b, penalty, grad, fd=False):
            return {"w": w, "b": b, "penalty": penalty, "grad": grad, "fd": fd}

        if not hidden:
            cases = [
                case(np.array([1.5, -2.0, 0.0, 0.5]), 0.5, True, False),
                case(np.array([[3, -1], [0, 2]]), 2.0, True, False),
            ]
            for shape, b in [((6,), 1.0), ((3, 4), 0.25)]:
                w = rng.standard_normal(shape)
                w += np.where(w >= 0, 0.1, -0.1)  # every weight away from the kink at 0
                cases.append(case(w, b, False, True, fd=True))
            cases.append(case(np.array([0.0, 2.0, -3.0]), 2.0, False, True))
            known = {"penalties": [8.0, 3.0, None, None, None]}
            known["grads"] = [None, None, None, None, [0.0, 0.5, -0.5]]
            return {"cases": cases}, known
        cases = []
        for shape in _hidden_shapes(rng, 3):
            w = rng.uniform(1.0, 4.0) * rng.standard_normal(shape)
            # Exact zeros (the subgradient) and entries closer to 0 than any finite-difference
            # step, where a central difference of |w| is far from sign(w).
            w[rng.random(shape) < 0.1] = 0.0
            tiny = rng.random(shape) < 0.05
            signs = rng.choice([-1.0, 1.0], int(tiny.sum()))
            w[tiny] = signs * 10 ** rng.uniform(-9, -7, int(tiny.sum()))
            cases.append(case(w, _log_uniform(rng, 0.1, 5.0), True, True))
        shape = tuple(int(n) for n in rng.integers(2, 8, 2))
        cases.append(case(rng.integers(-9, 10, shape), _log_uniform(rng, 0.1, 5.0), True, False))
        return {"cases": cases}, {}

    def respond(self, inputs, laplace_penalty, laplace_penalty_grad):
        penalties, grads, fds = [], [], []
        for case in inputs["cases"]:
            w, b = case["w"], case["b"]
            penalty = laplace_penalty(w.copy(), b) if case["penalty"] or case["fd"] else None
            penalties.append(penalty)
            grads.append(laplace_penalty_grad(w.copy(), b) if case["grad"] else None)
            fd = None
            if case["fd"] and type(penalty) in FLOAT_TYPES + INTEGER_TYPES:
                # The gradient of the answer's own penalty, by central differences.
                w_fd = w.astype(np.float64)

                def penalty_at(w_fd=w_fd, b=b):
                    return float(laplace_penalty(w_fd.copy(), b))

                fd = numerical_gradient(penalty_at, w_fd)
            fds.append(fd)
        return {"penalties": penalties, "grads": grads, "penalty_fd": fds}

    def reference(self, inputs, secrets):
        grads = []
        for case, known in zip(inputs["cases"], secrets["grads"], strict=True):
            grads.append(known if known is not None else _abs_derivative(case["w"], case["b"]))
        return {"penalties": secrets["penalties"], "grads": grads}

    def judge(self, response, expected, inputs, secrets, hidden):
        cases = inputs["cases"]
        penalties = _field(response, "penalties", len(cases))
        grads = _field(response, "grads", len(cases))
        fds = _field(response, "penalty_fd", len(cases))
        known_grads = secrets.get("grads", [None] * len(cases))
        for i, case in enumerate(cases):
            w, b = case["w"], case["b"]
            shown = np.round(w, 3).tolist() if w.size <= 6 else f"w of shape {w.shape}"
            if case["penalty"] or case["fd"]:
                name = f"laplace_penalty({shown}, b={b:.4g})"
                self._judge_penalty(penalties[i], expected["penalties"][i], name, w, b, hidden)
            if case["grad"]:
                name = f"laplace_penalty_grad({shown}, b={b:.4g})"
                if known_grads[i] is not None:
                    tolerance = {"rtol": 1e-7, "atol": 1e-12}
                else:
                    visible = {"rtol": 1e-6, "atol": 1e-8, "relative_to": "entry"}
                    tolerance = gradient_tolerance(hidden, visible)
                self._judge_grad(grads[i], expected["grads"][i], name, w, b, tolerance)
            if case["fd"]:
                name = f"laplace_penalty_grad(w of shape {w.shape}, b={b:.4g})"
                try:
                    expect_close(grads[i], fds[i], name, rtol=1e-6, atol=1e-8)
                except CheckError as exc:
                    fail(f"{exc} (compared with finite differences of your laplace_penalty)")

    @staticmethod
    def _judge_penalty(value, want, name, w, b, hidden):
        number = expect_float(value, name)
        if want is None:  # a visible case whose penalty is judged by its finite differences
            return
        want = float(want)
        if abs(number - want) <= (1e-11 if hidden else 1e-12) * abs(want):
            return
        slips = [
            (want * b, "the division by b is missing"),
            (want / b, "it is divided by b twice"),
            (float(np.sum(w)) / b, "the absolute values |w_i| are missing"),
            (want / w.size, "it is the mean over the elements, not the sum"),
            (-want, "a flipped sign"),
        ]
        text = f"{name} is {number:.10g}, expected {want:.10g}"
        for target, slip in slips:
            if abs(number - target) <= 1e-9 * abs(target):
                fail(f"{text}; {slip}.")
        fail(f"{text}.")

    @staticmethod
    def _judge_grad(value, want, name, w, b, tolerance):
        want = np.asarray(want, dtype=np.float64)

        def hint() -> str:
            factors = [(b, "The division by b is missing."), (1 / b, "It is divided by b twice.")]
            at_zero = np.asarray(w) == 0
            if named := named_factor(value, want, factors):
                return named
            if type(value) is not np.ndarray or value.shape != want.shape:
                return ""
            if slip := diagnose(value, want):  # of all entries, the tiny ones included
                return f"{slip[0].upper()}{slip[1:]}."
            if np.any(at_zero) and close_to(np.where(at_zero, want, value), want, 1e-6):
                return (
                    "It is wrong only where w_i = 0: use 0 there (the subgradient that np.sign "
                    "gives)."
                )
            if close_to(value, np.abs(want)):
                return "The sign of w_i is lost: the derivative of |w_i| is sign(w_i)."
            return ""

        tiny = (np.abs(w) < 1e-5) & (w != 0)
        if np.any(tiny) and type(value) is np.ndarray and value.shape == tiny.shape:
            # First the entries farther from 0 than a finite-difference step, where a central
            # difference is close but not exact: its message names it.
            expect_close(np.where(tiny, want, value), want, name, hint=hint, **tolerance)
        expect_close(value, want, name, hint=hint, **tolerance)


# 5.4 -------------------------------------------------------------------------------------------


def _early_stopping(losses, patience: int, min_delta: float, *, ties_improve=False, stop=True):
    """``(best_epoch, stop_epoch)`` by ``coursepkg.EarlyStopping`` (``ties_improve`` and
    ``stop=False`` give the outcome of two slips, for naming them)."""
    rule = EarlyStopping(patience, min_delta=min_delta, restore_best=False)
    if ties_improve:
        rule.improves = lambda score: score <= rule.best_score - rule.min_delta
    for epoch, loss in enumerate(losses, start=1):
        if rule.update(epoch, float(loss), []) and stop:
            return rule.best_epoch, epoch
    return rule.best_epoch, len(losses)


def _early_stopping_hint(result: tuple[int, int], right, losses, patience, min_delta) -> str:
    """The slip of early-stopping logic that gives ``result`` where ``right`` is expected."""
    best, stop = right
    slips = [
        ((best - 1, stop - 1), "the epochs are counted from 0; count them from 1"),
        (
            _early_stopping(losses, patience, min_delta, ties_improve=True),
            "an equal loss counts as an improvement; it must be lower by more than min_delta",
        ),
        (
            _early_stopping(losses, patience + 1, min_delta),
            "it stops one epoch late: stop at the epoch that makes `patience` epochs in a row "
            "without improvement",
        ),
        (
            (best, min(stop + 1, len(losses))),
            "the stop epoch is one too late",
        ),
        (
            (_early_stopping(losses, patience, min_delta, stop=False)[0], stop),
            "the best epoch is taken over all epochs; it must be the last improving epoch up "
            "to the stop",
        ),
    ]
    if patience > 1:
        slips.append(
            (
                _early_stopping(losses, patience - 1, min_delta),
                "it stops one epoch early: `patience` epochs without improvement are allowed "
                "before the stop",
            )
        )
    if min_delta > 0:
        slips.append(
            (_early_stopping(losses, patience, 0.0), "min_delta is ignored"),
        )
    for outcome, text in slips:
        if outcome == result and outcome != right:
            return f"; {text}."
    return "."


def _hidden_case(rng, kind: int) -> tuple[np.ndarray, int]:
    """Validation losses and a patience. Kinds: 0, a curve that falls, then rises, with noise;
    1, the same rounded to two decimals (ties); 2, a short curve of a few distinct values (many
    ties); 3, a curve that falls steadily and flattens; 4, a fall to a plateau of equal losses
    at least ``patience`` long, then noise (an equal loss is no improvement: this tells)."""
    if kind == 2:
        losses = rng.integers(0, 6, int(rng.integers(5, 16))) / 4
        return losses, int(rng.integers(1, 4))
    if kind == 4:
        fall, plateau, after = (int(n) for n in rng.integers([3, 2, 0], [15, 12, 20]))
        level = rng.uniform(0.1, 0.5)
        losses = np.concatenate(
            [
                level + np.sort(rng.uniform(0.01, 1.0, fall))[::-1],
                np.full(plateau, level),
                level + rng.uniform(-0.05, 0.5, after),
            ]
        )
        return losses, int(rng.integers(1, plateau + 1))
    n = int(rng.integers(20, 300))
    epochs = np.arange(1, n + 1)
    patience = int(rng.integers(1, min(40, n // 3)))
    if kind == 3:
        # Flat by the end, so that min_delta > 0 stops it where min_delta = 0 does not.
        return 0.1 + np.exp(-epochs / rng.uniform(5, n / 4)), patience
    turn = rng.uniform(0.2, 0.8) * n
    curve = (
        0.1
        + rng.uniform(0.3, 1.0) * np.exp(-epochs / rng.uniform(5, 60))
        + rng.uniform(1e-6, 1e-4) * np.maximum(epochs - turn, 0) ** 2
        + rng.uniform(0.001, 0.02) * rng.standard_normal(n)
    )
    return (np.round(curve, 2) if kind == 1 else curve), patience


@register
class EarlyStoppingEpochs(ExerciseDefinition):
    """5.4: the best and the stopping epoch of early stopping with patience and min_delta."""

    id, answers, visible_seed = "5.4", ("early_stopping_epochs",), 54

    def draw(self, rng, hidden):
        if not hidden:
            epochs = np.arange(1, 601)
            curve = (  # falls, then rises
                0.09
                + 0.5 * np.exp(-epochs / 40)
                + 2e-6 * (epochs - 150) ** 2 * (epochs > 150)
                + 0.004 * np.sin(epochs)
            )
            cases = [  # (validation losses, patience, min_delta)
                ([1.0, 0.8, 0.9, 0.85, 0.7, 0.75, 0.76, 0.8, 0.6], 3, 0),
                ([0.5, 0.5, 0.5, 0.5], 2, 0),
                ([1.0, 0.95, 0.91, 0.88, 0.86], 2, 0.05),
                ([3.0, 2.0, 2.5, 1.0], 1, 0),
                ([0.9, 0.7, 0.6, 0.55, 0.5], 5, 0),
                (np.array([2.0, 1.0, 1.5, 0.9, 0.99, 0.95, 0.97]), 2, 0),
                (curve, 5, 0),
                (curve, 50, 0),
                (curve, 200, 0),
                (curve, 50, 0.001),
            ]
        else:
            cases = []
            for kind in rng.permutation([0, 0, 0, 1, 1, 2, 2, 3, 4, 4]):
                losses, patience = _hidden_case(rng, int(kind))
                # No min_delta in the plateau cases: a tie must be what decides them.
                use_delta = kind == 3 or (kind != 4 and rng.random() < 0.6)
                min_delta = float(rng.uniform(0.002, 0.02)) if use_delta else 0
                cases.append(
                    (losses.tolist() if rng.random() < 0.5 else losses, patience, min_delta)
                )
        keys = ("losses", "patience", "min_delta")
        return {"cases": [dict(zip(keys, case, strict=True)) for case in cases]}, {}

    def respond(self, inputs, early_stopping_epochs):
        results = []
        for case in inputs["cases"]:
            losses = case["losses"]
            losses = list(losses) if type(losses) is list else losses.copy()
            results.append(early_stopping_epochs(losses, case["patience"], case["min_delta"]))
        return {"results": results}

    def reference(self, inputs, secrets):
        return {
            "results": [
                _early_stopping(case["losses"], case["patience"], case["min_delta"])
                for case in inputs["cases"]
            ]
        }

    def judge(self, response, expected, inputs, secrets, hidden):
        cases = inputs["cases"]
        results = _field(response, "results", len(cases))
        for case, result, right in zip(cases, results, expected["results"], strict=True):
            losses, patience, min_delta = case["losses"], case["patience"], case["min_delta"]
            shown = "the curve" if len(losses) > 20 else f"{np.round(losses, 3).tolist()}"
            name = f"early_stopping_epochs({shown}, patience={patience}, min_delta={min_delta:g})"
            expect_tuple(result, 2, name, "(best_epoch, stop_epoch)")
            best = expect_int(result[0], f"the best epoch of {name}")
            stop = expect_int(result[1], f"the stop epoch of {name}")
            right = (int(right[0]), int(right[1]))
            if (best, stop) != right:
                hint = _early_stopping_hint((best, stop), right, losses, patience, min_delta)
                which = "best" if best != right[0] else "stop"
                got, want = (best, right[0]) if which == "best" else (stop, right[1])
                fail(
                    f"the {which} epoch of {name} is {got}, expected {want} "
                    f"(you returned {(best, stop)}){hint}"
                )


# 5.5 -------------------------------------------------------------------------------------------

_HIDDEN_RMS = 0.25
"""Largest E_RMS against sin(2 pi x) on fresh inputs in [0, 1] that the hidden check accepts.

Measured on 30 grading seeds (2,000 points each): spread_network(30) trained with any lambda
that passes the visible check (validation and test E_RMS at most 0.35, lambda from about 6.1e-4
to 7.5e-3) stays at or below 0.201, a margin of 0.049; the instructor's choice, 0.003, at or
below 0.145, a margin of 0.105. Without weight decay the error is 0.42 to 0.46, with
lambda = 0.03 0.39 to 0.41.
"""


def _spread_network(H: int, *, slope: float = 10.0, seed: int = 0) -> Sequential:
    """The notebook's ``spread_network`` (its ex5-5-data cell): a 1-H-1 tanh network whose
    hidden units have random centres in [0, 1]."""
    rng = np.random.default_rng(seed)
    W = slope * rng.standard_normal((1, H))
    centres = rng.uniform(0.0, 1.0, H)
    hidden = Linear.from_weights(W, -centres * W[0])
    return Sequential(hidden, Tanh(), Linear(H, 1, rng=rng))


def _fit(model, x, t, *, weight_decay: float) -> None:
    """The notebook's ``fit`` with its defaults: full-batch Adam on the mean squared error,
    3,000 steps of size 0.01."""
    optimizer = Adam(model.parameters(), lr=0.01, weight_decay=weight_decay)
    loss = MeanSquaredError()
    train(model, loss, optimizer, x, t, epochs=3000, batch_size=len(x), metric=None, progress=False)


def _rms(y: np.ndarray, t: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - t) ** 2)))


@register
class ChooseWeightDecay(ExerciseDefinition):
    """5.5: a weight decay chosen with the validation set, and the network trained with it."""

    id, answers, visible_seed = "5.5", ("chosen_lambda", "regularized_net"), 55

    def draw(self, rng, hidden):
        x, t = make_sinusoid(12, noise=0.3, random_x=True, seed=11)  # the notebook's data
        if not hidden:
            x_val, t_val = make_sinusoid(100, noise=0.3, random_x=True, seed=12)
            x_test, t_test = make_sinusoid(1000, noise=0.3, random_x=True, seed=13)
            points = {"x_val": x_val, "x_test": x_test}
            return {"x": x, "t": t, "points": points}, {"x_val": t_val, "x_test": t_test}
        x_fresh = rng.uniform(0.0, 1.0, (2000, 1))
        return {"x": x, "t": t, "points": {"x_fresh": x_fresh}}, {
            "x_fresh": np.sin(2 * np.pi * x_fresh)
        }

    def respond(self, inputs, chosen_lambda, regularized_net):
        response = {
            "chosen_lambda": chosen_lambda,
            "is_module": isinstance(regularized_net, Module),
            "net_type": type(regularized_net).__qualname__,
        }
        points = inputs["points"]
        if isinstance(regularized_net, Module):
            response["predictions"] = {k: regularized_net(x.copy()) for k, x in points.items()}
        lam = chosen_lambda
        if type(lam) in FLOAT_TYPES + INTEGER_TYPES and np.isfinite(lam) and lam >= 0:
            # The network as the exercise says to train it, from the answer's lambda.
            retrained = _spread_network(30)
            _fit(retrained, inputs["x"].copy(), inputs["t"].copy(), weight_decay=float(lam))
            response["retrained"] = {k: retrained(x.copy()) for k, x in points.items()}
        return response

    def reference(self, inputs, secrets):
        return None  # judged by its error on the validation and test points

    def judge(self, response, expected, inputs, secrets, hidden):
        lam = expect_float(_field(response, "chosen_lambda"), "chosen_lambda")
        expect_true(lam >= 0.0, f"chosen_lambda is {lam:g}; a weight decay is not negative.")
        if _field(response, "is_module") is not True:
            kind = str(_field(response, "net_type"))
            hint = " (fit returns the History; keep the model itself)" if kind == "History" else ""
            fail(
                "regularized_net should be a coursepkg Module (the trained spread_network(30)), "
                f"got an object of type {kind}{hint}."
            )
        predictions = _field(response, "predictions")
        retrained = _field(response, "retrained")
        if type(predictions) is not dict or type(retrained) is not dict:
            fail("the check received unreadable predictions of regularized_net.")
        for key, x in inputs["points"].items():
            label = key if key in ("x_val", "x_test") else "x (new inputs)"
            name = f"regularized_net({label})"
            y = expect_array(predictions.get(key), name, shape=(len(x), 1), dtype="float")
            again = retrained.get(key)
            consistent = type(again) is np.ndarray and again.shape == y.shape
            expect_true(
                consistent and bool(np.allclose(y, again, rtol=1e-6, atol=1e-9)),
                "regularized_net does not predict like spread_network(30) trained with "
                f"fit(model, x, t, weight_decay={lam:g}); build and train it exactly so.",
            )
            error = _rms(y, secrets[key])
            if key == "x_val":
                expect_true(
                    error <= 0.35,
                    f"validation E_RMS {error:.3f}, above the 0.35 required: choose the lambda "
                    "with the smallest validation error.",
                )
            elif key == "x_test":
                expect_true(error <= 0.35, f"test E_RMS {error:.3f}, above the 0.35 required.")
            else:
                expect_true(
                    error <= _HIDDEN_RMS,
                    f"on {len(x)} new inputs x, the E_RMS of regularized_net against sin(2 pi x) "
                    f"is {error:.3f}, above the {_HIDDEN_RMS} allowed: the network over- or "
                    "under-fits.",
                )


# 5.6 -------------------------------------------------------------------------------------------


class _FixedMask(Module):
    """Restarts the layer's generator before every forward pass: finite differences need the
    same mask in every evaluation of the loss."""

    def __init__(self, layer, seed: int):
        self.layer, self.seed = layer, seed

    def forward(self, X):
        self.layer.rng = np.random.default_rng(self.seed)
        return self.layer.forward(X)

    def backward(self, grad_out):
        return self.layer.backward(grad_out)


def _dropout_hint(actual, expected, X: np.ndarray, p: float, earlier=None) -> str:
    """The dropout slip that gives the output ``actual`` where ``expected`` is right; ``earlier``
    is the right output of the previous forward call on the same X, if any."""
    if type(actual) is not np.ndarray or actual.shape != X.shape:
        return ""
    if p > 0 and close_to(actual, X):
        return " It is X unchanged: in training mode, drop entries."
    kept = np.asarray(expected) != 0
    if p > 0 and close_to(actual, expected * (1 - p)):
        return (
            " It is (1 - p) times the right values: the kept entries must be divided by 1 - p "
            "(inverted dropout)."
        )
    if p > 0 and close_to(actual, expected * (1 - p) ** 2):
        return " The kept entries are multiplied by 1 - p; divide them by 1 - p."
    if 0 < p and np.any(actual) and np.array_equal(actual != 0, ~kept & (X != 0)):
        return (
            " It keeps exactly the entries that should be dropped: keep those with u >= p (an "
            "entry is dropped with probability p)."
        )
    if earlier is not None and np.any(~kept) and close_to(actual, earlier):
        return " It reused the mask of the first call: draw a new mask in every forward call."
    valid = np.isclose(actual, 0) | np.isclose(actual, X / (1 - p))
    if p > 0 and np.all(valid):
        return (
            " Its entries are 0 or X / (1 - p) as they should be, but not the ones cp.Dropout "
            "keeps with a generator of the same seed: draw u = self.rng.random(X.shape), once "
            "per forward call."
        )
    return ""


@register
class InvertedDropout(ExerciseDefinition):
    """5.6: an inverted-dropout module, forward and backward."""

    id, answers, visible_seed = "5.6", ("MyDropout",), 56

    def draw(self, rng, hidden):
        if not hidden:
            specs = [((4, 5), 0.5), ((3, 2, 2, 3), 0.2), ((6, 3), 0.0), ((2, 8), 0.9)]
        else:
            # At least 64 entries and p <= 0.8: two masks drawn alike have probability below
            # 0.68^64 = 2e-11, so a right answer never fails "a new mask in every call".
            specs = [(shape, float(rng.uniform(0.05, 0.8))) for shape in _hidden_shapes(rng, 3)]
        cases = []
        for shape, p in specs:
            seed = int(rng.integers(1000 if not hidden else 2**31))
            X = rng.standard_normal(shape)
            G1 = rng.standard_normal(shape)
            G2 = rng.standard_normal(shape)
            cases.append({"p": p, "seed": seed, "X": X, "G1": G1, "G2": G2})
        if not hidden:
            evaluation = {"p": 0.5, "seed": 0}
            evaluation["X"], evaluation["G"] = (
                rng.standard_normal((3, 4)),
                rng.standard_normal((3, 4)),
            )
            fixed = {"p": 0.3, "seed": 7, "X": rng.standard_normal((5, 4))}
        else:
            shape = (int(rng.integers(3, 9)), int(rng.integers(3, 9)))
            p, seed = float(rng.uniform(0.05, 0.9)), int(rng.integers(2**31))
            evaluation = {"p": p, "seed": seed}
            evaluation["X"], evaluation["G"] = (
                rng.standard_normal(shape),
                rng.standard_normal(shape),
            )
            fixed = {"p": float(rng.uniform(0.05, 0.9)), "seed": int(rng.integers(2**31))}
            fixed["X"] = rng.standard_normal((int(rng.integers(3, 9)), int(rng.integers(3, 9))))
        return {"cases": cases, "evaluation": evaluation, "fixed": fixed}, {}

    def respond(self, inputs, MyDropout):  # noqa: N803 (the answer's name)
        probe = MyDropout(0.5, np.random.default_rng(0))
        if not isinstance(probe, Module):  # it would have no eval() and train()
            return {"type": type(probe).__qualname__, "is_module": False}
        cases = []
        for case in inputs["cases"]:
            layer = MyDropout(case["p"], np.random.default_rng(case["seed"]))
            Y1 = layer.forward(case["X"].copy())
            grad1 = layer.backward(case["G1"].copy())
            Y2 = layer.forward(case["X"].copy())
            grad2 = layer.backward(case["G2"].copy())
            cases.append({"Y1": Y1, "grad1": grad1, "Y2": Y2, "grad2": grad2})
        evaluation = inputs["evaluation"]
        layer = MyDropout(evaluation["p"], np.random.default_rng(evaluation["seed"]))
        layer.eval()
        Y_eval = layer.forward(evaluation["X"].copy())
        grad_eval = layer.backward(evaluation["G"].copy())
        layer.train()
        Y_train = layer.forward(evaluation["X"].copy())
        # The backward pass against finite differences, with the mask held fixed.
        fixed = inputs["fixed"]
        wrapped = _FixedMask(MyDropout(fixed["p"], None), fixed["seed"])
        Y_fixed = wrapped.forward(fixed["X"].copy())
        error = None
        if type(Y_fixed) is np.ndarray and Y_fixed.shape == fixed["X"].shape:
            error = grad_check(wrapped, fixed["X"].copy()).max_error
        return {
            "type": type(probe).__qualname__,
            "is_module": True,
            "cases": cases,
            "eval": {"Y": Y_eval, "grad": grad_eval, "Y_train": Y_train},
            "fixed": {"Y": Y_fixed, "grad_check_error": error},
        }

    def reference(self, inputs, secrets):
        cases = []
        for case in inputs["cases"]:
            layer = Dropout(case["p"], rng=case["seed"])
            Y1 = layer.forward(case["X"])
            grad1 = layer.backward(case["G1"])
            Y2 = layer.forward(case["X"])
            cases.append({"Y1": Y1, "grad1": grad1, "Y2": Y2, "grad2": layer.backward(case["G2"])})
        evaluation, fixed = inputs["evaluation"], inputs["fixed"]
        Y_train = Dropout(evaluation["p"], rng=evaluation["seed"]).forward(evaluation["X"])
        return {
            "cases": cases,
            "eval": {"Y": evaluation["X"], "grad": evaluation["G"], "Y_train": Y_train},
            "fixed": {"Y": Dropout(fixed["p"], rng=fixed["seed"]).forward(fixed["X"])},
        }

    def judge(self, response, expected, inputs, secrets, hidden):
        if _field(response, "is_module") is not True:
            kind = str(_field(response, "type"))
            fail(f"MyDropout(p, rng) should be a coursepkg Module, got an object of type {kind}.")
        cases = _field(response, "cases", len(inputs["cases"]))
        forward = {"rtol": 1e-12, "atol": 1e-15}
        backward = gradient_tolerance(hidden, {**forward, "derived": True})
        for case, got, want in zip(inputs["cases"], cases, expected["cases"], strict=True):
            if type(got) is not dict:
                fail("the check received unreadable results of MyDropout.")
            p, X = case["p"], case["X"]
            layer = f"MyDropout({p:.4g}, rng)"
            for k in (1, 2):
                earlier = want["Y1"] if k == 2 else None
                name = f"{layer}.forward(X of shape {X.shape}), call {k}"
                self._judge_forward(got.get(f"Y{k}"), want[f"Y{k}"], name, X, p, earlier, forward)
                name = f"{layer}.backward(grad_out) after forward call {k}"
                first_mask = np.asarray(want["Y1"]) / X if k == 2 else None
                G, right = case[f"G{k}"], want[f"grad{k}"]
                self._judge_backward(got.get(f"grad{k}"), right, name, G, p, first_mask, backward)
            if p > 0:
                expect_true(
                    not np.array_equal(got.get("Y1"), got.get("Y2")),
                    f"{layer}: two forward calls used the same mask; draw a new one in every call.",
                )
        self._judge_modes(response, expected, inputs["evaluation"])
        fixed, got = inputs["fixed"], _field(response, "fixed")
        if type(got) is not dict:
            fail("the check received unreadable results of MyDropout.")
        label = f"MyDropout({fixed['p']:.4g}) with a fixed mask"
        name, want = f"{label}: forward(X)", expected["fixed"]["Y"]
        self._judge_forward(got.get("Y"), want, name, fixed["X"], fixed["p"], None, forward)
        error = expect_float(got.get("grad_check_error"), f"the gradient check of {label}")
        expect_true(
            error < 1e-6,
            f"the backward pass of {label} is wrong: the gradient of the input has relative "
            f"error {error:.1e} against finite differences (should be below 1e-06).",
        )

    @staticmethod
    def _judge_forward(Y, want, name, X, p, earlier, tolerance):
        def hint() -> str:
            return _dropout_hint(Y, np.asarray(want), X, p, earlier).strip()

        expect_close(Y, want, name, dtype="float", hint=hint, **tolerance)

    @staticmethod
    def _judge_backward(grad, want, name, G, p, first_mask, tolerance):
        def hint() -> str:
            right = np.asarray(want)
            if p > 0 and close_to(grad, G):
                return (
                    "It is grad_out unchanged: multiply it by the (scaled) mask of the last "
                    "forward pass."
                )
            if p > 0 and close_to(grad, right * (1 - p)):
                return "The kept entries are not divided by 1 - p, as in forward."
            if first_mask is not None and close_to(grad, G * first_mask):
                return "It uses the mask of the first forward call, not of the last one."
            return ""

        expect_close(grad, want, name, dtype="float", hint=hint, **tolerance)

    @staticmethod
    def _judge_modes(response, expected, evaluation):
        got = _field(response, "eval")
        if type(got) is not dict:
            fail("the check received unreadable results of MyDropout.")
        p, want, exact = evaluation["p"], expected["eval"], {"rtol": 1e-12, "atol": 0.0}
        name = f"MyDropout({p:.4g}).forward(X) in evaluation mode"
        expect_close(got.get("Y"), want["Y"], name, dtype="float", **exact)
        name = f"MyDropout({p:.4g}).backward(grad_out) in evaluation mode"
        expect_close(got.get("grad"), want["grad"], name, dtype="float", **exact)
        name = f"MyDropout({p:.4g}).forward(X) back in training mode"
        try:
            expect_close(got.get("Y_train"), want["Y_train"], name, rtol=1e-12, atol=1e-15)
        except CheckError as exc:
            fail(f"{exc} Did the evaluation-mode forward pass draw from rng? It must not.")
