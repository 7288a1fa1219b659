"""Checks of the exercises of chapter 7, mixture density networks.

The visible references come from the package's own ``mixture_parameters``,
``MixtureDensityLoss`` (its forward value and its ``backward``) and ``GaussianMixture`` (numerical
integration of its density). Every check keeps the extreme cases of the chapter: logits of size
1,000, targets 40 standard deviations away from every component, components of width e^-20; the
hidden inputs draw new ones of the same kinds.
"""

from __future__ import annotations

import numpy as np

from ...functional import sigmoid, softplus
from ...mdn import HALF_LOG_2PI, GaussianMixture, MixtureDensityLoss, mixture_parameters
from ..checks import CheckError, expect_array, expect_tuple, fail, results_per_case
from ..compare import close_to, diagnose, expect_close, expect_close_float, gradient_tolerance
from ..definition import ExerciseDefinition, register

# Exercise 7.1 ------------------------------------------------------------------------------------


def _blocks(Y: np.ndarray, K: int) -> dict[str, np.ndarray]:
    return {"a": Y[:, :K], "m": Y[:, K : 2 * K], "s": Y[:, 2 * K :]}


def _parameters_hint(label: str, value, Y: np.ndarray, K: int) -> str:
    """Which slip of exercise 7.1 gives ``value`` for the parameter ``label``, or ``""``."""
    blocks = _blocks(Y, K)
    if label == "pi":
        if type(value) is not np.ndarray or value.shape != (len(Y), K):
            return ""
        if not np.all(np.isfinite(value)):
            if np.max(np.abs(blocks["a"])) > 700:
                return (
                    f"e^a overflows for logits as large as {np.max(np.abs(blocks['a'])):.4g}: "
                    "subtract each row's largest a_j from its logits before exponentiating."
                )
            return ""
        if len(Y) > 1 and np.allclose(value.sum(axis=0), 1.0) and not np.allclose(value.sum(1), 1):
            return "Its columns sum to 1, not its rows: take the softmax of each row (axis=1)."
        if not np.allclose(value.sum(axis=1), 1.0):
            return "Its rows do not sum to 1: pi is the softmax of each row's K logits a."
        return ""
    right = "m" if label == "mu" else "e^s"
    for name, block in blocks.items():
        with np.errstate(over="ignore"):
            candidates = ((name, block), (f"e^{name}", np.exp(block)))
        for said, candidate in candidates:
            if said != right and close_to(value, candidate, 1e-9):
                return (
                    f"It is {said}, from the columns of {name} in Y = [a | m | s] (K columns "
                    f"each): mu = m and sigma = e^s."
                )
    if label == "sigma" and close_to(value, softplus(blocks["s"]), 1e-9):
        return "It is softplus(s): this exercise uses sigma = e^s."
    return ""


@register
class MixtureFromOutputs(ExerciseDefinition):
    """7.1: the mixture parameters (pi, mu, sigma) from a network's raw outputs."""

    id, answers, visible_seed = "7.1", ("mixture_from_outputs",), 71

    def draw(self, rng, hidden):
        if not hidden:
            cases = [
                (rng.standard_normal((4, 6)), 2),
                (rng.standard_normal((3, 9)), 3),
                (rng.standard_normal((2, 3)), 1),
                (np.array([[1000.0, 999.0, -1000.0, 0.2, 0.5, 0.8, -2.0, -1.5, -2.5]]), 3),
            ]
            return {"cases": cases}, {}
        cases = []
        for _ in range(4):
            K, N = int(rng.integers(1, 7)), int(rng.integers(2, 13))
            cases.append((rng.standard_normal((N, 3 * K)) * rng.uniform(0.5, 3.0), K))
        # Logits far beyond exp's range (e^710 = inf), of both signs, with near ties at the top.
        for _ in range(2):
            K, N = int(rng.integers(2, 6)), int(rng.integers(2, 8))
            Y = rng.standard_normal((N, 3 * K))
            top = rng.uniform(720.0, 1000.0, (N, 1))
            Y[:, :K] = top - rng.uniform(0.0, 3.0, (N, K)) * rng.choice([1.0, 700.0], (N, K))
            Y[:, 0] = top[:, 0] * rng.choice([-1.0, 1.0], N)
            cases.append((Y, K))
        return {"cases": cases}, {}

    def respond(self, inputs, mixture_from_outputs):
        return {"results": [mixture_from_outputs(Y.copy(), K) for Y, K in inputs["cases"]]}

    def reference(self, inputs, secrets):
        return {"results": [tuple(mixture_parameters(Y, K)) for Y, K in inputs["cases"]]}

    def judge(self, response, expected, inputs, secrets, hidden):
        cases = inputs["cases"]
        results = results_per_case(response, "results", len(cases), "mixture_from_outputs")
        rtol = 1e-11 if hidden else 1e-10
        for (Y, K), got, want in zip(cases, results, expected["results"], strict=True):
            name = f"mixture_from_outputs(Y of shape {Y.shape}, K={K})"
            got = expect_tuple(got, 3, name, "(pi, mu, sigma)")
            for value, label, reference in zip(got, ("pi", "mu", "sigma"), want, strict=True):
                # pi holds probabilities (an absolute error of 1e-12 is no error); mu is a copy
                # and sigma = e^s is computed to the last bits by any right answer.
                atol = 1e-12 if label == "pi" else 0.0
                try:
                    expect_close(value, reference, f"{label} of {name}", rtol=rtol, atol=atol)
                except CheckError as exc:
                    hint = _parameters_hint(label, value, Y, K)
                    fail(f"{exc} {hint}" if hint else str(exc))


