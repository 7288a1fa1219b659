"""Checks of the exercises of chapter 8, Bayesian neural networks.

The visible references come from the package's own ``BayesianLinear`` (its weights, forward and
backward passes and KL divergence), ``negative_elbo`` and ``predictive_entropy``, and from
numerical integration. The extreme cases of the chapter stay in: rho up to 750 (where e^rho is
infinite), probabilities of exactly 0 and 1 (where a careless entropy takes log 0).
"""

from __future__ import annotations

import warnings

import numpy as np

from ...activations import ReLU, Tanh
from ...bayes_linear import BayesianLinear, gaussian_kl, gaussian_kl_gradients
from ...functional import sigmoid, softplus
from ...gradcheck import numerical_gradient
from ...losses import BinaryCrossEntropy
from ...module import Sequential
from ...variational import negative_elbo, predictive_entropy
from ..checks import CheckError, expect_tuple, fail, results_per_case
from ..compare import close_to, expect_close, expect_close_float, gradient_tolerance
from ..definition import ExerciseDefinition, register
from ..plain_data import snapshot

# Exercise 8.1 ------------------------------------------------------------------------------------

_RHO_81 = [[-40.0, -3.0, -1.0, 0.0], [0.5, 1.0, 3.0, 20.0], [40.0, 100.0, 709.0, 750.0]]


