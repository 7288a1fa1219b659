"""Losses and metrics refuse an empty batch with a clear error (issue 11, item 4).

A mean over no samples is nan ("Mean of empty slice"); the message must name the empty input.
"""

import re

import numpy as np
import pytest

from coursepkg import (
    BinaryCrossEntropy,
    MeanSquaredError,
    SoftmaxCrossEntropy,
    accuracy,
    confusion_matrix,
)

EMPTY = r"is empty \(shape \(0,[ 0-9]*\)\); a loss or metric needs at least one sample"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    ("loss", "predictions", "targets", "name"),
    [
        (SoftmaxCrossEntropy(), np.zeros((0, 3)), np.zeros(0, int), "logits"),
        (BinaryCrossEntropy(), np.zeros(0), np.zeros(0), "logits"),
        (BinaryCrossEntropy(), np.zeros((0, 1)), np.zeros((0, 1)), "logits"),
        (MeanSquaredError(), np.zeros(0), np.zeros(0), "predictions"),
        (MeanSquaredError(), np.zeros((0, 3)), np.zeros((0, 3)), "predictions"),
    ],
    ids=["softmax-ce", "bce", "bce-column", "mse", "mse-2d"],
)
def test_loss_of_an_empty_batch_is_a_clear_error(loss, predictions, targets, name, dtype):
    with pytest.raises(ValueError, match=rf"{re.escape(repr(loss))}: {name} {EMPTY}"):
        loss(predictions.astype(dtype), targets)


def test_mean_squared_error_of_samples_without_features_is_a_clear_error():
    with pytest.raises(ValueError, match=r"predictions is empty \(shape \(4, 0\)\)"):
        MeanSquaredError()(np.zeros((4, 0)), np.zeros((4, 0)))


@pytest.mark.parametrize(
    "outputs", [np.zeros((0, 3)), np.zeros(0), np.zeros((0, 1))], ids=["(0,3)", "(0,)", "(0,1)"]
)
def test_accuracy_of_an_empty_batch_is_a_clear_error(outputs):
    with pytest.raises(ValueError, match=rf"accuracy: labels {EMPTY}"):
        accuracy(outputs, np.zeros(0, int))


def test_confusion_matrix_of_an_empty_batch_is_a_clear_error():
    with pytest.raises(ValueError, match=rf"confusion_matrix: labels {EMPTY}"):
        confusion_matrix(np.zeros(0, int), np.zeros(0, int), 3)
