"""train and EarlyStopping on the inputs a new user gives them (issue 11, items 4 and 6).

Empty or mismatched validation data fail before training; early stopping that never saw an
improving epoch says so; the default metric follows the loss (accuracy only for classification).
"""

import numpy as np
import pytest

from coursepkg import (
    SGD,
    Adam,
    BinaryCrossEntropy,
    EarlyStopping,
    Linear,
    MeanSquaredError,
    MixtureDensityLoss,
    Sequential,
    SoftmaxCrossEntropy,
    Tanh,
    accuracy,
    make_annuli,
    make_sinusoid,
    make_xor_blobs,
    train,
    training,
)


def sine_problem(n_out=1):
    """A 1-8-n_out tanh network, Adam, and the sinusoid data (40 points)."""
    x, t = make_sinusoid(40, seed=0)
    model = Sequential(Linear(1, 8, rng=0), Tanh(), Linear(8, n_out, rng=1))
    return model, Adam(model.parameters(), lr=0.01), x, t


def values(model):
    return [p.value.copy() for p in model.parameters()]


def assert_unchanged(model, before):
    for p, old in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.value, old)


# Item 4: empty and mismatched data, early stopping without an improving epoch. --------------


@pytest.mark.parametrize("early_stopping", [None, EarlyStopping(patience=2)])
def test_an_empty_validation_set_fails_before_training(early_stopping):
    model, optimizer, x, t = sine_problem()
    before = values(model)
    with pytest.raises(
        ValueError, match=r"validation_data: got an empty data set: X_val and y_val"
    ):
        train(
            model,
            MeanSquaredError(),
            optimizer,
            x,
            t,
            epochs=3,
            progress=False,
            validation_data=(x[:0], t[:0]),
            early_stopping=early_stopping,
        )
    assert_unchanged(model, before)


def test_an_empty_training_set_names_x_and_y():
    model, optimizer, x, t = sine_problem()
    with pytest.raises(ValueError, match=r"train: got an empty data set: X and y have 0 samples"):
        train(model, MeanSquaredError(), optimizer, x[:0], t[:0], epochs=1, progress=False)


def test_validation_data_of_different_lengths_fails_before_training():
    model, optimizer, x, t = sine_problem()
    before = values(model)
    with pytest.raises(ValueError, match=r"validation_data: X_val has 5 samples but y_val has 4"):
        train(
            model,
            MeanSquaredError(),
            optimizer,
            x,
            t,
            epochs=2,
            progress=False,
            validation_data=(x[:5], t[:4]),
        )
    assert_unchanged(model, before)


@pytest.mark.parametrize("bad", [np.zeros((5, 1)), (np.zeros((5, 1)),), "x, t"])
def test_validation_data_must_be_a_pair(bad):
    model, optimizer, x, t = sine_problem()
    with pytest.raises(TypeError, match=r"validation_data must be a pair \(X_val, y_val\)"):
        train(
            model,
            MeanSquaredError(),
            optimizer,
            x,
            t,
            epochs=1,
            progress=False,
            validation_data=bad,
        )


class NaNOnValidation(MeanSquaredError):  # noqa: N818 (a loss, not an exception)
    """Mean squared error, but NaN on the validation set (recognized by its size, 7)."""

    def forward(self, predictions, targets) -> float:
        loss = super().forward(predictions, targets)
        return float("nan") if len(targets) == 7 else loss


@pytest.mark.parametrize("restore_best", [True, False])
def test_early_stopping_without_an_improving_epoch_ends_with_a_clear_error(restore_best):
    model, optimizer, x, t = sine_problem()
    stopping = EarlyStopping(patience=2, restore_best=restore_best)
    with pytest.raises(
        RuntimeError,
        match=r"early stopping saw no improving epoch: val_loss was "
        r"\[nan, nan\] in the 2 epochs run",
    ):
        train(
            model,
            NaNOnValidation(),
            optimizer,
            x,
            t,
            epochs=5,
            progress=False,
            metric=None,
            validation_data=(x[:7], t[:7]),
            early_stopping=stopping,
        )


def test_early_stopping_restore_before_any_improvement_is_a_clear_error():
    model, _, _, _ = sine_problem()
    with pytest.raises(RuntimeError, match=r"no epoch has improved on the starting score inf"):
        EarlyStopping(patience=2).restore(model.parameters())


def test_early_stopping_restore_into_another_model_is_a_clear_error():
    model, _, _, _ = sine_problem()
    stopping = EarlyStopping(patience=2)
    stopping.update(1, 0.5, model.parameters())
    with pytest.raises(ValueError, match=r"got 2 parameters, but the best epoch saved 4"):
        stopping.restore(Linear(1, 1).parameters())
    with pytest.raises(ValueError, match=r"parameter W has shape \(2, 8\), but the saved"):
        stopping.restore(Sequential(Linear(2, 8), Tanh(), Linear(8, 1)).parameters())


def test_early_stopping_restores_the_last_finite_best_after_a_nan():
    class NaNFromEpochThree(MeanSquaredError):  # noqa: N818 (a loss)
        calls = 0

        def forward(self, predictions, targets) -> float:
            loss = super().forward(predictions, targets)
            if len(targets) == 7:
                self.calls += 1
                return float("nan") if self.calls >= 3 else 1.0 / self.calls
            return loss

    model, optimizer, x, t = sine_problem()
    history = train(
        model,
        NaNFromEpochThree(),
        optimizer,
        x,
        t,
        epochs=10,
        progress=False,
        validation_data=(x[:7], t[:7]),
        early_stopping=EarlyStopping(patience=2),
    )
    assert history.best_epoch == 2 and history.stopped_epoch == 4


