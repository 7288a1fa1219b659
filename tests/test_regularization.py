"""Regularization: weight decay in the optimizers, the Gaussian prior, early stopping, the sinusoid.

The central facts checked here: a step with weight decay is the hand-computed one; the prior's
penalty gradient matches finite differences; adding that gradient by hand is the same training run
as the optimizer's weight_decay; early stopping ends at the right epoch and restores the best
weights exactly.
"""

import numpy as np
import pytest

from coursepkg import (
    SGD,
    Adam,
    EarlyStopping,
    GaussianPrior,
    History,
    Linear,
    MeanSquaredError,
    Parameter,
    Sequential,
    Tanh,
    make_sinusoid,
    train,
)
from coursepkg.gradcheck import numerical_gradient, relative_error

OPTIMIZERS = [SGD, Adam]


def parameter(value, grad, name="theta"):
    p = Parameter(np.array(value, dtype=float), name)
    p.grad[...] = grad
    return p


def small_network(seed=0, hidden=5):
    rng = np.random.default_rng(seed)
    return Sequential(Linear(1, hidden, rng=rng), Tanh(), Linear(hidden, 1, rng=rng))


# Weight decay in the optimizers. -----------------------------------------------------------------


def test_sgd_step_with_weight_decay_by_hand():
    p = parameter([1.0, -2.0], [0.5, -1.0])
    SGD([p], lr=0.1, weight_decay=0.2).step()
    # g = grad + 0.2 theta = [0.5 + 0.2, -1 - 0.4] = [0.7, -1.4]
    # theta - 0.1 g = [1 - 0.07, -2 + 0.14] = [0.93, -1.86]
    np.testing.assert_allclose(p.value, [0.93, -1.86], rtol=1e-15)
    np.testing.assert_array_equal(p.grad, [0.5, -1.0])  # the data gradient is left alone


def test_sgd_momentum_two_steps_with_weight_decay_by_hand():
    p = parameter([1.0], [1.0])
    optimizer = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.5)
    optimizer.step()
    # g1 = 1 + 0.5 * 1 = 1.5;  v1 = -0.15;  theta1 = 0.85
    np.testing.assert_allclose(p.value, [0.85], rtol=1e-15)
    optimizer.step()
    # g2 = 1 + 0.5 * 0.85 = 1.425;  v2 = 0.9 * (-0.15) - 0.1425 = -0.2775;  theta2 = 0.5725
    np.testing.assert_allclose(p.value, [0.5725], rtol=1e-14)


def test_adam_step_with_weight_decay_by_hand():
    p = parameter([1.0], [2.0])
    Adam([p], lr=0.1, weight_decay=1.0).step()
    # g = 2 + 1 * 1 = 3;  m = 0.3, s = 0.009;  m_hat = 3, s_hat = 9
    # theta = 1 - 0.1 * 3 / (3 + 1e-8)
    np.testing.assert_allclose(p.value, [1.0 - 0.3 / (3.0 + 1e-8)], rtol=1e-15)
    p2 = parameter([1.0], [-0.5])
    optimizer = Adam([p2], lr=0.1, weight_decay=1.0)
    optimizer.step()
    # g = -0.5 + 1 = 0.5 > 0: the decay outweighs the gradient and the step is downwards
    assert p2.value[0] < 1.0
    np.testing.assert_allclose(optimizer.m[0], [0.05], rtol=1e-15)


def test_weight_decay_reaches_biases_too():
    layer = Linear(2, 2, rng=0)
    layer.b.value[...] = [1.0, -1.0]
    optimizer = SGD(layer.parameters(), lr=0.5, weight_decay=0.1)
    optimizer.zero_grad()
    optimizer.step()  # zero data gradient: only the decay acts, theta <- (1 - 0.05) theta
    np.testing.assert_allclose(layer.b.value, [0.95, -0.95], rtol=1e-15)


