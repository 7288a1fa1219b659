"""Reverse-mode automatic differentiation: the backward passes of the earlier chapters, automated.

Every module of the package pairs a forward computation with a hand-written backward pass. Here
each elementary operation gets its backward rule once, and the computer chains them.

* **Recording.** An operation on ``Tensor``s computes its value at once and returns a new
  ``Tensor`` that remembers its parents and, for each parent, a vector-Jacobian product (VJP):
  the function g -> g J that turns dL/d(result) into that parent's share of dL/d(parent). These
  records form the *tape* (Wengert list): the graph hanging off the result, no global state.
* **Reverse sweep.** ``backward()`` lays the tape out in topological order (parents before
  children), seeds dL/dL = 1 and walks it in reverse, adding each node's VJPs into its parents.
  The sweep costs a small multiple of the forward pass, however many parameters there are: this
  "cheap gradient principle" is why reverse mode (backpropagation) trains neural networks.
* **Memory.** The price: every intermediate value stays alive until the sweep, so the tape
  grows with the computation. ``tape_stats`` measures it; ``backward`` frees it afterwards.

Every result is checked (NaN or inf raise a ValueError naming the operation) and bad operands
(strings, shapes that do not fit) raise our message, not a traceback from inside NumPy.

Sources: A. Griewank and A. Walther, *Evaluating Derivatives*, 2nd ed., SIAM, 2008 (chapters 3
and 4: reverse mode, the tape and its memory); A. G. Baydin, B. A. Pearlmutter, A. A. Radul and
J. M. Siskind, "Automatic differentiation in machine learning: a survey", JMLR 18(153), 2018.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ._validation import as_float_array
from .functional import logsumexp as _logsumexp
from .functional import sigmoid as _sigmoid
from .functional import softplus as _softplus


class Tensor:
    """A NumPy array on the tape: its value, its gradient, and how it was computed.

    ``Tensor(array)`` makes an input (data or a parameter); operations make the other nodes.
    The operators +, -, *, /, ** (by a number), unary -, @ and indexing take Tensors, NumPy arrays
    and numbers on either side, and broadcast as NumPy does. NumPy's own functions refuse Tensors
    (``np.exp(x)`` raises TypeError; use this module's ``exp(x)``), so no step leaves the tape.

    Attributes:
        value: the ndarray, floating point, any shape. An input's float array is used, not
            copied: change it only between one sweep and the next forward pass.
        grad: dL/d(value), added to by ``backward``, on inputs only; None until then.
        op: the operation that made it, ``"input"`` for an input.
        parents: pairs (parent Tensor, VJP), the VJP mapping dL/d(this) to dL/d(parent).
        freed: True once a sweep has dropped this node's VJPs (see ``backward``).

    Raises:
        TypeError: the value is not real numbers (strings, objects, complex numbers).
        ValueError: the value holds NaN or infinite numbers.
    """

    # NumPy then leaves `array + tensor` to Tensor.__radd__ instead of making an object array.
    __array_ufunc__ = None

    def __init__(self, value, op: str = "input", parents=()):
        if op == "input":
            value = as_float_array(value, "value", "Tensor")
        self.value, self.op, self.parents = value, op, tuple(parents)
        self.grad, self.freed = None, False

    shape = property(lambda self: self.value.shape)
    ndim = property(lambda self: self.value.ndim)
    T = property(lambda self: self.transpose())

    def __repr__(self) -> str:
        shown = f"{self.value}" if self.ndim == 0 else f"shape={self.shape}"
        return f"Tensor({shown}, op={self.op!r})"

    def backward(self, upstream=None, *, keep_tape: bool = False) -> None:
        """The reverse sweep: add dL/dx into ``x.grad`` for every input x this Tensor depends on.

        Args:
            upstream: dL/d(this), of this Tensor's shape; may be left out for a scalar (it is
                then 1, and the gradients are those of this Tensor itself).
            keep_tape: keep the VJPs for another sweep. By default they are dropped, as in
                PyTorch, so that the values they hold can be freed; a second sweep then raises.

        Raises:
            ValueError: no ``upstream`` for a non-scalar; ``upstream`` of another shape or not
                finite. TypeError: ``upstream`` is not real numbers.
            RuntimeError: the tape was freed by an earlier sweep.
        """
        order = tape(self)
        grads = _sweep(order, _seed(self, upstream, "backward"))
        for node in order:
            if node.op == "input":  # copied: two inputs may have been sent the same array
                g = grads[id(node)]
                node.grad = g.copy() if node.grad is None else node.grad + g
        if not keep_tape:
            _free(order)

    def sum(self, axis=None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (None: all; an int or a tuple), as ``ndarray.sum``.
        VJP: g copied back along the summed axes. Raises ValueError for an axis out of range."""

        def vjp(g, X, Y):
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)  # length-1 axes, so that g broadcasts against X
            return np.broadcast_to(g, X.shape).copy()

        return _unary("sum", lambda X: np.sum(X, axis=axis, keepdims=keepdims), self, vjp)

    def mean(self, axis=None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis``: sum / count, composed, so it needs no VJP of its own."""
        total = self.sum(axis, keepdims)
        return total / (self.value.size // max(total.value.size, 1))

    def reshape(self, *shape) -> Tensor:
        """The same entries in another shape: ``x.reshape(2, 3)`` or ``x.reshape((2, 3))``.
        VJP: g reshaped back. Raises ValueError if the number of entries differs."""
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], tuple | list) else shape
        return _unary(
            "reshape", lambda X: X.reshape(shape), self, lambda g, X, Y: g.reshape(X.shape)
        )

    def transpose(self, axes=None) -> Tensor:
        """Axes permuted (reversed for None), as ``ndarray.transpose``; ``x.T`` is this.
        VJP: g permuted back. Raises ValueError if ``axes`` is not a permutation."""
        vjp = lambda g, X, Y: np.transpose(g, None if axes is None else np.argsort(axes))
        return _unary("transpose", lambda X: np.transpose(X, axes), self, vjp)

    def __getitem__(self, index) -> Tensor:
        """Indexing as in NumPy, including integer arrays: ``log_p[np.arange(N), y]`` picks each
        sample's true class. VJP: zeros of this shape with g added at the indexed places
        (``np.add.at``, so that an entry picked twice gets both). Raises IndexError for an index
        out of range or not made of integers, slices and integer arrays."""

        def vjp(g, X, Y):
            grad = np.zeros_like(X)
            np.add.at(grad, index, g)
            return grad

        return _unary("getitem", lambda X: X[index], self, vjp)

    # The operators: a table of the functions below.
    __add__ = lambda self, other: add(self, other)
    __radd__ = lambda self, other: add(other, self)
    __sub__ = lambda self, other: subtract(self, other)
    __rsub__ = lambda self, other: subtract(other, self)
    __mul__ = lambda self, other: multiply(self, other)
    __rmul__ = lambda self, other: multiply(other, self)
    __truediv__ = lambda self, other: divide(self, other)
    __rtruediv__ = lambda self, other: divide(other, self)
    __matmul__ = lambda self, other: matmul(self, other)
    __rmatmul__ = lambda self, other: matmul(other, self)
    __pow__ = lambda self, p: power(self, p)
    __neg__ = lambda self: negative(self)


def as_tensor(x, where: str = "as_tensor") -> Tensor:
    """``x`` if it is a Tensor, else a new input Tensor holding it (a constant, in effect).
    Raises TypeError or ValueError as ``Tensor`` does, naming ``where`` (the operation)."""
    return x if isinstance(x, Tensor) else Tensor(as_float_array(x, "an operand", where))


def _compute(op: str, f, *arrays, hint: str = "An input is too large (overflow).") -> np.ndarray:
    """f(*arrays) as an array, with NumPy's complaints turned into errors that name ``op``."""
    plural = "s" if len(arrays) > 1 else ""
    where = f"{op} on shape{plural} " + " and ".join(str(A.shape) for A in arrays)
    with np.errstate(all="ignore"):  # a non-finite result is reported below, with more to say
        try:
            value = np.asarray(f(*arrays))
        except (ValueError, IndexError, TypeError) as exc:  # bad axes, shapes or indices
            kind = next(k for k in (ValueError, IndexError, TypeError) if isinstance(exc, k))
            raise kind(f"{where}: {exc}") from None
    if not np.all(np.isfinite(value)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(value))[0])
        raise ValueError(f"{where}: the result at index {bad} is {value[bad]}. {hint}")
    return value


