"""Building blocks of the check cells in the exercise notebooks (NumPy only).

A check cell wraps its expectations in ``check_exercise`` and prints exactly one verdict line::

    with check_exercise("3.2"):
        expect_array(grad_X, "grad_X", shape=(4, 3), reference=expected)
        expect_gradients(LeakyReLU(0.1), X)

prints ``PASS exercise 3.2`` when every expectation holds, and otherwise one line that says what
is wrong, e.g. ``FAIL exercise 3.2: grad_X has shape (3,), expected (4, 3).``

The helpers never trust the answer: they check its exact type before they look at its value (an
object whose ``__eq__`` always returns True is not a float), compare plain floats and float64
copies of arrays, and report a stub left in place (``NotImplementedError``) as such. Anything the
answer prints while it is being checked is swallowed, so the verdict stays one line.
"""

from __future__ import annotations

import contextlib
import io
import numbers

import numpy as np

from ..gradcheck import grad_check
from ..module import Module, Parameter
from .plain_data import type_name

INTEGER_TYPES = (int, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32)
FLOAT_TYPES = (float, np.float16, np.float32, np.float64)
"""The exact types accepted as numbers: builtins and NumPy scalars, never a subclass of them."""


class CheckError(AssertionError):
    """An expectation of a check cell does not hold; the message says what is wrong."""


class check_exercise(contextlib.AbstractContextManager):  # noqa: N801 (used like a function)
    """Run a block of expectations for one exercise and print its verdict line.

    Args:
        exercise: the exercise id, e.g. ``"3.2"``, as in the cell's ``grading`` metadata.

    The block's own output (and any output of the answer code it calls) is captured and dropped.
    On leaving the block one line is printed: ``PASS exercise <id>`` if nothing was raised,
    else ``FAIL exercise <id>: <reason>``. Exceptions (including ``SystemExit``) are turned into
    that line; ``KeyboardInterrupt``, which is how a cell time limit stops a cell, is not.
    """

    def __init__(self, exercise: str):
        if not isinstance(exercise, str) or not exercise:
            raise TypeError(f"check_exercise: exercise must be an id like '3.2', got {exercise!r}.")
        self.exercise = exercise
        self._redirects = None

    def __enter__(self) -> check_exercise:
        sink = io.StringIO()
        self._redirects = contextlib.ExitStack()
        self._redirects.enter_context(contextlib.redirect_stdout(sink))
        self._redirects.enter_context(contextlib.redirect_stderr(sink))
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self._redirects.close()
        if exc_type is None:
            print(f"PASS exercise {self.exercise}")
            return False
        if issubclass(exc_type, KeyboardInterrupt):
            return False  # a time limit or the user stopped the cell: let it stop
        print(f"FAIL exercise {self.exercise}: {describe_failure(exc)}")
        return True


def describe_failure(exc: BaseException) -> str:
    """One line saying why a check failed, for any exception the answer or a check raised."""
    if isinstance(exc, CheckError):
        text = str(exc)
    elif isinstance(exc, NotImplementedError):
        text = (
            "the answer still raises NotImplementedError: replace the stub "
            "(raise NotImplementedError) with your code and run the cell again."
        )
    elif isinstance(exc, NameError):
        text = f"{exc} (run your answer cell above first, and check that it ran without an error)."
    elif isinstance(exc, SystemExit):
        text = "the answer called sys.exit() (or exit()); return a value instead."
    else:
        text = f"your code raised {type(exc).__name__}: {exc}"
    return " ".join(text.split())  # one line, whatever the message held


def fail(message: str) -> None:
    """Raise ``CheckError(message)``."""
    raise CheckError(message)


def _type_name(value) -> str:
    """E.g. ``an object of type list`` (what the answer is, for messages)."""
    return f"an object of type {type_name(value)}"


def expect_callable(value, name: str) -> None:
    """``value`` must be a function or another callable (not a placeholder)."""
    if value is Ellipsis or value is None or not callable(value):
        fail(f"{name} should be a function, got {_type_name(value)}.")