@pytest.mark.parametrize("make_optimizer", OPTIMIZERS, ids=["SGD", "Adam"])
def test_weight_decay_zero_is_the_old_behaviour_bit_for_bit(make_optimizer):
    x, t = make_sinusoid(12, seed=0)
    runs = []
    for options in ({}, {"weight_decay": 0.0}, {"weight_decay": 0}):
        model = small_network()
        optimizer = make_optimizer(model.parameters(), lr=0.05, **options)
        train(model, MeanSquaredError(), optimizer, x, t, epochs=5, batch_size=4, metric=None,
              progress=False)  # fmt: skip
        runs.append([p.value for p in model.parameters()])
    for run in runs[1:]:
        for a, b in zip(runs[0], run, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make_optimizer", OPTIMIZERS, ids=["SGD", "Adam"])
def test_weight_decay_keeps_float32(make_optimizer):
    p = Parameter(np.ones(3, dtype=np.float32), "W")
    p.grad[...] = 0.5
    make_optimizer([p], lr=0.1, weight_decay=0.01).step()
    assert p.value.dtype == np.float32


@pytest.mark.parametrize("make_optimizer", OPTIMIZERS, ids=["SGD", "Adam"])
def test_weight_decay_can_be_changed_between_steps(make_optimizer):
    p = parameter([1.0], [0.0])
    optimizer = make_optimizer([p], lr=0.1)
    optimizer.step()
    assert p.value[0] == 1.0  # no gradient, no decay: no step
    optimizer.weight_decay = 0.5
    optimizer.step()
    assert p.value[0] < 1.0
    assert optimizer.weight_decay == 0.5


@pytest.mark.parametrize("make_optimizer", OPTIMIZERS, ids=["SGD", "Adam"])
@pytest.mark.parametrize(
    "bad, error, message",
    [
        (-0.1, ValueError, r"weight_decay must be a finite number >= 0, got -0.1"),
        (float("nan"), ValueError, r"weight_decay must be a finite number >= 0"),
        (float("inf"), ValueError, r"weight_decay must be a finite number >= 0"),
        ("0.1", TypeError, r"weight_decay must be a non-negative number, got '0.1'"),
        (True, TypeError, r"weight_decay must be a non-negative number, got True"),
    ],
)
def test_bad_weight_decay_is_rejected(make_optimizer, bad, error, message):
    name = make_optimizer.__name__
    with pytest.raises(error, match=rf"{name}: {message}"):
        make_optimizer([parameter([1.0], [0.0])], lr=0.1, weight_decay=bad)
    optimizer = make_optimizer([parameter([1.0], [0.0])], lr=0.1)
    with pytest.raises(error, match=message):
        optimizer.weight_decay = bad


# The Gaussian prior. ---------------------------------------------------------------------------


def test_log_prob_of_known_values():
    prior = GaussianPrior(1.0)
    assert prior.log_prob([Parameter(np.zeros(1))]) == pytest.approx(-0.5 * np.log(2 * np.pi))
    # two elements 1 and -2 under N(0, 2^2): sum of -w^2/8 - log(2 sqrt(2 pi))
    p = Parameter(np.array([1.0, -2.0]))
    expected = -(1 + 4) / 8 - 2 * np.log(2 * np.sqrt(2 * np.pi))
    assert GaussianPrior(2.0).log_prob([p]) == pytest.approx(expected, rel=1e-15)


def test_log_prob_equals_a_direct_sum_of_gaussian_log_densities():
    rng = np.random.default_rng(0)
    params = [Parameter(rng.standard_normal(s)) for s in [(3, 4), (4,), (2, 2, 3)]]
    sigma = 0.7
    w = np.concatenate([p.value.ravel() for p in params])
    direct = np.sum(-0.5 * np.log(2 * np.pi * sigma**2) - w**2 / (2 * sigma**2))
    prior = GaussianPrior(sigma)
    assert prior.log_prob(params) == pytest.approx(direct, rel=1e-14)
    assert prior.penalty(params) == pytest.approx(np.sum(w**2) / (2 * sigma**2), rel=1e-14)


def penalty_grad_error(prior, params, add_grad):
    """Worst relative error between add_grad's gradient and finite differences of the penalty."""
    for p in params:
        p.zero_grad()
    add_grad(params)
    errors = [
        relative_error(p.grad, numerical_gradient(lambda: prior.penalty(params), p.value))
        for p in params
    ]
    return max(errors)


@pytest.mark.parametrize("shapes", [[(1,)], [(3, 4), (4,)], [(2, 3, 2), (5,), (1, 1)]])
@pytest.mark.parametrize("sigma", [0.1, 1.0, 3.0])
def test_penalty_gradient_matches_finite_differences(shapes, sigma):
    rng = np.random.default_rng(1)
    params = [Parameter(rng.standard_normal(s)) for s in shapes]
    prior = GaussianPrior(sigma)
    assert penalty_grad_error(prior, params, prior.add_penalty_grad) <= 1e-7
    # the same holds for -log_prob (the constant has no gradient)
    for p in params:
        p.zero_grad()
    prior.add_penalty_grad(params)
    for p in params:
        numerical = numerical_gradient(lambda: -prior.log_prob(params), p.value)
        assert relative_error(p.grad, numerical) <= 1e-7


def test_a_wrong_penalty_gradient_fails_the_check():
    params = [Parameter(np.random.default_rng(2).standard_normal((3, 2)))]
    prior = GaussianPrior(0.5)

    def forgot_the_square(params):  # w / sigma instead of w / sigma^2
        for p in params:
            p.grad += p.value / prior.sigma

    assert penalty_grad_error(prior, params, forgot_the_square) > 1e-2


def test_add_penalty_grad_adds_scaled_and_accumulates():
    p = parameter([2.0, -1.0], [1.0, 1.0])
    GaussianPrior(0.5).add_penalty_grad([p], scale=0.1)
    # 1 + 0.1 * w / 0.25 = 1 + 0.4 w
    np.testing.assert_allclose(p.grad, [1.8, 0.6], rtol=1e-15)
    assert GaussianPrior(0.5).weight_decay(0.1) == pytest.approx(0.4, rel=1e-15)


def map_run(make_optimizer, *, by_hand, steps=8, noise_std=0.3, sigma=0.8):
    """Full-batch MAP fit of a sinusoid: the prior gradient added by hand, or as weight decay."""
    x, t = make_sinusoid(10, seed=3)
    N = len(x)
    model, loss_fn, prior = (
        small_network(seed=4, hidden=8),
        MeanSquaredError(),
        GaussianPrior(sigma),
    )
    # -log posterior = N / (2 s^2) * MSE + ||w||^2 / (2 sigma^2) + const; times 2 s^2 / N:
    scale = 2 * noise_std**2 / N
    weight_decay = 0.0 if by_hand else prior.weight_decay(scale)
    optimizer = make_optimizer(model.parameters(), lr=0.05, weight_decay=weight_decay)
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn(model(x), t)
        model.backward(loss_fn.backward())
        if by_hand:
            prior.add_penalty_grad(model.parameters(), scale=scale)
        optimizer.step()
    return [p.value for p in model.parameters()]


@pytest.mark.parametrize("make_optimizer", OPTIMIZERS, ids=["SGD", "Adam"])
def test_prior_gradient_by_hand_equals_weight_decay(make_optimizer):
    by_hand = map_run(make_optimizer, by_hand=True)
    decayed = map_run(make_optimizer, by_hand=False)
    moved = map_run(make_optimizer, by_hand=False, sigma=1e6)  # almost no prior
    for a, b in zip(by_hand, decayed, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    assert max(np.max(np.abs(a - c)) for a, c in zip(by_hand, moved, strict=True)) > 1e-4


def test_map_objective_gradient_matches_finite_differences():
    # d/dw [MSE + (2 s^2 / N) ||w||^2 / (2 sigma^2)] = backward pass + add_penalty_grad
    x, t = make_sinusoid(10, seed=5)
    model, loss_fn, prior = small_network(seed=6), MeanSquaredError(), GaussianPrior(0.5)
    scale = 2 * 0.3**2 / len(x)

    def objective():
        return loss_fn(model(x), t) + scale * prior.penalty(model.parameters())

    model.zero_grad()
    loss_fn(model(x), t)
    model.backward(loss_fn.backward())
    prior.add_penalty_grad(model.parameters(), scale=scale)
    analytic = [p.grad.copy() for p in model.parameters()]
    for p, g in zip(model.parameters(), analytic, strict=True):
        assert relative_error(g, numerical_gradient(objective, p.value)) <= 1e-7


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_prior_rejects_a_bad_sigma(bad):
    with pytest.raises(ValueError, match=r"GaussianPrior\(\): sigma \(prior standard deviation\)"):
        GaussianPrior(bad)
    with pytest.raises(TypeError, match=r"sigma \(prior standard deviation\) must be a positive"):
        GaussianPrior("1")


def test_prior_rejects_bad_parameters_and_scale():
    prior, model = GaussianPrior(1.0), small_network()
    with pytest.raises(TypeError, match=r"(?s)got the module .* pass its parameters instead"):
        prior.log_prob(model)
    with pytest.raises(TypeError, match=r"expected Parameters .* got a ndarray"):
        prior.add_penalty_grad([np.ones(3)])
    with pytest.raises(ValueError, match=r"add_penalty_grad: scale must be a finite number >= 0"):
        prior.add_penalty_grad(model.parameters(), scale=-1.0)
    with pytest.raises(ValueError, match=r"weight_decay: scale must be a finite number >= 0"):
        prior.weight_decay(-0.5)


# The sinusoid data set. ------------------------------------------------------------------------


def test_make_sinusoid_shapes_values_and_seed():
    x, t = make_sinusoid(10, seed=0)
    assert x.shape == (10, 1) and t.shape == (10, 1)
    assert x.dtype == np.float64 and t.dtype == np.float64
    np.testing.assert_allclose(x.ravel(), np.linspace(0, 1, 10))
    x0, t0 = make_sinusoid(10, noise=0.0)
    np.testing.assert_allclose(t0, np.sin(2 * np.pi * x0), atol=1e-15)
    noise = t - np.sin(2 * np.pi * x)
    assert 0.05 < noise.std() < 1.0  # noise 0.3 by default
    same = make_sinusoid(10, seed=0)
    np.testing.assert_array_equal(t, same[1])
    assert not np.array_equal(t, make_sinusoid(10, seed=1)[1])


def test_make_sinusoid_random_inputs():
    x, t = make_sinusoid(500, random_x=True, noise=0.0, seed=2)
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert not np.all(np.diff(x.ravel()) > 0)  # not sorted: drawn at random
    np.testing.assert_allclose(t, np.sin(2 * np.pi * x), atol=1e-15)


def test_make_sinusoid_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"make_sinusoid: n_samples must be a positive integer"):
        make_sinusoid(0)
    with pytest.raises(ValueError, match=r"make_sinusoid: noise must be a number >= 0"):
        make_sinusoid(10, noise=-0.1)
    with pytest.raises(ValueError, match=r"noise must be a number >= 0, got nan"):
        make_sinusoid(10, noise=float("nan"))


# Early stopping. -------------------------------------------------------------------------------

N_VAL = 7  # the scripted loss and metric recognize the validation set by its size


class ScriptedValidationLoss(MeanSquaredError):  # noqa: N818 (a loss, not an exception)
    """Mean squared error, except that on the validation set it returns scripted values."""

    def __init__(self, script):
        super().__init__()
        self.script = iter(script)

    def forward(self, predictions, targets) -> float:
        loss = super().forward(predictions, targets)
        return next(self.script) if len(targets) == N_VAL else loss


def scripted_metric(script):
    values = iter(script)

    def score(outputs, targets):
        return next(values) if len(targets) == N_VAL else 0.0

    return score


def sine_run(*, epochs=20, seed=0, loss_fn=None, metric=None, early_stopping=None, **options):
    x, t = make_sinusoid(20, seed=0)
    x_val, t_val = make_sinusoid(N_VAL, random_x=True, seed=1)
    model = small_network(seed=seed)
    options = {"progress": False, **options}
    history = train(
        model,
        loss_fn or MeanSquaredError(),
        Adam(model.parameters(), lr=0.05),
        x,
        t,
        epochs=epochs,
        batch_size=5,
        metric=metric,
        validation_data=(x_val, t_val),
        early_stopping=early_stopping,
        **options,
    )
    return model, history


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    script = [5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 1.0, 0.5, 0.1, 0.1]
    _, history = sine_run(
        loss_fn=ScriptedValidationLoss(script), early_stopping=EarlyStopping(patience=3)
    )
    # best at epoch 3; epochs 4, 5, 6 do not improve on 3.0, so training ends after epoch 6
    assert history.best_epoch == 3
    assert history.stopped_epoch == 6 and history.stopped_early
    assert len(history.loss) == len(history.val_loss) == 6
    assert history.val_loss == script[:6]


def test_early_stopping_restores_the_best_weights_exactly():
    script = [5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 1.0]
    model, history = sine_run(
        loss_fn=ScriptedValidationLoss(script), early_stopping=EarlyStopping(patience=3)
    )
    reference, _ = sine_run(epochs=3)  # the same run, stopped by hand after the best epoch
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        np.testing.assert_array_equal(p.value, q.value)
    last, _ = sine_run(epochs=6)  # what the model held when training stopped
    assert not np.array_equal(model[0].W.value, last[0].W.value)


def test_restore_best_false_keeps_the_last_weights():
    script = [5.0, 4.0, 3.0, 3.5, 3.2, 3.1]
    stopping = EarlyStopping(patience=3, restore_best=False)
    model, history = sine_run(loss_fn=ScriptedValidationLoss(script), early_stopping=stopping)
    last, _ = sine_run(epochs=6)
    assert history.best_epoch == 3 and history.stopped_epoch == 6
    for p, q in zip(model.parameters(), last.parameters(), strict=True):
        np.testing.assert_array_equal(p.value, q.value)


def test_min_delta_demands_a_large_enough_improvement():
    script = [5.0, 4.0, 3.95, 3.9, 3.85, 3.8]
    stopping = EarlyStopping(patience=2, min_delta=0.1)
    _, history = sine_run(loss_fn=ScriptedValidationLoss(script), early_stopping=stopping)
    # 4.0 beats 5.0 by more than 0.1; 3.95 and 3.9 do not beat 4.0 by more than 0.1
    assert history.best_epoch == 2 and history.stopped_epoch == 4


def test_monitoring_the_validation_metric_wants_it_high():
    script = [0.5, 0.7, 0.6, 0.9, 0.8, 0.85, 0.9, 0.95]
    stopping = EarlyStopping(patience=3, monitor="val_metric")
    _, history = sine_run(metric=scripted_metric(script), early_stopping=stopping)
    assert history.best_epoch == 4 and history.stopped_epoch == 7
    assert history.val_metric == script[:7]


def test_no_stop_when_training_keeps_improving_but_best_weights_still_restored():
    script = [5.0, 4.0, 3.0, 2.0, 1.0, 1.5]
    model, history = sine_run(
        epochs=6, loss_fn=ScriptedValidationLoss(script), early_stopping=EarlyStopping(patience=3)
    )
    assert history.best_epoch == 5 and history.stopped_epoch is None
    assert not history.stopped_early and len(history.loss) == 6
    reference, _ = sine_run(epochs=5)
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        np.testing.assert_array_equal(p.value, q.value)


def test_a_real_overfitting_run_ends_with_the_lowest_validation_loss():
    x, t = make_sinusoid(12, seed=0)
    x_val, t_val = make_sinusoid(30, random_x=True, seed=1)
    model = small_network(seed=0, hidden=20)
    history = train(model, MeanSquaredError(), Adam(model.parameters(), lr=0.05), x, t,
                    epochs=400, batch_size=12, metric=None, validation_data=(x_val, t_val),
                    progress=False, early_stopping=EarlyStopping(patience=50))  # fmt: skip
    assert history.val_loss[history.best_epoch - 1] == min(history.val_loss)
    assert len(history.val_loss) == (history.stopped_epoch or 400)
    assert MeanSquaredError()(model(x_val), t_val) == pytest.approx(min(history.val_loss))


def test_one_early_stopping_object_can_be_reused():
    stopping = EarlyStopping(patience=3)
    first = sine_run(loss_fn=ScriptedValidationLoss([5, 4, 3, 4, 4, 4]), early_stopping=stopping)
    second = sine_run(loss_fn=ScriptedValidationLoss([9, 9, 9, 9]), early_stopping=stopping)
    assert first[1].best_epoch == 3 and second[1].best_epoch == 1
    assert second[1].stopped_epoch == 4


def test_history_without_early_stopping_has_no_best_epoch():
    _, history = sine_run(epochs=3)
    assert isinstance(history, History)
    assert history.best_epoch is None and history.stopped_epoch is None
    assert not history.stopped_early


def test_early_stopping_shows_in_the_progress_bar_count(capsys):
    sine_run(loss_fn=ScriptedValidationLoss([3, 4, 5, 6]), early_stopping=EarlyStopping(2),
             progress=True, desc="stopping run")  # fmt: skip
    err = capsys.readouterr().err
    assert "stopping run" in err and "3/20" in err  # stopped after epoch 3 of 20


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"patience": 0}, ValueError, r"EarlyStopping: patience must be a positive integer, got 0"),
        ({"patience": -2}, ValueError, r"patience must be a positive integer, got -2"),
        ({"patience": 2.5}, TypeError, r"patience must be a positive integer, got 2.5"),
        ({"monitor": "loss"}, ValueError, r"monitor must be one of \['val_loss', 'val_metric'\]"),
        ({"min_delta": -0.1}, ValueError, r"min_delta must be a finite number >= 0, got -0.1"),
    ],
)
def test_early_stopping_rejects_bad_settings(options, error, message):
    with pytest.raises(error, match=message):
        EarlyStopping(**{"patience": 3, **options})


def test_train_needs_validation_data_for_early_stopping():
    x, t = make_sinusoid(10)
    model = small_network()
    with pytest.raises(ValueError, match=r"early stopping watches the validation data, but "):
        train(model, MeanSquaredError(), SGD(model.parameters()), x, t, epochs=3, metric=None,
              progress=False, early_stopping=EarlyStopping(patience=2))  # fmt: skip


def test_train_needs_a_metric_to_monitor_val_metric():
    with pytest.raises(ValueError, match=r"monitors 'val_metric', but metric is None"):
        sine_run(metric=None, early_stopping=EarlyStopping(2, monitor="val_metric"))


def test_train_rejects_something_else_as_early_stopping():
    with pytest.raises(TypeError, match=r"early_stopping must be an EarlyStopping.* got a int"):
        sine_run(early_stopping=10)