# Exercise 7.2 ------------------------------------------------------------------------------------


def _far_target_case(rng) -> tuple[np.ndarray, float, int]:
    """A mixture of narrow components and a target 30 to 60 of their widths from every mean:
    every phi_k underflows to 0 there, so only log space gives the (large, finite) NLL."""
    K = int(rng.integers(2, 5))
    a, m = rng.standard_normal(K), rng.uniform(-1.0, 1.0, K)
    s = -3.0 + rng.uniform(-0.5, 0.5, K)
    side = rng.choice([-1.0, 1.0])
    edge = m.max() if side > 0 else m.min()
    t = float(edge + side * rng.uniform(30.0, 60.0) * np.exp(s).max())
    return np.concatenate([a, m, s]), t, K


def _huge_logits_case(rng) -> tuple[np.ndarray, float, int]:
    """Mixing logits of several hundreds, where e^a is infinite."""
    K = int(rng.integers(2, 6))
    a = rng.uniform(500.0, 1000.0, K) * rng.choice([-1.0, 1.0], K)
    a[0] = rng.uniform(720.0, 1000.0)  # beyond 709.8, where e^a overflows
    a[-1] = a[0] - rng.uniform(0.0, 2.0)  # a near tie at the top: both components count
    y = np.concatenate([a, rng.standard_normal(K), rng.uniform(-1.5, 0.0, K)])
    return y, float(rng.standard_normal()), K


def _narrow_case(rng) -> tuple[np.ndarray, float, int]:
    """Components of width about e^-20, and a target 0.1 to 1 from their means."""
    K = int(rng.integers(1, 4))
    m = rng.uniform(-1.0, 1.0, K)
    y = np.concatenate([0.5 * rng.standard_normal(K), m, -20.0 + rng.uniform(-1.0, 1.0, K)])
    t = float(m[0] + rng.choice([-1.0, 1.0]) * rng.uniform(0.1, 1.0))
    return y, t, K


def _nll_name(y: np.ndarray, t: float, K: int) -> str:
    return f"mixture_nll(y={np.round(y, 2).tolist()}, t={t:.3g}, K={K})"


