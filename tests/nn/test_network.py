"""The network's arithmetic: gradients against finite differences, initialisation, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netpersona.nn import Network, init_nguyen_widrow, init_uniform, performance
from netpersona.nn._network import n_parameters

HIDDEN = ("logsig", "tansig", "purelin")
OUTPUT = ("logsig", "tansig", "purelin", "softmax")


def _numeric_gradient(net: Network, X, T, kind: str, h: float = 1e-6) -> np.ndarray:
    grad = np.empty_like(net.theta)
    for i in range(net.theta.size):
        saved = net.theta[i]
        net.theta[i] = saved + h
        up = net.performance(X, T, kind)
        net.theta[i] = saved - h
        down = net.performance(X, T, kind)
        net.theta[i] = saved
        grad[i] = (up - down) / (2 * h)
    return grad


@pytest.mark.parametrize("kind", ["sse", "mse"])
@pytest.mark.parametrize(("hidden", "output"), list(itertools.product(HIDDEN, OUTPUT)))
def test_gradient_matches_finite_differences(hidden, output, kind):
    rng = np.random.default_rng(7)
    net = init_uniform((3, 5, 4, 3), (hidden, hidden, output), rng)
    X = rng.uniform(-1, 1, (6, 3))
    T = rng.uniform(0, 1, (6, 3))
    perf, grad = net.gradient(X, T, kind)
    assert perf == pytest.approx(net.performance(X, T, kind))
    numeric = _numeric_gradient(net, X, T, kind)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_performance_definitions():
    errors = np.array([[1.0, -2.0], [0.5, 0.0]])
    assert performance(errors, "sse") == pytest.approx(0.5 * (1 + 4 + 0.25))  # paper B's E
    assert performance(errors, "mse") == pytest.approx((1 + 4 + 0.25) / 4)  # MATLAB's mse
    with pytest.raises(ValueError, match="unknown performance"):
        performance(errors, "mae")


def test_weight_views_share_the_parameter_vector():
    net = init_uniform((3, 8, 3), ("logsig", "logsig"), np.random.default_rng(0))
    assert n_parameters(net.sizes) == 8 * 4 + 3 * 9
    assert net.weights(0).shape == (8, 3) and net.biases(1).shape == (3,)
    net.weights(1)[2, 5] = 42.0
    assert 42.0 in net.theta
    x = np.array([0.2, 0.4, 0.6])
    hidden = 1 / (1 + np.exp(-(net.weights(0) @ x + net.biases(0))))
    expected = 1 / (1 + np.exp(-(net.weights(1) @ hidden + net.biases(1))))
    np.testing.assert_allclose(net.predict(x[None, :])[0], expected, rtol=1e-14)


def test_wrong_number_of_transfer_functions_is_refused():
    with pytest.raises(ValueError, match="need 2 transfer functions"):
        Network((3, 8, 3), ("logsig",), np.zeros(n_parameters((3, 8, 3))))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.integers(1, 12))
def test_uniform_init_is_within_minus_one_one_and_seeded(seed, m, h):
    one = init_uniform((m, h, 2), ("logsig", "logsig"), np.random.default_rng(seed))
    two = init_uniform((m, h, 2), ("logsig", "logsig"), np.random.default_rng(seed))
    assert np.all(np.abs(one.theta) <= 1.0)
    np.testing.assert_array_equal(one.theta, two.theta)


def test_nguyen_widrow_spreads_hidden_neurons_over_the_input_range():
    rng = np.random.default_rng(1)
    net = init_nguyen_widrow((2, 20, 1), ("tansig", "purelin"), rng, input_range=(0.0, 1.0))
    W, b = net.weights(0), net.biases(0)
    # weight vector length is 0.7 * S^(1/R) scaled from [-1,1] inputs to [0,1] (x2) and to
    # tansig's active range [-2,2] (x2)
    np.testing.assert_allclose(np.linalg.norm(W, axis=1), 0.7 * 20**0.5 * 2 * 2, rtol=1e-12)
    # at the centre of the input range the net inputs are evenly spread (linspace(-1, 1, S)
    # times the weight length, in tansig's active range), as initnw sets the thresholds
    centre_net = W @ np.array([0.5, 0.5]) + b
    spread = 2 * 0.7 * 20**0.5 * np.abs(np.linspace(-1, 1, 20))
    np.testing.assert_allclose(np.sort(np.abs(centre_net)), np.sort(spread), atol=1e-12)
    # purelin output layer: U[-1, 1] as MATLAB's initnw does for unbounded functions
    assert np.all(np.abs(net.weights(1)) <= 1) and np.all(np.abs(net.biases(1)) <= 1)
