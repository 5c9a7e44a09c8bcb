"""MATLAB's batch algorithms as their code runs them: traingd, traingdm, traingdx."""

from __future__ import annotations

import numpy as np
import pytest

from netpersona.nn import Network, init_uniform, traingd, traingdm, traingdx

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_T = np.array([[0.0], [1.0], [1.0], [0.0]])


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (20, 4))
    T = 1 / (1 + np.exp(-(X @ rng.normal(size=(4, 1)))))
    net = init_uniform((4, 6, 1), ("tansig", "logsig"), np.random.default_rng(seed + 1))
    return net, X, T


def _copy(net: Network) -> Network:
    return Network(net.sizes, net.transfer, net.theta.copy())


def test_traingd_steps_down_the_gradient():
    net, X, T = _problem()
    ref = _copy(net)
    result = traingd(net, X, T, lr=0.5, epochs=3, goal=0.0)
    for _ in range(3):
        ref.theta -= 0.5 * ref.gradient(X, T, "mse")[1]
    np.testing.assert_allclose(net.theta, ref.theta, rtol=1e-13)
    assert result.n_epochs == 3 and result.stop_reason == "epochs"
    assert result.history["accepted"] == [True] * 3


def test_traingdm_momentum_recurrence_starts_from_a_plain_step():
    net, X, T = _problem(1)
    ref = _copy(net)
    traingdm(net, X, T, lr=0.5, mc=0.8, epochs=4, goal=0.0)
    dX = -0.5 * ref.gradient(X, T, "mse")[1]  # MATLAB: dX = lr*gX before the first epoch
    for _ in range(4):
        dX = 0.8 * dX + 0.2 * 0.5 * -ref.gradient(X, T, "mse")[1]
        ref.theta += dX
    np.testing.assert_allclose(net.theta, ref.theta, rtol=1e-13)


def _first_step_ratio(net, X, T, lr):
    """perf(after the first traingdx step) / perf(before): the first step is lr * gX."""
    perf, grad = net.gradient(X, T, "mse")
    return Network(net.sizes, net.transfer, net.theta - lr * grad).performance(X, T, "mse") / perf


def test_traingdx_rejects_a_step_that_raises_the_error_too_much():
    net, X, T = _problem(2)
    lr = 200.0
    assert _first_step_ratio(net, X, T, lr) > 1.04  # this step must be rejected
    start = net.theta.copy()
    g0 = net.gradient(X, T, "mse")[1]
    one = traingdx(_copy(net), X, T, lr=lr, epochs=1, goal=0.0)
    assert one.history["accepted"] == [False]
    assert one.history["lr"] == [lr]
    assert one.history["error"][0] == pytest.approx(net.performance(X, T, "mse"))
    rejected_net = _copy(net)
    traingdx(rejected_net, X, T, lr=lr, epochs=1, goal=0.0)
    np.testing.assert_array_equal(rejected_net.theta, start)  # the step was not made
    # next epoch: lr was cut by lr_dec and the momentum reset to a plain step, dX = lr*gX
    lr2 = lr * 0.7
    while _first_step_ratio(net, X, T, lr2) > 1.04:
        lr2 *= 0.7
    epochs = round(np.log(lr2 / lr) / np.log(0.7)) + 1
    result = traingdx(net, X, T, lr=lr, epochs=epochs, goal=0.0)
    assert result.history["accepted"] == [False] * (epochs - 1) + [True]
    np.testing.assert_allclose(result.history["lr"], [lr * 0.7**i for i in range(epochs)])
    np.testing.assert_allclose(net.theta, start - lr2 * g0, rtol=1e-12)


