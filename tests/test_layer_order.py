"""Max pooling and ReLU commute (issue 16): conv -> max-pool -> ReLU computes the same function,
and the same gradients, as conv -> ReLU -> max-pool, with ReLU on a quarter of the values.

Forward: ReLU is increasing, so max(relu(a), relu(b)) = relu(max(a, b)); both sides pick one of
the inputs, so they agree exactly. Backward, window by window: if the window's maximum is
positive, both orders send its gradient to the same input (the first maximum: ReLU leaves
positive values, and their order, unchanged); if it is <= 0, ReLU's derivative 0 stops the
gradient in both orders. The gradients are equal as numbers; a zero may carry a different sign
(0 * g is -0.0 for negative g), which no sum and no update can tell apart.
"""

import numpy as np
import pytest

import coursepkg as cp


def pool_relu_pair(X, G, kernel=2, stride=None):
    """(forward, backward) of ReLU -> pool and of pool -> ReLU, for upstream gradient G."""
    results = []
    for order in ("relu first", "pool first"):
        relu, pool = cp.ReLU(), cp.MaxPool2d(kernel, stride)
        layers = [relu, pool] if order == "relu first" else [pool, relu]
        A = X
        for layer in layers:
            A = layer.forward(A)
        grad = G
        for layer in reversed(layers):
            grad = layer.backward(grad)
        results.append((A, grad))
    return results


@pytest.mark.parametrize("kernel, stride", [(2, None), (3, 2), (3, 3)])
@pytest.mark.parametrize("data", ["normal", "many ties", "all negative"])
def test_max_pool_and_relu_commute_exactly(data, kernel, stride):
    rng = np.random.default_rng(0)
    shape = (9, 12, 12, 3)
    if data == "normal":
        X = rng.standard_normal(shape)
    elif data == "many ties":  # small integers: ties inside windows, zeros and negatives
        X = rng.integers(-2, 3, shape).astype(np.float64)
    else:
        X = -rng.random(shape)
    Ho = (12 - kernel) // (stride or kernel) + 1
    G = rng.standard_normal((9, Ho, Ho, 3))
    for dtype in (np.float32, np.float64):
        pair = pool_relu_pair(X.astype(dtype), G.astype(dtype), kernel, stride)
        (A1, grad1), (A2, grad2) = pair
        assert A1.tobytes() == A2.tobytes()
        assert np.array_equal(grad1, grad2)  # equal numbers (a zero's sign may differ)
        assert grad1[X <= 0].max(initial=0) == 0 == grad1[X <= 0].min(initial=0)


def test_the_two_orders_train_a_lenet_identically():
    """The benchmark's network in both orders: same logits, same weight gradients, bit for bit."""
    rng = np.random.default_rng(0)
    X = rng.random((16, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 16)
    found = []
    for pool_first in (False, True):
        r = np.random.default_rng(1)
        convs = [
            cp.Conv2d(1, 6, 5, rng=r, dtype=np.float32),
            cp.Conv2d(6, 8, 5, rng=r, dtype=np.float32),
        ]
        stages = []
        for conv in convs:
            pair = [cp.MaxPool2d(2), cp.ReLU()] if pool_first else [cp.ReLU(), cp.MaxPool2d(2)]
            stages += [conv, *pair]
        model = cp.Sequential(*stages, cp.Flatten(), cp.Linear(128, 10, rng=r, dtype=np.float32))
        loss_fn = cp.SoftmaxCrossEntropy()
        logits = model(X)
        loss_fn(logits, y)
        model.backward(loss_fn.backward())
        found.append([logits, *(p.grad for p in model.parameters())])
    for a, b in zip(*found, strict=True):
        assert a.tobytes() == b.tobytes()
