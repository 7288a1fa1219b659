"""check_claim: assert a result that a chapter's text relies on, within a stated bound.

A number printed after training depends on floating-point rounding. Another BLAS kernel, another
CPU's SIMD code or another NumPy changes the last bits of a sum, and a long, chaotic training
run can turn that into 142 instead of 143 mistakes. Such a number cannot be compared digit by
digit on every machine, so the notebooks do not store it as a test. Instead they state, next to
it, the claim that the text makes ("at least 98% test accuracy", "the mixture's NLL is lower
than the single Gaussian's") and check it with ``check_claim``. The check holds on every
machine, and a real regression (a wrong learning rate, a broken gradient) still fails it, and
with it the notebook's test.

Each bound was chosen against the spread measured over several numeric configurations (OpenBLAS
kernels, NumPy's SIMD dispatch, thread counts, old and new library versions); see
``scripts/numeric_matrix.py``. When the environment variable ``COURSEPKG_CLAIMS_LOG`` names a
file, every check appends one JSON line (claim, value, bounds, whether it held) to it, which is
how the matrix measures that spread.
"""

from __future__ import annotations

import json
import math
import numbers
import os

CLAIMS_LOG_VARIABLE = "COURSEPKG_CLAIMS_LOG"


class ClaimError(AssertionError):
    """A result is outside the bound that the text states for it."""


def _as_real(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        shape = getattr(value, "shape", None)
        hint = f" of shape {shape}" if shape not in (None, ()) else ""
        raise TypeError(
            f"check_claim: {what} must be a real number, got {type(value).__name__}{hint}. "
            "Reduce an array to the one number the claim is about (e.g. its mean or maximum)."
        )
    return float(value)


def check_claim(
    claim: str, value: float, *, at_least: float | None = None, at_most: float | None = None
) -> None:
    """Check that ``at_least <= value <= at_most``, or raise ``ClaimError`` saying which failed.

    Args:
        claim: what the number is, in words a reader understands, e.g.
            ``"test accuracy of the LeNet-style network"``. It names the claim in the error
            message and in the log; give each claim of the book its own wording.
        value: the measured result, a real number (a Python or NumPy scalar; a 0-d or
            one-element array is not accepted, to keep the claim about one number).
        at_least: lower bound, inclusive; None for no lower bound.
        at_most: upper bound, inclusive; None for no upper bound.

    Raises:
        ClaimError: ``value`` is NaN or outside the bounds (the message gives the value, the bound
            and by how much it was missed).
        TypeError: ``value`` or a bound is not a real number.
        ValueError: no bound is given, a bound is not finite, or ``at_least > at_most``.

    Prints nothing and returns None when the claim holds (so that, as the last line of a
    notebook cell, it shows nothing either). If ``COURSEPKG_CLAIMS_LOG`` is set, one JSON line
    ``{"claim", "value", "at_least", "at_most", "held"}`` is appended to that file.
    """
    if not isinstance(claim, str) or not claim.strip():
        raise TypeError("check_claim: claim must be a non-empty string that says what is checked.")
    if at_least is None and at_most is None:
        raise ValueError(f"check_claim({claim!r}): give at_least, at_most or both.")
    low = None if at_least is None else _as_real(at_least, "at_least")
    high = None if at_most is None else _as_real(at_most, "at_most")
    for name, bound in (("at_least", low), ("at_most", high)):
        if bound is not None and not math.isfinite(bound):
            raise ValueError(f"check_claim({claim!r}): {name} must be finite, got {bound}.")
    if low is not None and high is not None and low > high:
        raise ValueError(f"check_claim({claim!r}): at_least={low:g} is above at_most={high:g}.")
    x = _as_real(value, "value")

    problem = None
    if math.isnan(x):
        problem = "the value is NaN (did the training diverge?)"
    elif low is not None and x < low:
        problem = f"expected at least {low:.6g}, {low - x:.3g} short"
    elif high is not None and x > high:
        problem = f"expected at most {high:.6g}, {x - high:.3g} over"
    _log(claim, x, low, high, held=problem is None)
    if problem is not None:
        raise ClaimError(
            f"claim does not hold: {claim} = {x:.6g}; {problem}. The text of this notebook "
            "relies on it: something in the computation above has changed its result."
        )


def _log(claim: str, value: float, low: float | None, high: float | None, held: bool) -> None:
    path = os.environ.get(CLAIMS_LOG_VARIABLE)
    if not path:
        return
    record = {"claim": claim, "value": value, "at_least": low, "at_most": high, "held": held}
    # One short write in append mode: records of notebooks run in parallel do not interleave.
    with open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")
