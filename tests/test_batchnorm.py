"""BatchNorm: hand-computed forward and backward values, PyTorch's running statistics, the
evaluation mode, gradient checks for (N, C) and channels-last (N, H, W, C) input, bad input."""

import numpy as np
import pytest

from coursepkg import (
    SGD,
    BatchNorm,
    Conv2d,
    Flatten,
    Linear,
    ReLU,
    Sequential,
    SoftmaxCrossEntropy,
    grad_check,
    predict,
    train,
)

TOLERANCE = 1e-7
EPS = 1e-5


def test_hand_computed_forward_and_running_statistics():
    # One feature with values 1, 2, 6: mean 3, deviations -2, -1, 3, biased variance
    # (4 + 1 + 9) / 3 = 14/3, unbiased variance 14 / 2 = 7.
    bn = BatchNorm(1)
    Y = bn(np.array([[1.0], [2.0], [6.0]]))
    np.testing.assert_allclose(Y[:, 0], np.array([-2.0, -1.0, 3.0]) / np.sqrt(14 / 3 + EPS))
    # running = 0.9 * start + 0.1 * batch statistic; starts 0 and 1, unbiased variance 7
    np.testing.assert_allclose(bn.running_mean, [0.3])
    np.testing.assert_allclose(bn.running_var, [0.9 * 1.0 + 0.1 * 7.0])


def test_gamma_and_beta_scale_and_shift_each_feature():
    bn = BatchNorm(2)
    bn.gamma.value[...] = [2.0, -1.0]
    bn.beta.value[...] = [0.5, 10.0]
    Y = bn(np.array([[1.0, 2.0], [3.0, 6.0]]))
    # two values per feature: x_hat = -1, +1 (up to eps); variances 1 and 4
    np.testing.assert_allclose(Y[:, 0], 0.5 + 2.0 * np.array([-1.0, 1.0]) / np.sqrt(1 + EPS))
    np.testing.assert_allclose(Y[:, 1], 10.0 - np.array([-2.0, 2.0]) / np.sqrt(4 + EPS))


def test_hand_computed_backward():
    # Values 1, 2, 6, upstream gradient (1, 0, 0), gamma = 1: g - mean g - x_hat mean(g x_hat)
    # over s = sqrt(14/3) works out to (8, -10, 2) / 21 / s. dgamma = x_hat_0, dbeta = 1.
    bn = BatchNorm(1, eps=1e-12)  # eps small enough to leave the hand values unchanged
    bn(np.array([[1.0], [2.0], [6.0]]))
    dX = bn.backward(np.array([[1.0], [0.0], [0.0]]))
    s = np.sqrt(14 / 3)
    np.testing.assert_allclose(dX[:, 0], np.array([8.0, -10.0, 2.0]) / 21 / s, rtol=1e-10)
    np.testing.assert_allclose(bn.gamma.grad, [-2.0 / s], rtol=1e-10)
    np.testing.assert_allclose(bn.beta.grad, [1.0])


def test_two_values_per_feature_give_no_input_gradient():
    # With two values x_hat is (-1, +1) whatever they are, so moving x changes nothing
    # (up to eps): a batch of two is a poor batch for batch normalization.
    bn = BatchNorm(3)
    bn(np.array([[1.0, -3.0, 0.5], [4.0, 2.0, 2.5]]))
    dX = bn.backward(np.random.default_rng(0).standard_normal((2, 3)))
    assert np.abs(dX).max() < 1e-4


def test_images_are_normalized_per_channel_over_batch_and_pixels():
    rng = np.random.default_rng(0)
    X = rng.normal(loc=[1.0, -5.0, 20.0], scale=[0.5, 3.0, 10.0], size=(4, 5, 6, 3))
    bn = BatchNorm(3)
    Y = bn(X)
    np.testing.assert_allclose(Y.mean(axis=(0, 1, 2)), 0.0, atol=1e-12)
    np.testing.assert_allclose(
        Y.var(axis=(0, 1, 2)), X.var(axis=(0, 1, 2)) / (X.var(axis=(0, 1, 2)) + EPS)
    )
    # the same as normalizing the (N * H * W, C) matrix of pixels
    np.testing.assert_allclose(Y.reshape(-1, 3), BatchNorm(3)(X.reshape(-1, 3)))
    m = 4 * 5 * 6
    np.testing.assert_allclose(
        bn.running_var, 0.9 + 0.1 * X.reshape(-1, 3).var(axis=0) * m / (m - 1)
    )