@register
class MixtureNLL(ExerciseDefinition):
    """7.2: the negative log-likelihood of one target under a mixture, without overflow."""

    id, answers, visible_seed = "7.2", ("mixture_nll",), 72

    def draw(self, rng, hidden):
        if not hidden:
            cases = [
                (rng.standard_normal(3 * K), float(rng.standard_normal()), K) for K in (1, 2, 3, 5)
            ]
            cases += [
                (np.array([0.0, 0.0, 0.0, 1.0, -3.0, -3.0]), 3.0, 2),  # 40 sigmas from a mean
                (np.array([800.0, 0.0, -800.0, 0.1, 0.5, 0.9, -1.0, -1.0, -1.0]), 0.4, 3),
                (np.array([0.3, -0.2, 0.0, 1.0, -20.0, -20.0]), 0.5, 2),  # widths e^-20
            ]
            return {"cases": cases}, {}
        cases = []
        for _ in range(6):
            K = int(rng.integers(1, 7))
            y = rng.standard_normal(3 * K) * np.repeat([2.0, 1.5, 0.7], K)
            cases.append((y, float(2.0 * rng.standard_normal()), K))
        for make in (_far_target_case, _huge_logits_case, _narrow_case):
            cases += [make(rng), make(rng)]
        order = rng.permutation(len(cases))
        return {"cases": [cases[i] for i in order]}, {}

    def respond(self, inputs, mixture_nll):
        return {"values": [mixture_nll(y.copy(), t, K) for y, t, K in inputs["cases"]]}

    def reference(self, inputs, secrets):
        values = [MixtureDensityLoss(K)(y[None, :], np.array([t])) for y, t, K in inputs["cases"]]
        return {"values": values}

    def judge(self, response, expected, inputs, secrets, hidden):
        cases = inputs["cases"]
        values = results_per_case(response, "values", len(cases), "mixture_nll")
        rtol = 1e-11 if hidden else 1e-9
        for (y, t, K), got, want in zip(cases, values, expected["values"], strict=True):
            name = _nll_name(y, t, K)
            try:
                expect_close_float(got, want, name, rtol=rtol, atol=1e-12)
            except CheckError as exc:
                fail(f"{exc} {_nll_hint(got, want)}".strip())


def _nll_hint(got, want: float) -> str:
    """The slip of exercise 7.2 that gives ``got`` instead of ``want``, or ``""``."""
    if type(got) not in (float, np.float64, np.float32):
        return ""
    if not np.isfinite(got):
        return (
            "The plain formula overflows or takes log(0) here (phi_k underflows to 0 for a "
            "target far from every component, e^a is infinite for a logit of 800): stay in log "
            "space, with ln pi_k = a_k - logsumexp(a) and a log-sum-exp over the ln phi_k."
        )
    difference = float(got) - want
    if abs(difference + HALF_LOG_2PI) < 1e-6:
        return "It is off by -ln(2 pi)/2 = -0.919: the constant -ln(2 pi)/2 of ln phi_k is missing."
    if abs(difference - HALF_LOG_2PI) < 1e-6:
        return "It is off by +ln(2 pi)/2 = 0.919: the constant of ln phi_k has the wrong sign."
    return ""


# Exercise 7.3 ------------------------------------------------------------------------------------

_BLOCK_NAMES = ("dE/da (the first K entries)", "dE/dm (entries K to 2K-1)", "dE/ds (the last K)")


def _allowed(want: np.ndarray, tolerance: dict) -> np.ndarray:
    """The error each entry may have under ``tolerance`` (as ``expect_close`` computes it)."""
    magnitude = np.abs(want)
    if tolerance.get("relative_to") == "largest":
        magnitude = np.full_like(magnitude, np.max(magnitude, initial=0.0))
    return tolerance["atol"] + tolerance["rtol"] * magnitude


def _softplus_scale_hint(got: np.ndarray, want: np.ndarray, s: np.ndarray) -> str:
    """The chain-rule slips of dE/ds for sigma = softplus(s)."""
    sigma = softplus(s)
    if close_to(got, want * sigma):
        return (
            "it is dE/d(ln sigma) times sigmoid(s) = dsigma/ds; the chain rule goes through "
            "ln sigma, so the factor is d(ln sigma)/ds = sigmoid(s) / softplus(s)"
        )
    if close_to(got, want * sigma / sigmoid(s)):
        return (
            "it is dE/d(ln sigma), the exp case's dE/ds: for sigma = softplus(s), multiply by "
            "d(ln sigma)/ds = sigmoid(s) / softplus(s)"
        )
    return ""


def _gradient_blocks_hint(got, want: np.ndarray, case: tuple, tolerance: dict) -> str:
    """Which of the three blocks of the gradient (a, m, s) are wrong, and how, or ``""``."""
    y, _, K, activation = case
    if type(got) is not np.ndarray or got.shape != want.shape or not np.all(np.isfinite(got)):
        return ""
    off = np.abs(got.astype(np.float64) - want) > _allowed(want, tolerance)
    wrong = []
    for block, label in enumerate(_BLOCK_NAMES):
        part = slice(block * K, (block + 1) * K)
        if not np.any(off[part]):
            continue
        slip = diagnose(got[part], want[part])
        if block == 2 and activation == "softplus" and not slip:
            slip = _softplus_scale_hint(got[part], want[part], y[2 * K :])
        wrong.append(f"{label}{': ' + slip if slip else ''}")
    if not wrong:
        return ""
    if len(wrong) == 3:
        return "All three blocks are wrong: " + "; ".join(wrong) + "."
    return "Wrong: " + "; ".join(wrong) + " (the other blocks are right)."


