"""Bad inputs raise the right exception with a message that names the problem.

Each test asserts both the exception type and (with ``match``) the part of the message that tells
the student what is wrong, so that a NumPy error from deep inside cannot pass for ours.
"""

import re

import numpy as np
import pytest

import coursepkg.datasets as datasets
from coursepkg import (
    SGD,
    Adam,
    Arctan,
    BinaryCrossEntropy,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    MeanSquaredError,
    ReLU,
    Sequential,
    Sigmoid,
    SoftmaxCrossEntropy,
    Tanh,
    accuracy,
    confusion_matrix,
    grad_check,
    grad_check_loss,
    predict_labels,
    sample_function,
    train,
    train_test_split,
)

NOT_FINITE = "contains NaN or infinite values"
LOSSES = [MeanSquaredError, BinaryCrossEntropy, SoftmaxCrossEntropy]
ACTIVATIONS = [Sigmoid, Tanh, ReLU, Arctan]


def with_bad_value(shape, value, index=(0, 1)):
    A = np.ones(shape)
    A[index] = value
    return A


# Layers: shapes and values of the input. ------------------------------------------------------


def test_linear_rejects_a_1d_input_and_says_how_to_reshape():
    with pytest.raises(ValueError, match=r"expected X with 2 dimensions, got 1 \(shape \(3,\)\)"):
        Linear(3, 2).forward(np.ones(3))
    with pytest.raises(ValueError, match=r"Reshape your data: X.reshape\(1, -1\)"):
        Linear(3, 2).forward(np.ones(3))


def test_linear_rejects_a_3d_input():
    with pytest.raises(ValueError, match=r"expected X with 2 dimensions, got 3"):
        Linear(3, 2).forward(np.ones((4, 2, 3)))


def test_linear_rejects_the_wrong_number_of_features():
    with pytest.raises(ValueError, match=r"X has 3 features per sample, but this layer expects 2"):
        Linear(2, 4).forward(np.ones((5, 3)))


def test_linear_rejects_non_numeric_input():
    with pytest.raises(TypeError, match=r"X must hold real numbers, got an array of dtype <U1"):
        Linear(2, 1).forward(np.array([["a", "b"]]))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
def test_linear_rejects_non_finite_input(bad):
    with pytest.raises(ValueError, match=rf"X {NOT_FINITE} \(the first at index \(0, 1\)"):
        Linear(2, 1).forward(with_bad_value((3, 2), bad))


@pytest.mark.parametrize("activation_cls", ACTIVATIONS)
def test_activation_rejects_non_finite_input(activation_cls):
    with pytest.raises(ValueError, match=f"Z {NOT_FINITE}"):
        activation_cls().forward(with_bad_value((2, 3), np.nan))


# Layers: the backward pass. ----------------------------------------------------------------


@pytest.mark.parametrize(
    "make_module",
    [
        lambda: Linear(2, 3),
        *ACTIVATIONS,
        lambda: Sequential(Linear(2, 3), Tanh()),
        lambda: Conv2d(3, 2, 2),
        lambda: Conv2d(3, 2, 2, input_grad=False),
        MaxPool2d,
        Flatten,
    ],
    ids=[
        "Linear",
        *(a.__name__ for a in ACTIVATIONS),
        "Sequential",
        "Conv2d",
        "Conv2d-no-input-grad",
        "MaxPool2d",
        "Flatten",
    ],
)
def test_backward_before_forward(make_module):
    with pytest.raises(RuntimeError, match=r"backward was called before forward"):
        make_module().backward(np.ones((4, 3)))


@pytest.mark.parametrize("loss_cls", LOSSES)
def test_loss_backward_before_forward(loss_cls):
    with pytest.raises(RuntimeError, match=rf"{loss_cls.__name__}\(\).backward was called before"):
        loss_cls().backward()


def test_linear_backward_rejects_grad_out_of_the_wrong_shape():
    layer = Linear(3, 2)
    layer.forward(np.ones((4, 3)))
    with pytest.raises(
        ValueError, match=r"grad_out has shape \(4, 3\), but the last forward output had shape"
    ):
        layer.backward(np.ones((4, 3)))


@pytest.mark.parametrize("activation_cls", ACTIVATIONS)
def test_activation_backward_rejects_grad_out_of_the_wrong_shape(activation_cls):
    activation = activation_cls()
    activation.forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"grad_out has shape \(3, 4\).*had shape \(4, 3\)"):
        activation.backward(np.ones((3, 4)))