def expect_module(value, name: str) -> Module:
    """``value`` must be an instance of ``coursepkg.Module``; returns it."""
    if not isinstance(value, Module):
        fail(
            f"{name} should be a coursepkg Module (a layer or a Sequential), got "
            f"{_type_name(value)}."
        )
    return value


def expect_int(value, name: str, *, reference: int | None = None) -> int:
    """``value`` must be an integer of an exact builtin or NumPy type, equal to ``reference``."""
    if type(value) not in INTEGER_TYPES:
        fail(f"{name} should be an integer (int), got {_type_name(value)}.")
    number = int(value)
    if reference is not None and number != reference:
        fail(f"{name} is {number}, expected {reference}.")
    return number


def expect_float(
    value, name: str, *, reference: float | None = None, rtol: float = 1e-7, atol: float = 0.0
) -> float:
    """``value`` must be a real number (float or NumPy float, int accepted), close to
    ``reference``: ``|value - reference| <= atol + rtol |reference|``. Returns it as a float."""
    if type(value) not in FLOAT_TYPES + INTEGER_TYPES:
        fail(f"{name} should be a number (float), got {_type_name(value)}.")
    number = float(value)
    if not np.isfinite(number):
        fail(f"{name} is {number}, expected a finite number.")
    if reference is not None and not abs(number - reference) <= atol + rtol * abs(reference):
        fail(f"{name} is {number:.6g}, expected {reference:.6g}.")
    return number


def expect_array(
    value,
    name: str,
    *,
    shape: tuple[int, ...] | None = None,
    dtype=None,
    reference=None,
    rtol: float = 1e-7,
    atol: float = 1e-12,
) -> np.ndarray:
    """``value`` must be a NumPy array with the given shape and dtype, close to ``reference``.

    Args:
        value: the answer; exactly ``np.ndarray`` (a subclass, list or tuple is rejected).
        name: what the message calls it, e.g. ``"grad_W"``.
        shape: the required shape, or None to take the reference's (if given).
        dtype: ``"float"`` for any floating dtype, ``"int"`` for any integer dtype, a NumPy
            dtype to require exactly that one, or None to accept any real dtype.
        reference: expected values (array-like) or None; compared elementwise with
            ``|value - reference| <= atol + rtol |reference|``.

    Returns the answer, for further checks.
    """
    if type(value) is not np.ndarray:
        fail(f"{name} should be a NumPy array (np.ndarray), got {_type_name(value)}.")
    if reference is not None:
        reference = np.asarray(reference, dtype=np.float64)
        shape = reference.shape if shape is None else shape
    if shape is not None and value.shape != tuple(shape):
        fail(f"{name} has shape {value.shape}, expected {tuple(shape)}.")
    kind = value.dtype.kind
    if dtype == "float":
        if kind != "f":
            fail(f"{name} has dtype {value.dtype}, expected floating point (e.g. float64).")
    elif dtype == "int":
        if kind not in "iu":
            fail(f"{name} has dtype {value.dtype}, expected integers (e.g. int64).")
    elif dtype is not None:
        if value.dtype != np.dtype(dtype):
            fail(f"{name} has dtype {value.dtype}, expected {np.dtype(dtype)}.")
    elif kind not in "biuf":
        fail(f"{name} has dtype {value.dtype}, expected real numbers.")
    actual = value.astype(np.float64)
    if not np.all(np.isfinite(actual)):
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(actual))[0])
        fail(f"{name} contains NaN or infinite values, the first at index {index}.")
    if reference is not None:
        error = np.abs(actual - reference)
        allowed = atol + rtol * np.abs(reference)
        if np.any(error > allowed):
            index = np.unravel_index(np.argmax(error - allowed), error.shape)
            where = f" at index {tuple(int(i) for i in index)}" if error.ndim else ""
            fail(
                f"{name} differs from the expected values{where}: "
                f"{actual[index]:.6g} instead of {reference[index]:.6g} "
                f"({int(np.sum(error > allowed))} of {error.size} entries are off)."
            )
    return value


