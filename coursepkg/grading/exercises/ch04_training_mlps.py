"""Checks of the exercises of chapter 4, training multilayer perceptrons.

The optimizer steps (4.1, 4.2) are compared with ``coursepkg``'s own ``SGD`` and ``Adam``, step
by step; the digits network (4.3) is judged by its accuracy, on the public test split and, when
graded, on altered test digits that no table of the test set holds; the batch-normalization layer
(4.4) is compared with ``coursepkg.BatchNorm``, and its backward pass, when graded, with the
instructor's derived one to rounding error.
"""

from __future__ import annotations

import itertools

import numpy as np

from ...batchnorm import BatchNorm
from ...datasets import load_digits_split
from ...module import Module, Parameter
from ...optim import SGD, Adam
from ..checks import CheckError, describe_failure, expect_array, fail
from ..compare import close_to, diagnose, expect_close, gradient_tolerance, value_tolerance
from ..definition import RAISED, ExerciseDefinition, register
from ..plain_data import snapshot, type_name


def _ratio(got, want, *, tol: float, share: float = 1.0) -> float | None:
    """The constant c with got = c * want (entrywise, within ``tol`` of c for at least ``share``
    of the entries where want is not tiny), or None."""
    if type(got) is not np.ndarray or got.shape != want.shape or not np.all(np.isfinite(got)):
        return None
    big = np.abs(want) > 1e-3 * np.max(np.abs(want), initial=0.0)
    if not np.any(big):
        return None
    ratios = got[big] / want[big]
    c = float(np.median(ratios))
    if c == 0.0 or np.mean(np.abs(ratios - c) <= tol * abs(c)) < share:
        return None
    return c


def _named_ratio(c: float | None, names: dict[float, str], tol: float) -> str:
    """The text of the first ratio in ``names`` within ``tol`` (relative) of ``c``, or ``""``."""
    if c is None:
        return ""
    for value, text in names.items():
        if abs(c - value) <= tol * abs(value):
            return text
    return ""


# Exercises 4.1 and 4.2 share their structure: an update rule called step after step on its own
# previous outputs, returning a tuple of arrays, compared with coursepkg's optimizer.


def _run_steps(step, names: tuple[str, ...], start: dict, grads: list, call) -> dict:
    """Call an update rule on its own outputs, once per gradient (respond side).

    Args:
        step: the answer's function.
        names: what it returns, e.g. ``("theta", "m", "s")``; ``start`` holds their first values.
        call: ``call(step, state, grad, t)`` calls the rule as the exercise says.

    Returns the raw results, and per step the inputs the call changed in place.
    """
    state, results, changed = dict(start), [], []
    for t, grad in enumerate(grads, start=1):
        given = {name: state[name].copy() for name in names} | {"grad": grad.copy()}
        kept = {name: value.copy() for name, value in given.items()}
        try:
            out = call(step, given, t)
        except Exception as exc:
            if t == 1:
                raise
            # A wrong step can make the next one fail (a negative s, say): keep what went
            # wrong first, for the judge to report.
            results.append({RAISED: describe_failure(exc)})
            break
        results.append(out)
        changed.append([name for name in kept if not np.array_equal(given[name], kept[name])])
        if type(out) not in (tuple, list) or len(out) != len(names):
            break  # the judge says what is wrong with it
        if not all(type(value) is np.ndarray for value in out):
            break
        state = dict(zip(names, out, strict=True))
    return {"results": results, "changed": changed}


def _optimizer_run(optimizer, param: Parameter, grads, state) -> dict:
    """The reference results of ``optimizer`` on ``param`` (changed in place): per step the
    tuple ``state()`` gives after it, in ``_run_steps``'s format."""
    results = []
    for grad in grads:
        param.grad[...] = grad
        optimizer.step()
        results.append(tuple(value.copy() for value in state()))
    return {"results": results, "changed": [[] for _ in grads]}


def _order_hint(out, want: dict, names: tuple[str, ...], function: str) -> str:
    """If ``out`` holds the right arrays in another order, say so."""
    for order in itertools.permutations(names):
        if order != names and all(
            close_to(value, want[name]) for value, name in zip(out, order, strict=True)
        ):
            return (
                f"{function} returned ({', '.join(order)}): the right arrays in the wrong order; "
                f"return ({', '.join(names)})."
            )
    return ""