# Elementwise operations: a forward function and one VJP per operand, which gets the upstream
# gradient g, the operands' values and the result. ------------------------------------------


def _unary(op: str, f, x, vjp, hint: str = "An input is too large (overflow).") -> Tensor:
    """Record Y = f(X); ``vjp(g, X, Y)`` is dL/dX."""
    x = as_tensor(x, op)
    X = x.value
    Y = _compute(op, f, X, hint=hint)
    return Tensor(Y, op, [(x, lambda g: vjp(g, X, Y))])


def _binary(op: str, f, a, b, vjp_a, vjp_b, hint: str = "An input is too large.") -> Tensor:
    """Record C = f(A, B), broadcast; ``vjp_a(g, A, B, C)`` is dL/dA before ``unbroadcast``
    sums it down to A's shape (and the same for B)."""
    a, b = as_tensor(a, op), as_tensor(b, op)
    A, B = a.value, b.value
    C = _compute(op, f, A, B, hint=hint)
    back_a = lambda g: unbroadcast(vjp_a(g, A, B, C), A.shape)
    back_b = lambda g: unbroadcast(vjp_b(g, A, B, C), B.shape)
    return Tensor(C, op, [(a, back_a), (b, back_b)])


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` down to ``shape``: the VJP of NumPy's broadcasting.

    A broadcast operand is used once for each copy NumPy made of it, so its gradient is the sum
    over the copies: over the leading axes NumPy added, and over axes where it had length 1.
    Shapes: grad (the broadcast shape) -> ``shape``.
    """
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def add(a, b) -> Tensor:
    """a + b. VJPs: g and g. Raises ValueError if the shapes do not broadcast (so do all
    operations with two operands except ``matmul``)."""
    return _binary("add", np.add, a, b, lambda g, A, B, C: g, lambda g, A, B, C: g)


def subtract(a, b) -> Tensor:
    """a - b. VJPs: g and -g."""
    return _binary("subtract", np.subtract, a, b, lambda g, A, B, C: g, lambda g, A, B, C: -g)


def multiply(a, b) -> Tensor:
    """a * b. VJPs: g b and g a."""
    return _binary(
        "multiply", np.multiply, a, b, lambda g, A, B, C: g * B, lambda g, A, B, C: g * A
    )


def divide(a, b) -> Tensor:
    """a / b. VJPs: g / b and -g (a / b) / b (not -g a / b^2: b^2 may underflow to 0).
    Raises ValueError where b is 0."""
    vjp_a, vjp_b = lambda g, A, B, C: g / B, lambda g, A, B, C: -g * C / B
    return _binary("divide", np.divide, a, b, vjp_a, vjp_b, hint="Is a divisor 0?")


def matmul(a, b) -> Tensor:
    """Matrix product a @ b, shapes (n, k) @ (k, m) -> (n, m).
    VJPs, as in ``Linear.backward``: g b^T and a^T g.

    Raises:
        ValueError: an operand is not 2-D, or the inner lengths differ (both shapes are named).
    """
    a, b = as_tensor(a, "matmul"), as_tensor(b, "matmul")
    A, B = a.value, b.value
    if A.ndim != 2 or B.ndim != 2:
        raise ValueError(
            f"matmul: expected two matrices (2-D), got shapes {A.shape} and {B.shape}. "
            "Make a vector a row, x.reshape(1, -1), or a column, x.reshape(-1, 1)."
        )
    if A.shape[1] != B.shape[0]:
        raise ValueError(
            f"matmul: shapes {A.shape} and {B.shape} do not fit: the left matrix has "
            f"{A.shape[1]} columns but the right one has {B.shape[0]} rows."
        )
    C = _compute("matmul", np.matmul, A, B)
    return Tensor(C, "matmul", [(a, lambda g: g @ B.T), (b, lambda g: A.T @ g)])


def negative(x) -> Tensor:
    """-x. VJP: -g. (Every operation with one operand keeps its shape, any shape.)"""
    return _unary("negative", np.negative, x, lambda g, X, Y: -g)


def power(x, p) -> Tensor:
    """x ** p for a constant number p. VJP: g p x^(p - 1).

    Raises:
        TypeError: p is not a number (for a Tensor exponent write exp(p * log(x))).
        ValueError: the result is not finite (0 to a negative power, say).
    """
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(
            f"power: the exponent must be a constant number, got a {type(p).__name__}. "
            "For a Tensor exponent write exp(p * log(x))."
        )
    hint = "0 to a negative power, or a negative number to a fractional one?"
    vjp = lambda g, X, Y: g * p * X ** (p - 1)
    return _unary("power", lambda X: X**p, x, vjp, hint=hint)


def exp(x) -> Tensor:
    """e^x. VJP: g e^x, the result itself. Raises ValueError where e^x overflows."""
    hint = "exp(x) overflows float64 above x = 709."
    return _unary("exp", np.exp, x, lambda g, X, Y: g * Y, hint=hint)


def log(x) -> Tensor:
    """Natural logarithm. VJP: g / x. Raises ValueError for x <= 0."""
    return _unary("log", np.log, x, lambda g, X, Y: g / X, hint="log needs positive inputs.")


def tanh(x) -> Tensor:
    """tanh(x). VJP: g (1 - tanh(x)^2), from the result, as ``Tanh`` does."""
    return _unary("tanh", np.tanh, x, lambda g, X, Y: g * (1.0 - Y**2))


def sigmoid(x) -> Tensor:
    """1 / (1 + e^-x), without overflow. VJP: g s (1 - s) with s = sigmoid(x)."""
    return _unary("sigmoid", _sigmoid, x, lambda g, X, S: g * S * (1.0 - S))


def relu(x) -> Tensor:
    """max(x, 0). VJP: g where x > 0, else 0 (also at the kink x = 0, as ``ReLU`` does)."""
    return _unary("relu", lambda X: np.maximum(X, 0.0), x, lambda g, X, Y: g * (X > 0))


def softplus(x) -> Tensor:
    """log(1 + e^x), the map sigma = softplus(rho) of ``BayesianLinear``. VJP: g sigmoid(x)."""
    return _unary("softplus", _softplus, x, lambda g, X, Y: g * _sigmoid(X))


def logsumexp(x, axis=-1, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x), axis)) without overflow, as a primitive with its own VJP: g softmax(x).

    Composed from max, exp, sum and log it would work too (the gradient through the maximum
    cancels), at the price of a longer tape. Shapes: x's shape without ``axis`` (kept as length
    1 with ``keepdims``); axis is an int, or None for all entries. Raises ValueError for an axis
    out of range.
    """
    x = as_tensor(x, "logsumexp")
    X = x.value
    L = _compute("logsumexp", lambda X: _logsumexp(X, axis=axis, keepdims=True), X)
    value = L if keepdims else (L.reshape(()) if axis is None else np.squeeze(L, axis))
    # g in keepdims form broadcasts along the reduced axis; exp(X - L) is the softmax, which
    # cannot overflow (X <= L) and is recomputed here rather than kept on the tape.
    return Tensor(value, "logsumexp", [(x, lambda g: g.reshape(L.shape) * np.exp(X - L))])


def log_softmax(x, axis=-1) -> Tensor:
    """x - logsumexp(x): log-probabilities along ``axis``, any shape. Composed, so it has no VJP
    of its own: the sweep finds g - softmax(x) sum(g) by itself."""
    x = as_tensor(x, "log_softmax")
    return x - logsumexp(x, axis=axis, keepdims=True)


# The tape and the reverse sweep. ----------------------------------------------------------


def tape(output: Tensor) -> list[Tensor]:
    """Every Tensor ``output`` was computed from, in topological order (parents first), ending
    with ``output``: the order in which a recording engine writes its tape.

    Found by a depth-first search, iterative so that long tapes fit Python's recursion limit.

    Raises:
        TypeError: ``output`` is not a Tensor.
        RuntimeError: part of the tape was freed by an earlier sweep.
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"tape: expected a Tensor, got a {type(output).__name__}.")
    order, visited, stack = [], set(), [(output, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif id(node) not in visited:
            if node.freed:
                raise RuntimeError(
                    f"The tape through this {node.op} node was freed by an earlier backward "
                    "sweep, which drops the saved values to release memory. Pass "
                    "keep_tape=True to the first sweep, or run the forward computation again."
                )
            visited.add(id(node))
            stack.append((node, True))  # popped again after all its parents
            stack.extend((parent, False) for parent, _ in node.parents)
    return order


def _seed(output: Tensor, upstream, where: str) -> np.ndarray:
    """dL/d(output), the sweep's start: ``upstream``, or 1 for a scalar output."""
    if upstream is None:
        if output.value.size != 1:
            raise ValueError(
                f"{where}: the output has shape {output.shape}, not a single number, so there "
                "is no gradient to start from. Reduce it to a scalar first (.sum(), .mean()) "
                f"or pass upstream=dL/d(output), an array of shape {output.shape}."
            )
        return np.ones_like(output.value)
    upstream = as_float_array(upstream, "upstream", where)
    if upstream.shape != output.shape:
        raise ValueError(
            f"{where}: upstream has shape {upstream.shape}, but the output has shape "
            f"{output.shape}; they must be equal."
        )
    return upstream


def _sweep(order: list[Tensor], seed: np.ndarray) -> dict[int, np.ndarray]:
    """dL/d(node) for every node of the tape, keyed by id(node).

    Walking the tape backwards, a node's gradient is complete when its turn comes: all of its
    children lie after it on the tape and have sent their VJPs already.
    """
    grads = {id(order[-1]): seed}
    for node in reversed(order):
        for parent, vjp in node.parents:
            contribution = vjp(grads[id(node)])
            previous = grads.get(id(parent))  # "+", not "+=": a VJP may pass g on unchanged
            grads[id(parent)] = contribution if previous is None else previous + contribution
    return grads


def _free(order: list[Tensor]) -> None:
    """Drop the VJPs of the operations on the tape, and with them the arrays they hold."""
    for node in order:
        if node.op != "input":
            node.parents, node.freed = (), True


def gradients(output: Tensor, inputs, upstream=None, *, keep_tape: bool = False):
    """dL/dx for each x of ``inputs``, by one reverse sweep from ``output`` (L, a scalar).

    Unlike ``backward`` it returns the gradients and leaves every ``.grad`` alone, and an input
    may also be an intermediate Tensor (a pre-activation Z, say, for dL/dZ).

    Args:
        output: the Tensor to differentiate.
        inputs: a Tensor (then an array is returned) or a list of Tensors (then a list).
        upstream, keep_tape: as in ``Tensor.backward``.

    Returns:
        dL/dx, of x's shape, for each input x.

    Raises:
        TypeError: an input is not a Tensor.
        ValueError: an input is not on the output's tape (the output was not computed from it,
            perhaps through its ``.value``); and the errors of ``Tensor.backward``.
    """
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"gradients: input {i} is a {type(x).__name__}, not a Tensor.")
    order = tape(output)
    grads = _sweep(order, _seed(output, upstream, "gradients"))
    for i, x in enumerate(inputs):
        if id(x) not in grads:
            raise ValueError(
                f"gradients: input {i} (shape {x.shape}) is not on the tape of the output: the "
                "output was not computed from this Tensor (was it used through .value?)."
            )
    if not keep_tape:
        _free(order)
    result = [grads[id(x)].copy() for x in inputs]  # copies, which the caller may change
    return result[0] if single else result


# Measuring the tape. --------------------------------------------------------------------


@dataclass
class TapeStats:
    """The size of a tape: the memory that reverse mode pays for its cheap gradients.

    Attributes:
        nodes: Tensors on the tape, inputs (data, parameters, constants) included.
        operations: the recorded operations among them.
        saved_bytes: bytes of the arrays the tape keeps alive for the sweep: the results of the
            operations and the arrays their VJPs hold, each block of memory counted once (a
            view, such as a reshape, costs nothing). The inputs' arrays are not counted: they
            exist without the tape.
    """

    nodes: int
    operations: int
    saved_bytes: int


def _memory_block(A: np.ndarray) -> np.ndarray:
    """The array that owns the memory ``A`` looks at (``A`` itself unless it is a view)."""
    while isinstance(A.base, np.ndarray):
        A = A.base
    return A


def _arrays_held_by(f) -> list[np.ndarray]:
    """The arrays a function keeps alive: Python stores a closure's free variables in its cells
    (an index may be a tuple of arrays, and a VJP may call a closure of its own)."""
    found = []
    for cell in getattr(f, "__closure__", None) or ():
        item = cell.cell_contents
        for a in item if isinstance(item, tuple) else (item,):
            if isinstance(a, np.ndarray):
                found.append(a)
            elif callable(a):
                found.extend(_arrays_held_by(a))
    return found


def tape_stats(output: Tensor) -> TapeStats:
    """Count the nodes of ``output``'s tape and the bytes it keeps alive (see ``TapeStats``).
    Raises TypeError or RuntimeError as ``tape`` does."""
    order = tape(output)
    operations = [node for node in order if node.op != "input"]
    inputs = {id(_memory_block(node.value)) for node in order if node.op == "input"}
    blocks = {}
    for node in operations:
        held = [node.value] + [A for _, vjp in node.parents for A in _arrays_held_by(vjp)]
        for A in map(_memory_block, held):
            if id(A) not in inputs:
                blocks[id(A)] = A.nbytes
    return TapeStats(len(order), len(operations), sum(blocks.values()))
