"""Checks of the exercises of chapter 6, convolutional networks.

Output sizes of dilated kernels (6.1) are compared with known values; the convolution's matrix
(6.2) and average pooling (6.3) with ``coursepkg``'s own ``Conv2d``, which computes both: its
outputs for one-hot images are the matrix's columns, and a stride-2 kernel of quarters on each
channel averages 2x2 windows. When graded, the backward pass
of 6.3 must agree with the instructor's derived one to rounding error.
"""

from __future__ import annotations

import numpy as np

from ...conv import Conv2d
from ..checks import CheckError, expect_array, expect_int, fail, results_per_case
from ..compare import close_to, diagnose, expect_close, gradient_tolerance, value_tolerance
from ..definition import ExerciseDefinition, register

_KNOWN_SIZES = {
    (28, 5, 0, 1, 1): 24,
    (28, 3, 1, 1, 1): 28,
    (28, 5, 2, 2, 1): 14,
    (28, 4, 0, 3, 1): 9,
    (7, 7, 0, 1, 1): 1,
    (32, 3, 1, 2, 1): 16,
    (28, 3, 0, 1, 2): 24,
    (28, 3, 2, 1, 2): 28,
    (28, 5, 1, 2, 3): 9,
    (7, 3, 0, 1, 3): 1,
    (32, 3, 2, 3, 2): 11,
}
"""Visible cases (H, k, p, s, d) and their output sizes, found by counting the window positions
that fit: the old check's cases without dilation (d = 1), then dilated kernels."""