def _judge_steps(case, want_case, start, function: str, names, compare, hints, hidden) -> None:
    """Judge one run of an update rule, step by step.

    Args:
        case, want_case: the answer's and the expected ``_run_steps`` results.
        start: the values the run started from, by name.
        names: the returned tuple's names; ``compare``: the order in which to compare them.
        hints: ``hints(name, t, got, want, previous)`` -> text naming a likely slip, or ``""``
            (``got``: a finite float64 array of the right shape; ``previous``: the expected
            values of the step before, or the start).
    """
    if type(case) is not dict or type(case.get("results")) is not list:
        fail(f"the check received no results from {function}.")
    results, changed = case["results"], case.get("changed")
    previous = start
    for t, want_tuple in enumerate(want_case["results"], start=1):
        if t > len(results):
            fail(f"{function} returned no result at step {t}.")
        out = results[t - 1]
        if type(out) is dict and type(out.get(RAISED)) is str:
            fail(f"{out[RAISED]} (at step {t} of {function}, the steps before were right)")
        if type(out) not in (tuple, list) or len(out) != len(names):
            what = f"an object of type {type_name(out)}"
            if type(out) in (tuple, list):
                what = f"a {type(out).__name__} of length {len(out)}"
            fail(
                f"{function} should return the tuple ({', '.join(names)}), got {what} at step {t}."
            )
        want = dict(zip(names, want_tuple, strict=True))
        got = dict(zip(names, out, strict=True))
        if not all(close_to(got[name], want[name], 1e-12) for name in names):
            hint = _order_hint(out, want, names, function)
            if hint:
                fail(f"At step {t}, {hint}")
        for name in compare:
            try:
                tolerance = value_tolerance(hidden)
                expect_close(got[name], want[name], f"{name} after step {t}", **tolerance)
            except CheckError as exc:
                value = got[name]
                readable = type(value) is np.ndarray and value.shape == want[name].shape
                if not readable or not np.all(np.isfinite(value)):
                    raise
                hint = hints(name, t, value.astype(np.float64), want[name], previous)
                fail(f"{exc} {hint}" if hint else str(exc))
        inputs = changed[t - 1] if type(changed) is list and t <= len(changed) else None
        if type(inputs) is not list or not all(type(name) is str for name in inputs):
            fail(f"the check could not tell whether {function} left its inputs unchanged.")
        if inputs:
            fail(
                f"{function} changed its input {' and '.join(inputs)} in place at step {t} (an "
                f"in-place operation such as {inputs[0]} *= ... or {inputs[0]}[...] = ...); the "
                "exercise asks for new arrays and the inputs unchanged."
            )
        previous = want


def _theta_step_hint(got, want, previous, ratios: dict[float, str], tol: float) -> str:
    """Name the slip in the step theta_t - theta_(t-1) the answer took, from the expected one."""
    if type(got) is not np.ndarray or got.shape != want.shape:
        return ""
    taken, right = got.astype(np.float64) - previous["theta"], want - previous["theta"]
    slip = diagnose(taken, right)
    if slip:
        return f"The step theta_t - theta_(t-1) you took: {slip}."
    return _named_ratio(_ratio(taken, right, tol=tol, share=0.9), ratios, tol)


