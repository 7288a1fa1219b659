"""Optimizer steps against arithmetic done by hand; zero_grad and gradient accumulation."""

import numpy as np
import pytest

from coursepkg import SGD, Adam, Linear, MeanSquaredError, Parameter, Sequential, Tanh


def parameter(value, grad):
    p = Parameter(np.array(value, dtype=float), "theta")
    p.grad[...] = grad
    return p


def test_sgd_plain_step():
    p = parameter([1.0, -2.0], [0.5, -1.0])
    SGD([p], lr=0.1).step()
    # theta - lr * grad: 1 - 0.1 * 0.5 = 0.95; -2 - 0.1 * (-1) = -1.9
    np.testing.assert_allclose(p.value, [0.95, -1.9], rtol=1e-15)


def test_sgd_with_momentum_two_steps():
    p = parameter([1.0], [1.0])
    optimizer = SGD([p], lr=0.1, momentum=0.9)
    optimizer.step()
    # v1 = 0.9 * 0 - 0.1 * 1 = -0.1;  theta1 = 1 - 0.1 = 0.9
    np.testing.assert_allclose(p.value, [0.9], rtol=1e-15)
    p.grad[...] = 2.0
    optimizer.step()
    # v2 = 0.9 * (-0.1) - 0.1 * 2 = -0.29;  theta2 = 0.9 - 0.29 = 0.61
    np.testing.assert_allclose(optimizer.velocities[0], [-0.29], rtol=1e-14)
    np.testing.assert_allclose(p.value, [0.61], rtol=1e-14)


def test_adam_two_steps():
    p = parameter([1.0], [2.0])
    optimizer = Adam([p], lr=0.1, betas=(0.9, 0.999), eps=1e-8)
    optimizer.step()
    # t = 1: m = 0.1 * 2 = 0.2;  s = 0.001 * 4 = 0.004
    #        m_hat = 0.2 / (1 - 0.9) = 2;  s_hat = 0.004 / (1 - 0.999) = 4
    #        theta1 = 1 - 0.1 * 2 / (sqrt(4) + 1e-8) = 0.9000000005
    np.testing.assert_allclose(p.value, [0.9000000005], rtol=1e-14)
    p.grad[...] = -1.0
    optimizer.step()
    # t = 2: m = 0.9 * 0.2 + 0.1 * (-1) = 0.08;  s = 0.999 * 0.004 + 0.001 * 1 = 0.004996
    #        m_hat = 0.08 / (1 - 0.81) = 0.42105263157894735
    #        s_hat = 0.004996 / (1 - 0.998001) = 2.4992496248124...;  sqrt = 1.5809015228066...
    #        theta2 = 0.9000000005 - 0.1 * 0.42105263157894735 / (1.5809015228066 + 1e-8)
    #               = 0.9000000005 - 0.0266337038 = 0.8733662967
    np.testing.assert_allclose(optimizer.m[0], [0.08], rtol=1e-14)
    np.testing.assert_allclose(optimizer.s[0], [0.004996], rtol=1e-14)
    np.testing.assert_allclose(p.value, [0.8733662967024315], rtol=1e-13)


def test_adam_first_step_has_size_lr_whatever_the_gradient_scale():
    # With bias correction, step 1 is lr * g / |g| (up to eps), for tiny and huge gradients alike.
    p = parameter([0.0, 0.0], [1e-3, -1e3])
    Adam([p], lr=0.01).step()
    np.testing.assert_allclose(p.value, [-0.01, 0.01], rtol=1e-4)


@pytest.mark.parametrize("make_optimizer", [SGD, Adam], ids=["SGD", "Adam"])
def test_changing_lr_between_steps_takes_effect(make_optimizer):
    # Two parameters, same gradient: one optimizer keeps lr, the other changes it after a step.
    kept, changed = parameter([1.0], [1.0]), parameter([1.0], [1.0])
    optimizer_kept = make_optimizer([kept], lr=0.1)
    optimizer_changed = make_optimizer([changed], lr=0.1)
    optimizer_kept.step()
    optimizer_changed.step()
    first_step = 1.0 - kept.value[0]
    optimizer_kept.step()
    optimizer_changed.lr = 0.3
    optimizer_changed.step()
    second_kept = (1.0 - first_step) - kept.value[0]
    second_changed = (1.0 - first_step) - changed.value[0]
    assert optimizer_changed.lr == 0.3
    assert second_changed == pytest.approx(3 * second_kept, rel=1e-12)  # step size ~ lr


def test_sgd_lr_change_by_hand():
    p = parameter([1.0], [1.0])
    optimizer = SGD([p], lr=0.1)
    optimizer.step()  # 1 - 0.1 = 0.9
    optimizer.lr = 0.5
    optimizer.step()  # 0.9 - 0.5 = 0.4
    np.testing.assert_allclose(p.value, [0.4], rtol=1e-15)


def test_optimizer_zero_grad():
    layer = Linear(3, 2, rng=0)
    layer.forward(np.ones((4, 3)))
    layer.backward(np.ones((4, 2)))
    assert np.any(layer.W.grad != 0) and np.any(layer.b.grad != 0)
    SGD(layer.parameters(), lr=0.1).zero_grad()
    np.testing.assert_array_equal(layer.W.grad, 0.0)
    np.testing.assert_array_equal(layer.b.grad, 0.0)


def test_module_zero_grad_reaches_every_layer():
    network = Sequential(Linear(3, 4, rng=0), Tanh(), Linear(4, 2, rng=1))
    network.forward(np.ones((2, 3)))
    network.backward(np.ones((2, 2)))
    assert all(np.any(p.grad != 0) for p in network.parameters())
    network.zero_grad()
    assert all(np.all(p.grad == 0) for p in network.parameters())


def test_gradients_accumulate_across_backward_calls():
    rng = np.random.default_rng(0)
    network = Sequential(Linear(3, 4, rng=rng), Tanh(), Linear(4, 2, rng=rng))
    X, grad_out = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    network.forward(X)
    network.backward(grad_out)
    once = [p.grad.copy() for p in network.parameters()]
    network.forward(X)
    network.backward(grad_out)
    for p, g in zip(network.parameters(), once, strict=True):
        np.testing.assert_allclose(p.grad, 2 * g, rtol=1e-14)


def test_a_few_sgd_steps_reduce_a_loss():
    rng = np.random.default_rng(0)
    layer, loss = Linear(2, 1, rng=rng), MeanSquaredError()
    X = rng.standard_normal((20, 2))
    y = X @ np.array([[1.5], [-2.0]]) + 0.5
    optimizer = SGD(layer.parameters(), lr=0.1, momentum=0.5)
    losses = []
    for _ in range(20):
        optimizer.zero_grad()
        losses.append(loss(layer(X), y))
        layer.backward(loss.backward())
        optimizer.step()
    assert losses[-1] < 0.01 * losses[0]
