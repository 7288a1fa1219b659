"""Predicted labels, accuracy and the confusion matrix on small examples worked out by hand."""

import numpy as np

from coursepkg import accuracy, confusion_matrix, predict_labels


def test_accuracy_of_multiclass_logits():
    logits = np.array([[2.0, 1.0], [0.0, 3.0], [5.0, -1.0]])  # argmax: 0, 1, 0
    assert accuracy(logits, np.array([0, 1, 1])) == 2 / 3  # the last one is wrong


def test_accuracy_of_three_class_logits():
    logits = np.array([[0.1, 0.5, 0.2], [3.0, 0.0, 0.0], [0.0, 0.0, -1.0], [1.0, 2.0, 3.0]])
    # argmax: 1, 0, 0 (ties go to the first), 2
    np.testing.assert_array_equal(predict_labels(logits), [1, 0, 0, 2])
    assert accuracy(logits, np.array([1, 0, 1, 2])) == 0.75


def test_accuracy_of_single_logits():
    logits = np.array([-1.0, 2.0, 0.5, -3.0, 0.0])  # positive -> 1; zero is not positive -> 0
    np.testing.assert_array_equal(predict_labels(logits), [0, 1, 1, 0, 0])
    labels = np.array([0, 1, 0, 0, 0])
    assert accuracy(logits, labels) == 0.8  # only the third is wrong
    # a column of logits (N, 1) and column labels give the same answer
    assert accuracy(logits.reshape(-1, 1), labels.reshape(-1, 1)) == 0.8


def test_confusion_matrix_by_hand():
    labels = np.array([0, 0, 1, 2, 2, 2])
    predicted = np.array([0, 1, 1, 2, 0, 2])
    # rows: true class, columns: predicted class
    # class 0: one right, one taken for 1; class 1: right; class 2: two right, one taken for 0
    expected = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    C = confusion_matrix(labels, predicted, 3)
    np.testing.assert_array_equal(C, expected)
    assert C.sum() == len(labels)
    assert np.trace(C) / C.sum() == accuracy(np.eye(3)[predicted], labels)


def test_confusion_matrix_with_an_absent_class():
    C = confusion_matrix(np.array([0, 0]), np.array([0, 1]), 4)
    assert C.shape == (4, 4)
    np.testing.assert_array_equal(C[0], [1, 1, 0, 0])
    assert C[1:].sum() == 0