def _size_slips(H: int, k: int, p: int, s: int, d: int) -> dict[str, int]:
    """The output sizes common slips give, by the slip's description."""
    extent = d * (k - 1) + 1  # the rows a dilated kernel spans
    room = H + 2 * p  # the padded input
    ignored, d_times_k = (room - k) // s + 1, (room - d * k) // s + 1
    return {
        "the dilation is ignored: k taps, d rows apart, span d(k - 1) + 1 rows.": ignored,
        "the kernel spans d k rows; its k taps, d rows apart, span d(k - 1) + 1.": d_times_k,
        "the + 1 is missing: a kernel that just fits gives one output.": (room - extent) // s,
        "it rounds up; the formula takes the floor of the division.": -((extent - room) // s) + 1,
        "the padding counts once; p rows are added on each side (2p).": (H + p - extent) // s + 1,
        "the stride s is ignored.": room - extent + 1,
    }


def _size_hint(sizes: list, cases: list) -> str:
    """Name the slip that gives every one of the answer's sizes (the cases' sizes by several
    slips coincide now and then), if there is one."""
    if not all(type(size) in (int, np.int32, np.int64) for size in sizes):
        return ""
    slips = [_size_slips(*case) for case in cases]
    for text in slips[0]:
        if all(size == slip[text] for size, slip in zip(sizes, slips, strict=True)):
            return f"It looks as if {text}"
    return ""


@register
class OutputSize(ExerciseDefinition):
    """6.1: the output size of a dilated convolution or pooling layer along one axis."""

    id, answers, visible_seed = "6.1", ("conv_output_size",), 61

    def draw(self, rng, hidden):
        if not hidden:
            return {"cases": list(_KNOWN_SIZES)}, {}
        cases = []
        for number in range(16):
            # Every other case has padding and a stride that does not divide the span left to
            # the kernel, so that a missing 2p, floor or + 1 shows; three in four are dilated.
            tricky = number % 2 == 1
            while True:
                H, k = int(rng.integers(5, 65)), int(rng.integers(2, 8))
                p, s = int(rng.integers(int(tricky), 4)), int(rng.integers(1 + int(tricky), 5))
                d = 1 if number % 4 == 0 else int(rng.integers(2, 5))
                room = H + 2 * p - d * (k - 1) - 1
                if room >= 0 and (not tricky or room % s):
                    break
            cases.append((H, k, p, s, d))
        return {"cases": cases}, {}

    def respond(self, inputs, conv_output_size):
        return {"sizes": [conv_output_size(H, k, p, s, d) for H, k, p, s, d in inputs["cases"]]}

    def reference(self, inputs, secrets):
        return {"sizes": [_KNOWN_SIZES[tuple(case)] for case in inputs["cases"]]}

    def judge(self, response, expected, inputs, secrets, hidden):
        message = "conv_output_size did not return one value per case."
        sizes = results_per_case(
            response, "sizes", len(inputs["cases"]), "conv_output_size", message=message
        )
        cases = inputs["cases"]
        for (H, k, p, s, d), got, want in zip(cases, sizes, expected["sizes"], strict=True):
            name = f"conv_output_size(H={H}, k={k}, p={p}, s={s}, d={d})"
            if type(got) in (float, np.float32, np.float64):
                fail(
                    f"{name} should be an integer (int), got {got!r} (a float): use integer "
                    "division, //, which takes the floor."
                )
            try:
                expect_int(got, name, reference=int(want))
            except CheckError as exc:
                hint = _size_hint(sizes, cases)
                fail(f"{exc} {hint}" if hint else str(exc))


def _matrix_by_conv(K: np.ndarray, H: int, W: int, s: int) -> np.ndarray:
    """The matrix of the cross-correlation of an H x W grey image with K (kh, kw) at stride s,
    by coursepkg's Conv2d: column a W + b is the layer's output for the one-hot image of pixel
    (a, b), exactly (each output is K[u, v] times 1 plus zeros)."""
    conv = Conv2d(1, 1, K.shape, stride=s, bias=False)
    conv.W.value[:, :, 0, 0] = K
    one_hot_images = np.eye(H * W).reshape(H * W, H, W, 1)
    return conv.forward(one_hot_images).reshape(H * W, -1).T


def _conv_matrix_hint(M, want, K, H: int, W: int, s: int, Ho: int, Wo: int) -> str:
    """Name the slip when M has the right shape and wrong values, by building what the common
    slips give."""
    slips = {
        "It is the matrix of a convolution with the flipped kernel K[::-1, ::-1]. The layers of "
        "this chapter (and Conv2d) compute a cross-correlation: output (i, j) is the sum of "
        "K[u, v] X[s i + u, s j + v], with no flip.": _matrix_by_conv(K[::-1, ::-1], H, W, s),
        "Its columns take the pixels column by column; pixel (a, b) belongs in column a W + b, "
        "as X.reshape(-1) orders them.": want.reshape(-1, H, W)
        .transpose(0, 2, 1)
        .reshape(-1, H * W),
        "Its rows are in the wrong order: output (i, j) belongs in row i Wo + j (j runs "
        "fastest), as Z.reshape(-1) orders them.": want.reshape(Ho, Wo, -1)
        .transpose(1, 0, 2)
        .reshape(Ho * Wo, -1),
    }
    for text, slip in slips.items():
        if close_to(M, slip, 1e-9):
            return text
    return ""


@register
class ConvMatrix(ExerciseDefinition):
    """6.2: a strided convolution of a grey image as one (Ho Wo, H W) matrix, and its transpose
    as the input gradient (the transposed convolution)."""

    id, answers, visible_seed = "6.2", ("conv_matrix",), 62

    def draw(self, rng, hidden):
        if not hidden:
            cases = [
                {"K": rng.standard_normal((3, 2)), "H": 8, "W": 7, "s": 2},
                {"K": rng.standard_normal((2, 3)), "H": 4, "W": 5, "s": 1},
            ]
            return {"cases": cases}, {}
        # One case per stride 1, 2, 3, so that an answer that ignores the stride cannot pass;
        # kh != kw, so that a kernel read transposed cannot fit. Sizes are small, so that the
        # matrices (at most 42 x 72 entries, mostly zeros) make a small response.
        cases = []
        for s in (1, 2, 3):
            kh = int(rng.integers(2, 5))
            kw = int(rng.choice([k for k in range(2, 5) if k != kh]))
            H, W = int(rng.integers(kh + 2, 9)), int(rng.integers(kw + 2, 10))
            cases.append({"K": rng.standard_normal((kh, kw)), "H": H, "W": W, "s": s})
        return {"cases": cases}, {}

    def respond(self, inputs, conv_matrix):
        matrices = []
        for case in inputs["cases"]:
            matrices.append(conv_matrix(case["K"].copy(), case["H"], case["W"], case["s"]))
        return {"M": matrices}

    def reference(self, inputs, secrets):
        cases = inputs["cases"]
        return {"M": [_matrix_by_conv(c["K"], c["H"], c["W"], c["s"]) for c in cases]}

    def judge(self, response, expected, inputs, secrets, hidden):
        cases = inputs["cases"]
        matrices = results_per_case(response, "M", len(cases), "conv_matrix")
        for case, M, want in zip(cases, matrices, expected["M"], strict=True):
            _judge_conv_matrix(M, want, case["K"], case["H"], case["W"], case["s"])


def _judge_conv_matrix(M, want, K, H: int, W: int, s: int) -> None:
    """Compare one answer M with the matrix ``want`` of the cross-correlation with K (kh, kw)
    at stride s on H x W images; fail naming the slip."""
    kh, kw = K.shape
    Ho, Wo = (H - kh) // s + 1, (W - kw) // s + 1
    name = f"conv_matrix(K, H={H}, W={W}, s={s}) for K of shape {K.shape}"
    shape = (Ho * Wo, H * W)
    if type(M) is np.ndarray and M.shape != shape:
        slips = {
            (H * W, Ho * Wo): "one row per output pixel and one column per input pixel; the "
            "transpose?",
            ((H - kh + 1) * (W - kw + 1), H * W): "the stride s is ignored: the window moves s "
            "pixels at a time, so Ho = (H - kh) // s + 1.",
        }
        hint = slips.get(M.shape)
        if hint:
            fail(f"{name} has shape {M.shape}, expected {shape}: {hint}")
    expect_array(M, name, shape=shape, dtype="float")
    if not close_to(M, want, 1e-12):
        hint = _conv_matrix_hint(M, want, K, H, W, s, Ho, Wo)
        if hint:
            fail(f"{name} holds the kernel's values in the wrong places. {hint}")
        row = int(np.argmax(np.any(np.abs(M - want) > 1e-12 * np.abs(want).max(), axis=1)))
        i, j = divmod(row, Wo)
        where = f"row {row} of M (output pixel ({i}, {j}), whose window starts at pixel "
        where += f"({s * i}, {s * j})) for H={H}, W={W}, s={s}"
        expect_close(M[row], want[row], where, rtol=1e-12, relative_to="largest")
    # What the matrix shows: its product is the layer's forward pass, and its transpose gives
    # the layer's input gradient (hence "transposed convolution").
    rng = np.random.default_rng(0)
    X, G = rng.standard_normal((1, H, W, 1)), rng.standard_normal((1, Ho, Wo, 1))
    conv = Conv2d(1, 1, K.shape, stride=s, bias=False)
    conv.W.value[:, :, 0, 0] = K
    forward = conv.forward(X).reshape(-1)
    expect_close(M @ X.reshape(-1), forward, "M @ X.reshape(-1)", rtol=1e-10)
    grad_X = conv.backward(G).reshape(-1)
    expect_close(M.T @ G.reshape(-1), grad_X, "M.T @ grad_Z.reshape(-1)", rtol=1e-10)


def _pool_by_conv(X: np.ndarray, G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average pooling over 2x2 windows, forward and backward, by coursepkg's Conv2d: stride 2
    and the kernel 1/4 on each channel (0 across channels)."""
    C = X.shape[3]
    conv = Conv2d(C, C, 2, stride=2, bias=False)
    conv.W.value[...] = 0.25 * np.eye(C)[None, None]
    return conv.forward(X), conv.backward(G)


def _pool_gradient_hint(grad, want) -> str:
    """Name the slip of a wrong dL/dX of 2x2 average pooling, from its structure."""
    if type(grad) is not np.ndarray or grad.shape != want.shape or not np.all(np.isfinite(grad)):
        return ""
    if close_to(grad, want, 1e-4) or diagnose(grad, want):
        return ""  # finite differences, or a slip expect_close has named
    if close_to(grad, 4.0 * want, 1e-9):
        return (
            "It is 4 times the right values: the 1/4 is missing. Each pixel adds a quarter of "
            "its value to its window's mean, so it gets a quarter of the window's gradient."
        )
    if close_to(grad, want / 4.0, 1e-9):
        return "It is a quarter of the right values: divided by 4 twice?"
    quarters = want[:, ::2, ::2]  # grad_A / 4, one value per window
    if any(close_to(grad, c * np.tile(quarters, (1, 2, 2, 1)), 1e-9) for c in (1.0, 4.0)):
        return (
            "np.tile repeats the whole grid of windows; each window's gradient belongs to its "
            "own 2x2 block of pixels (np.repeat along both axes)."
        )
    return "The four pixels of a window should all get a quarter of that window's gradient."


@register
class AvgPoolBackward(ExerciseDefinition):
    """6.3: average pooling over 2x2 windows, forward and a derived backward pass."""

    id, answers, visible_seed = "6.3", ("AvgPool2d",), 63

    def draw(self, rng, hidden):
        if not hidden:
            X = rng.standard_normal((2, 4, 6, 3))  # the old check cell's input
            # Added: our own upstream gradient, and a second pass with another shape.
            G = rng.standard_normal((2, 2, 3, 3))
            X2, G2 = rng.standard_normal((1, 6, 2, 3)), rng.standard_normal((1, 3, 1, 3))
            return {"X": X, "G": G, "X2": X2, "G2": G2}, {}
        # A few thousand entries: finite differences of the forward pass are then off by far
        # more than rounding.
        N, C = int(rng.integers(4, 8)), int(rng.integers(3, 6))
        H, W = 2 * int(rng.integers(4, 9)), 2 * int(rng.integers(4, 9))
        X, G = rng.standard_normal((N, H, W, C)), rng.standard_normal((N, H // 2, W // 2, C))
        N2 = int(rng.integers(1, 4))
        H2, W2 = 2 * int(rng.integers(1, 5)), 2 * int(rng.integers(1, 5))
        X2 = rng.standard_normal((N2, H2, W2, C))
        G2 = rng.standard_normal((N2, H2 // 2, W2 // 2, C))
        return {"X": X, "G": G, "X2": X2, "G2": G2}, {}

    def respond(self, inputs, AvgPool2d):  # noqa: N803 (the answer's name)
        pool = AvgPool2d()
        A = pool.forward(inputs["X"].copy())
        grad = pool.backward(inputs["G"].copy())
        # A second pass through the same layer, on images of another size.
        A2 = pool.forward(inputs["X2"].copy())
        return {"A": A, "grad_X": grad, "A2": A2, "grad_X2": pool.backward(inputs["G2"].copy())}

    def reference(self, inputs, secrets):
        A, grad = _pool_by_conv(inputs["X"], inputs["G"])
        A2, grad2 = _pool_by_conv(inputs["X2"], inputs["G2"])
        return {"A": A, "grad_X": grad, "A2": A2, "grad_X2": grad2}

    def judge(self, response, expected, inputs, secrets, hidden):
        for suffix, again in (("", ""), ("2", " after a second forward pass (on another X)")):
            X = inputs["X" + suffix]
            name = f"AvgPool2d().forward(X) for X of shape {X.shape}{again}"
            A, want = response.get("A" + suffix), expected["A" + suffix]
            try:
                expect_close(A, want, name, **value_tolerance(hidden))
            except CheckError as exc:
                if close_to(A, 4.0 * want, 1e-9):
                    fail(f"{exc} It is 4 times the mean of each window: its sum.")
                raise
            name = f"the input gradient dL/dX that AvgPool2d().backward(grad_A) returned{again}"
            grad, want = response.get("grad_X" + suffix), expected["grad_X" + suffix]
            try:
                expect_close(grad, want, name, **gradient_tolerance(hidden))
            except CheckError as exc:
                hint = _pool_gradient_hint(grad, want)
                if suffix and type(grad) is np.ndarray and grad.shape != want.shape:
                    hint = "Does backward use the shape of the latest forward pass?"
                fail(f"{exc} {hint}" if hint else str(exc))