# Layers and containers: construction. ------------------------------------------------------


@pytest.mark.parametrize(
    ("n_in", "n_out", "what"),
    [(2, 0, r"n_out \(number of units\)"), (0, 3, r"n_in"), (-1, 3, r"n_in")],
)
def test_linear_rejects_non_positive_sizes(n_in, n_out, what):
    with pytest.raises(ValueError, match=rf"Linear: {what}.* must be a positive integer, got"):
        Linear(n_in, n_out)


@pytest.mark.parametrize("n_out", [2.5, 3.0, "3", True, None])
def test_linear_rejects_non_integer_units(n_out):
    with pytest.raises(TypeError, match=r"n_out \(number of units\) must be a positive integer"):
        Linear(2, n_out)


def test_linear_rejects_an_unknown_init():
    with pytest.raises(
        ValueError, match=r"init must be one of \('xavier', 'he', 'zeros'\).*'glorot'"
    ):
        Linear(2, 3, init="glorot")


def test_linear_from_weights_rejects_mismatched_bias():
    with pytest.raises(ValueError, match=r"W has shape \(2, 3\), so b needs shape \(3,\)"):
        Linear.from_weights(np.ones((2, 3)), np.ones(2))


def test_sequential_rejects_a_non_module():
    with pytest.raises(TypeError, match=r"item 1 is a str, not a Module"):
        Sequential(Linear(2, 3), "relu")


def test_sequential_rejects_a_list_of_modules_and_says_how_to_pass_them():
    with pytest.raises(TypeError, match=r"item 0 is a list.*Pass modules as separate arguments"):
        Sequential([Linear(2, 3), Tanh()])


# Convolution, pooling and flatten layers. ------------------------------------------------------

IMAGE_LAYERS = [lambda: Conv2d(3, 2, 2), lambda: MaxPool2d(2)]
IMAGE_LAYER_IDS = ["Conv2d", "MaxPool2d"]


@pytest.mark.parametrize("make_layer", IMAGE_LAYERS, ids=IMAGE_LAYER_IDS)
def test_image_layer_rejects_a_single_image_and_says_how_to_add_the_batch_axis(make_layer):
    with pytest.raises(
        ValueError,
        match=r"expected images of shape \(N, H, W, C\) with 4 dimensions, got shape "
        r"\(5, 5, 3\)\. For one image of shape \(H, W, C\) use X\[None\]",
    ):
        make_layer().forward(np.ones((5, 5, 3)))


@pytest.mark.parametrize("make_layer", IMAGE_LAYERS, ids=IMAGE_LAYER_IDS)
def test_image_layer_rejects_a_2d_input(make_layer):
    with pytest.raises(
        ValueError,
        match=r"expected images of shape \(N, H, W, C\) with 4 dimensions, got shape "
        r"\(4, 75\)\.$",
    ):
        make_layer().forward(np.ones((4, 75)))


def test_conv2d_rejects_the_wrong_number_of_channels():
    with pytest.raises(
        ValueError, match=r"X has 5 channels \(shape \(2, 3, 4, 5\)\), but this layer expects 3"
    ):
        Conv2d(3, 2, 2).forward(np.ones((2, 3, 4, 5)))


def test_conv2d_rejects_channels_first_images_and_says_how_to_convert_them():
    with pytest.raises(
        ValueError,
        match=r"X has 8 channels .* Images are channels-last, \(N, H, W, C\): for \(N, C, H, W\) "
        r"arrays use X.transpose\(0, 2, 3, 1\)",
    ):
        Conv2d(3, 2, 2).forward(np.ones((2, 3, 8, 8)))


@pytest.mark.parametrize(
    ("kernel_size", "padding", "what"),
    [(5, 0, r"5x5 kernel .* \(4x6\)"), ((2, 7), 0, r"2x7 kernel .* \(4x6\)"), (7, 1, r"\(6x8\)")],
)
def test_conv2d_rejects_a_kernel_larger_than_the_padded_input(kernel_size, padding, what):
    layer = Conv2d(1, 1, kernel_size, padding=padding)
    with pytest.raises(ValueError, match=rf"{what}; use a smaller kernel or more padding"):
        layer.forward(np.ones((2, 4, 6, 1)))


