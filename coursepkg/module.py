"""The interface every layer follows: ``Parameter``, ``Module`` and ``Sequential``.

The contract, used by every module in the package:

* ``forward(X)`` computes the output and remembers what ``backward`` will need;
* ``backward(grad_out)`` takes dL/d(output), *adds* dL/d(parameter) into each
  ``Parameter.grad``, and returns dL/d(input);
* ``parameters()`` lists the module's parameters explicitly (no registration magic).

Every module also has a mode, as in PyTorch: ``training`` is True after construction,
``model.eval()`` switches it off and ``model.train()`` on again, in the module and in every
module it contains (``children()``). Only layers that behave differently while training look at
it (``Dropout``, ``BatchNorm``); ``coursepkg.train`` and ``coursepkg.predict`` set it for you.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array


class Parameter:
    """A trainable array together with the gradient of the loss with respect to it.

    Attributes:
        value: the array, any shape, floating point.
        grad: same shape as ``value``. Backward passes add to it; ``zero_grad`` resets it.
        name: used in messages and gradient-check reports, e.g. ``"W"``.
    """

    def __init__(self, value, name: str = "param"):
        # A copy: the module owns its parameters. NaN or infinite starting values would turn
        # every output into NaN, so they are refused here, where the cause is still visible.
        value = np.array(as_float_array(value, "value", f"Parameter({name})"))
        self.value = value
        self.grad = np.zeros_like(value)
        self.name = name

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def size(self) -> int:
        return self.value.size

    def zero_grad(self) -> None:
        self.grad.fill(0.0)

    def __repr__(self) -> str:
        return f"Parameter({self.name}, shape={self.shape})"


def unique_parameters(parameters) -> list[Parameter]:
    """Each Parameter once, in the order of first appearance (compared by identity).

    A Parameter listed twice (weight tying, or a list joined by hand) must still be listed,
    and stepped by an optimizer, once.
    """
    unique: dict[int, Parameter] = {}
    for p in parameters:
        unique.setdefault(id(p), p)
    return list(unique.values())


class Module:
    """Base class of all layers, activations and containers.

    Attributes:
        training: True in training mode (the default), False in evaluation mode. Change it with
            ``train()`` and ``eval()``, which also change the modules inside a container.
    """

    training: bool = True  # a class default, so that every subclass starts in training mode

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Compute the output for a batch ``X`` and remember what backward needs."""
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Given dL/d(output), accumulate parameter gradients and return dL/d(input)."""
        raise NotImplementedError

    def parameters(self) -> list[Parameter]:
        """The module's trainable parameters (none by default)."""
        return []

    def zero_grad(self) -> None:
        """Reset the gradient of every parameter to zero."""
        for p in self.parameters():
            p.zero_grad()

    def num_parameters(self) -> int:
        """Total number of trainable scalars."""
        return sum(p.size for p in self.parameters())

    def children(self) -> list[Module]:
        """The modules directly inside this one (none for a layer; a container's modules)."""
        return []

    def train(self, mode: bool = True) -> Module:
        """Put this module and every module inside it in training mode (``mode=False``: evaluation).

        Follows PyTorch's ``nn.Module.train``: returns the module itself, so that
        ``model = Sequential(...).eval()`` works.

        Raises:
            TypeError: ``mode`` is not a bool (``model.train(X)`` would otherwise silently
                switch modes instead of training; training is ``coursepkg.train(model, ...)``).
        """
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(
                f"{self!r}.train: mode must be True or False, got a {type(mode).__name__}. "
                "To fit a model to data call coursepkg.train(model, loss, optimizer, X, y, ...)."
            )
        self.training = bool(mode)
        for m in self.children():
            m.train(mode)
        return self

    def eval(self) -> Module:
        """Put this module and every module inside it in evaluation mode: ``train(False)``."""
        return self.train(False)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return self.forward(X)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    # Helpers for subclasses --------------------------------------------------------------
    def _check_grad_out(self, cached, grad_out: np.ndarray, expected_shape) -> np.ndarray:
        """Check that forward ran (``cached`` is what it stored) and that ``grad_out`` has the
        shape of the last output; return ``grad_out`` as a float array.

        A NaN or infinite upstream gradient is refused: it would make every parameter NaN at the
        next step, far from where it came from.
        """
        if cached is None:
            raise RuntimeError(f"{self!r}.backward was called before forward.")
        grad_out = as_float_array(grad_out, "grad_out", f"{self!r}.backward")
        if grad_out.shape != expected_shape:
            raise ValueError(
                f"{self!r}.backward: grad_out has shape {grad_out.shape}, but the last "
                f"forward output had shape {expected_shape}."
            )
        return grad_out