# Item 6: the default metric follows the loss. -------------------------------------------------


def test_a_regression_with_the_defaults_records_no_accuracy():
    model, optimizer, x, t = sine_problem()
    history = train(
        model,
        MeanSquaredError(),
        optimizer,
        x,
        t,
        epochs=3,
        progress=False,
        validation_data=(x[:10], t[:10]),
    )
    assert history.metric == [] and history.val_metric == [] and history.metric_name == ""
    assert len(history.loss) == 3 and len(history.val_loss) == 3


def test_a_regression_with_one_hot_targets_trains_with_the_defaults():
    x, _ = make_sinusoid(30, seed=0)
    targets = np.eye(3)[np.arange(30) % 3]  # (30, 3) regression targets, one-hot
    model = Sequential(Linear(1, 8, rng=0), Tanh(), Linear(8, 3, rng=1))
    history = train(
        model,
        MeanSquaredError(),
        SGD(model.parameters(), lr=0.1),
        x,
        targets,
        epochs=3,
        progress=False,
    )
    assert len(history.loss) == 3 and history.metric == []


def test_a_mixture_density_network_gets_no_default_metric():
    x, t = make_sinusoid(40, seed=0)
    model = Sequential(Linear(1, 8, rng=0), Tanh(), Linear(8, 6, rng=1))
    history = train(
        model,
        MixtureDensityLoss(2),
        Adam(model.parameters(), lr=0.01),
        x,
        t,
        epochs=2,
        progress=False,
    )
    assert history.metric == [] and history.metric_name == ""


@pytest.mark.parametrize(
    ("targets", "problem"),
    [
        (np.eye(3)[np.arange(30) % 3], "shape"),  # one-hot regression targets
        (np.linspace(0.0, 1.0, 30), "integer class labels"),  # real-valued targets
    ],
)
def test_an_explicit_metric_that_does_not_fit_fails_before_training(targets, problem):
    x, _ = make_sinusoid(30, seed=0)
    n_out = targets.shape[1] if targets.ndim == 2 else 1
    model = Sequential(Linear(1, 8, rng=0), Tanh(), Linear(8, n_out, rng=1))
    before = values(model)
    with pytest.raises(ValueError, match=rf"train: the metric accuracy cannot score .*{problem}"):
        train(
            model,
            MeanSquaredError(),
            SGD(model.parameters(), lr=0.1),
            x,
            targets,
            epochs=3,
            batch_size=10,
            metric=accuracy,
            progress=False,
        )
    assert_unchanged(model, before)


@pytest.mark.parametrize("bad", ["accuracy", 3])
def test_metric_must_be_a_function_none_or_auto(bad):
    model, optimizer, x, t = sine_problem()
    with pytest.raises(TypeError, match=r"metric must be a function metric\(outputs, y\), None"):
        train(model, MeanSquaredError(), optimizer, x, t, epochs=1, metric=bad, progress=False)


def test_default_metric_follows_the_loss():
    class MyCrossEntropy(SoftmaxCrossEntropy):
        pass

    assert training.default_metric(SoftmaxCrossEntropy()) is accuracy
    assert training.default_metric(BinaryCrossEntropy()) is accuracy
    assert training.default_metric(MyCrossEntropy()) is accuracy
    assert training.default_metric(MeanSquaredError()) is None
    assert training.default_metric(MixtureDensityLoss(3)) is None


def classifier_runs(metric_options):
    """Train the same 2-6-3 network on the rings with each metric option; return the histories."""
    X, y = make_annuli(90, seed=0)
    runs = []
    for options in metric_options:
        model = Sequential(Linear(2, 6, rng=0), Tanh(), Linear(6, 3, rng=1))
        runs.append(
            train(
                model,
                SoftmaxCrossEntropy(),
                Adam(model.parameters(), lr=0.01),
                X,
                y,
                epochs=4,
                batch_size=16,
                progress=False,
                validation_data=(X, y),
                **options,
            )
        )
    return runs


def test_the_classification_default_is_unchanged():
    default, explicit, none = classifier_runs([{}, {"metric": accuracy}, {"metric": None}])
    assert default.metric_name == "accuracy" and len(default.metric) == 4
    assert default.metric == explicit.metric and default.val_metric == explicit.val_metric
    # trying the metric on the first mini-batch does not change training
    assert default.loss == explicit.loss == none.loss
    assert default.step_loss == none.step_loss


def test_the_binary_classification_default_is_accuracy():
    X, y = make_xor_blobs(40, seed=0)
    model = Sequential(Linear(2, 4, rng=0), Tanh(), Linear(4, 1, rng=1))
    history = train(
        model, BinaryCrossEntropy(), SGD(model.parameters(), lr=0.1), X, y, epochs=2, progress=False
    )
    assert history.metric_name == "accuracy" and len(history.metric) == 2


def test_val_metric_early_stopping_with_a_regression_default_explains_why():
    model, optimizer, x, t = sine_problem()
    with pytest.raises(
        ValueError,
        match=r"monitors 'val_metric', but metric is None \(the default "
        r"for MeanSquaredError\(\), not a classification loss\)",
    ):
        train(
            model,
            MeanSquaredError(),
            optimizer,
            x,
            t,
            epochs=2,
            progress=False,
            validation_data=(x, t),
            early_stopping=EarlyStopping(monitor="val_metric"),
        )


def test_the_progress_bar_of_a_regression_shows_the_loss_only(capsys):
    model, optimizer, x, t = sine_problem()
    train(model, MeanSquaredError(), optimizer, x, t, epochs=2, desc="sine")
    bar = capsys.readouterr().err.strip().splitlines()[-1]
    assert bar.startswith("sine: 100%") and "loss=" in bar and "accuracy" not in bar