def test_running_statistics_converge_to_the_data_statistics():
    rng = np.random.default_rng(1)
    bn = BatchNorm(2, momentum=0.1)
    for _ in range(200):
        bn(rng.normal(loc=[3.0, -1.0], scale=[2.0, 0.5], size=(64, 2)))
    np.testing.assert_allclose(bn.running_mean, [3.0, -1.0], atol=0.1)
    np.testing.assert_allclose(bn.running_var, [4.0, 0.25], rtol=0.1)


def test_evaluation_mode_uses_and_keeps_the_running_statistics():
    bn = BatchNorm(2)
    bn.running_mean[...] = [1.0, -2.0]
    bn.running_var[...] = [4.0, 0.25]
    bn.gamma.value[...] = [3.0, 1.0]
    bn.eval()
    X = np.array([[3.0, -2.0], [1.0, -1.5], [5.0, 0.0]])
    Y = bn(X)
    np.testing.assert_allclose(Y[:, 0], 3.0 * np.array([2.0, 0.0, 4.0]) / np.sqrt(4 + EPS))
    np.testing.assert_allclose(Y[:, 1], np.array([0.0, 0.5, 2.0]) / np.sqrt(0.25 + EPS))
    np.testing.assert_array_equal(bn.running_mean, [1.0, -2.0])  # not updated
    # one sample gives the same output alone as in the batch
    np.testing.assert_allclose(bn(X[1:2]), Y[1:2])
    dX = bn.backward(np.ones((1, 2)))
    np.testing.assert_allclose(dX, [[3.0 / np.sqrt(4 + EPS), 1.0 / np.sqrt(0.25 + EPS)]])


def randomized(bn, seed):
    """The layer with random gamma and beta, so that the check sees general values."""
    rng = np.random.default_rng(seed)
    bn.gamma.value[...] = rng.uniform(0.5, 2.0, bn.n_features)
    bn.beta.value[...] = rng.standard_normal(bn.n_features)
    return bn


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("shape", [(5, 3), (3, 1), (2, 3, 4, 2), (1, 2, 2, 3)])
def test_gradient_check_in_training_mode(seed, shape):
    X = np.random.default_rng(seed).normal(1.0, 2.0, shape)
    # R, the random output weights of the check, from another seed than X: R = (X - 1) / 2
    # would lie along x_hat, whose input gradient is zero (see the module docstring).
    result = grad_check(randomized(BatchNorm(shape[-1]), seed), X, seed=seed + 10)
    assert result.max_error <= TOLERANCE, result


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4, 2)])
def test_gradient_check_in_evaluation_mode(shape):
    bn = randomized(BatchNorm(shape[-1]), 0)
    bn.running_mean[...] = 0.3
    bn.running_var[...] = 2.0
    result = grad_check(bn.eval(), np.random.default_rng(0).standard_normal(shape))
    assert result.max_error <= TOLERANCE, result


def test_gradient_check_inside_networks():
    # A bias just before batch normalization shifts a whole feature, which the mean subtraction
    # removes: its gradient is zero (up to rounding), so its relative error would compare
    # rounding noise with rounding noise. It is checked to be zero; every other array by the
    # relative error.
    rng = np.random.default_rng(0)
    dense = Sequential(
        Linear(3, 5, rng=1), randomized(BatchNorm(5), 1), ReLU(), Linear(5, 2, rng=2)
    )
    conv = Sequential(Conv2d(2, 3, 3, padding=1, rng=3), randomized(BatchNorm(3), 2), Flatten())
    for net, X in (
        (dense, rng.uniform(0.5, 2.0, (6, 3))),
        (conv, rng.standard_normal((2, 4, 4, 2))),
    ):
        result = grad_check(net, X)
        assert not result.kinks  # no ReLU input within eps of 0
        np.testing.assert_allclose(net[0].b.grad, 0.0, atol=1e-12)
        others = [e for name, e in result.errors.items() if name != "param 1 (b)"]
        assert max(others) <= TOLERANCE, result


def test_a_backward_pass_that_ignores_the_batch_statistics_fails_the_check():
    # Treating mu and var as constants (the evaluation-mode formula in training mode) is the
    # classic mistake; the gradient check must catch it.
    class Wrong(BatchNorm):
        def backward(self, grad_out):
            X_hat, std, axes, _ = self._cache
            self.gamma.grad += (grad_out * X_hat).sum(axis=axes)
            self.beta.grad += grad_out.sum(axis=axes)
            return grad_out * self.gamma.value / std

    X = np.random.default_rng(0).standard_normal((5, 3))
    assert grad_check(Wrong(3), X).errors["input"] > 1e-2