def _package_weights(mu: np.ndarray, rho: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """The weights a BayesianLinear layer with these mu, rho and noise uses (any shape)."""
    layer = BayesianLinear(1, mu.size)
    layer.mu_W.value[...] = mu.reshape(1, -1)
    layer.rho_W.value[...] = rho.reshape(1, -1)
    layer.freeze_noise()
    layer.eps_W = eps.reshape(1, -1).copy()
    return layer.current_weights()[0].reshape(mu.shape)


def _weights_hint(got, mu: np.ndarray, rho: np.ndarray, eps: np.ndarray) -> str:
    if type(got) is not np.ndarray or got.shape != mu.shape:
        return ""
    if not np.all(np.isfinite(got)):
        return (
            f"softplus overflowed: e^rho is infinite for rho >= 710 (here up to {rho.max():.4g}); "
            "compute it as max(rho, 0) + log1p(exp(-|rho|))."
        )
    sigma = softplus(rho)
    candidates = [
        (mu + rho * eps, "It is mu + rho * eps: sigma = softplus(rho), not rho."),
        (mu + sigma, "It is mu + softplus(rho): the noise eps is missing."),
        (sigma * eps, "It is softplus(rho) * eps: the mean mu is missing."),
        (
            mu + sigma**2 * eps,
            "It uses softplus(rho)^2 (a variance) where the standard deviation "
            "softplus(rho) belongs.",
        ),
    ]
    for target, text in candidates:
        if close_to(got, target, 1e-9):
            return text
    return ""


@register
class ReparameterizedWeights(ExerciseDefinition):
    """8.1: weights W = mu + softplus(rho) * eps, with a softplus that cannot overflow."""

    id, answers, visible_seed = "8.1", ("sample_weights",), 81

    def draw(self, rng, hidden):
        if not hidden:  # the chapter's layer: BayesianLinear(3, 4, rng=81), its frozen noise
            layer = BayesianLinear(3, 4, rng=rng)
            layer.rho_W.value[...] = _RHO_81
            layer.freeze_noise()
            case = (layer.mu_W.value.copy(), np.array(_RHO_81), layer.eps_W.copy())
            return {"cases": [case]}, {}
        cases = []
        for shape in (
            (int(rng.integers(4, 20)), int(rng.integers(4, 20))),
            (int(rng.integers(5, 30)),),
        ):
            size = int(np.prod(shape))
            rho = rng.uniform(-40.0, 40.0, size)
            kind = rng.integers(0, 4, size)  # a quarter each: beyond exp's range, near it, small
            rho = np.where(kind == 0, rng.uniform(710.0, 750.0, size), rho)
            rho = np.where(kind == 1, rng.uniform(690.0, 710.0, size), rho)
            rho = np.where(kind == 2, rng.uniform(-40.0, -25.0, size), rho)
            mu = rng.standard_normal(size) * rng.uniform(0.1, 2.0)
            cases.append((mu.reshape(shape), rho.reshape(shape), rng.standard_normal(shape)))
        return {"cases": cases}, {}

    def respond(self, inputs, sample_weights):
        weights = [
            sample_weights(mu.copy(), rho.copy(), eps.copy()) for mu, rho, eps in inputs["cases"]
        ]
        return {"weights": weights}

    def reference(self, inputs, secrets):
        return {"weights": [_package_weights(*case) for case in inputs["cases"]]}

    def judge(self, response, expected, inputs, secrets, hidden):
        cases = inputs["cases"]
        weights = results_per_case(response, "weights", len(cases), "sample_weights")
        for (mu, rho, eps), got, want in zip(cases, weights, expected["weights"], strict=True):
            name = f"sample_weights(mu, rho, eps of shape {mu.shape})"
            hint = _weights_hint(got, mu, rho, eps)
            expect_close(got, want, name, hint=hint, rtol=1e-12, atol=1e-12)


# Exercise 8.2 ------------------------------------------------------------------------------------


def _package_layer(mu: np.ndarray, rho: np.ndarray, eps: np.ndarray) -> BayesianLinear:
    """A BayesianLinear layer with the weights mu + exp(rho) eps and no bias (b = 0 + sigma * 0).

    The package parameterizes sigma = softplus(rho'); rho' = log(e^sigma - 1) gives sigma = e^rho
    (rho stays within [-2.5, 2.5] here, where e^sigma - 1 neither overflows nor underflows)."""
    layer = BayesianLinear(*mu.shape)
    layer.mu_W.value[...] = mu
    layer.rho_W.value[...] = np.log(np.expm1(np.exp(rho)))
    layer.freeze_noise()
    layer.eps_W, layer.eps_b = eps.copy(), np.zeros(mu.shape[1])
    return layer


def _rho_grad_by_differences(case: dict, X: np.ndarray, G: np.ndarray) -> np.ndarray:
    """dL/drho of L = sum(G * forward(X)) by central differences through the package's layer."""
    rho = np.array(case["rho"], dtype=float)

    def loss():
        return float(np.sum(G * _package_layer(case["mu"], rho, case["eps"]).forward(X)))

    return numerical_gradient(loss, rho)


def _rho_grad_hint(got, want: np.ndarray, rho: np.ndarray, eps: np.ndarray) -> str:
    """The chain-rule slips of dL/drho = dL/dW * eps * exp(rho)."""
    if type(got) is not np.ndarray or got.shape != want.shape or not np.all(np.isfinite(got)):
        return ""
    slope = np.exp(rho)
    if close_to(got * slope, want):
        return "The factor dsigma/drho = exp(rho) is missing."
    if close_to(got * slope, want * sigmoid(rho)):
        return (
            "It uses sigmoid(rho), the slope of softplus (the chapter's sigma); here sigma = "
            "exp(rho), whose slope is exp(rho)."
        )
    if close_to(got * eps, want):
        return "The noise eps is missing: dW/drho = eps * exp(rho)."
    return ""


@register
class ReparamLinearBackward(ExerciseDefinition):
    """8.2: the forward and backward passes of a sampled linear layer W = mu + exp(rho) eps."""

    id, answers, visible_seed = "8.2", ("ReparamLinear",), 82

    def draw(self, rng, hidden):
        if hidden:  # a few thousand weights: finite differences are off by 1e-9 of the gradient
            shapes = [
                (int(rng.integers(30, 50)), int(rng.integers(30, 50)), int(rng.integers(30, 50)))
            ]
        else:
            shapes = [(5, 3, 2), (1, 1, 1), (4, 2, 6)]
        cases = []
        for n_batch, n_in, n_out in shapes:  # drawn as the chapter's check did
            mu, eps = rng.standard_normal((2, n_in, n_out))
            rho = rng.uniform(-2.0, 2.0, (n_in, n_out))
            cases.append(
                {"mu": mu, "rho": rho, "eps": eps, "X": rng.standard_normal((n_batch, n_in))}
            )
        for case in cases:  # the output gradients, and a second batch to check accumulation
            n_batch, n_out = len(case["X"]), case["mu"].shape[1]
            case["G"] = rng.standard_normal((n_batch, n_out))
            case["X2"] = rng.standard_normal(case["X"].shape)
            case["G2"] = rng.standard_normal((n_batch, n_out))
        return {"cases": cases}, {}

    def respond(self, inputs, ReparamLinear):  # noqa: N803 (the answer's name)
        results = []
        for case in inputs["cases"]:
            layer = ReparamLinear(case["mu"].copy(), case["rho"].copy(), case["eps"].copy())
            Z = layer.forward(case["X"].copy())
            grad_X = layer.backward(case["G"].copy())
            result = {"Z": Z, "grad_X": grad_X}
            result["mu_grad"], result["rho_grad"] = (
                snapshot(p.grad) for p in (layer.mu, layer.rho)
            )
            # A second batch through the same layer: backward must ADD into the gradients.
            layer.forward(case["X2"].copy())
            layer.backward(case["G2"].copy())
            result["mu_grad2"], result["rho_grad2"] = layer.mu.grad, layer.rho.grad
            results.append(result)
        return {"results": results}

    def reference(self, inputs, secrets):
        # The package's layer gives Z, dL/dX and dL/dmu (the same W, so the same values); its
        # rho is another parameter, so dL/drho comes from central differences (the visible
        # cases hold at most 12 weights).
        results = []
        for case in inputs["cases"]:
            layer = _package_layer(case["mu"], case["rho"], case["eps"])
            Z = layer.forward(case["X"])
            result = {"Z": Z, "grad_X": layer.backward(case["G"])}
            result["mu_grad"] = layer.mu_W.grad.copy()
            result["rho_grad"] = _rho_grad_by_differences(case, case["X"], case["G"])
            layer.forward(case["X2"])
            layer.backward(case["G2"])
            result["mu_grad2"] = layer.mu_W.grad
            second = _rho_grad_by_differences(case, case["X2"], case["G2"])
            result["rho_grad2"] = result["rho_grad"] + second
            results.append(result)
        return {"results": results}

    def judge(self, response, expected, inputs, secrets, hidden):
        cases = inputs["cases"]
        results = results_per_case(response, "results", len(cases), "ReparamLinear")
        for case, got, want in zip(cases, results, expected["results"], strict=True):
            if type(got) is not dict:
                fail("the check could not read the results of ReparamLinear.")
            self._judge_case(case, got, want, hidden)

    def _judge_case(self, case, got, want, hidden):
        X, mu, rho, eps = case["X"], case["mu"], case["rho"], case["eps"]
        N = len(X)
        layer = f"ReparamLinear(mu, rho, eps of shape {mu.shape})"
        forward = {"rtol": 1e-12, "relative_to": "largest"} if hidden else {"rtol": 1e-10}
        expect_close(got.get("Z"), want["Z"], f"{layer}.forward(X of shape {X.shape})", **forward)
        tolerance = gradient_tolerance(
            hidden, {"rtol": 1e-6, "atol": 1e-10, "relative_to": "largest"}
        )

        def grad_X_hint():
            if close_to(got.get("grad_X"), case["G"] @ mu.T):
                return "It is grad_Z mu^T: use the sampled weights W = mu + exp(rho) eps."
            return ""

        name = f"the input gradient dL/dX that {layer}.backward(grad_Z) returned"
        expect_close(got.get("grad_X"), want["grad_X"], name, hint=grad_X_hint(), **tolerance)
        name = f"the gradient of mu that {layer}.backward accumulated (self.mu.grad)"
        expect_close(got.get("mu_grad"), want["mu_grad"], name, batch_size=N, **tolerance)
        name = f"the gradient of rho that {layer}.backward accumulated (self.rho.grad)"
        hint = _rho_grad_hint(got.get("rho_grad"), want["rho_grad"], rho, eps)
        expect_close(
            got.get("rho_grad"), want["rho_grad"], name, hint=hint, batch_size=N, **tolerance
        )
        for label in ("mu", "rho"):
            second = got.get(f"{label}_grad2")
            name = f"self.{label}.grad after a second forward and backward pass (another batch)"
            try:
                expect_close(second, want[f"{label}_grad2"], name, **tolerance)
            except CheckError as exc:
                hint = ""
                if close_to(second, want[f"{label}_grad2"] - want[f"{label}_grad"]):
                    hint = (
                        f" It holds the second batch's gradient only: backward must add into "
                        f"self.{label}.grad (+=), not replace it."
                    )
                fail(f"{exc}{hint}")


# Exercise 8.3 ------------------------------------------------------------------------------------


def _shifted_kl(mu: np.ndarray, rho: np.ndarray, mu_p: float, sigma_p: float) -> np.ndarray:
    """KL(N(mu, sigma^2) || N(mu_p, sigma_p^2)) per element, from the package's zero-mean KL:
    shifting both distributions by -mu_p changes no KL."""
    flat = [
        gaussian_kl(np.array([m - mu_p]), np.array([r]), sigma_p)
        for m, r in zip(mu.ravel(), rho.ravel(), strict=True)
    ]
    return np.array(flat).reshape(mu.shape)


def _integrated_kl(mu: np.ndarray, rho: np.ndarray, mu_p: float, sigma_p: float) -> np.ndarray:
    """E_q[log q - log p] per element by the trapezoid rule, with w = mu + sigma z."""
    z = np.linspace(-12.0, 12.0, 24_001)
    log_phi = -0.5 * z**2 - 0.5 * np.log(2 * np.pi)
    sigma = softplus(rho.ravel())
    w = mu.ravel()[:, None] + sigma[:, None] * z
    log_q = log_phi - np.log(sigma)[:, None]
    log_p = -0.5 * ((w - mu_p) / sigma_p) ** 2 - 0.5 * np.log(2 * np.pi * sigma_p**2)
    return (np.sum(np.exp(log_phi) * (log_q - log_p), axis=1) * (z[1] - z[0])).reshape(mu.shape)


def _kl_hint(got, want: np.ndarray) -> str:
    if type(got) in (float, np.float64) or (type(got) is np.ndarray and got.ndim == 0):
        return "Return the KL of every element (an array of the shape of mu), not their sum."
    if type(got) is not np.ndarray or got.shape != want.shape or not np.all(np.isfinite(got)):
        return ""
    if close_to(got, want + 0.5, 1e-9):
        return "It is 1/2 too large everywhere: the constant -1/2 is missing."
    if close_to(got, want - 0.5, 1e-9):
        return "It is 1/2 too small everywhere: the constant is -1/2, once."
    return ""


def _kl_grad_hint(label: str, got, want: np.ndarray, rho: np.ndarray, sigma_p: float) -> str:
    if type(got) is not np.ndarray or got.shape != want.shape or not np.all(np.isfinite(got)):
        return ""
    if label == "grad_rho" and close_to(got * sigmoid(rho), want):
        return (
            "It is dKL/dsigma: chain it through sigma = softplus(rho), with dsigma/drho = "
            "sigmoid(rho)."
        )
    if label == "grad_mu" and sigma_p != 1.0 and close_to(got, want * sigma_p**2):
        return "It is mu - mu_p: the factor 1/sigma_p^2 is missing."
    return ""


@register
class GaussianKLGradients(ExerciseDefinition):
    """8.3: KL(N(mu, softplus(rho)^2) || N(mu_p, sigma_p^2)) per element and its gradients,
    derived."""

    id, answers, visible_seed = "8.3", ("kl_and_gradients",), 83

    def draw(self, rng, hidden):
        if not hidden:
            mu, rho = rng.standard_normal(6), rng.uniform(-3.0, 2.0, 6)
            return {"mu": mu, "rho": rho, "priors": [(0.0, 1.0), (0.5, 1.5), (-1.0, 0.3)]}, {}
        # 600 to 2,000 elements: an elementwise finite difference is off by more than 1e-10 of
        # the gradient's size somewhere (measured in tests/test_exercises_ch08.py); the response
        # (three priors, three arrays each) stays below 300 kB, far from the output limits.
        shape = (int(rng.integers(25, 45)), int(rng.integers(25, 45)))
        mu = rng.standard_normal(shape) * rng.uniform(0.5, 2.0)
        rho = rng.uniform(-4.0, 3.0, shape)
        priors = [(0.0, float(np.exp(rng.uniform(-1.0, 1.0))))]
        priors += [
            (float(rng.uniform(-2.0, 2.0)), float(np.exp(rng.uniform(-1.5, 1.2)))) for _ in range(2)
        ]
        return {"mu": mu, "rho": rho, "priors": priors}, {}

    def respond(self, inputs, kl_and_gradients):
        mu, rho = inputs["mu"], inputs["rho"]
        results = [
            kl_and_gradients(mu.copy(), rho.copy(), mu_p, sigma_p)
            for mu_p, sigma_p in inputs["priors"]
        ]
        return {"results": results}

    def reference(self, inputs, secrets):
        mu, rho = inputs["mu"], inputs["rho"]
        results, integrated = [], []
        for mu_p, sigma_p in inputs["priors"]:
            grad_mu, grad_rho = gaussian_kl_gradients(mu - mu_p, rho, sigma_p)
            results.append((_shifted_kl(mu, rho, mu_p, sigma_p), grad_mu, grad_rho))
            integrated.append(_integrated_kl(mu, rho, mu_p, sigma_p))
        return {"results": results, "integrated": integrated}

    def judge(self, response, expected, inputs, secrets, hidden):
        rho, priors = inputs["rho"], inputs["priors"]
        results = results_per_case(response, "results", len(priors), "kl_and_gradients")
        for index, ((mu_p, sigma_p), got) in enumerate(zip(priors, results, strict=True)):
            want = expected["results"][index]
            name = f"kl_and_gradients(mu, rho, mu_p={mu_p:.4g}, sigma_p={sigma_p:.4g})"
            got = expect_tuple(got, 3, name, "(kl, grad_mu, grad_rho)")
            kl_name = f"the KL of {name}"
            kl_tol = {"rtol": 1e-10, "atol": 1e-12}
            expect_close(got[0], want[0], kl_name, hint=_kl_hint(got[0], want[0]), **kl_tol)
            if not hidden:  # the chapter's check also integrated q log(q / p) numerically
                integrated = expected["integrated"][index]
                expect_close(got[0], integrated, kl_name, rtol=1e-8, atol=1e-10)
            tolerance = gradient_tolerance(hidden, {"rtol": 1e-6, "atol": 1e-8})
            for position, label in ((1, "grad_mu"), (2, "grad_rho")):
                hint = _kl_grad_hint(label, got[position], want[position], rho, sigma_p)
                expect_close(
                    got[position], want[position], f"{label} of {name}", hint=hint, **tolerance
                )


# Exercise 8.4 ------------------------------------------------------------------------------------

_ACTIVATIONS = {"relu": ReLU, "tanh": Tanh}


def _build_model(network: dict) -> Sequential:
    """A Sequential of BayesianLinear layers (noise frozen) and activations, from plain data."""
    modules = []
    for index, spec in enumerate(network["layers"]):
        n_in, n_out = spec["mu_W"].shape
        layer = BayesianLinear(n_in, n_out, prior_sigma=spec["prior_sigma"])
        for name in ("mu_W", "rho_W", "mu_b", "rho_b"):
            getattr(layer, name).value[...] = spec[name]
        layer.eps_W, layer.eps_b = spec["eps_W"].copy(), spec["eps_b"].copy()
        layer.mode = "fixed"
        if index:
            modules.append(_ACTIVATIONS[network["activation"]]())
        modules.append(layer)
    return Sequential(*modules)


def _layer_spec(layer: BayesianLinear) -> dict:
    spec = {name: getattr(layer, name).value.copy() for name in ("mu_W", "rho_W", "mu_b", "rho_b")}
    spec.update(eps_W=layer.eps_W.copy(), eps_b=layer.eps_b.copy(), prior_sigma=layer.prior_sigma)
    return spec


def _elbo_terms(network: dict, n_train: int) -> tuple[float, list[float]]:
    """The data term (mean BCE of the batch) and each Bayesian layer's KL, by the package."""
    model = _build_model(network)
    nll = negative_elbo(
        model, BinaryCrossEntropy(), network["X"], network["y"], n_train=n_train, backward=False
    ).nll
    kls = [m.kl() for m in model if isinstance(m, BayesianLinear)]
    return nll, kls


def _elbo_hint(got: float, network: dict, n_train: int) -> str:
    """The slip of exercise 8.4 that gives ``got``, from the two terms of the negative ELBO."""
    nll, kls = _elbo_terms(network, n_train)
    B, N, kl = len(network["X"]), n_train, sum(kls)
    candidates = [
        (nll + kl, f"It is BCE + KL: the KL is not divided by N = n_train = {N} (a missing 1/N)."),
        (
            B * nll + kl / N,
            f"It is B * BCE + KL / N: the data term is a sum over the batch "
            f"(B = {B}) where the mean belongs.",
        ),
        (
            B * nll + kl,
            f"It is B * BCE + KL: a sum over the batch (B = {B}) where the mean "
            f"belongs, and no 1/N (N = {N}) on the KL.",
        ),
        (
            nll + kl / B,
            f"It divides the KL by the batch size B = {B}, not by the number of "
            f"training samples N = {N}.",
        ),
        (nll, "It is the data term alone: the KL term is missing."),
        (nll - kl / N, "It subtracts KL / N: the negative ELBO adds it."),
        (kl / N, "It is KL / N alone: the data term (the BCE of the batch) is missing."),
    ]
    for count in range(1, len(kls)):
        for part, text in ((kls[:count], "first"), (kls[-count:], "last")):
            candidates.append(
                (
                    nll + sum(part) / N,
                    f"It has the KL of the {text} {count} Bayesian layer(s) "
                    f"only: sum layer.kl() over all {len(kls)} of them.",
                )
            )
    for target, text in candidates:
        if abs(got - target) <= 1e-9 * abs(target):
            return text
    return ""


def _network(rng) -> dict:
    """A fresh network of 2 or 3 BayesianLinear layers (one output logit) and a batch for it."""
    depth, n_features = int(rng.integers(2, 4)), int(rng.integers(2, 6))
    widths = [n_features] + [int(rng.integers(3, 11)) for _ in range(depth - 1)] + [1]
    layers = []
    for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
        layers.append(
            {
                "mu_W": rng.standard_normal((n_in, n_out)) / np.sqrt(n_in),
                "rho_W": rng.uniform(-3.0, 1.0, (n_in, n_out)),
                "mu_b": 0.1 * rng.standard_normal(n_out),
                "rho_b": rng.uniform(-3.0, 1.0, n_out),
                "eps_W": rng.standard_normal((n_in, n_out)),
                "eps_b": rng.standard_normal(n_out),
                "prior_sigma": float(rng.uniform(0.3, 2.0)),
            }
        )
    B = int(rng.integers(8, 31))
    X = rng.standard_normal((B, n_features))
    y = rng.integers(0, 2, (B, 1)).astype(float)
    n_trains = [B + int(rng.integers(1, 50)), int(rng.integers(100, 2000))]
    activation = str(rng.choice(["relu", "tanh"]))
    return {"layers": layers, "activation": activation, "X": X, "y": y, "n_trains": n_trains}


@register
class NegativeELBOByHand(ExerciseDefinition):
    """8.4: the per-sample negative ELBO of a batch, from the BCE and the layers' KL."""

    id, answers, visible_seed = "8.4", ("negative_elbo_by_hand",), 84

    def draw(self, rng, hidden):
        if hidden:
            return {"networks": [_network(rng), _network(rng)]}, {}
        X, y = _make_moons_84()
        networks = []
        for width in (4, 8):  # built as the chapter's check built them, from the same generator
            first = BayesianLinear(2, width, rng=rng, init="he")
            last = BayesianLinear(width, 1, rng=rng, prior_sigma=0.5)
            for layer in (first, last):
                layer.rho_W.value[...] = rng.uniform(-2.0, 1.0, layer.rho_W.shape)
                layer.freeze_noise()
            layers = [_layer_spec(first), _layer_spec(last)]
            networks.append(
                {"layers": layers, "activation": "relu", "X": X, "y": y, "n_trains": [12, 350]}
            )
        return {"networks": networks}, {}

    def respond(self, inputs, negative_elbo_by_hand):
        values = []
        for network in inputs["networks"]:
            for n_train in network["n_trains"]:
                model = _build_model(network)  # a fresh model for every call
                X, y = network["X"].copy(), network["y"].copy()
                values.append(negative_elbo_by_hand(model, X, y, n_train))
        return {"values": values}

    def reference(self, inputs, secrets):
        values = []
        for network in inputs["networks"]:
            for n_train in network["n_trains"]:
                X, y = network["X"], network["y"]
                model = _build_model(network)
                terms = negative_elbo(
                    model, BinaryCrossEntropy(), X, y, n_train=n_train, backward=False
                )
                values.append(terms.loss)
        return {"values": values}

    def judge(self, response, expected, inputs, secrets, hidden):
        cases = [(net, n) for net in inputs["networks"] for n in net["n_trains"]]
        values = results_per_case(response, "values", len(cases), "negative_elbo_by_hand")
        for (network, n_train), got, want in zip(cases, values, expected["values"], strict=True):
            widths = [spec["mu_W"].shape[0] for spec in network["layers"]] + [1]
            shape = "-".join(map(str, widths))
            name = (
                f"negative_elbo_by_hand({shape} network, X of shape {network['X'].shape}, y, "
                f"n_train={n_train})"
            )
            try:
                expect_close_float(got, want, name, rtol=1e-11 if hidden else 1e-10)
            except CheckError as exc:
                number = type(got) in (float, np.float64, np.float32) and np.isfinite(got)
                hint = _elbo_hint(float(got), network, n_train) if number else ""
                fail(f"{exc} {hint}" if hint else str(exc))


def _make_moons_84():
    from ...datasets import make_moons

    X, y = make_moons(12, noise=0.2, seed=84)
    return X, y.reshape(-1, 1)


# Exercise 8.5 ------------------------------------------------------------------------------------

_P_EDGE = np.array([[0.0, 1.0, 0.0, 0.5], [1.0, 1.0, 0.0, 0.5]])  # exact 0 and 1
_LOG2 = float(np.log(2.0))
_EDGE_EXPECTED = (  # total, aleatoric, epistemic, by hand: 0 log 0 = 0, H[1/2] = log 2
    np.array([_LOG2, 0.0, 0.0, _LOG2]),
    np.array([0.0, 0.0, 0.0, _LOG2]),
    np.array([_LOG2, 0.0, 0.0, 0.0]),
)


def _decomposition_hint(part: str, got, want: np.ndarray, parts: tuple) -> str:
    if type(got) is not np.ndarray or got.shape != want.shape or not np.all(np.isfinite(got)):
        return ""
    if close_to(got, want / _LOG2, 1e-9) and np.any(want):
        return "It is in bits (log base 2): use the natural log, nats."
    if part == "aleatoric" and close_to(got, parts[0], 1e-9):
        return (
            "It equals the total, the entropy of the average: the aleatoric part averages the "
            "entropies H[p_s] of the single samples."
        )
    if part == "epistemic" and np.any(got < -1e-12):
        return "It is negative somewhere: the epistemic part is total minus aleatoric."
    return ""


@register
class UncertaintyDecomposition(ExerciseDefinition):
    """8.5: total = aleatoric + epistemic uncertainty of S sampled predictions, with 0 log 0 = 0."""

    id, answers, visible_seed = "8.5", ("uncertainty_decomposition",), 85

    def draw(self, rng, hidden):
        if not hidden:
            spread = np.array([0.1, 1.0, 3.0, 10.0, 30.0, 100.0])  # from agreeing to disagreeing
            logits = rng.standard_normal((50, 6)) * spread + np.array([0, 0, 1, -2, 5, 0])
            return {"cases": [sigmoid(logits), _P_EDGE.copy()]}, {}
        S, N = int(rng.integers(20, 80)), int(rng.integers(8, 20))
        spread = np.exp(rng.uniform(np.log(0.05), np.log(100.0), N))
        P = sigmoid(rng.standard_normal((S, N)) * spread + rng.uniform(-5.0, 5.0, N))
        exact = rng.random((S, N)) < 0.1  # a tenth of the entries exactly 0 or 1
        P = np.where(exact, rng.integers(0, 2, (S, N)).astype(float), P)
        S2, N2 = int(rng.integers(2, 7)), int(rng.integers(5, 9))
        edge = rng.choice([0.0, 1.0, 0.5, float(rng.uniform(0.05, 0.95))], (S2, N2))
        edge[:, 0], edge[:, 1] = 0.0, 1.0  # all samples 0, all 1
        edge[:, 2] = np.arange(S2) % 2  # samples disagreeing completely: 0 and 1
        return {"cases": [P, edge[:, rng.permutation(N2)]]}, {}

    def respond(self, inputs, uncertainty_decomposition):
        # The warnings and floating-point errors are recorded here, as data, for the judge.
        results = []
        for P in inputs["cases"]:
            error = ""
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with np.errstate(divide="raise", invalid="raise"):
                    try:
                        result = uncertainty_decomposition(P.copy())
                    except FloatingPointError as exc:
                        result, error = None, str(exc)
            said = [f"{w.category.__name__}: {w.message}" for w in caught]
            results.append({"result": result, "floating_point_error": error, "warnings": said})
        return {"cases": results}

    def reference(self, inputs, secrets):
        results = []
        for P in inputs["cases"]:
            if P.shape == _P_EDGE.shape and np.array_equal(P, _P_EDGE):
                parts = _EDGE_EXPECTED
            else:
                S, N = P.shape
                total = predictive_entropy(P.mean(axis=0))
                aleatoric = predictive_entropy(P.reshape(-1)).reshape(S, N).mean(axis=0)
                parts = (total, aleatoric, total - aleatoric)
            results.append({"result": parts, "floating_point_error": "", "warnings": []})
        return {"cases": results}

    def judge(self, response, expected, inputs, secrets, hidden):
        cases = inputs["cases"]
        results = results_per_case(response, "cases", len(cases), "uncertainty_decomposition")
        tolerance = {"rtol": 1e-10, "atol": 1e-12} if hidden else {"rtol": 1e-9, "atol": 1e-12}
        for P, got, want in zip(cases, results, expected["cases"], strict=True):
            label = f"P = {P.tolist()}" if P.size <= 8 else f"P of shape {P.shape}"
            name = f"uncertainty_decomposition({label})"
            if type(got) is not dict:
                fail(f"the check could not read the result of {name}.")
            error, said = got.get("floating_point_error"), got.get("warnings")
            if type(error) is str and error:
                fail(f"{name} computed {error}: use 0 log 0 = 0 without np.log(0).")
            if type(said) is list and said:
                first = said[0] if type(said[0]) is str else "a warning"
                fail(f"{name} raised {first}: use 0 log 0 = 0 without np.log(0).")
            if type(error) is not str or type(said) is not list:
                fail(f"the check could not read the result of {name}.")
            result = expect_tuple(got.get("result"), 3, name, "(total, aleatoric, epistemic)")
            parts = want["result"]
            for value, part, reference in zip(
                result, ("total", "aleatoric", "epistemic"), parts, strict=True
            ):
                try:
                    expect_close(value, reference, f"the {part} part of {name}", **tolerance)
                except CheckError as exc:
                    hint = _decomposition_hint(part, value, reference, parts)
                    fail(f"{exc} {hint}" if hint else str(exc))
