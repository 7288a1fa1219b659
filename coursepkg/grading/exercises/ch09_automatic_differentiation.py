"""Checks of the exercises of chapter 9, automatic differentiation.

The visible references come from the engine ``coursepkg.autodiff`` itself and from finite
differences: SiLU as the engine's composition x * sigmoid(x) (9.1); RMSNorm's values from NumPy
and its gradients from central differences (9.2); the multiplication counts of 9.3 from the
shapes of the matrix products on the tape of a real engine run of the network. When graded, the
derived gradients (the VJP of 9.1, the corrected backward pass of 9.2) must agree with the
instructor's to rounding error, on inputs where finite differences are off by far more.

Two rules of the exercises are enforced here, not by the numbers alone: 9.1's answer must be one
new operation on the tape (the check reads the tape), and neither 9.1's VJP nor 9.2's corrected
backward pass may run the engine's reverse sweep (the check counts the sweeps, ``_sweeps``).
"""

from __future__ import annotations

import contextlib

import numpy as np

from ... import autodiff as ad
from ...functional import sigmoid
from ...gradcheck import numerical_gradient
from ..checks import INTEGER_TYPES, CheckError, fail, results_per_case
from ..compare import close_to, expect_close, gradient_tolerance, value_tolerance
from ..definition import ExerciseDefinition, register
from ..plain_data import snapshot, type_name

_RAISE = {"over": "raise", "divide": "raise", "invalid": "raise"}
"""NumPy's overflow, divide-by-zero and invalid-value warnings made errors while an answer runs:
a SiLU that overflows for large |x| is caught, whatever its result."""


@contextlib.contextmanager
def _sweeps():
    """Count the reverse sweeps of the engine while the block runs: ``[count]``.

    Every sweep (``Tensor.backward``, ``ad.gradients``) starts by laying out the tape with the
    module's ``tape``, which is looked up in the module at each call; it is wrapped here, and
    put back afterwards whatever happens.
    """
    count, original = [0], ad.tape

    def counting(output):
        count[0] += 1
        return original(output)

    ad.tape = counting
    try:
        yield count
    finally:
        ad.tape = original


def _expect_sweeps(value, allowed: int, message: str) -> None:
    """The sweep count of a response must be the integer ``allowed``; more means ``message``."""
    if type(value) not in INTEGER_TYPES:
        fail("the check could not count the engine's reverse sweeps in your answer.")
    if int(value) > allowed:
        fail(message)
    if int(value) != allowed:
        fail("the check could not count the engine's reverse sweeps in your answer.")


# Exercise 9.1 ------------------------------------------------------------------------------------

_X_91 = np.array([[-800.0, -30.0, -4.0, -1.5, -0.25, 0.0], [0.5, 1.0, 2.5, 7.0, 40.0, 800.0]])
"""Visible inputs: from far below -709 (where e^-x overflows float64) to far above."""


