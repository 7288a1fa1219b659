"""One module object at two positions of a container is refused when the container is built.

A module remembers only its last input for ``backward``. With ``t = Tanh()`` used twice in
``Sequential(Linear(3, 4), t, Linear(4, 4), t, Linear(4, 2))`` the forward pass is right but the
backward pass of the first position uses the input of the second, and ``grad_check`` reported a
relative error of about 0.36 with nothing saying why. ``Sequential`` (the package's only
container) now raises a ValueError that names the module and both positions.
"""

import copy

import numpy as np
import pytest

from coursepkg import (
    Arctan,
    BayesianLinear,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    grad_check,
)


def test_the_issue_example_is_refused_naming_the_module_and_both_positions():
    t = Tanh()
    with pytest.raises(
        ValueError, match=r"the same Tanh\(\) object is at positions \[1\] and \[3\]"
    ):
        Sequential(Linear(3, 4), t, Linear(4, 4), t, Linear(4, 2))


def test_the_message_says_why_and_how_to_fix_it():
    t = Tanh()
    with pytest.raises(ValueError, match=r"last input for backward.*Create a new Tanh"):
        Sequential(t, t)


def test_separate_objects_of_the_same_class_are_fine_and_check_correctly():
    net = Sequential(Linear(3, 4, rng=0), Tanh(), Linear(4, 4, rng=1), Tanh(), Linear(4, 2, rng=2))
    X = np.random.default_rng(0).standard_normal((5, 3))
    assert grad_check(net, X).max_error < 1e-7


SHAREABLE = {
    "Linear": lambda dtype: Linear(3, 3, rng=0, dtype=dtype),
    "Tanh": lambda dtype: Tanh(),
    "ReLU": lambda dtype: ReLU(),
    "Sigmoid": lambda dtype: Sigmoid(),
    "Arctan": lambda dtype: Arctan(),
    "BayesianLinear": lambda dtype: BayesianLinear(3, 3, rng=0),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", SHAREABLE)
def test_every_kind_of_module_is_refused_at_two_positions(name, dtype):
    m = SHAREABLE[name](dtype)
    with pytest.raises(
        ValueError, match=rf"the same {name}\(.*\) object is at positions \[0\] and \[2\]"
    ):
        Sequential(m, Tanh(), m)


def test_image_modules_are_refused_at_two_positions():
    conv, pool = Conv2d(1, 1, 3, padding=1, rng=0), MaxPool2d(1)
    with pytest.raises(ValueError, match=r"Conv2d\(.*\) object is at positions \[0\] and \[1\]"):
        Sequential(conv, conv, Flatten())
    with pytest.raises(ValueError, match=r"MaxPool2d\(.*\) object is at positions \[1\] and \[2\]"):
        Sequential(conv, pool, pool, Flatten())


def test_a_module_shared_through_a_nested_container_is_refused():
    t = Tanh()
    inner = Sequential(Linear(3, 4), t)
    with pytest.raises(ValueError, match=r"Tanh\(\) object is at positions \[0\]\[1\] and \[2\]"):
        Sequential(inner, Linear(4, 4), t)


def test_a_module_shared_between_two_nested_containers_is_refused():
    t = Tanh()
    with pytest.raises(ValueError, match=r"positions \[0\]\[1\] and \[1\]\[0\]\[1\]"):
        Sequential(Sequential(Linear(3, 3), t), Sequential(Sequential(Linear(3, 3), t)))


def test_one_container_at_two_positions_is_refused():
    block = Sequential(Linear(3, 3), Tanh())
    with pytest.raises(
        ValueError, match=r"the same Sequential\(\.\.\.\) object is at positions \[0\] and \[1\]"
    ):
        Sequential(block, block)


def test_a_copied_module_is_a_separate_object():
    layer = Linear(3, 3, rng=0)
    net = Sequential(layer, Tanh(), copy.deepcopy(layer))
    assert len(net) == 3


def test_the_same_module_may_appear_in_two_separate_containers():
    # e.g. a network and the sub-network of its first layers, used to inspect hidden activations
    layers = [Linear(3, 4, rng=0), Tanh(), Linear(4, 2, rng=1)]
    net, body = Sequential(*layers), Sequential(*layers[:2])
    X = np.random.default_rng(0).standard_normal((5, 3))
    np.testing.assert_array_equal(body(X), np.tanh(layers[0](X)))
    assert net(X).shape == (5, 2)


def test_the_modules_cannot_be_changed_after_the_check():
    t = Tanh()
    net = Sequential(Linear(3, 4), t, Linear(4, 4))
    with pytest.raises(TypeError):
        net.modules[2] = t
    with pytest.raises(AttributeError):
        net.modules.append(t)