def test_traingdx_learning_rate_grows_only_when_the_error_falls():
    net, X, T = _problem(3)
    grid = np.geomspace(0.01, 500, 400)
    ratios = np.array([_first_step_ratio(net, X, T, lr) for lr in grid])
    falls = grid[ratios < 1][0]
    small_rise = grid[(ratios > 1) & (ratios <= 1.04)]
    assert len(small_rise), "no learning rate gives a small rise on this problem"
    fell = traingdx(_copy(net), X, T, lr=falls, epochs=2, goal=0.0)
    assert fell.history["accepted"][0] and fell.history["lr"][1] == pytest.approx(falls * 1.05)
    rose = traingdx(_copy(net), X, T, lr=small_rise[0], epochs=2, goal=0.0)
    assert rose.history["accepted"][0]  # accepted although the error rose (within 1.04)
    assert rose.history["lr"][1] == small_rise[0]  # ... and the rate kept
    assert rose.history["error"][0] > net.performance(X, T, "mse")


def test_traingdx_learns_xor():
    net = init_uniform((2, 4, 1), ("tansig", "logsig"), np.random.default_rng(0))
    result = traingdx(net, XOR_X, XOR_T, lr=0.01, goal=0.001, epochs=5000)
    assert result.converged and result.stop_reason == "goal"
    assert result.history["error"][-1] <= 0.001
    np.testing.assert_array_equal(np.round(net.predict(XOR_X)), XOR_T)
    assert max(result.history["lr"]) > 0.01  # the adaptive rate grew while the error fell


def test_minimum_gradient_and_goal_stop_before_any_step():
    net, X, T = _problem(4)
    start = net.theta.copy()
    flat = traingdx(net, X, T, min_grad=1e6, epochs=100)
    assert flat.stop_reason == "min_grad" and flat.n_epochs == 0 and not flat.converged
    met = traingdx(net, X, T, goal=1e6, epochs=100)
    assert met.stop_reason == "goal" and met.n_epochs == 0 and met.converged
    np.testing.assert_array_equal(net.theta, start)


@pytest.mark.parametrize("train", [traingd, traingdm, traingdx])
def test_validation_stop_returns_the_best_weights(train):
    rng = np.random.default_rng(5)
    X, T = rng.uniform(0, 1, (30, 3)), rng.uniform(0, 1, (30, 1))
    Xv, Tv = rng.uniform(0, 1, (10, 3)), rng.uniform(0, 1, (10, 1))
    net = init_uniform((3, 25, 1), ("tansig", "logsig"), np.random.default_rng(6))
    initial = net.performance(Xv, Tv, "mse")
    result = train(net, X, T, lr=0.5, goal=0.0, epochs=20000, X_val=Xv, T_val=Tv, max_fail=6)
    assert result.stop_reason == "validation"
    val = np.asarray(result.history["validation_error"])
    assert result.n_epochs - 1 - int(np.argmin(val)) >= 6
    assert net.performance(Xv, Tv, "mse") == pytest.approx(min(initial, val.min()), rel=1e-12)


def test_without_validation_the_lowest_training_error_is_returned():
    net, X, T = _problem(6)
    result = traingdx(net, X, T, lr=5.0, epochs=50, goal=0.0)
    assert net.performance(X, T, "mse") == pytest.approx(min(result.history["error"]), rel=1e-12)


def test_unknown_algorithm_is_refused():
    from netpersona.nn._train_batch import train_batch

    net, X, T = _problem()
    with pytest.raises(ValueError, match="unknown batch algorithm"):
        train_batch(net, X, T, algorithm="trainlm")


def test_training_uses_one_blas_thread_and_restores_the_setting():
    from threadpoolctl import threadpool_info

    from netpersona.nn._network import single_blas_thread

    def blas_threads():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    with single_blas_thread():
        assert all(n == 1 for n in blas_threads())
    net, X, T = _problem(7)
    traingdx(net, X, T, epochs=5)
    assert blas_threads() == before


def test_a_diverging_run_stops_and_keeps_the_best_weights():
    rng = np.random.default_rng(0)
    X, T = rng.uniform(size=(20, 3)), rng.uniform(size=(20, 1))
    net = init_uniform((3, 5, 1), ("purelin", "purelin"), rng)
    start = net.performance(X, T, "mse")
    result = traingd(net, X, T, lr=50.0, epochs=1000)
    assert result.stop_reason == "diverged" and result.n_epochs < 1000
    assert np.all(np.isfinite(net.theta))
    assert net.performance(X, T, "mse") == pytest.approx(min(start, *result.history["error"]))
