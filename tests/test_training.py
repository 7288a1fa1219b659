"""The training loop: it learns, records its history, is silent on request and reproducible."""

import numpy as np
import pytest

from coursepkg import (
    SGD,
    Adam,
    BinaryCrossEntropy,
    History,
    Linear,
    MeanSquaredError,
    Sequential,
    SoftmaxCrossEntropy,
    Tanh,
    accuracy,
    make_annuli,
    make_xor_blobs,
    minibatches,
    train,
)


def xor_run(*, seed=0, epochs=30, **options):
    """Train a 2-8-1 tanh network on the XOR blobs; return the model and the History."""
    X, y = make_xor_blobs(120, seed=0)
    model = Sequential(Linear(2, 8, rng=seed), Tanh(), Linear(8, 1, rng=seed + 1))
    optimizer = Adam(model.parameters(), lr=0.05)
    options = {"batch_size": 16, "seed": seed, "progress": False, **options}
    history = train(model, BinaryCrossEntropy(), optimizer, X, y, epochs=epochs, **options)
    return model, history


def test_train_reduces_the_loss_and_solves_xor():
    model, history = xor_run(epochs=30)
    assert history.loss[-1] < 0.3 * history.loss[0]
    assert history.metric[-1] >= 0.95  # XOR needs the hidden layer: a line reaches ~0.5
    assert history.metric_name == "accuracy"


def test_train_full_batch_gradient_descent_on_a_regression():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    y = X @ np.array([[1.0], [-2.0], [0.5]]) - 1.0
    model = Linear(3, 1, rng=0)
    history = train(
        model,
        MeanSquaredError(),
        SGD(model.parameters(), lr=0.1),
        X,
        y,
        epochs=100,
        batch_size=50,
        metric=None,
        progress=False,
    )
    assert history.loss[-1] < 1e-6 * history.loss[0]
    np.testing.assert_allclose(model.W.value, [[1.0], [-2.0], [0.5]], atol=1e-3)
    np.testing.assert_allclose(model.b.value, [-1.0], atol=1e-3)
    assert history.metric == [] and history.metric_name == ""


@pytest.mark.parametrize("epochs", [1, 4, 7])
def test_history_has_one_entry_per_epoch(epochs):
    _, history = xor_run(epochs=epochs)
    assert isinstance(history, History)
    assert len(history.loss) == epochs
    assert len(history.metric) == epochs
    assert history.val_loss == [] and history.val_metric == []


def test_history_records_every_step_and_epoch_means_of_them():
    _, history = xor_run(epochs=3, batch_size=16)  # 120 samples: 7 batches of 16, one of 8
    assert len(history.step_loss) == 3 * 8
    sizes = np.array([16] * 7 + [8])
    for epoch in range(3):
        steps = np.array(history.step_loss[8 * epoch : 8 * (epoch + 1)])
        np.testing.assert_allclose(history.loss[epoch], np.sum(steps * sizes) / 120)


def test_validation_metrics_are_recorded():
    X_val, y_val = make_xor_blobs(40, seed=1)
    model, history = xor_run(epochs=5, validation_data=(X_val, y_val))
    assert len(history.val_loss) == 5 and len(history.val_metric) == 5
    # the last entries are the model's final loss and accuracy on the validation data
    outputs = model(X_val)
    assert history.val_loss[-1] == pytest.approx(BinaryCrossEntropy()(outputs, y_val))
    assert history.val_metric[-1] == accuracy(outputs, y_val)


def test_multiclass_training_with_validation():
    X, y = make_annuli(150, 3, seed=0)
    X_val, y_val = make_annuli(60, 3, seed=1)
    model = Sequential(Linear(2, 16, rng=0), Tanh(), Linear(16, 3, rng=1))
    history = train(
        model,
        SoftmaxCrossEntropy(),
        Adam(model.parameters(), lr=0.03),
        X,
        y,
        epochs=40,
        batch_size=32,
        validation_data=(X_val, y_val),
        progress=False,
    )
    assert history.loss[-1] < 0.5 * history.loss[0]
    assert history.val_metric[-1] > 0.9


def test_progress_false_prints_nothing(capsys):
    xor_run(epochs=3, progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_progress_true_shows_a_bar(capsys):
    # The counterpart of the test above: the capture does see the bar when it is on.
    xor_run(epochs=3, progress=True, desc="xor run")
    captured = capsys.readouterr()
    assert "xor run" in captured.err and "3/3" in captured.err


def test_same_seed_gives_an_identical_history():
    _, first = xor_run(seed=0, epochs=5)
    _, second = xor_run(seed=0, epochs=5)
    _, other = xor_run(seed=1, epochs=5)
    assert first.loss == second.loss and first.metric == second.metric
    assert first.loss != other.loss


def test_minibatches_cover_every_sample_once():
    batches = list(minibatches(10, 4, np.random.default_rng(0)))
    assert [len(batch) for batch in batches] == [4, 4, 2]  # the last batch is smaller
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(10))
    assert not np.array_equal(np.concatenate(batches), np.arange(10))  # shuffled


def test_minibatch_order_depends_on_the_seed():
    def order(seed):
        return np.concatenate(list(minibatches(20, 5, np.random.default_rng(seed))))

    np.testing.assert_array_equal(order(0), order(0))
    assert not np.array_equal(order(0), order(1))


def test_progress_bar_has_the_same_width_on_every_tqdm_version(capsys):
    # tqdm 4.66 drew a wider bar than 4.67 into a stream that is not a terminal; stored notebooks
    # compare the bar's final line, so its width is fixed.
    X, y = make_xor_blobs(40, seed=0)
    model = Linear(2, 1, rng=0)
    train(
        model,
        BinaryCrossEntropy(),
        SGD(model.parameters(), lr=0.1),
        X,
        y.reshape(-1, 1).astype(float),
        epochs=3,
        desc="bar",
    )
    final = capsys.readouterr().err.split("\r")[-1]
    assert final.startswith("bar: 100%|" + "█" * 10 + "| 3/3 [")