@pytest.mark.parametrize("kernel_size", [5, (2, 7), (5, 1)])
def test_max_pool_rejects_a_window_larger_than_the_input(kernel_size):
    with pytest.raises(ValueError, match=r"pooling window is larger than the 4x6 input"):
        MaxPool2d(kernel_size).forward(np.ones((2, 4, 6, 1)))


@pytest.mark.parametrize("stride", [0, -1, (1, 0), (-2, 1)])
@pytest.mark.parametrize(
    "make_layer",
    [lambda stride: Conv2d(1, 1, 2, stride=stride), lambda stride: MaxPool2d(2, stride)],
    ids=IMAGE_LAYER_IDS,
)
def test_image_layer_rejects_a_non_positive_stride(make_layer, stride):
    with pytest.raises(ValueError, match=r"stride must be a positive integer, got (0|-1|-2)\."):
        make_layer(stride)


@pytest.mark.parametrize(
    ("padding", "value"),
    [
        pytest.param(-1, "-1", id="-1"),
        pytest.param((1, -2), "-2", id="(1, -2)"),
    ],
)
def test_conv2d_rejects_negative_padding(padding, value):
    with pytest.raises(
        ValueError, match=rf"Conv2d: padding must be a non-negative integer, got {value}"
    ):
        Conv2d(1, 1, 2, padding=padding)


@pytest.mark.parametrize(
    ("padding", "shown"),
    [
        pytest.param(1.5, "1.5", id="1.5"),
        pytest.param(True, "True", id="True"),
        pytest.param("1", "'1'", id="str"),
        pytest.param((1, None), "None", id="(1, None)"),
    ],
)
def test_conv2d_rejects_non_integer_padding(padding, shown):
    with pytest.raises(TypeError, match=rf"Conv2d: padding must be a .*integer, got {shown}"):
        Conv2d(1, 1, 2, padding=padding)


@pytest.mark.parametrize(
    ("in_channels", "out_channels", "what", "value"),
    [(0, 3, "in_channels", 0), (2, 0, "out_channels", 0), (-2, 3, "in_channels", -2)],
)
def test_conv2d_rejects_non_positive_channels(in_channels, out_channels, what, value):
    with pytest.raises(
        ValueError, match=rf"Conv2d: {what} must be a positive integer, got {value}"
    ):
        Conv2d(in_channels, out_channels, 3)


MAKE_WITH_KERNEL = [lambda k: Conv2d(1, 1, k), lambda k: MaxPool2d(k)]


@pytest.mark.parametrize("kernel_size", [2.5, 3.0, "3", True, None, (2, 1.5)])
@pytest.mark.parametrize("make_layer", MAKE_WITH_KERNEL, ids=IMAGE_LAYER_IDS)
def test_image_layer_rejects_a_non_integer_kernel_size(make_layer, kernel_size):
    with pytest.raises(TypeError, match=r"kernel_size must be a positive integer, got"):
        make_layer(kernel_size)


@pytest.mark.parametrize(("kernel_size", "value"), [(0, "0"), (-3, "-3"), ((3, 0), "0")])
@pytest.mark.parametrize("make_layer", MAKE_WITH_KERNEL, ids=IMAGE_LAYER_IDS)
def test_image_layer_rejects_a_non_positive_kernel_size(make_layer, kernel_size, value):
    with pytest.raises(ValueError, match=rf"kernel_size must be a positive integer, got {value}\."):
        make_layer(kernel_size)


@pytest.mark.parametrize("kernel_size", [(2,), (2, 2, 2), []])
@pytest.mark.parametrize("make_layer", MAKE_WITH_KERNEL, ids=IMAGE_LAYER_IDS)
def test_image_layer_rejects_a_kernel_size_that_is_not_a_pair(make_layer, kernel_size):
    with pytest.raises(ValueError, match=r"kernel_size must be an int or a pair of ints, got"):
        make_layer(kernel_size)


def test_conv2d_rejects_an_unknown_init():
    with pytest.raises(ValueError, match=r"Conv2d: init must be 'he' or 'xavier', got 'glorot'"):
        Conv2d(1, 2, 3, init="glorot")


@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
@pytest.mark.parametrize(
    "make_layer",
    [*IMAGE_LAYERS, Flatten],
    ids=[*IMAGE_LAYER_IDS, "Flatten"],
)
def test_image_layer_rejects_non_finite_input(make_layer, bad):
    X = with_bad_value((2, 4, 4, 3), bad, index=(1, 2, 0, 1))
    with pytest.raises(ValueError, match=rf"X {NOT_FINITE} \(the first at index \(1, 2, 0, 1\)"):
        make_layer().forward(X)


