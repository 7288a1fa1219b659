"""SGD with momentum when the learning rate changes mid-run (issue 11, item 10).

The velocity holds steps already multiplied by the learning rate they were taken with, so a new
lr applies to new gradients only (Sutskever et al., 2013). PyTorch's torch.optim.SGD rescales
the whole velocity instead; the two agree while lr is constant.
"""

import numpy as np

from coursepkg import SGD, Parameter


def parameter(value, grad):
    p = Parameter(np.array(value, dtype=float), "theta")
    p.grad[...] = grad
    return p


def torch_convention(theta, grads, lrs, mu):
    """PyTorch's rule by hand: b <- mu b + g (b = g at the first step); theta <- theta - lr b."""
    b = None
    for g, lr in zip(grads, lrs, strict=True):
        b = g if b is None else mu * b + g
        theta = theta - lr * b
    return theta


def test_a_new_learning_rate_applies_to_new_gradients_only():
    p = parameter([1.0], [2.0])
    optimizer = SGD([p], lr=0.1, momentum=0.9)
    optimizer.step()
    # v1 = -0.1 * 2 = -0.2;  theta1 = 1 - 0.2 = 0.8
    np.testing.assert_allclose(p.value, [0.8], rtol=1e-15)
    optimizer.lr = 0.01
    p.grad[...] = 3.0
    optimizer.step()
    # v2 = 0.9 * (-0.2) - 0.01 * 3 = -0.21 (the old step keeps lr = 0.1);  theta2 = 0.59
    np.testing.assert_allclose(optimizer.velocities[0], [-0.21], rtol=1e-14)
    np.testing.assert_allclose(p.value, [0.59], rtol=1e-14)
    # PyTorch would rescale the old step too: 0.8 - 0.01 * (0.9 * 2 + 3) = 0.752
    assert np.isclose(torch_convention(1.0, [2.0, 3.0], [0.1, 0.01], 0.9), 0.752, rtol=1e-14)
    assert not np.isclose(p.value[0], 0.752)


def test_with_a_constant_learning_rate_both_conventions_agree():
    rng = np.random.default_rng(0)
    grads = rng.standard_normal((6, 3))
    p = parameter(np.zeros(3), grads[0])
    optimizer = SGD([p], lr=0.05, momentum=0.9)
    for g in grads:
        p.grad[...] = g
        optimizer.step()
    expected = torch_convention(np.zeros(3), list(grads), [0.05] * 6, 0.9)
    np.testing.assert_allclose(p.value, expected, rtol=1e-13, atol=1e-15)


def test_the_docstring_documents_the_convention():
    doc = SGD.__doc__
    assert "Changing ``lr`` during a run" in doc and "torch.optim.SGD" in doc