class Sequential(Module):
    """Chain modules: the output of each is the input of the next.

    ``forward`` runs the modules in order; ``backward`` runs their backward passes in reverse,
    which is the chain rule applied layer by layer.

    Every position needs its own module object. A module remembers only its *last* input for
    ``backward``, so one object at two positions (say ``t = Tanh()`` in
    ``Sequential(Linear(3, 4), t, Linear(4, 4), t)``) would compute the right outputs but wrong
    gradients. Building such a container, also through nested containers, raises a ValueError
    that names the module and both positions. ``modules`` is a tuple, fixed when the container
    is built, so that the check cannot be bypassed later.

    Raises:
        TypeError: an item is not a Module.
        ValueError: the same module object appears at two positions.
    """

    def __init__(self, *modules: Module):
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(
                    f"Sequential: item {i} is a {type(m).__name__}, not a Module. "
                    "Pass modules as separate arguments: Sequential(Linear(2, 3), Tanh(), ...)."
                )
        _check_no_shared_modules(modules)
        self.modules = tuple(modules)

    def forward(self, X: np.ndarray) -> np.ndarray:
        for m in self.modules:
            X = m.forward(X)
        return X

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        for m in reversed(self.modules):
            grad_out = m.backward(grad_out)
        return grad_out

    def parameters(self) -> list[Parameter]:
        """Every parameter of the contained modules, each once.

        A Parameter shared by two modules (weight tying, ``second.W = first.W``) is listed once:
        both backward passes add to its one ``grad``, and an optimizer must step it once.
        """
        return unique_parameters(p for m in self.modules for p in m.parameters())

    def children(self) -> list[Module]:
        return list(self.modules)

    def __getitem__(self, i: int) -> Module:
        return self.modules[i]

    def __len__(self) -> int:
        return len(self.modules)

    def __iter__(self):
        return iter(self.modules)

    def __repr__(self) -> str:
        inner = ",\n".join(f"  {m!r}" for m in self.modules)
        return f"Sequential(\n{inner}\n)"


def modes(model: Module) -> list[tuple[Module, bool]]:
    """(module, training) for ``model`` and every module inside it, to restore later with
    ``restore_modes``: a container's modules may be in different modes."""
    found = [(model, model.training)]
    for m in model.children():
        found.extend(modes(m))
    return found


def restore_modes(saved: list[tuple[Module, bool]]) -> None:
    """Give every module the mode recorded by ``modes`` (each module only, not its children)."""
    for m, training in saved:
        m.training = training


def _check_no_shared_modules(modules) -> None:
    """Raise ValueError if one module object occurs twice among ``modules`` and, recursively,
    inside the containers among them.

    Positions are written as indices into the new container: ``[3]`` is its fourth module and
    ``[0][1]`` the second module inside its first one. Objects are compared by identity, not by
    equality: two separate ``Tanh()`` objects are fine, one object used twice is not.
    """
    first_position: dict[int, str] = {}  # id(module) -> where it was first seen

    def visit(items, prefix: str) -> None:
        for i, m in enumerate(items):
            position = f"{prefix}[{i}]"
            if id(m) in first_position:
                name = f"{type(m).__name__}(...)" if isinstance(m, Sequential) else repr(m)
                cls = type(m).__name__
                raise ValueError(
                    f"Sequential: the same {name} object is at positions "
                    f"{first_position[id(m)]} and {position}. A module remembers only its last "
                    "input for backward, so one object at two positions gives wrong gradients. "
                    f"Create a new {cls} for each position (call {cls}(...) once per position) "
                    "instead of reusing one object; layers cannot share weights this way."
                )
            first_position[id(m)] = position
            if isinstance(m, Sequential):
                visit(m.modules, position)

    visit(modules, "")