@pytest.mark.parametrize(
    ("make_layer", "grad_shape", "output_shape"),
    [
        (lambda: Conv2d(3, 2, 2), (2, 3, 3, 3), (2, 3, 3, 2)),  # C_in channels, not C_out
        (lambda: Conv2d(3, 2, 2, input_grad=False), (2, 4, 4, 2), (2, 3, 3, 2)),
        (lambda: MaxPool2d(2), (2, 4, 4, 3), (2, 2, 2, 3)),  # the input's shape
        (Flatten, (2, 4, 4, 3), (2, 48)),
    ],
    ids=["Conv2d", "Conv2d-no-input-grad", "MaxPool2d", "Flatten"],
)
def test_image_layer_backward_rejects_grad_out_of_the_wrong_shape(
    make_layer, grad_shape, output_shape
):
    layer = make_layer()
    layer.forward(np.ones((2, 4, 4, 3)))
    message = (
        f"grad_out has shape {grad_shape}, but the last forward output had shape {output_shape}"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        layer.backward(np.ones(grad_shape))


def test_flatten_rejects_a_1d_input():
    with pytest.raises(
        ValueError, match=r"Flatten\(\).forward: expected a batch of shape \(N, ...\)"
    ):
        Flatten().forward(np.ones(5))


# Losses. ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loss_cls", "predictions", "targets"),
    [
        (MeanSquaredError, np.zeros((3, 1)), np.zeros((2, 1))),
        (BinaryCrossEntropy, np.zeros(3), np.zeros(2)),
        (SoftmaxCrossEntropy, np.zeros((3, 4)), np.array([0, 1])),
    ],
    ids=["mse", "bce", "softmax-ce"],
)
def test_loss_rejects_mismatched_batch_sizes(loss_cls, predictions, targets):
    with pytest.raises(ValueError, match=r"predictions hold 3 samples but targets hold 2"):
        loss_cls()(predictions, targets)


@pytest.mark.parametrize("loss_cls", [MeanSquaredError, BinaryCrossEntropy])
def test_loss_rejects_a_scalar_target(loss_cls):
    with pytest.raises(ValueError, match=r"targets must be an array with one row per sample"):
        loss_cls()(np.zeros(3), 0.0)


def test_mean_squared_error_rejects_mismatched_shapes_and_suggests_a_reshape():
    with pytest.raises(
        ValueError, match=r"shape \(4, 1\) but targets have shape \(4,\); reshape the targets"
    ):
        MeanSquaredError()(np.zeros((4, 1)), np.zeros(4))


def test_binary_cross_entropy_rejects_two_logits_per_sample():
    with pytest.raises(ValueError, match=r"logits have shape \(4, 2\) but targets have shape"):
        BinaryCrossEntropy()(np.zeros((4, 2)), np.zeros(4))


@pytest.mark.parametrize(
    ("loss_cls", "predictions", "targets"),
    [
        (MeanSquaredError, [[0.0], [np.nan]], [[0.0], [1.0]]),
        (BinaryCrossEntropy, [np.inf, 0.0], [1.0, 0.0]),
        (SoftmaxCrossEntropy, [[0.0, -np.inf], [0.0, 0.0]], [0, 1]),
    ],
    ids=["mse", "bce", "softmax-ce"],
)
def test_loss_rejects_non_finite_predictions(loss_cls, predictions, targets):
    with pytest.raises(ValueError, match=r"(predictions|logits) contains NaN or infinite values"):
        loss_cls()(np.array(predictions), np.array(targets))


@pytest.mark.parametrize("loss_cls", LOSSES)
def test_loss_rejects_non_finite_targets(loss_cls):
    if loss_cls is SoftmaxCrossEntropy:
        predictions, targets = np.zeros((3, 2)), np.array([0.0, np.nan, 1.0])
    else:
        predictions, targets = np.zeros(3), np.array([0.0, np.inf, 1.0])
    with pytest.raises(ValueError, match=rf"targets {NOT_FINITE}"):
        loss_cls()(predictions, targets)