def _saturated_case(rng) -> tuple[np.ndarray, float, int]:
    """Mixing logits of +-20 to +-40: pi is 1 and about e^-60, and pi - gamma cancels."""
    K = int(rng.integers(2, 5))
    a = rng.uniform(20.0, 40.0, K) * rng.choice([-1.0, 1.0], K)
    y = np.concatenate([a, rng.uniform(-1.0, 1.0, K), rng.uniform(-1.5, 0.5, K)])
    return y, float(rng.uniform(-1.0, 1.0)), K


@register
class MixtureNLLGradient(ExerciseDefinition):
    """7.3: the gradient of the mixture NLL with respect to the outputs, for sigma = e^s and
    sigma = softplus(s), derived."""

    id, answers, visible_seed = "7.3", ("mixture_nll_grad",), 73

    def draw(self, rng, hidden):
        if not hidden:
            cases = [
                (rng.standard_normal(3 * K), float(rng.standard_normal()), K) for K in (1, 2, 3, 5)
            ]
            cases += [
                (np.array([0.0, 0.0, 0.0, 1.0, -3.0, -3.0]), 3.0, 2),  # every phi_k underflows
                (np.array([30.0, -30.0, 0.5, 0.4, -1.0, 0.0]), 0.45, 2),  # saturated logits
            ]
            return {"cases": [(*c, act) for act in ("exp", "softplus") for c in cases]}, {}
        # Many small cases: a finite-difference gradient is off by about 1e-10 of the gradient's
        # size on each, so some case exposes it (measured in tests/test_exercises_ch07.py).
        cases = []
        for activation in ("exp", "softplus"):
            for _ in range(40):
                K = int(rng.integers(1, 9))
                y = rng.standard_normal(3 * K) * np.repeat([1.5, 1.0, 0.6], K)
                cases.append((y, float(1.5 * rng.standard_normal()), K, activation))
            for make in (_far_target_case, _saturated_case):
                cases += [(*make(rng), activation) for _ in range(4)]
        order = rng.permutation(len(cases))
        return {"cases": [cases[i] for i in order]}, {}

    def respond(self, inputs, mixture_nll_grad):
        grads = [
            mixture_nll_grad(y.copy(), t, K, sigma_activation=activation)
            for y, t, K, activation in inputs["cases"]
        ]
        return {"grads": grads}

    def reference(self, inputs, secrets):
        grads = []
        for y, t, K, activation in inputs["cases"]:
            loss = MixtureDensityLoss(K, sigma_activation=activation)
            loss(y[None, :], np.array([t]))
            grads.append(loss.backward()[0])  # one sample: the mean over the batch is itself
        return {"grads": grads}

    def judge(self, response, expected, inputs, secrets, hidden):
        cases = inputs["cases"]
        grads = results_per_case(response, "grads", len(cases), "mixture_nll_grad")
        tolerance = gradient_tolerance(hidden, {"rtol": 1e-7, "atol": 1e-10, "derived": True})
        for case, got, want in zip(cases, grads, expected["grads"], strict=True):
            y, t, K, activation = case
            name = (
                f"mixture_nll_grad(y={np.round(y, 2).tolist()}, t={t:.3g}, K={K}, "
                f'sigma_activation="{activation}")'
            )
            try:
                expect_array(got, name, shape=(3 * K,), dtype="float")
                expect_close(got, want, name, **tolerance)
            except CheckError as exc:
                if "finite differences" in str(exc):
                    raise  # that message says all there is to say
                hint = _gradient_blocks_hint(got, want, case, tolerance)
                fail(f"{exc} {hint}" if hint else str(exc))


# Exercise 7.4 ------------------------------------------------------------------------------------