def test_float32_works():
    X = np.random.default_rng(0).standard_normal((8, 2, 2, 3)).astype(np.float32)
    bn = BatchNorm(3, dtype=np.float32)
    Y = bn(X)
    assert Y.dtype == np.float32 and bn.running_var.dtype == np.float32
    np.testing.assert_allclose(Y.mean(axis=(0, 1, 2)), 0.0, atol=1e-5)
    dX = bn.backward(np.ones_like(Y))
    assert dX.dtype == np.float32
    np.testing.assert_allclose(dX, 0.0, atol=1e-5)  # a constant gradient is removed entirely
    assert bn.eval()(X).dtype == np.float32


def test_a_batch_of_one_is_refused_in_training_mode_only():
    bn = BatchNorm(3)
    with pytest.raises(ValueError, match="at least 2 values per feature"):
        bn(np.ones((1, 3)))
    with pytest.raises(ValueError, match="at least 2 values per feature"):
        bn(np.ones((1, 1, 1, 3)))
    assert bn(np.ones((1, 2, 1, 3))).shape == (1, 2, 1, 3)  # two pixels are two values
    assert bn.eval()(np.ones((1, 3))).shape == (1, 3)


def test_bad_input_is_refused():
    bn = BatchNorm(3)
    with pytest.raises(ValueError, match="expects 3"):
        bn(np.ones((4, 2)))
    with pytest.raises(ValueError, match="channels-last"):
        bn(np.ones((4, 3, 5, 5)))  # channels-first images
    with pytest.raises(ValueError, match="empty batch"):
        bn(np.ones((0, 3)))
    with pytest.raises(ValueError, match="NaN"):
        bn(np.array([[1.0, 2.0, np.nan], [1.0, 2.0, 3.0]]))
    with pytest.raises(ValueError, match=r"\(N, C\) or"):
        bn(np.ones((4, 3, 3)))
    with pytest.raises(RuntimeError, match="before forward"):
        BatchNorm(3).backward(np.ones((2, 3)))
    bn(np.ones((4, 3)))
    with pytest.raises(ValueError, match="shape"):
        bn.backward(np.ones((4, 2)))


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"n_features": 0}, ValueError),
        ({"n_features": 2.0}, TypeError),
        ({"n_features": 2, "momentum": 1.0}, ValueError),
        ({"n_features": 2, "momentum": -0.1}, ValueError),
        ({"n_features": 2, "eps": 0.0}, ValueError),
    ],
)
def test_bad_arguments_are_refused(kwargs, error):
    with pytest.raises(error):
        BatchNorm(**kwargs)


def test_parameters_and_running_statistics():
    bn = BatchNorm(4)
    assert [p.name for p in bn.parameters()] == ["gamma", "beta"]
    np.testing.assert_array_equal(bn.gamma.value, np.ones(4))
    np.testing.assert_array_equal(bn.beta.value, np.zeros(4))
    np.testing.assert_array_equal(bn.running_mean, np.zeros(4))
    np.testing.assert_array_equal(bn.running_var, np.ones(4))
    assert bn.num_parameters() == 8


def test_train_uses_batch_statistics_and_predict_the_running_ones():
    # A network with batch normalization trained by coursepkg.train: predict gives the
    # evaluation-mode outputs (running statistics), the same for a sample alone or in a batch,
    # and the modes are as before afterwards.
    rng = np.random.default_rng(0)
    X = rng.normal(5.0, 3.0, (64, 2))
    y = (X[:, 0] > 5.0).astype(int)
    net = Sequential(Linear(2, 8, rng=1), BatchNorm(8), ReLU(), Linear(8, 2, rng=2))
    history = train(net, SoftmaxCrossEntropy(), SGD(net.parameters(), lr=0.1), X, y, epochs=20,
                    batch_size=16, validation_data=(X, y), progress=False)  # fmt: skip
    assert history.val_metric[-1] > 0.9
    assert net.training and net[1].training
    assert not np.allclose(net[1].running_mean, 0.0)  # updated during the steps
    running_mean = net[1].running_mean.copy()
    outputs = predict(net, X)
    np.testing.assert_array_equal(net[1].running_mean, running_mean)  # not updated by predict
    np.testing.assert_allclose(outputs, net.eval()(X))
    np.testing.assert_allclose(predict(net, X[:1]), outputs[:1])
    # validation loss of the last epoch = the loss of the evaluation-mode outputs
    np.testing.assert_allclose(history.val_loss[-1], SoftmaxCrossEntropy()(outputs, y))