def _stacked(rng, steps: int, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    """``steps`` standard normal arrays of ``shape`` drawn one after the other, stacked (the
    order the old check cells drew their gradients in)."""
    return np.stack([scale * rng.standard_normal(shape) for _ in range(steps)])


def _fresh_shape(rng) -> tuple[int, ...]:
    """A parameter shape of one or two axes, 2 to 6 entries each (hidden inputs)."""
    return tuple(int(n) for n in rng.integers(2, 7, size=int(rng.integers(1, 3))))


@register
class MomentumStep(ExerciseDefinition):
    """4.1: one step of SGD with momentum, compared with ``cp.SGD(momentum=mu)`` step by step."""

    id, answers, visible_seed = "4.1", ("momentum_step",), 41
    names = ("theta", "v")

    def draw(self, rng, hidden):
        if not hidden:  # the old check cell: a (3, 2) parameter, five steps, lr 0.1, mu 0.9
            theta = rng.standard_normal((3, 2))
            grads = _stacked(rng, 5, (3, 2))
            return {"theta": theta, "v": np.zeros((3, 2)), "grads": grads, "lr": 0.1, "mu": 0.9}, {}
        shape = _fresh_shape(rng)
        theta = rng.uniform(0.5, 3.0) * rng.standard_normal(shape)
        grads = _stacked(rng, int(rng.integers(4, 9)), shape, rng.uniform(0.2, 2.0))
        lr, mu = float(rng.uniform(0.01, 0.3)), float(rng.uniform(0.5, 0.95))
        return {"theta": theta, "v": np.zeros(shape), "grads": grads, "lr": lr, "mu": mu}, {}

    def respond(self, inputs, momentum_step):
        lr, mu = inputs["lr"], inputs["mu"]

        def call(step, given, t):
            return step(given["theta"], given["v"], given["grad"], lr, mu)

        return _run_steps(momentum_step, self.names, inputs, list(inputs["grads"]), call)

    def reference(self, inputs, secrets):
        param = Parameter(inputs["theta"].copy(), "theta")
        sgd = SGD([param], lr=inputs["lr"], momentum=inputs["mu"])
        return _optimizer_run(sgd, param, inputs["grads"], lambda: (param.value, sgd.velocities[0]))

    def judge(self, response, expected, inputs, secrets, hidden):
        lr, mu = inputs["lr"], inputs["mu"]

        def hints(name, t, got, want, previous):
            if name == "theta":
                if close_to(got - previous["theta"], previous["v"]):
                    return (
                        "theta moved by the velocity of the step before (zero at the first "
                        "step): update v first, then move theta by the new v."
                    )
                return _theta_step_hint(got, want, previous, {}, 1e-6)
            if t == 1:  # v starts at zero: v_1 = -lr grad_1, so a slip is a constant factor
                ratios = {1.0 / lr: "v's update is missing the learning rate lr."}
                ratios[mu] = "mu multiplies the gradient term too: v = mu v - lr grad."
                return _named_ratio(_ratio(got, want, tol=1e-6), ratios, 1e-6)
            if close_to(got, want + (1.0 - mu) * previous["v"]):
                return "The velocity of the step before is not multiplied by mu."
            return ""

        start = {name: inputs[name] for name in self.names}
        label = "momentum_step"
        _judge_steps(response, expected, start, label, self.names, ("v", "theta"), hints, hidden)


@register
class AdamStep(ExerciseDefinition):
    """4.2: one step of Adam, compared with ``cp.Adam`` step by step."""

    id, answers, visible_seed = "4.2", ("adam_step",), 42
    names = ("theta", "m", "s")

    @staticmethod
    def _case(theta, grads, lr, betas=(0.9, 0.999), eps=1e-8, defaults=True) -> dict:
        """One run of steps; ``defaults``: call adam_step without beta1, beta2 and eps."""
        return {
            "theta": theta,
            "m": np.zeros(theta.shape),
            "s": np.zeros(theta.shape),
            "grads": grads,
            "lr": lr,
            "beta1": betas[0],
            "beta2": betas[1],
            "eps": eps,
            "defaults": defaults,
        }

    def draw(self, rng, hidden):
        if not hidden:
            # The old check cell: a (4,) parameter, ten steps, lr 0.01, the default betas and eps.
            default = self._case(rng.standard_normal(4), _stacked(rng, 10, (4,)), 0.01)
            # Added: other betas and a large eps, passed by keyword (the defaults alone cannot
            # tell an answer that ignores these arguments, or puts eps inside the square root).
            theta, grads = rng.standard_normal((2, 3)), _stacked(rng, 6, (2, 3))
            other = self._case(theta, grads, 0.05, (0.8, 0.99), 1e-3, defaults=False)
            return {"cases": [default, other]}, {}
        cases = []
        for defaults in (True, False):
            shape = _fresh_shape(rng)
            theta = rng.uniform(0.5, 3.0) * rng.standard_normal(shape)
            grads = _stacked(rng, int(rng.integers(4, 11)), shape, rng.uniform(0.2, 3.0))
            lr = float(10 ** rng.uniform(-3, -1))
            if defaults:
                cases.append(self._case(theta, grads, lr))
                continue
            betas = (float(rng.uniform(0.6, 0.95)), float(rng.uniform(0.9, 0.9999)))
            eps = float(10 ** rng.uniform(-8, -3))
            cases.append(self._case(theta, grads, lr, betas, eps, defaults=False))
        return {"cases": cases}, {}

    def respond(self, inputs, adam_step):
        responses = []
        for case in inputs["cases"]:
            lr, keywords = case["lr"], {}
            if not case["defaults"]:
                keywords = {"beta1": case["beta1"], "beta2": case["beta2"], "eps": case["eps"]}

            def call(step, given, t, lr=lr, keywords=keywords):
                theta, grad, m, s = given["theta"], given["grad"], given["m"], given["s"]
                return step(theta, grad, m, s, t, lr, **keywords)

            responses.append(_run_steps(adam_step, self.names, case, list(case["grads"]), call))
        return {"cases": responses}

    def reference(self, inputs, secrets):
        runs = []
        for case in inputs["cases"]:
            param = Parameter(case["theta"].copy(), "theta")
            betas = (case["beta1"], case["beta2"])
            adam = Adam([param], lr=case["lr"], betas=betas, eps=case["eps"])

            def state(param=param, adam=adam):
                return param.value, adam.m[0], adam.s[0]

            runs.append(_optimizer_run(adam, param, case["grads"], state))
        return {"cases": runs}

    def judge(self, response, expected, inputs, secrets, hidden):
        cases = response.get("cases")
        if type(cases) is not list or len(cases) != len(inputs["cases"]):
            fail("the check received no results from adam_step.")
        for case, want, given in zip(cases, expected["cases"], inputs["cases"], strict=True):
            b1, b2 = given["beta1"], given["beta2"]
            if given["defaults"]:
                label = f"adam_step (lr={given['lr']:.3g}, the default beta1, beta2 and eps)"
            else:
                label = f"adam_step (lr={given['lr']:.3g}, beta1={b1:.4g}, beta2={b2:.6g}, "
                label += f"eps={given['eps']:.3g})"

            def hints(name, t, got, want, previous, b1=b1, b2=b2):
                if name == "s" and np.any(got < 0):
                    return "s has negative entries, but it averages squared gradients."
                if name in ("m", "s") and t == 1:  # from zero, m_1 and s_1 are (1 - beta) g^k
                    beta, default = (b1, 0.9) if name == "m" else (b2, 0.999)
                    ratios = {
                        beta / (1 - beta): f"{name}'s update swaps the weights beta and 1 - beta.",
                        1 / (1 - beta): f"{name}'s update is missing the factor 1 - beta.",
                    }
                    if beta != default:
                        ratios[(1 - default) / (1 - beta)] = (
                            f"{name}'s update used the default {default}, not the beta passed."
                        )
                    return _named_ratio(_ratio(got, want, tol=1e-6), ratios, 1e-6)
                if name != "theta":
                    return ""
                c1, c2 = 1.0 - b1**t, 1.0 - b2**t
                later1, later2 = 1.0 - b1 ** (t + 1), 1.0 - b2 ** (t + 1)
                ratios = {  # steps with a slip in the bias corrections, relative to the right one
                    c1 / np.sqrt(c2): "Both bias corrections, m / (1 - beta1^t) and "
                    "s / (1 - beta2^t), are missing.",
                    c1: "The bias correction of m, m / (1 - beta1^t), is missing.",
                    1 / np.sqrt(c2): "The bias correction of s, s / (1 - beta2^t), is missing.",
                    c1 / later1 * np.sqrt(later2 / c2): "The bias corrections use beta^(t+1): "
                    "t is the step's number as given, 1 at the first step.",
                }
                hint = _theta_step_hint(got, want, previous, ratios, 0.05)
                c = _ratio(got - previous["theta"], want - previous["theta"], tol=1e-2, share=0.9)
                if not hint and c is not None and abs(c - 1.0) < 1e-2:
                    hint = (
                        f"The step theta_t - theta_(t-1) is {c:.6f} times the right one: is eps "
                        "added outside the square root, sqrt(s_hat) + eps?"
                    )
                return hint

            start = {name: given[name] for name in self.names}
            compare = ("m", "s", "theta")
            _judge_steps(case, want, start, label, self.names, compare, hints, hidden)


HIDDEN_ACCURACY = 0.90
"""Accuracy the hidden check of 4.3 asks for on the altered test digits. Measured on the hidden
inputs of 30 grading seeds: the instructor's network gets at least 95.2%; four networks that
just reach 95% on the test split (softmax regression with Adam, 64-32-10 ReLU with momentum,
64-16-10 sigmoid with Adam, 64-128-10 ReLU with SGD) and one that standardizes its inputs get at
least 93.1% (softmax regression; the others 94.1% or more): a margin of 3 points. Chapter 4's
76% baseline gets at most 77%, so a table of the test images on top of it fails, and so do
weaker honest networks (87%: at most 87.4%); a 92% network passes (at least 92.0%)."""


@register
class DigitsNetwork(ExerciseDefinition):
    """4.3: a network that classifies at least 95% of the test digits (a criterion)."""

    id, answers, visible_seed = "4.3", ("digits_model",), 43

    def draw(self, rng, hidden):
        _, X_test, _, y_test = load_digits_split(test_fraction=0.3, seed=0)
        if not hidden:
            return {"X": X_test}, {"y": y_test}
        # The test digits, shuffled and altered a little (brightness, noise where there is ink,
        # clipped to the data's range [0, 1]): a table of the test set matches none of them, a
        # network's accuracy hardly changes. Noise only on the strokes keeps the blank border
        # blank, which a network that standardizes its inputs would otherwise magnify.
        order = rng.permutation(len(X_test))
        X, y = X_test[order], y_test[order]
        brightness = rng.uniform(0.85, 1.05, (len(X), 1))
        noise = 0.05 * rng.standard_normal(X.shape) * (X > 0)
        X = np.round(np.clip(brightness * X + noise, 0.0, 1.0), 3)  # 3 decimals: short JSON
        return {"X": X}, {"y": y}

    def respond(self, inputs, digits_model):
        if not isinstance(digits_model, Module):
            return {"is_module": False, "type": type(digits_model).__qualname__}
        return {"is_module": True, "logits": digits_model(inputs["X"].copy())}

    def judge(self, response, expected, inputs, secrets, hidden):
        if response.get("is_module") is not True:
            what = response.get("type")
            fail(
                "digits_model should be a coursepkg Module (a layer or a Sequential), got an "
                f"object of type {what if type(what) is str else 'unknown'}."
            )
        X, y = inputs["X"], secrets["y"]
        name = "digits_model(X) on the altered test digits" if hidden else "digits_model(X_test)"
        logits = expect_array(response.get("logits"), name, shape=(len(X), 10), dtype="float")
        accuracy = float(np.mean(np.argmax(logits, axis=1) == y))
        if not hidden:
            if not accuracy >= 0.95:
                fail(f"test accuracy {accuracy:.1%}, below the 95% required.")
            return
        if not accuracy >= HIDDEN_ACCURACY:
            fail(
                f"accuracy {accuracy:.1%} on the {len(X)} test digits altered a little "
                f"(brightness, noise on the strokes), below the {HIDDEN_ACCURACY:.0%} required "
                "there; networks that reach 95% on the test split keep above 93% on them. Train "
                "on X_train: a model that only recognizes stored test images does not generalize."
            )


def _batch(rng, N: int, offset, scale) -> np.ndarray:
    """A batch (N, C) of normal values with the given column offsets and scales."""
    return offset + scale * rng.standard_normal((N, np.size(scale)))


def _output_hint(got, want, gamma, beta, N: int) -> str:
    """Name the slip of a wrong training-mode output Y = gamma Z_hat + beta, if it is a common
    one: the unbiased variance in the normalization, or gamma or beta left out."""
    if type(got) is not np.ndarray or got.shape != want.shape or not np.all(np.isfinite(got)):
        return ""
    centred = want - beta  # gamma Z_hat
    c = _ratio(got - beta, centred, tol=1e-2, share=0.9)
    if N > 1 and c is not None and abs(c - np.sqrt((N - 1) / N)) <= 1e-2:
        return (
            "Around beta it is sqrt((N-1)/N) times the right output: Z is normalized with the "
            "unbiased variance (divided by N - 1); the forward pass divides by N (only the "
            "running variance takes the unbiased one)."
        )
    if close_to(got, centred / gamma):
        return "It is Z_hat itself: the output is gamma * Z_hat + beta."
    if close_to(got, centred / gamma + beta):
        return "The scale gamma is missing: the output is gamma * Z_hat + beta."
    if close_to(got, centred):
        return "The shift beta is missing: the output is gamma * Z_hat + beta."
    return ""


def _running_hint(name: str, got, want, previous, momentum: float, N: int) -> str:
    """Name the slip of a wrong running statistic after a training batch, from the expected one
    and the expected one before it (``previous``)."""
    if type(got) is not np.ndarray or got.shape != want.shape:
        return ""
    m = momentum
    statistic = (want - (1 - m) * previous) / m  # the batch mean, or its unbiased variance
    if close_to(got, previous):
        return f"{name} was not updated by the forward pass in training mode."
    if close_to(got, m * previous + (1 - m) * statistic):
        return (
            "momentum is the weight of the new batch statistic: running = (1 - momentum) "
            "running + momentum statistic (PyTorch's convention, the opposite of an optimizer's)."
        )
    if name == "running_var" and close_to(got, (1 - m) * previous + m * statistic * (N - 1) / N):
        return (
            "running_var was updated with the biased variance (divided by N); the running "
            "variance takes the unbiased one, N/(N-1) times it."
        )
    return ""


def _input_gradient_hint(grad, want, Z, gamma, eps: float) -> str:
    """Which part of dL/dZ a wrong gradient lacks. dL/dZ_hat = gamma dL/dY, and two invariances
    of the training-mode forward pass: adding a constant to a column of Z changes no output, so
    every column of dL/dZ sums to 0 (the path through the batch mean makes sure of that);
    scaling a column about its mean changes the outputs only through eps, so
    sum_i (Z_ic - mu_c) dL/dZ_ic is almost 0 (the path through the batch variance)."""
    if type(grad) is not np.ndarray or grad.shape != Z.shape or not np.all(np.isfinite(grad)):
        return ""
    if close_to(grad, want, 1e-4):
        return ""  # off by no more than finite differences: the message says so
    if close_to(grad, want / gamma):
        return "The factor gamma is missing: dL/dZ_hat = gamma * dL/dY."
    size = float(np.max(np.abs(grad), initial=0.0)) * Z.shape[0]
    if size == 0.0:
        return ""
    centred = Z - Z.mean(axis=0)
    shift = np.abs(grad.sum(axis=0)) / size
    stretch = np.abs((centred * grad).sum(axis=0)) / (size * np.abs(centred).max(axis=0))
    if np.max(shift) > 1e-6:
        return (
            "Its columns do not sum to 0, yet adding a constant to a column of Z changes no "
            "output in training mode: the path through the batch mean mu is missing or wrong."
        )
    if np.max(stretch) > 1e-6 + 2 * eps / Z.var(axis=0).min():
        return (
            "Scaling a column of Z about its mean leaves the outputs (almost) unchanged, but not "
            "your gradient's prediction: the path through the batch variance is missing or wrong."
        )
    return ""


@register
class BatchNormLayer(ExerciseDefinition):
    """4.4: a batch-normalization layer (training and evaluation mode, running statistics, a
    derived backward pass), compared with ``cp.BatchNorm``."""

    id, answers, visible_seed = "4.4", ("MyBatchNorm",), 44

    def draw(self, rng, hidden):
        if not hidden:  # the old check cell's inputs, in its order
            known = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 16.0]])  # means 3, 12
            gamma, beta = rng.uniform(0.5, 2.0, size=4), rng.uniform(0.5, 2.0, size=4)
            batches = np.stack([_batch(rng, 8, 3.0, np.full(4, 2.0)) for _ in range(5)])
            sequence = {
                "momentum": 0.2,
                "eps": 1e-5,
                "gamma": gamma,
                "beta": beta,
                "batches": batches,
                "Z_eval": _batch(rng, 5, 3.0, np.full(4, 2.0)),
            }
            scale = np.array([1.0, 3.0, 0.5])
            Z = _batch(rng, 6, 0.0, scale)
            # Added: an upstream gradient of our own, and a second pass on another batch.
            G = rng.standard_normal((6, 3))
            Z2, G2 = _batch(rng, 6, 0.0, scale), rng.standard_normal((6, 3))
            gradient = {
                "eps": 1e-5,
                "gamma": np.array([0.5, 1.0, 2.0]),
                "beta": np.array([0.1, -0.2, 0.3]),
                "Z": Z,
                "G": G,
                "Z2": Z2,
                "G2": G2,
            }
            return {"known": known, "sequence": sequence, "gradient": gradient}, {}
        # Hidden: everything fresh; the gradient's batch has a few thousand entries, so that
        # finite differences of the forward pass are off by far more than rounding.
        known = _batch(rng, int(rng.integers(3, 7)), rng.uniform(-3, 3, 3), rng.uniform(0.5, 3, 3))
        C, N = int(rng.integers(3, 9)), int(rng.integers(4, 13))
        offset, scale = rng.uniform(-3, 3, C), rng.uniform(0.5, 3, C)
        sign = rng.choice([-1.0, 1.0], C)
        sequence = {
            "momentum": float(rng.uniform(0.05, 0.5)),
            "eps": float(rng.choice([1e-5, 1e-3])),
            "gamma": sign * rng.uniform(0.5, 2.0, C),
            "beta": rng.uniform(-1.0, 1.0, C),
            "batches": np.stack([_batch(rng, N, offset, scale) for _ in range(rng.integers(3, 7))]),
            "Z_eval": _batch(rng, int(rng.integers(2, 11)), offset, scale),
        }
        C, N = int(rng.integers(25, 51)), int(rng.integers(40, 71))
        offset, scale = rng.uniform(-3, 3, C), rng.uniform(0.5, 3, C)
        gradient = {
            "eps": float(rng.choice([1e-5, 1e-3])),
            "gamma": rng.choice([-1.0, 1.0], C) * rng.uniform(0.5, 2.0, C),
            "beta": rng.uniform(-1.0, 1.0, C),
            "Z": _batch(rng, N, offset, scale),
            "G": rng.standard_normal((N, C)),
            "Z2": _batch(rng, N, offset, scale),
            "G2": rng.standard_normal((N, C)),
        }
        return {"known": known, "sequence": sequence, "gradient": gradient}, {}

    def respond(self, inputs, MyBatchNorm):  # noqa: N803 (the answer's name)
        known = inputs["known"]
        response = {"known": snapshot(MyBatchNorm(known.shape[1]).forward(known.copy()))}
        seq = inputs["sequence"]
        layer = MyBatchNorm(seq["gamma"].size, momentum=seq["momentum"], eps=seq["eps"])
        layer.gamma.value[...] = seq["gamma"]
        layer.beta.value[...] = seq["beta"]

        def state(Y):
            return {
                "Y": snapshot(Y),
                "running_mean": snapshot(layer.running_mean),
                "running_var": snapshot(layer.running_var),
            }

        response["training"] = [state(layer.forward(Z.copy())) for Z in seq["batches"]]
        layer.eval()
        response["evaluation"] = state(layer.forward(seq["Z_eval"].copy()))
        grad = inputs["gradient"]
        layer = MyBatchNorm(grad["gamma"].size, eps=grad["eps"])
        layer.gamma.value[...] = grad["gamma"]
        layer.beta.value[...] = grad["beta"]
        passes = []
        for Z, G in ((grad["Z"], grad["G"]), (grad["Z2"], grad["G2"])):
            Y = snapshot(layer.forward(Z.copy()))
            passes.append(
                {
                    "Y": Y,
                    "grad_Z": snapshot(layer.backward(G.copy())),
                    "grad_gamma": snapshot(layer.gamma.grad),
                    "grad_beta": snapshot(layer.beta.grad),
                }
            )
        response["backward"] = passes
        return response

    def reference(self, inputs, secrets):
        # coursepkg's BatchNorm goes through the same calls (its backward pass is derived).
        def batch_norm(n_features, **options):
            return BatchNorm(n_features, **options)

        return self.respond(inputs, batch_norm)

    def judge(self, response, expected, inputs, secrets, hidden):
        tolerance = value_tolerance(hidden)
        known = inputs["known"]
        name = f"MyBatchNorm({known.shape[1]}).forward(Z) in training mode"
        try:
            expect_close(response.get("known"), expected["known"], name, **tolerance)
        except CheckError as exc:
            hint = _output_hint(response.get("known"), expected["known"], 1.0, 0.0, len(known))
            fail(f"{exc} {hint}" if hint else str(exc))
        self._judge_sequence(response, expected, inputs["sequence"], tolerance)
        self._judge_backward(response, expected, inputs["gradient"], hidden)

    @staticmethod
    def _judge_sequence(response, expected, seq, tolerance) -> None:
        gamma, beta, m = seq["gamma"], seq["beta"], seq["momentum"]
        C, N = gamma.size, seq["batches"].shape[1]
        trained = response.get("training")
        if type(trained) is not list or len(trained) != len(seq["batches"]):
            fail("the check received no results for the training batches.")
        previous = {"running_mean": np.zeros(C), "running_var": np.ones(C)}
        for step, (got, want) in enumerate(zip(trained, expected["training"], strict=True), 1):
            if type(got) is not dict:
                fail("the check received no results for the training batches.")
            try:
                name = f"the output in training mode, batch {step}"
                expect_close(got.get("Y"), want["Y"], name, **tolerance)
            except CheckError as exc:
                hint = _output_hint(got.get("Y"), want["Y"], gamma, beta, N)
                fail(f"{exc} {hint}" if hint else str(exc))
            for key in ("running_mean", "running_var"):
                try:
                    expect_close(
                        got.get(key), want[key], f"{key} after training batch {step}", **tolerance
                    )
                except CheckError as exc:
                    hint = _running_hint(key, got.get(key), want[key], previous[key], m, N)
                    fail(f"{exc} {hint}" if hint else str(exc))
            previous = want
        got, want = response.get("evaluation"), expected["evaluation"]
        if type(got) is not dict:
            fail("the check received no results for evaluation mode.")
        try:
            expect_close(got.get("Y"), want["Y"], "the output in evaluation mode", **tolerance)
        except CheckError as exc:
            layer = BatchNorm(C, eps=seq["eps"])  # training mode: the batch's own statistics
            layer.gamma.value[...], layer.beta.value[...] = gamma, beta
            if close_to(got.get("Y"), layer.forward(seq["Z_eval"])):
                fail(
                    f"{exc} It is normalized with the batch's own statistics: in evaluation mode "
                    "(self.training False) the layer normalizes with running_mean and running_var."
                )
            raise
        for key in ("running_mean", "running_var"):
            name = f"{key} after a forward pass in evaluation mode (unchanged)"
            try:
                expect_close(got.get(key), want[key], name, **tolerance)
            except CheckError as exc:
                fail(f"{exc} Evaluation mode must not update the running statistics.")

    @staticmethod
    def _judge_backward(response, expected, grad, hidden) -> None:
        passes = response.get("backward")
        if type(passes) is not list or len(passes) != 2 or not all(type(p) is dict for p in passes):
            fail("the check received no results from forward and backward.")
        N, C = grad["Z"].shape
        tolerance = gradient_tolerance(hidden)
        layer = f"MyBatchNorm({C})"
        for number, (got, want, Z) in enumerate(
            zip(passes, expected["backward"], (grad["Z"], grad["Z2"]), strict=True)
        ):
            again = " after a second forward pass (on another Z)" if number else ""
            name = f"{layer}.forward(Z) in training mode (N = {N}){again}"
            expect_close(got.get("Y"), want["Y"], name, **value_tolerance(hidden))
            name = f"the input gradient dL/dZ that {layer}.backward(grad_Y) returned{again}"
            try:
                expect_close(got.get("grad_Z"), want["grad_Z"], name, **tolerance)
            except CheckError as exc:
                hint = _input_gradient_hint(
                    got.get("grad_Z"), want["grad_Z"], Z, grad["gamma"], grad["eps"]
                )
                if number and not hint:
                    hint = "Does backward use what the latest forward pass stored?"
                fail(f"{exc} {hint}" if hint else str(exc))
            for key, param in (("grad_gamma", "gamma"), ("grad_beta", "beta")):
                name = f"the gradient of {param} that backward accumulated ({param}.grad)"
                if number:
                    name += " after a second forward and backward pass"
                try:
                    expect_close(got.get(key), want[key], name, batch_size=N, **tolerance)
                except CheckError as exc:
                    if number and close_to(got.get(key), want[key] - expected["backward"][0][key]):
                        fail(
                            f"{exc} backward replaced {param}.grad instead of adding to it: "
                            "gradients accumulate over backward passes until zero_grad."
                        )
                    raise