def _variance_hint(got, pi: np.ndarray, mu: np.ndarray, sigma: np.ndarray, want_mean, want_var):
    """The slip of exercise 7.4 that gives the variance ``got``, or ``""``."""
    # The two parts are the exercise text's formula; the einsum keeps them apart from any
    # answer's lines (the student edition's leak test searches the package for those).
    within = np.einsum("nk,nk->n", pi, sigma**2)
    between = want_var - within
    candidates = [
        (
            within,
            "it is the spread within the components alone: add the spread between the "
            "means, sum_k pi_k (mu_k - E[t])^2",
        ),
        (
            between,
            "it is the spread between the means alone: add the spread within the "
            "components, sum_k pi_k sigma_k^2",
        ),
        (np.sum(pi * sigma, axis=1) + between, "it uses sigma_k where sigma_k^2 belongs"),
        (want_var + want_mean**2, "it is E[t^2]: subtract E[t]^2 to get the variance"),
    ]
    for target, text in candidates:
        if close_to(got, target, 1e-9):
            return f"{text[0].upper()}{text[1:]}."
    return ""


@register
class MixtureMeanVariance(ExerciseDefinition):
    """7.4: the mean and the variance of a batch of Gaussian mixtures."""

    id, answers, visible_seed = "7.4", ("mixture_mean_variance",), 74

    def draw(self, rng, hidden):
        if not hidden:
            Y = rng.standard_normal((5, 9))
            Y[:, 6:] = 0.5 * Y[:, 6:] - 1.0  # standard deviations from about 0.1 to 1
            mixtures = [
                tuple(mixture_parameters(Y, 3)),
                (
                    np.array([[0.5, 0.5], [0.9, 0.1]]),
                    np.array([[0.0, 1.0], [-2.0, 3.0]]),
                    np.array([[0.1, 0.1], [1.0, 0.5]]),
                ),
            ]
            return {"mixtures": mixtures}, {}
        mixtures = []
        for K in (1, int(rng.integers(2, 5)), int(rng.integers(4, 8))):
            N = int(rng.integers(4, 16))
            logits = rng.standard_normal((N, K)) * rng.uniform(0.5, 2.0)
            pi = np.exp(logits - logits.max(axis=1, keepdims=True))
            pi /= pi.sum(axis=1, keepdims=True)
            mu = rng.standard_normal((N, K)) * rng.uniform(0.5, 2.0) + rng.uniform(-1.0, 1.0)
            sigma = np.exp(rng.uniform(-2.5, 0.5, (N, K)))
            mixtures.append((pi, mu, sigma))
        return {"mixtures": mixtures}, {}

    def respond(self, inputs, mixture_mean_variance):
        results = [
            mixture_mean_variance(pi.copy(), mu.copy(), sigma.copy())
            for pi, mu, sigma in inputs["mixtures"]
        ]
        return {"results": results}

    def reference(self, inputs, secrets):
        t = np.linspace(-15.0, 15.0, 30_001)
        dt = t[1] - t[0]
        results = []
        for pi, mu, sigma in inputs["mixtures"]:
            mixture = GaussianMixture(pi, mu, sigma)
            density = mixture.density(t)  # (N, T)
            mean = np.sum(density * t, axis=1) * dt
            variance = np.sum(density * (t - mean[:, None]) ** 2, axis=1) * dt
            results.append((mixture.mean(), variance))
        return {"results": results}

    def judge(self, response, expected, inputs, secrets, hidden):
        mixtures = inputs["mixtures"]
        results = results_per_case(response, "results", len(mixtures), "mixture_mean_variance")
        for (pi, mu, sigma), got, want in zip(mixtures, results, expected["results"], strict=True):
            name = f"mixture_mean_variance(pi, mu, sigma of shape {pi.shape})"
            got = expect_tuple(got, 2, name, "(mean, variance)")
            # Hidden: the instructor's values, to rounding (a mean can cancel to about 0, so
            # relative to the largest); visible: the package's mean, the integrated variance.
            if hidden:
                mean_tol = {"rtol": 1e-11, "atol": 0.0, "relative_to": "largest"}
                var_tol = {"rtol": 1e-10, "atol": 0.0}
            else:
                mean_tol, var_tol = {"rtol": 1e-7, "atol": 1e-12}, {"rtol": 1e-7, "atol": 1e-12}
            expect_close(got[0], want[0], f"the mean of {name}", **mean_tol)
            try:
                expect_close(got[1], want[1], f"the variance of {name}", **var_tol)
            except CheckError as exc:
                hint = _variance_hint(got[1], pi, mu, sigma, want[0], want[1])
                fail(f"{exc} {hint}" if hint else str(exc))
