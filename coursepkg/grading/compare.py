"""Comparing an answer's array with the expected one, and naming the likely slip when they differ.

``expect_close`` is what the exercise definitions use for every array and number they compare.
Beyond "these entries are off", it recognizes the slips students make most often from the numbers
alone, without knowing the solution:

* a constant factor: twice or half the right values (a factor of 2 from differentiating a square,
  or a double count), the opposite sign, or the batch size N (a sum over the batch where the mean
  belongs, or the other way round);
* a transpose: the right matrix, transposed (or of the transposed shape);
* all zeros, where the right values are not.

With ``derived=True`` it also tells a finite-difference approximation from a derivation: a derived
gradient agrees with the instructor's to rounding error (about 1e-15 of its size), a central
difference only to about 1e-6 to 1e-10. The hidden checks of exercises that ask for a derivation
compare at ``DERIVED_RTOL`` of the largest entry, which central differences do not reach on
their inputs (``gradient_tolerance``). Higher-order difference formulas and the complex step can:
the numbers alone cannot tell those from a formula.

An exercise that knows slips of its own passes them as ``hint`` (a sentence, or a function that
computes it on failure) or ``factors`` (constant factors that depend on its parameters, such as
sigma or 1 - p); ``close_to`` is the test such hints are made of.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .checks import CheckError, expect_array, expect_float, fail

DERIVED_RTOL = 1e-11
"""Tolerance of a derived gradient, relative to its largest entry (hidden checks). A correct
derivation is off by rounding error only (below 1e-14 on the course's inputs); central
differences are off by 1e-9 or more there."""

FINITE_DIFFERENCE_TOLERANCE = {"rtol": 1e-6, "atol": 1e-10, "relative_to": "largest"}
"""What a visible check of a derived gradient allows: its reference comes from central
differences, which agree with the truth to about 1e-6 of the largest entry."""


def gradient_tolerance(hidden: bool, visible: dict | None = None) -> dict:
    """The ``expect_close`` tolerance of a gradient the exercise asks to derive.

    Hidden: exact up to rounding, ``DERIVED_RTOL`` of the largest entry, and the message says so
    when only a finite difference could be that close. Visible: ``visible`` (by default
    ``FINITE_DIFFERENCE_TOLERANCE``), as close as the check's own finite differences reach.
    """
    if hidden:
        return {"rtol": DERIVED_RTOL, "atol": 0.0, "relative_to": "largest", "derived": True}
    return dict(FINITE_DIFFERENCE_TOLERANCE if visible is None else visible)


def value_tolerance(hidden: bool) -> dict:
    """The ``expect_close`` tolerance of values computed (not derived) by the answer.

    Hidden: the instructor's values on the same inputs up to rounding (1e-10 of the largest
    entry: the order of a sum may differ); visible: the old check cells' 1e-7 per entry.
    """
    if hidden:
        return {"rtol": 1e-10, "atol": 0.0, "relative_to": "largest"}
    return {"rtol": 1e-7, "atol": 1e-12}


def close_to(actual, target, rtol: float = 1e-6) -> bool:
    """Whether ``actual`` (any decoded value) is a finite array of ``target``'s shape, equal to
    it up to ``rtol`` of ``target``'s largest entry (an all-zero target: exactly). For naming
    slips: never raises, and False for anything that is not such an array."""
    target = np.asarray(target, dtype=np.float64)
    if type(actual) is not np.ndarray or actual.shape != target.shape:
        return False
    if actual.dtype.kind not in "biuf" or not np.all(np.isfinite(target)):
        return False
    with np.errstate(all="ignore"):
        actual = actual.astype(np.float64)
        if not np.all(np.isfinite(actual)):
            return False
        scale = float(np.max(np.abs(target), initial=0.0))
        return bool(np.all(np.abs(actual - target) <= rtol * scale))


def named_factor(actual, expected, factors: Sequence[tuple[float, str]]) -> str:
    """The text of the first ``(factor, text)`` with ``actual == factor * expected`` (up to 1e-6),
    or ``""``.

    For slips that ``diagnose`` cannot know: a factor that depends on the exercise's parameters
    (sigma, b, 1 - p). Factors within 1e-6 of 1 are skipped: they would name a slip these inputs
    cannot show. A zero ``expected`` names nothing.
    """
    expected = np.asarray(expected, dtype=np.float64)
    if not np.any(expected):
        return ""
    for factor, text in factors:
        if abs(factor - 1.0) > 1e-6 and close_to(actual, factor * expected):
            return text
    return ""


_FACTORS = [
    (2.0, "it is exactly twice the right values: a factor of 2 too many"),
    (0.5, "it is exactly half the right values: a factor of 2 missing"),
    (-1.0, "it is the right values with the opposite sign: a flipped sign"),
    (-2.0, "it is -2 times the right values: a flipped sign and a factor of 2"),
    (-0.5, "it is -1/2 times the right values: a flipped sign and a missing factor of 2"),
]


def diagnose(actual: np.ndarray, expected: np.ndarray, *, batch_size: int | None = None) -> str:
    """The likely slip that turns ``expected`` into ``actual`` (same shape), or ``""``.

    Each candidate (a constant factor, the batch size, the transpose) is tested with
    ``close_to``: equal up to 1e-6 of its largest entry."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if actual.shape != expected.shape or not np.all(np.isfinite(actual)):
        return ""
    if not np.any(expected):
        return ""
    if not np.any(actual):
        return "it is all zeros"
    with np.errstate(all="ignore"):  # a candidate that overflows is not finite: close_to refuses
        for factor, text in _FACTORS:
            if close_to(actual, factor * expected):
                return text
        if batch_size and batch_size > 1:
            n = batch_size
            if close_to(actual, n * expected):
                return (
                    f"it is N = {n} (the batch size) times the right values: a sum over the batch "
                    "where the mean belongs, or a missing division by N"
                )
            if close_to(actual, expected / n):
                return (
                    f"it is the right values divided by N = {n} (the batch size): a mean where "
                    "the sum belongs, or a division by N too many"
                )
    if actual.ndim == 2 and actual.shape[0] == actual.shape[1] > 1:
        if close_to(actual, expected.T):
            return "it is the transpose of the right matrix: a product in the wrong order?"
    return ""