@pytest.mark.parametrize("bad_target", [-1.0, 2.0])
def test_binary_cross_entropy_rejects_targets_outside_0_1(bad_target):
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        BinaryCrossEntropy()(np.zeros(3), np.array([0.0, bad_target, 1.0]))


@pytest.mark.parametrize("bad_label", [3, 7], ids=["equal-to-K", "above-K"])
def test_softmax_cross_entropy_rejects_labels_too_large(bad_label):
    with pytest.raises(ValueError, match=rf"targets must lie in \[0, 2\].*to {bad_label}"):
        SoftmaxCrossEntropy()(np.zeros((3, 3)), np.array([0, bad_label, 1]))


def test_softmax_cross_entropy_rejects_negative_labels():
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 2\].*from -1"):
        SoftmaxCrossEntropy()(np.zeros((3, 3)), np.array([0, -1, 1]))


def test_softmax_cross_entropy_rejects_non_integer_float_labels():
    with pytest.raises(ValueError, match=r"integer class labels, got the non-integer value 0.5"):
        SoftmaxCrossEntropy()(np.zeros((3, 3)), np.array([0.0, 0.5, 1.0]))


def test_softmax_cross_entropy_rejects_string_labels():
    with pytest.raises(TypeError, match=r"targets must be integer class labels, got dtype <U"):
        SoftmaxCrossEntropy()(np.zeros((2, 3)), np.array(["cat", "dog"]))


def test_softmax_cross_entropy_rejects_one_hot_targets_and_says_how_to_convert():
    with pytest.raises(ValueError, match=r"shape \(2, 3\). For one-hot targets Y use Y.argmax"):
        SoftmaxCrossEntropy()(np.zeros((2, 3)), np.eye(3)[[0, 2]])


def test_softmax_cross_entropy_rejects_1d_logits():
    with pytest.raises(ValueError, match=r"expected logits with 2 dimensions, got 1"):
        SoftmaxCrossEntropy()(np.zeros(3), np.array([0, 1, 2]))


# Optimizers. ------------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer_cls", [SGD, Adam])
@pytest.mark.parametrize("lr", [-0.1, 0.0, np.nan, np.inf])
def test_optimizer_rejects_a_bad_learning_rate(optimizer_cls, lr):
    with pytest.raises(ValueError, match=r"lr \(learning rate\) must be a positive finite number"):
        optimizer_cls(Linear(2, 1).parameters(), lr=lr)


def test_optimizer_rejects_a_non_numeric_learning_rate():
    with pytest.raises(
        TypeError, match=r"lr \(learning rate\) must be a positive number, got '0.1'"
    ):
        SGD(Linear(2, 1).parameters(), lr="0.1")


def test_optimizer_rejects_a_bad_learning_rate_set_between_steps():
    optimizer = SGD(Linear(2, 1).parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"SGD: lr \(learning rate\) must be a positive finite"):
        optimizer.lr = -1.0
    assert optimizer.lr == 0.1  # the old value is kept


@pytest.mark.parametrize("momentum", [1.0, 1.5, -0.1, np.nan])
def test_sgd_rejects_momentum_outside_0_1(momentum):
    with pytest.raises(ValueError, match=r"SGD: momentum must lie in \[0, 1\)"):
        SGD(Linear(2, 1).parameters(), lr=0.1, momentum=momentum)


@pytest.mark.parametrize(("betas", "which"), [((1.0, 0.999), 0), ((0.9, 1.0), 1)])
def test_adam_rejects_betas_outside_0_1(betas, which):
    with pytest.raises(ValueError, match=rf"Adam: betas\[{which}\] must lie in \[0, 1\)"):
        Adam(Linear(2, 1).parameters(), betas=betas)


def test_adam_rejects_betas_that_are_not_a_pair():
    with pytest.raises(ValueError, match=r"betas must be a pair"):
        Adam(Linear(2, 1).parameters(), betas=(0.9,))


@pytest.mark.parametrize("optimizer_cls", [SGD, Adam])
def test_optimizer_rejects_an_empty_parameter_list(optimizer_cls):
    with pytest.raises(ValueError, match=r"empty list of parameters"):
        optimizer_cls([], lr=0.1)


def test_optimizer_rejects_a_model_without_parameters():
    with pytest.raises(ValueError, match=r"empty list of parameters, so there is nothing to train"):
        SGD(Sequential(Tanh(), ReLU()).parameters(), lr=0.1)