def expect_tuple(value, length: int, name: str, parts: str, *, lists: bool = False) -> tuple:
    """``value`` must be a tuple of ``length`` items (what an answer's function returned).

    Args:
        name: the function, as messages call it, e.g. ``"forward"``.
        parts: the items, e.g. ``"(Z1, A1, Z2)"``.
        lists: accept a list too (a response read back as plain data keeps tuples as tuples,
            but some exercises never asked for one or the other).

    Returns ``value``. Raises CheckError, e.g. ``forward should return a tuple (Z1, A1, Z2), got
    an object of type tuple of length 2.``
    """
    kinds = (tuple, list) if lists else (tuple,)
    if type(value) not in kinds or len(value) != length:
        wrong_length = type(value) in (tuple, list) and len(value) != length
        of_length = f" of length {len(value)}" if wrong_length else ""
        fail(
            f"{name} should return a tuple {parts}, got an object of type "
            f"{type_name(value)}{of_length}."
        )
    return value


def results_per_case(
    response: dict, key: str, count: int, what: str, *, message: str | None = None
) -> list:
    """``response[key]``, which must be a list of ``count`` results, one per case of the check.

    Args:
        response: a decoded response (any keys may be missing: it came from the student's kernel).
        what: the answer's function, for the message.
        message: the failure message, if not ``the check did not get one result of <what> per
            case (<count> cases).``

    Raises CheckError.
    """
    results = response.get(key)
    if type(results) is not list or len(results) != count:
        fail(message or f"the check did not get one result of {what} per case ({count} cases).")
    return results


def expect_true(condition, message: str) -> None:
    """Fail with ``message`` unless ``condition`` is exactly True (a Python or NumPy bool)."""
    if type(condition) not in (bool, np.bool_) or not condition:
        fail(message)


class _Guarded(Module):
    """Wraps an answer's module so that every forward and backward result is type-checked.

    Without it, an answer whose backward returns an object with a strange ``__sub__`` could make
    the gradient check's subtraction come out as zero.
    """

    def __init__(self, inner: Module, label: str):
        self.inner, self.label = inner, label
        self._input_shape = None

    def forward(self, X):
        self._input_shape = np.shape(X)
        return expect_array(
            self.inner.forward(X), f"the output of {self.label}.forward", dtype="float"
        )

    def backward(self, grad_out):
        grad_in = self.inner.backward(grad_out)
        name = f"the input gradient returned by {self.label}.backward"
        return expect_array(grad_in, name, shape=self._input_shape, dtype="float")

    def parameters(self):
        params = self.inner.parameters()
        if type(params) is not list:
            fail(f"{self.label}.parameters() should return a list, got {_type_name(params)}.")
        for p in params:
            if type(p) is not Parameter:
                fail(f"{self.label}.parameters() should hold Parameters, got {_type_name(p)}.")
            expect_array(p.value, f"parameter {p.name} of {self.label}", dtype="float")
            expect_array(p.grad, f"the gradient of {p.name} in {self.label}", shape=p.value.shape)
        return params


def expect_gradients(module, X, *, tol: float = 1e-6, name: str | None = None) -> None:
    """The module's backward pass must match finite differences (``coursepkg.grad_check``).

    Checks dL/dX and every parameter's gradient on the float64 batch ``X``; the message names
    the worst array and its relative error. Every output of the module is type-checked on the
    way. Check the forward values separately: a module whose forward and backward both return
    zeros passes a gradient check.
    """
    module = expect_module(module, name or "the module")
    label = name or type(module).__name__
    if not isinstance(tol, numbers.Real) or tol <= 0:
        raise ValueError(f"expect_gradients: tol must be a positive number, got {tol!r}.")
    result = grad_check(_Guarded(module, label), np.array(X, dtype=np.float64))
    if not result.max_error < tol:  # also fails for NaN
        fail(
            f"the backward pass of {label} is wrong: the gradient of {result.worst} has "
            f"relative error {result.max_error:.1e} against finite differences "
            f"(should be below {tol:.0e})."
        )