def expect_close(
    value,
    expected,
    name: str,
    *,
    rtol: float = 1e-7,
    atol: float = 1e-12,
    relative_to: str = "entry",
    dtype="float",
    batch_size: int | None = None,
    derived: bool = False,
    hint: str | Callable[[], str] = "",
    factors: Sequence[tuple[float, str]] = (),
) -> np.ndarray:
    """``value`` must be a NumPy array like ``expected``: same shape, ``dtype``, and values within
    ``atol + rtol * scale``. Returns it.

    Args:
        value: the answer's array (a decoded response).
        expected: the expected values, array-like.
        name: what messages call the array, e.g. ``"the gradient of gamma"``.
        relative_to: ``"entry"`` scales by each expected entry's size, ``"largest"`` by the
            largest one of the array (for gradients, whose small entries come from cancellation
            and carry the rounding error of the large ones).
        dtype: as in ``expect_array``.
        batch_size: N, to recognize a sum over the batch in place of the mean and the reverse.
        derived: say so when the values agree only as well as finite differences do.
        hint: the exercise's own name for the slip, a sentence (or a function returning one,
            called only on failure; ``""`` for none). It takes the place of the generic slip
            when the values differ, and is added to the other failures (shape, dtype), but not
            to the finite-difference message, which says all there is to say.
        factors: ``(factor, sentence)`` slips of the exercise (``named_factor``); the first that
            matches is the hint, if ``hint`` names none.

    Raises CheckError that says where the values differ, how many are off, and the likely slip.
    """
    try:
        return _expect_close(
            value, expected, name, rtol, atol, relative_to, dtype, batch_size, derived
        )
    except _FiniteDifferencesError:
        raise
    except CheckError as exc:
        text = (hint() if callable(hint) else hint) or named_factor(value, expected, factors)
        if not text:
            raise
        message = str(exc)
        if isinstance(exc, _ValuesDifferError):
            message = exc.without_slip
        fail(f"{message} {text}")