def test_optimizer_rejects_the_model_itself():
    with pytest.raises(TypeError, match=r"got the module Linear\(2, 1\) itself; pass its param"):
        SGD(Linear(2, 1), lr=0.1)


def test_optimizer_rejects_arrays_instead_of_parameters():
    with pytest.raises(TypeError, match=r"expected Parameters \(use model.parameters\(\)\)"):
        SGD([np.zeros(3)], lr=0.1)


# Gradient checking. -----------------------------------------------------------------------


def test_grad_check_rejects_float32_input():
    with pytest.raises(TypeError, match=r"need float64.*got float32"):
        grad_check(Linear(2, 1), np.ones((3, 2), dtype=np.float32))


def test_grad_check_rejects_float32_parameters():
    with pytest.raises(TypeError, match=r"parameter W is float32, not float64"):
        grad_check(Linear(2, 1, dtype=np.float32), np.ones((3, 2)))


def test_grad_check_loss_rejects_float32_predictions():
    with pytest.raises(TypeError, match=r"grad_check_loss: .*need float64.*got float32"):
        grad_check_loss(MeanSquaredError(), np.ones(3, dtype=np.float32), np.ones(3))


# Training, metrics and data. ----------------------------------------------------------------


def small_problem():
    model = Linear(2, 1, rng=0)
    return model, BinaryCrossEntropy(), SGD(model.parameters(), lr=0.1), np.ones((4, 2))


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("epochs", 0, ValueError),
        ("epochs", -3, ValueError),
        ("epochs", 2.5, TypeError),
        ("batch_size", 0, ValueError),
        ("batch_size", 1.0, TypeError),
    ],
)
def test_train_rejects_bad_epochs_and_batch_size(option, value, error):
    model, loss, optimizer, X = small_problem()
    options = {"epochs": 1, "batch_size": 2, option: value}
    with pytest.raises(error, match=rf"train: {option} must be a positive integer, got"):
        train(model, loss, optimizer, X, np.zeros(4), progress=False, **options)


def test_train_rejects_mismatched_x_and_y():
    model, loss, optimizer, X = small_problem()
    with pytest.raises(ValueError, match=r"train: X has 4 samples but y has 3"):
        train(model, loss, optimizer, X, np.zeros(3), epochs=1, progress=False)


def test_train_rejects_an_empty_data_set():
    model, loss, optimizer, _ = small_problem()
    with pytest.raises(ValueError, match=r"train: got an empty data set"):
        train(model, loss, optimizer, np.zeros((0, 2)), np.zeros(0), epochs=1, progress=False)


def test_accuracy_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match=r"accuracy: 3 predictions but 2 labels"):
        accuracy(np.zeros((3, 2)), np.array([0, 1]))


def test_predict_labels_rejects_3d_outputs():
    with pytest.raises(ValueError, match=r"expected outputs of shape \(N,\) or \(N, K\)"):
        predict_labels(np.zeros((2, 3, 4)))


@pytest.mark.parametrize(
    ("labels", "predicted", "name"),
    [([0, 3], [0, 1], "labels"), ([0, 1], [-1, 1], "predicted")],
)
def test_confusion_matrix_rejects_classes_out_of_range(labels, predicted, name):
    with pytest.raises(ValueError, match=rf"confusion_matrix: {name} must lie in \[0, 2\]"):
        confusion_matrix(np.array(labels), np.array(predicted), 3)


def test_sample_function_rejects_an_unknown_name():
    with pytest.raises(ValueError, match=r"unknown function 'cube'; choose from \['square'"):
        sample_function("cube")


@pytest.mark.parametrize(
    "make",
    [
        datasets.make_linearly_separable,
        datasets.make_xor_blobs,
        datasets.make_annuli,
        datasets.make_moons,
    ],
)
def test_data_set_generators_reject_zero_samples(make):
    with pytest.raises(ValueError, match=rf"{make.__name__}: n_samples must be a positive integer"):
        make(0)


@pytest.mark.parametrize("fraction", [0.0, 1.0, 1.5])
def test_train_test_split_rejects_a_bad_test_fraction(fraction):
    with pytest.raises(ValueError, match=r"test_fraction must lie in \(0, 1\)"):
        train_test_split(np.zeros((10, 2)), np.zeros(10), test_fraction=fraction)


def test_train_test_split_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match=r"X has 10 samples but y has 9"):
        train_test_split(np.zeros((10, 2)), np.zeros(9))
