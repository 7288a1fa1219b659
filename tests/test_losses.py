"""Losses on tiny examples computed by hand, and on huge logits (finite, no warnings)."""

import numpy as np
import pytest

from coursepkg import BinaryCrossEntropy, MeanSquaredError, SoftmaxCrossEntropy

LN2, LN3, LN5 = np.log(2.0), np.log(3.0), np.log(5.0)


def strict_float():
    """Turn floating-point overflow, 0/0 and log 0 into exceptions inside a ``with`` block."""
    return np.errstate(over="raise", invalid="raise", divide="raise")


def test_mean_squared_error_by_hand():
    loss = MeanSquaredError()
    value = loss(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, 2.0], [5.0, 4.0]]))
    # differences 1, 0, -2, 0; squares 1, 0, 4, 0; mean 5 / 4
    assert value == 1.25
    # 2 * difference / 4 elements
    np.testing.assert_array_equal(loss.backward(), [[0.5, 0.0], [-1.0, 0.0]])


def test_mean_squared_error_of_a_vector():
    loss = MeanSquaredError()
    assert loss(np.array([1.0, -1.0, 0.0]), np.array([0.0, 1.0, 0.0])) == pytest.approx(5 / 3)
    np.testing.assert_allclose(loss.backward(), [2 / 3, -4 / 3, 0.0])  # 2 * [1, -2, 0] / 3


def test_binary_cross_entropy_by_hand():
    loss = BinaryCrossEntropy()
    value = loss(np.array([0.0, LN3]), np.array([1.0, 0.0]))
    # sigmoid(0) = 1/2, target 1: -log(1/2) = ln 2
    # sigmoid(ln 3) = 3/4, target 0: -log(1 - 3/4) = ln 4 = 2 ln 2
    # mean: 3 ln 2 / 2 = 1.0397207708399179
    assert value == pytest.approx(1.0397207708399179, rel=1e-14)
    # (sigmoid(z) - t) / 2: (1/2 - 1) / 2 = -0.25, (3/4 - 0) / 2 = 0.375
    np.testing.assert_allclose(loss.backward(), [-0.25, 0.375], rtol=1e-14)


def test_binary_cross_entropy_with_soft_targets():
    loss = BinaryCrossEntropy()
    # z = 0, t = 0.3: -0.3 log(1/2) - 0.7 log(1/2) = ln 2; gradient 1/2 - 0.3 = 0.2
    assert loss(np.array([0.0]), np.array([0.3])) == pytest.approx(LN2, rel=1e-14)
    np.testing.assert_allclose(loss.backward(), [0.2], rtol=1e-14)


def test_binary_cross_entropy_column_logits_with_vector_targets():
    loss = BinaryCrossEntropy()
    value = loss(np.array([[0.0], [LN3]]), np.array([1, 0]))  # integer targets are fine
    assert value == pytest.approx(1.0397207708399179, rel=1e-14)
    assert loss.backward().shape == (2, 1)  # the gradient has the logits' shape


def test_softmax_cross_entropy_by_hand():
    loss = SoftmaxCrossEntropy()
    logits = np.array([[0.0, LN2, LN5], [LN3, 0.0, 0.0]])
    value = loss(logits, np.array([2, 0]))
    # row 0: softmax = [1, 2, 5] / 8, label 2: -log(5/8) = ln 1.6 = 0.47000362924573563
    # row 1: softmax = [3, 1, 1] / 5, label 0: -log(3/5) = ln(5/3) = 0.5108256237659907
    # mean: ln(8/3) / 2 = 0.4904146265058631
    assert value == pytest.approx(0.4904146265058631, rel=1e-14)
    # (softmax - one_hot) / 2
    expected = np.array([[1 / 8, 2 / 8, 5 / 8 - 1], [3 / 5 - 1, 1 / 5, 1 / 5]]) / 2
    np.testing.assert_allclose(expected, [[0.0625, 0.125, -0.1875], [-0.2, 0.1, 0.1]])
    np.testing.assert_allclose(loss.backward(), expected, rtol=1e-14, atol=1e-16)


def test_softmax_cross_entropy_accepts_whole_number_float_labels():
    logits = np.array([[0.0, LN2, LN5], [LN3, 0.0, 0.0]])
    loss = SoftmaxCrossEntropy()
    assert loss(logits, np.array([2.0, 0.0])) == pytest.approx(0.4904146265058631, rel=1e-14)


def test_softmax_cross_entropy_of_uniform_logits_is_log_k():
    assert SoftmaxCrossEntropy()(np.zeros((4, 10)), np.arange(4)) == pytest.approx(np.log(10))


def test_binary_cross_entropy_with_huge_logits():
    loss = BinaryCrossEntropy()
    logits = np.array([1e4, -1e4, 1e4, -1e4])
    targets = np.array([1.0, 0.0, 0.0, 1.0])
    with strict_float():
        value = loss(logits, targets)
        grad = loss.backward()
    # softplus(z) - t z per sample: 1e4 - 1e4 = 0, 0 - 0 = 0, 1e4 - 0 = 1e4, 0 + 1e4 = 1e4
    assert value == 5000.0  # (0 + 0 + 1e4 + 1e4) / 4
    # (sigmoid(z) - t) / 4: (1 - 1), (0 - 0), (1 - 0), (0 - 1), each over 4
    np.testing.assert_array_equal(grad, [0.0, 0.0, 0.25, -0.25])
    assert np.all(np.isfinite(grad))


def test_softmax_cross_entropy_with_huge_logits():
    loss = SoftmaxCrossEntropy()
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0]])
    with strict_float():
        value = loss(logits, np.array([0, 0]))
        grad = loss.backward()
    # row 0: logsumexp = 1e4, minus the label's logit 1e4: 0
    # row 1: logsumexp = 1e4, minus the label's logit -1e4: 2e4;  mean 1e4
    assert value == 1e4
    # (softmax - one_hot) / 2: row 0 [1, 0, 0] - [1, 0, 0]; row 1 [0, 1, 0] - [1, 0, 0]
    np.testing.assert_array_equal(grad, [[0.0, 0.0, 0.0], [-0.5, 0.5, 0.0]])
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize(
    ("loss", "predictions", "targets"),
    [
        (MeanSquaredError(), np.zeros((3, 2)), np.ones((3, 2))),
        (BinaryCrossEntropy(), np.zeros((3, 1)), np.ones(3)),
        (SoftmaxCrossEntropy(), np.zeros((3, 4)), np.array([0, 1, 3])),
    ],
    ids=["mse", "bce", "softmax-ce"],
)
def test_loss_is_a_float_and_its_gradient_has_the_predictions_shape(loss, predictions, targets):
    value = loss(predictions, targets)
    assert isinstance(value, float)
    assert loss.backward().shape == predictions.shape
