"""Loss values accurate to 1e-12 relative against exact references (issue 11, item 8).

The references are computed with Python's decimal module at 60 digits from the exact values of
the float inputs, so they are correct far beyond float64.
"""

from decimal import Decimal, getcontext

import numpy as np
import pytest

from coursepkg import BinaryCrossEntropy, MeanSquaredError, SoftmaxCrossEntropy

getcontext().prec = 60


def softplus_exact(z: float) -> Decimal:
    """log(1 + exp(z)) to 60 digits."""
    return (1 + Decimal(z).exp()).ln()


def bce_exact(z, t) -> float:
    """mean(t softplus(-z) + (1 - t) softplus(z)) = mean(-t log p - (1 - t) log(1 - p))."""
    z, t = np.asarray(z, float).ravel().tolist(), np.asarray(t, float).ravel().tolist()
    terms = [
        Decimal(ti) * softplus_exact(-zi) + (1 - Decimal(ti)) * softplus_exact(zi)
        for zi, ti in zip(z, t, strict=True)
    ]
    return float(sum(terms) / len(terms))


def softmax_ce_exact(Z, y) -> float:
    """mean_n log(sum_j exp(Z_nj - Z_n,y_n)) to 60 digits."""
    terms = []
    for row, label in zip(np.asarray(Z, float).tolist(), y, strict=True):
        top = Decimal(row[label])
        terms.append(sum((Decimal(v) - top).exp() for v in row).ln())
    return float(sum(terms) / len(terms))


@pytest.mark.parametrize(
    ("z", "t"),
    [
        ([15.0, 20.0, 25.0, 30.0], [1.0, 1.0, 1.0, 1.0]),  # off by 5.6e-9 relative before
        ([40.0], [1.0]),  # exactly 0 before; right: 4.25e-18
        ([-40.0, -25.0], [0.0, 0.0]),  # the mirror image
        ([36.0, -37.0, 700.0], [1.0, 0.0, 1.0]),
        ([3.0, -2.0, 0.5, 0.0], [1.0, 0.0, 0.25, 0.5]),  # ordinary and soft targets
        ([1e4, -1e4, 30.0], [0.0, 1.0, 0.0]),  # large losses
    ],
)
def test_binary_cross_entropy_value_is_exact_to_1e12(z, t):
    value = BinaryCrossEntropy()(np.array(z), np.array(t))
    assert value == pytest.approx(bce_exact(z, t), rel=1e-12, abs=0)


def test_binary_cross_entropy_value_in_float32():
    z = np.array([15.0, 20.0, 25.0, 30.0], dtype=np.float32)
    value = BinaryCrossEntropy()(z, np.ones(4, dtype=np.float32))
    assert value == pytest.approx(bce_exact(z, np.ones(4)), rel=1e-6, abs=0)
    assert value > 0


@pytest.mark.parametrize(
    ("Z", "y"),
    [
        ([[1e6 + 5, 1e6, 1e6 - 1]], [0]),  # off by 5.6e-9 relative before
        ([[1e6 + 5, 1e6, 1e6 - 1]], [2]),
        ([[-1e6, -1e6 - 3, -1e6 + 0.5]], [2]),
        ([[1e4 + 40, 1e4, 0.0], [30.0, 0.0, -30.0]], [0, 0]),  # tiny losses: need log1p
        ([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0]], [0, 0]),
        ([[0.0, np.log(2), np.log(5)], [np.log(3), 0.0, 0.0]], [2, 0]),
    ],
)
def test_softmax_cross_entropy_value_is_exact_to_1e12(Z, y):
    value = SoftmaxCrossEntropy()(np.array(Z), np.array(y))
    assert value == pytest.approx(softmax_ce_exact(Z, y), rel=1e-12, abs=0)


def test_softmax_cross_entropy_value_in_float32():
    Z = np.array([[1e3 + 5, 1e3, 1e3 - 1]], dtype=np.float32)
    value = SoftmaxCrossEntropy()(Z, np.array([0]))
    assert value == pytest.approx(softmax_ce_exact(Z, [0]), rel=1e-6, abs=0)


@pytest.mark.parametrize(
    ("loss", "predictions", "targets"),
    [
        (MeanSquaredError(), np.array([1e200, 0.0]), np.array([0.0, 0.0])),
        (MeanSquaredError(), np.array([1e20, 0.0], np.float32), np.zeros(2, np.float32)),
        (BinaryCrossEntropy(), np.array([1e308, -1e308]), np.array([0.0, 1.0])),
        (BinaryCrossEntropy(), np.array([3e38, -3e38], np.float32), np.array([0, 1], np.float32)),
        (SoftmaxCrossEntropy(), np.array([[1e308, -1e308]]), np.array([1])),
        (SoftmaxCrossEntropy(), np.array([[3e38, -3e38]], np.float32), np.array([1])),
    ],
    ids=["mse", "mse-float32", "bce", "bce-float32", "softmax-ce", "softmax-ce-float32"],
)
def test_a_loss_beyond_the_float_range_is_a_clear_error(loss, predictions, targets):
    # used to overflow with a RuntimeWarning (an error under pytest) and return inf
    with pytest.raises(ValueError, match=r"the loss is too large for float(32|64) .*overflows"):
        loss(predictions, targets)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_huge_but_representable_losses_are_exact(dtype):
    # one logit of 1e6 against the wrong class: the loss is 2e6 (1e4 for a +-1e4 pair)
    Z = np.array([[1e6, -1e6]], dtype=dtype)
    assert SoftmaxCrossEntropy()(Z, np.array([1])) == 2e6
    assert BinaryCrossEntropy()(np.array([1e6, -1e4], dtype=dtype), np.array([0.0, 1.0])) == (
        (1e6 + 1e4) / 2
    )