class _ValuesDifferError(CheckError):
    """The values differ; ``without_slip`` is the message without the generic slip's name."""

    def __init__(self, message: str, without_slip: str):
        super().__init__(message)
        self.without_slip = without_slip


class _FiniteDifferencesError(CheckError):
    """The values agree only as well as finite differences do (``derived=True``)."""


def _expect_close(value, expected, name, rtol, atol, relative_to, dtype, batch_size, derived):
    """``expect_close`` without the exercise's hints."""
    expected = np.asarray(expected, dtype=np.float64)
    if type(value) is np.ndarray and value.shape != expected.shape:
        hint = ""
        if value.ndim == 2 and value.shape == expected.shape[::-1]:
            hint = ": the transposed shape (a product in the wrong order, or a missing .T?)"
        fail(f"{name} has shape {value.shape}, expected {expected.shape}{hint}.")
    expect_array(value, name, shape=expected.shape, dtype=dtype)
    actual = value.astype(np.float64)
    magnitude = np.abs(expected)
    if relative_to == "largest":
        magnitude = np.full_like(magnitude, np.max(magnitude, initial=0.0))
    allowed = atol + rtol * magnitude
    error = np.abs(actual - expected)
    off = error > allowed
    if not np.any(off):
        return value
    scale = float(np.max(np.abs(expected), initial=0.0)) or 1.0
    typical = float(np.median(error)) / scale
    close = error <= 1e-4 * scale
    if derived and typical > 1e-14 and np.mean(close) >= 0.8:
        # Off everywhere by a little: the mark of finite differences (or of float32). Those
        # off by more sit where a fixed step straddles a kink.
        far = int(np.sum(~close))
        more = f", and by more at {far} entries (next to a kink?)" if far else ""
        raise _FiniteDifferencesError(
            f"{name} agrees with the derived values only to about {typical:.0e} of their "
            f"size{more}; a derived backward pass is exact up to rounding (about 1e-15), "
            "finite differences are not (nor is a computation in float32, or a formula that "
            "leaves out a small term, such as an eps). This exercise asks for the derivation: "
            "compute the gradient from your formula, in float64."
        )
    index = np.unravel_index(np.argmax(error - allowed), error.shape)
    where = f" at index {tuple(int(i) for i in index)}" if error.ndim else ""
    got, want = f"{actual[index]:.6g}", f"{expected[index]:.6g}"
    if got == want:  # too close to tell apart at 6 digits: show all of them, and the difference
        relative = error[index] / (np.abs(expected[index]) or 1.0)
        float32 = "; float32 arithmetic rounds at about 6e-08" if 1e-8 <= relative < 1e-5 else ""
        got = f"{actual[index]:.17g}"
        want = f"{expected[index]:.17g} (relative difference {relative:.0e}{float32})"
    message = (
        f"{name} differs from the expected values{where}: {got} instead of {want} "
        f"({int(np.sum(off))} of {error.size} entries are off)"
    )
    slip = diagnose(actual, expected, batch_size=batch_size)
    raise _ValuesDifferError(f"{message}; {slip}." if slip else f"{message}.", f"{message}.")


def expect_close_float(
    value,
    expected: float,
    name: str,
    *,
    rtol: float = 1e-7,
    atol: float = 0.0,
    batch_size: int | None = None,
) -> float:
    """Like ``expect_close`` for one number (``expect_float``), with the same slip names."""
    number = expect_float(value, name)
    if abs(number - expected) <= atol + rtol * abs(expected):
        return number
    slip = diagnose(np.array([number]), np.array([expected]), batch_size=batch_size)
    text = f"{name} is {number:.6g}, expected {expected:.6g}"
    fail(f"{text}; {slip}." if slip else f"{text}.")