def _silu_by_composition(X: np.ndarray, G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """silu(X) and G times its derivative, by the engine's composition x * sigmoid(x): two
    recorded operations whose VJPs the engine already has (exact up to rounding)."""
    x = ad.Tensor(X)
    y = x * ad.sigmoid(x)
    return y.value, ad.gradients(y, x, upstream=G)


def _silu_hint(grad, E: np.ndarray, X: np.ndarray, G: np.ndarray) -> str:
    """Name the slip of a wrong VJP from its values: ``E`` = G silu'(X), the right ones.

    The candidates are built from E, G and s = sigmoid(X), so that the check holds no formula
    of silu': the product rule's term through x alone is G s, the other one E - G s."""
    if type(grad) is not np.ndarray or grad.shape != E.shape or grad.dtype.kind not in "iuf":
        return ""
    s = sigmoid(X)
    through_s = E - G * s  # the product rule's term through sigmoid(x)
    slips = [
        (G * s, "It is g s: the term x s (1 - s) of the product rule is missing."),
        (through_s, "It is g x s (1 - s): the term s of the product rule is missing."),
        (G * s * (1.0 - s), "It is g s (1 - s), the VJP of the sigmoid, not of x sigmoid(x)."),
        (G * s - through_s, "It is g (s - x s (1 - s)): the second term has the wrong sign."),
    ]
    for candidate, text in slips:
        if close_to(grad, candidate):
            return text
    with np.errstate(all="ignore"):
        if close_to(grad.astype(np.float64) * G, E):
            return (
                "It is the derivative silu'(x) itself: the VJP must multiply it by the upstream "
                "gradient g, dL/dx = g silu'(x)."
            )
    return ""


@register
class SiLUPrimitive(ExerciseDefinition):
    """9.1: SiLU, x * sigmoid(x), as one new operation on the tape, with a derived VJP."""

    id, answers, visible_seed = "9.1", ("silu",), 91

    def draw(self, rng, hidden):
        if not hidden:
            return {"X": _X_91.copy(), "G": rng.standard_normal(_X_91.shape)}, {}
        # A few hundred entries, a tenth of them far out (20 to 800 in size, either sign): there
        # a naive sigmoid overflows, and a central difference of silu is off by about 1e-9 of
        # the gradient's size (test_exercises_ch09.py), against DERIVED_RTOL = 1e-11.
        N, D = int(rng.integers(12, 21)), int(rng.integers(16, 25))
        X = rng.standard_normal((N, D)) * 4.0
        far = np.exp(rng.uniform(np.log(20.0), np.log(800.0), (N, D)))
        X = np.where(rng.random((N, D)) < 0.1, np.copysign(far, X), X)
        # And two entries beyond each of +-709, wherever they land.
        beyond = rng.choice(N * D, 4, replace=False)
        X.flat[beyond] = rng.uniform(710.0, 800.0, 4) * np.array([-1.0, -1.0, 1.0, 1.0])
        return {"X": X, "G": rng.standard_normal((N, D))}, {}

    def respond(self, inputs, silu):
        x = ad.Tensor(inputs["X"].copy())
        with np.errstate(**_RAISE):
            try:
                y = silu(x)
            except FloatingPointError as exc:
                return {"overflow": f"its forward pass computed {exc}"}
        if type(y) is not ad.Tensor:
            return {"result_type": type_name(y)}
        order = ad.tape(y)
        ops = [str(node.op)[:40] for node in order if node.op != "input"]
        response = {"Y": snapshot(y.value), "ops": ops[:12], "op_count": len(ops)}
        response["reaches_x"] = any(node is x for node in order)
        if not response["reaches_x"]:
            return response
        with np.errstate(**_RAISE), _sweeps() as sweeps:
            try:
                grad = ad.gradients(y, x, upstream=inputs["G"].copy())
            except FloatingPointError as exc:
                return {"overflow": f"its VJP computed {exc}"}
            except (ValueError, TypeError, AttributeError, IndexError) as exc:
                return {**response, "vjp_error": f"{type(exc).__name__}: {exc}"}
        return {**response, "grad_X": grad, "sweeps": sweeps[0]}

    def reference(self, inputs, secrets):
        Y, grad = _silu_by_composition(inputs["X"], inputs["G"])
        response = {"Y": Y, "ops": ["silu"], "op_count": 1, "reaches_x": True}
        return {**response, "grad_X": grad, "sweeps": 1}

    def judge(self, response, expected, inputs, secrets, hidden):
        X, G = inputs["X"], inputs["G"]
        where = f"on x of shape {X.shape}" if hidden else "on the check's x"
        overflow = response.get("overflow")
        if type(overflow) is str:
            fail(
                f"silu(x) is not stable for large |x| ({where}, up to |x| = "
                f"{np.max(np.abs(X)):.0f}): {overflow[:120]}. Compute sigmoid(x) in a form that "
                "cannot overflow, such as cp.sigmoid(x), which uses exp(-|x|) (np.where does "
                "not help: it computes both of its branches for every entry)."
            )
        if "result_type" in response:
            fail(
                "silu(x) should return an ad.Tensor (a node on the tape), got an object of type "
                f'{str(response["result_type"])[:80]}: return ad.Tensor(value, "silu", '
                "[(x, vjp)])."
            )
        ops, count = response.get("ops"), response.get("op_count")
        if type(ops) is not list or type(count) not in INTEGER_TYPES:
            fail("the check could not read the operations on the tape of silu(x).")
        names = ", ".join(str(op) for op in ops[:6]) + (", ..." if int(count) > 6 else "")
        if int(count) == 0:
            fail(
                "silu(x) recorded no operation: it returned an input Tensor, which has no "
                'parents. Return ad.Tensor(value, "silu", [(x, vjp)]).'
            )
        if int(count) > 1:
            fail(
                f"silu(x) recorded {int(count)} operations on the tape ({names}): it is composed "
                "from operations the engine already has. This exercise asks for one new "
                'operation, ad.Tensor(value, "silu", [(x, vjp)]), whose VJP you derive.'
            )
        if ops != ["silu"]:
            fail(f'the operation is recorded as {names}; call it "silu" (the op argument).')
        reaches_x = response.get("reaches_x")
        if reaches_x is False:
            fail(
                "the engine's sweep from silu(x) does not reach x: the parent of the new "
                "operation must be the Tensor x itself, (x, vjp), not a copy of it."
            )
        if reaches_x is not True:
            fail("the check could not read the operations on the tape of silu(x).")
        if "vjp_error" in response:
            fail(
                "the engine's sweep through silu(x) failed in your VJP: "
                f"{str(response['vjp_error'])[:200]}. vjp(g) gets g, an array of the shape of x, "
                "and must return dL/dx, an array of that shape."
            )
        _expect_sweeps(
            response.get("sweeps"),
            1,
            "the VJP of silu ran a reverse sweep of its own (ad.gradients or .backward() inside "
            "it): write the derivative you derived with NumPy instead.",
        )
        name = f"silu(x).value {where}"
        try:
            expect_close(response.get("Y"), expected["Y"], name, **value_tolerance(hidden))
        except CheckError as exc:
            if close_to(response.get("Y"), sigmoid(X)):
                fail(f"{exc} It is sigmoid(x); silu(x) is x times sigmoid(x).")
            raise
        grad = response.get("grad_X")
        expect_close(
            grad,
            expected["grad_X"],
            f"dL/dx = g silu'(x), from the VJP of your silu, {where}",
            hint=lambda: _silu_hint(grad, expected["grad_X"], X, G),
            **gradient_tolerance(hidden),
        )


# Exercise 9.2 ------------------------------------------------------------------------------------


def _rms(X: np.ndarray, eps: float, axis: int = 1) -> np.ndarray:
    """r = sqrt(mean of the squares along ``axis`` + eps), the axis kept (length 1)."""
    return np.sqrt(np.mean(X**2, axis=axis, keepdims=True) + eps)


def _rmsnorm(X: np.ndarray, gamma: np.ndarray, eps: float) -> np.ndarray:
    """RMSNorm's forward pass, as the notebook's module computes it. Shapes: X (N, D),
    gamma (D,) -> (N, D)."""
    return X / _rms(X, eps) * gamma


def _rmsnorm_fd(X: np.ndarray, gamma: np.ndarray, G: np.ndarray, eps: float):
    """dL/dX and dL/dgamma of L = sum(G * RMSNorm(X)), by central differences."""
    X, gamma = X.copy(), gamma.copy()

    def loss():
        return float(np.sum(G * _rmsnorm(X, gamma, eps)))

    return numerical_gradient(loss, X), numerical_gradient(loss, gamma)


def _rmsnorm_value_hint(Y, X: np.ndarray, gamma: np.ndarray, eps: float) -> str:
    """Name the slip of a wrong RMSNorm forward pass, by computing what the slips give."""
    slips = [
        (
            X / _rms(X, eps, axis=0) * gamma,
            "It normalizes each column (over the batch, axis 0); RMSNorm divides each row by "
            "the RMS of its D features (axis 1).",
        ),
        (
            X / np.sqrt(np.sum(X**2, axis=1, keepdims=True) + eps) * gamma,
            "It divides by the root of the sum of the squares; the RMS is the root of their mean.",
        ),
        (
            X / (np.mean(X**2, axis=1, keepdims=True) + eps) * gamma,
            "It divides by the mean square; the RMS is its square root.",
        ),
        (X / _rms(X, 0.0) * gamma, "eps is missing: r = sqrt(mean(X^2) + eps)."),
        (X / _rms(X, eps), "gamma is missing: Y = X / r * gamma."),
    ]
    for candidate, text in slips:
        if close_to(Y, candidate, 1e-9):
            return text
    return ""


def _rmsnorm_gradient_hint(grad, E: np.ndarray, X, gamma, G, eps: float) -> str:
    """Name the slip of a wrong dL/dX of RMSNorm; ``E`` is the right one.

    dL/dX has two parts: H / r (H = G gamma, directly through X / r) and the part through r,
    E - H / r. The slips scale the second part, so they are built from E without the formula."""
    if type(grad) is not np.ndarray or grad.shape != E.shape:
        return ""
    direct = G * gamma / _rms(X, eps)
    through_r = E - direct
    D = X.shape[1]
    slips = [
        (
            direct + D * through_r,
            "It is the given RMSNorm's dL/dX, bug and all: the term through r sums over the "
            "features where the derivative of the mean gives 1/D.",
        ),
        (direct, "It is H / r alone (H = dL/dY gamma): the path through r is missing."),
        (direct - through_r, "The term through r has the wrong sign."),
        (direct + through_r / D, "The term through r is divided by D once too often."),
    ]
    for candidate, text in slips:
        if close_to(grad, candidate):
            return text
    return ""


@register
class RMSNormBug(ExerciseDefinition):
    """9.2: RMSNorm on the engine, the planted bug in the given backward pass found, and the
    corrected backward pass derived."""

    id, answers, visible_seed = "9.2", ("rmsnorm_taped", "FixedRMSNorm"), 92

    def draw(self, rng, hidden):
        if not hidden:
            shapes = {"_a": (3, 5), "": (4, 6), "2": (2, 6)}
            eps = 1e-3
        else:
            # The corrected backward pass on a few hundred entries, rows of RMS 0.5 to 5: there
            # central differences (cp.numerical_gradient) are off by 3e-10 of the gradient's size
            # or more (test_exercises_ch09.py), against DERIVED_RTOL = 1e-11. The engine part
            # (a) gets a smaller batch, to keep the response small.
            N, D = int(rng.integers(14, 23)), int(rng.integers(14, 23))
            Na, Da = int(rng.integers(3, 8)), int(rng.integers(5, 12))
            shapes = {"_a": (Na, Da), "": (N, D), "2": (int(rng.integers(2, 5)), D)}
            eps = float(rng.choice([1e-6, 1e-4, 1e-2]))
        inputs = {"eps": eps}
        for suffix, (N, D) in shapes.items():
            scale = np.exp(rng.uniform(np.log(0.5), np.log(5.0), (N, 1)))
            offset = rng.uniform(-1.0, 1.0, (N, 1)) * scale  # rows whose mean is not 0
            inputs["X" + suffix] = rng.standard_normal((N, D)) * scale + offset
            inputs["G" + suffix] = rng.standard_normal((N, D))
        for suffix in ("_a", ""):
            D = inputs["X" + suffix].shape[1]
            inputs["gamma" + suffix] = rng.uniform(0.5, 2.0, D) * rng.choice([-1.0, 1.0], D)
        return inputs, {}

    def respond(self, inputs, rmsnorm_taped, FixedRMSNorm):  # noqa: N803 (the answer's name)
        eps = inputs["eps"]
        response = {}
        # (a) The engine: the gradients of the student's forward pass, by one sweep.
        X, gamma = ad.Tensor(inputs["X_a"].copy()), ad.Tensor(inputs["gamma_a"].copy())
        Y = rmsnorm_taped(X, gamma, eps)
        if type(Y) is not ad.Tensor:
            response["taped_type"] = type_name(Y)
        else:
            try:
                grad_X, grad_gamma = ad.gradients(Y, [X, gamma], upstream=inputs["G_a"].copy())
            except ValueError as exc:  # not on the tape, or Y of another shape
                response["taped_error"] = str(exc)
            else:
                response.update(taped_Y=snapshot(Y.value), taped_grad_X=grad_X)
                response["taped_grad_gamma"] = grad_gamma
        # (c) The corrected module: two batches, so that backward must follow the latest
        # forward and add into gamma.grad.
        layer = FixedRMSNorm(inputs["gamma"].copy(), eps=eps)
        layer.forward(inputs["X"].copy())
        with _sweeps() as sweeps:
            response["grad_X"] = snapshot(layer.backward(inputs["G"].copy()))
        response["grad_gamma"] = snapshot(layer.gamma.grad)
        response["Y2"] = snapshot(layer.forward(inputs["X2"].copy()))
        with _sweeps() as sweeps2:
            response["grad_X2"] = snapshot(layer.backward(inputs["G2"].copy()))
        response["grad_gamma_total"] = snapshot(layer.gamma.grad)
        response["sweeps"] = sweeps[0] + sweeps2[0]
        return response

    def reference(self, inputs, secrets):
        eps = inputs["eps"]
        taped_grad_X, taped_grad_gamma = _rmsnorm_fd(
            inputs["X_a"], inputs["gamma_a"], inputs["G_a"], eps
        )
        grad_X, grad_gamma = _rmsnorm_fd(inputs["X"], inputs["gamma"], inputs["G"], eps)
        grad_X2, grad_gamma2 = _rmsnorm_fd(inputs["X2"], inputs["gamma"], inputs["G2"], eps)
        return {
            "taped_Y": _rmsnorm(inputs["X_a"], inputs["gamma_a"], eps),
            "taped_grad_X": taped_grad_X,
            "taped_grad_gamma": taped_grad_gamma,
            "grad_X": grad_X,
            "grad_gamma": grad_gamma,
            "Y2": _rmsnorm(inputs["X2"], inputs["gamma"], eps),
            "grad_X2": grad_X2,
            "grad_gamma_total": grad_gamma + grad_gamma2,
            "sweeps": 0,
        }

    def judge(self, response, expected, inputs, secrets, hidden):
        self._judge_taped(response, expected, inputs, hidden)
        self._judge_fixed(response, expected, inputs, hidden)

    def _judge_taped(self, response, expected, inputs, hidden):
        """(a): rmsnorm_taped's value, and the gradients the engine finds through it."""
        X, gamma, eps = inputs["X_a"], inputs["gamma_a"], inputs["eps"]
        call = f"rmsnorm_taped(X, gamma, eps={eps:g}) for X of shape {X.shape}"
        if "taped_type" in response:
            fail(
                f"{call} should return an ad.Tensor computed from X and gamma with the engine's "
                f"operations, got an object of type {str(response['taped_type'])[:80]}."
            )
        if "taped_error" in response:
            error = str(response["taped_error"])[:300]
            # The engine's message names the input it cannot reach by its position.
            lost = [name for i, name in enumerate(("X", "gamma")) if f"input {i} " in error]
            if lost:
                fail(
                    f"the result of {call} does not depend on {' and '.join(lost)} through the "
                    "engine's operations: is it missing, or used through .value or a NumPy "
                    "function? Every step must be an operation of the engine on Tensors."
                )
            fail(
                f"the engine could not differentiate the result of {call}: {error} Every step "
                "must be an operation of the engine on Tensors (no .value, no NumPy functions)."
            )
        Y = response.get("taped_Y")
        try:
            expect_close(Y, expected["taped_Y"], f"the value of {call}", **value_tolerance(hidden))
        except CheckError as exc:
            hint = _rmsnorm_value_hint(Y, X, gamma, eps)
            fail(f"{exc} {hint}" if hint else str(exc))
        # Exact when graded (the instructor's engine run), finite differences while you work.
        tolerance = gradient_tolerance(False) if not hidden else value_tolerance(True)
        G = inputs["G_a"]
        for key, of in (("taped_grad_X", "X"), ("taped_grad_gamma", "gamma")):
            name = f"dL/d{of} that the engine's sweep finds through {call}"
            hint = ""
            if of == "X":
                # r computed off the tape (from X.value) is a constant to the sweep: the
                # gradient is then the direct term alone, H / r.
                constant_r = G * gamma / _rms(X, eps)
                if close_to(response.get(key), constant_r, 1e-9):
                    hint = (
                        "It is the gradient as if r were a constant: is r computed from "
                        "X.value (off the tape)? Compute it with the engine's operations on X."
                    )
            expect_close(response.get(key), expected[key], name, hint=hint, **tolerance)

    def _judge_fixed(self, response, expected, inputs, hidden):
        """(c): the corrected backward pass of FixedRMSNorm, on two batches."""
        eps = inputs["eps"]
        layer = f"FixedRMSNorm(gamma, eps={eps:g})"
        _expect_sweeps(
            response.get("sweeps"),
            0,
            f"{layer}.backward ran the engine's reverse sweep (ad.gradients or .backward()): "
            "this exercise asks for the backward pass by hand, from your derivation, as the "
            "modules of the earlier chapters have it.",
        )
        tolerance = gradient_tolerance(hidden)
        X, gamma, G = inputs["X"], inputs["gamma"], inputs["G"]
        grad = response.get("grad_X")
        name = f"the input gradient dL/dX that {layer}.backward returned (X of shape {X.shape})"
        expect_close(
            grad,
            expected["grad_X"],
            name,
            hint=lambda: _rmsnorm_gradient_hint(grad, expected["grad_X"], X, gamma, G, eps),
            **tolerance,
        )
        name = f"gamma.grad after {layer}.backward"
        hint = "dL/dgamma was right in the given RMSNorm: keep it."
        expect_close(
            response.get("grad_gamma"), expected["grad_gamma"], name, hint=hint, **tolerance
        )
        X2 = inputs["X2"]
        again = f"after a second forward pass (on X of shape {X2.shape})"
        Y2 = response.get("Y2")
        expect_close(Y2, expected["Y2"], f"{layer}.forward {again}", **value_tolerance(hidden))
        name = f"the input gradient dL/dX that {layer}.backward returned {again}"
        grad2 = response.get("grad_X2")
        try:
            expect_close(grad2, expected["grad_X2"], name, **tolerance)
        except CheckError as exc:
            shape = type(grad2) is np.ndarray and grad2.shape == X2.shape
            hint = "" if shape else " Does backward use the input of the latest forward call?"
            fail(f"{exc}{hint}")
        total = response.get("grad_gamma_total")
        name = f"gamma.grad {again} and its backward pass (the two batches' gradients added)"
        try:
            expect_close(total, expected["grad_gamma_total"], name, **tolerance)
        except CheckError as exc:
            first = expected["grad_gamma"]
            if close_to(total, expected["grad_gamma_total"] - first):
                fail(f"{exc} It holds the second batch's gradient only: add into gamma.grad (+=).")
            raise


# Exercise 9.3 ------------------------------------------------------------------------------------

_KEYS_93 = ("parameters", "forward", "backward", "reverse_mode", "forward_mode")

_CASES_93 = [([2, 3, 1], 4), ([784, 100, 10], 32), ([5, 8, 8, 8, 3], 10), ([1, 1], 1)]
_CASES_93 += [([64, 1, 64], 7)]
"""Visible cases (sizes, N): a network small enough to count by hand, an MNIST classifier, a deep
narrow one, a single weight and a bottleneck."""


def _count_on_the_tape(sizes: list[int], N: int) -> dict[str, int]:
    """The counts of exercise 9.3, read off the tape of a real engine run of the network.

    Every matmul node (n, k) @ (k, m) costs n k m in the forward pass. Its VJP for a parent costs
    as much again, and the sweep needs it only where that parent depends on a weight (not for
    the data X); a tangent pass of forward mode needs the same products, since the tangent of a
    parent that does not depend on the weights is 0.
    """
    rng = np.random.default_rng(0)
    A = ad.Tensor(rng.standard_normal((N, sizes[0])))
    weights = [
        ad.Tensor(rng.standard_normal((m, n)) / np.sqrt(m))
        for m, n in zip(sizes[:-1], sizes[1:], strict=True)
    ]
    for W in weights:
        A = ad.tanh(A @ W)  # activations and the loss cost no matrix products
    on_weights = {id(W) for W in weights}
    forward = backward = tangent = 0
    for node in ad.tape(A.sum()):  # parents before children
        if any(id(parent) in on_weights for parent, _ in node.parents):
            on_weights.add(id(node))
        if node.op == "matmul":
            (left, _), (right, _) = node.parents
            cost = left.shape[0] * left.shape[1] * right.shape[1]
            forward += cost
            needed = sum(id(parent) in on_weights for parent in (left, right))
            backward += needed * cost
            tangent += needed * cost
    weight_count = sum(W.value.size for W in weights)
    return {
        "parameters": weight_count,
        "forward": forward,
        "backward": backward,
        "reverse_mode": forward + backward,
        "forward_mode": forward + weight_count * tangent,
    }


def _count_slips(key: str, value: int, want: dict, sizes: list[int], N: int) -> str:
    """Name the slip that gives ``value`` for ``key``, from the right counts ``want``."""
    n0, n1 = sizes[0], sizes[1]
    first_input = N * n0 * n1  # the product dL/dX of the first layer would cost
    biases = sum(sizes[1:])
    F, P, B = want["forward"], want["parameters"], want["backward"]
    slips = {
        "parameters": [
            (P + biases, "It counts the biases too; this exercise ignores them."),
            (P - sizes[-2] * sizes[-1], "The last layer's weights are missing."),
            (P - n0 * n1, "The first layer's weights are missing."),
            (P + 1, "It is one too many."),
            (P - 1, "It is one too few."),
        ],
        "forward": [
            (
                P,
                "The batch size N is missing: each layer's product (N, n_{l-1}) @ "
                "(n_{l-1}, n_l) costs N n_{l-1} n_l.",
            ),
            (F + N * biases, "It counts the biases too; this exercise ignores them."),
        ],
        "backward": [
            (
                B + first_input,
                "It counts dL/dX for the first layer, whose input is the data: "
                "nobody needs that gradient, and the sweep skips it.",
            ),
            (
                F,
                "It counts the weight gradients only; every layer but the first also needs "
                "dL/d(its input), to pass the gradient down.",
            ),
        ],
        "reverse_mode": [
            (B, "It is the backward pass alone; reverse mode needs the forward pass first."),
            (F + B + first_input, "It counts dL/dX for the first layer, whose input is the data."),
        ],
        "forward_mode": [
            (
                F + P * F,
                "Each tangent pass costs as many multiplications as the backward pass, "
                "not the forward pass: the tangent of A W is dA W + A dW, two products (one in the "
                "first layer, where dA = 0), both counted densely in every layer, even where "
                "they are zero for the weight of this pass.",
            ),
            (P * B, "The forward pass for the values (F) is missing."),
            (F + P * (B + first_input), "It counts dX W for the first layer, where dX = 0."),
            (F + B, "That is reverse mode: forward mode needs one tangent pass per weight."),
        ],
    }[key]
    for candidate, text in slips:
        if value == candidate and candidate != want[key]:
            return f" {text}"
    return ""


@register
class CountMultiplications(ExerciseDefinition):
    """9.3: the multiplications of an MLP's forward pass, its gradient in reverse mode and in
    forward mode, counted exactly."""

    id, answers, visible_seed = "9.3", ("multiplications",), 93

    def draw(self, rng, hidden):
        if not hidden:
            return {"cases": [(list(sizes), N) for sizes, N in _CASES_93]}, {}
        cases = []
        for layers in (1, 2, 3, 4, 5, int(rng.integers(2, 7))):
            sizes = [int(n) for n in rng.integers(1, 400, layers + 1)]
            cases.append((sizes, int(rng.integers(1, 257))))
        order = rng.permutation(len(cases))
        return {"cases": [cases[i] for i in order]}, {}

    def respond(self, inputs, multiplications):
        return {"counts": [multiplications(list(sizes), N) for sizes, N in inputs["cases"]]}

    def reference(self, inputs, secrets):
        return {"counts": [_count_on_the_tape(list(sizes), N) for sizes, N in inputs["cases"]]}

    def judge(self, response, expected, inputs, secrets, hidden):
        cases = inputs["cases"]
        counts = results_per_case(response, "counts", len(cases), "multiplications")
        for (sizes, N), got, want in zip(cases, counts, expected["counts"], strict=True):
            call = f"multiplications({list(sizes)}, N={N})"
            if type(got) is not dict:
                fail(
                    f"{call} should return a dict with the keys {', '.join(_KEYS_93)}, got an "
                    f"object of type {type_name(got)}."
                )
            for key in _KEYS_93:
                if key not in got:
                    fail(f"{call} has no key {key!r}; it needs {', '.join(_KEYS_93)}.")
                value, right = got[key], int(want[key])
                if type(value) not in INTEGER_TYPES:
                    number = f" ({value!r})" if type(value) in (float, np.float64) else ""
                    fail(
                        f"{call}[{key!r}] should be an exact integer (int), got an object of "
                        f"type {type_name(value)}{number}: count with integers (*, +, sum), "
                        "without / or floats."
                    )
                if int(value) != right:
                    hint = _count_slips(key, int(value), want, list(sizes), N)
                    fail(f"{call}[{key!r}] is {int(value)}, expected {right}.{hint}")
