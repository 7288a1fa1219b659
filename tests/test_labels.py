"""One rule for class labels in every function that takes them (issue 11, item 2).

The rule (``_validation.as_labels``): shape (N,) or (N, 1); integer or boolean dtype, or floats
that are whole numbers; values in [0, K - 1]. Anything else is a ValueError naming the valid
range (or a TypeError for a non-numeric dtype), never a silent wrong answer or a raw IndexError.
"""

import numpy as np
import pytest

from coursepkg import SoftmaxCrossEntropy, accuracy, confusion_matrix, one_hot

EXPECTED = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])


# one_hot ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "labels",
    [
        np.array([0, 2, 1]),
        np.array([[0], [2], [1]]),  # a column: used to give a 3x3 matrix of ones
        np.array([0.0, 2.0, 1.0]),  # whole-number floats: used to raise IndexError
        np.array([[0.0], [2.0], [1.0]], dtype=np.float32),
        np.array([0, 2, 1], dtype=np.uint8),
        [0, 2, 1],
    ],
    ids=["int", "column", "float", "float32-column", "uint8", "list"],
)
def test_one_hot_accepts_every_form_of_the_rule(labels):
    np.testing.assert_array_equal(one_hot(labels, 3), EXPECTED)


@pytest.mark.parametrize(
    ("labels", "shown"),
    [([0, -1, 1], "from -1 to 1"), ([0, 3, 1], "from 0 to 3"), ([0.0, 3.0], "from 0 to 3")],
    ids=["minus-one", "equal-to-K", "float-equal-to-K"],
)
def test_one_hot_rejects_labels_outside_the_range(labels, shown):
    # -1 used to become the last class silently; 3 used to raise a raw IndexError
    with pytest.raises(ValueError, match=rf"one_hot: labels must lie in \[0, 2\] .*{shown}"):
        one_hot(np.array(labels), 3)


def test_one_hot_rejects_fractional_labels():
    with pytest.raises(ValueError, match=r"labels must be integer .*non-integer value 0.5"):
        one_hot(np.array([0.0, 0.5]), 3)


def test_one_hot_rejects_huge_and_non_finite_float_labels():
    with pytest.raises(ValueError, match=r"must lie in \[0, 2\]"):
        one_hot(np.array([1e300]), 3)
    with pytest.raises(ValueError, match=r"labels contains NaN or infinite values"):
        one_hot(np.array([0.0, np.nan]), 3)


def test_one_hot_rejects_a_matrix_of_labels_with_a_hint():
    with pytest.raises(ValueError, match=r"shape \(N,\) or \(N, 1\), got shape \(2, 3\)"):
        one_hot(np.eye(3)[[0, 2]], 3)


def test_one_hot_rejects_string_labels_and_a_bad_class_count():
    with pytest.raises(TypeError, match=r"one_hot: labels must be integer class labels, got dtype"):
        one_hot(np.array(["a", "b"]), 3)
    with pytest.raises(ValueError, match=r"n_classes must be a positive integer, got 0"):
        one_hot(np.array([0]), 0)


# SoftmaxCrossEntropy ----------------------------------------------------------------------------


def test_softmax_cross_entropy_accepts_column_labels():
    Z = np.array([[0.0, 1.0, 2.0], [2.0, 0.0, 1.0]])
    flat = SoftmaxCrossEntropy()(Z, np.array([2, 0]))
    assert SoftmaxCrossEntropy()(Z, np.array([[2], [0]])) == flat
    assert SoftmaxCrossEntropy()(Z, np.array([[2.0], [0.0]])) == flat


def test_softmax_cross_entropy_rejects_huge_float_labels_clearly():
    with pytest.raises(ValueError, match=r"must lie in \[0, 2\] .*from 1e\+300"):
        SoftmaxCrossEntropy()(np.zeros((1, 3)), np.array([1e300]))


# accuracy ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "shown"),
    [([0, 3], "from 0 to 3"), ([-1, 0], "from -1 to 0")],
    ids=["equal-to-K", "negative"],
)
def test_accuracy_rejects_labels_outside_the_classes_of_the_outputs(labels, shown):
    # used to count them as simply wrong
    with pytest.raises(ValueError, match=rf"accuracy: labels must lie in \[0, 2\] .*{shown}"):
        accuracy(np.zeros((2, 3)), np.array(labels))


def test_accuracy_of_single_logits_needs_labels_0_or_1():
    with pytest.raises(ValueError, match=r"accuracy: labels must lie in \[0, 1\] .*to 2"):
        accuracy(np.array([1.0, -1.0]), np.array([1, 2]))


def test_accuracy_rejects_fractional_and_one_hot_labels():
    with pytest.raises(ValueError, match=r"labels must be integer .*non-integer value 0.5"):
        accuracy(np.zeros((2, 3)), np.array([0.0, 0.5]))
    # one-hot labels used to be flattened into 6 "labels"
    with pytest.raises(ValueError, match=r"got shape \(2, 3\). For one-hot targets"):
        accuracy(np.zeros((2, 3)), np.eye(3)[[0, 2]])


def test_accuracy_accepts_every_form_of_the_rule():
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 2.0], [0.0, 2.0, 0.0]])
    for labels in ([0, 2, 0], [[0], [2], [0]], [0.0, 2.0, 0.0], np.array([0, 2, 0], np.uint8)):
        assert accuracy(logits, np.array(labels)) == 2 / 3


def test_accuracy_rejects_non_finite_outputs():
    with pytest.raises(ValueError, match=r"predict_labels: outputs contains NaN"):
        accuracy(np.array([[np.nan, 0.0]]), np.array([0]))


# confusion_matrix -------------------------------------------------------------------------------


def test_confusion_matrix_follows_the_rule():
    C = confusion_matrix(np.array([[0], [2]]), np.array([0.0, 1.0]), 3)
    np.testing.assert_array_equal(C, [[1, 0, 0], [0, 0, 0], [0, 1, 0]])
    with pytest.raises(ValueError, match=r"predicted must be integer .*non-integer value 1.5"):
        confusion_matrix(np.array([0, 1]), np.array([0.0, 1.5]), 3)
    with pytest.raises(ValueError, match=r"n_classes must be a positive integer"):
        confusion_matrix(np.array([0]), np.array([0]), -1)
    with pytest.raises(ValueError, match=r"got shape \(2, 3\). For one-hot targets"):
        confusion_matrix(np.eye(3)[[0, 2]], np.array([0, 2]), 3)
