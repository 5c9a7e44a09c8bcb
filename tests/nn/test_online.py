"""``online`` training (paper B): the per-sample rule, the compiled and NumPy paths, stopping."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netpersona.nn import init_uniform, train_online
from netpersona.nn._train_online import HAVE_NUMBA

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_T = np.array([[0.0], [1.0], [1.0], [0.0]])
needs_numba = pytest.mark.skipif(not HAVE_NUMBA, reason="numba is not importable here")


def _paper_b_like(seed: int = 0, n: int = 104):
    """Three features in [0, 1] and one-hot targets for three tiers, like paper B's Table 1."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (n, 3))
    score = X @ np.array([0.5, 0.3, 0.2])
    tier = np.digitize(score, np.quantile(score, [1 / 3, 2 / 3]))
    return X, np.eye(3)[tier]


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_one_sample_step_is_minus_lr_times_the_gradient(engine):
    if engine == "numba" and not HAVE_NUMBA:
        pytest.skip("numba is not importable here")
    rng = np.random.default_rng(3)
    for transfer in [("logsig", "logsig"), ("tansig", "purelin"), ("tansig", "softmax")]:
        net = init_uniform((3, 5, 3), transfer, rng)
        x, t = rng.uniform(0, 1, (1, 3)), np.eye(3)[[1]]
        _, grad = net.gradient(x, t, "sse")
        before = net.theta.copy()
        train_online(net, x, t, lr=0.9, goal=0.0, epochs=1, engine=engine)
        np.testing.assert_allclose(net.theta - before, -0.9 * grad, rtol=1e-10, atol=1e-14)


@needs_numba
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize(
    "transfer", [("logsig", "logsig"), ("tansig", "softmax"), ("tansig", "tansig", "purelin")]
)
def test_numba_and_numpy_paths_agree(transfer, shuffle):
    X, T = _paper_b_like(1, n=40)
    sizes = (3, *([6] * (len(transfer) - 1)), 3)
    results = []
    for engine in ("numba", "numpy"):
        net = init_uniform(sizes, transfer, np.random.default_rng(5))
        result = train_online(
            net, X, T, lr=0.3, goal=0.0, epochs=60, shuffle=shuffle,
            rng=np.random.default_rng(9), engine=engine, X_val=X[:10], T_val=T[:10],
        )  # fmt: skip
        results.append((net.theta, result))
    (theta_a, res_a), (theta_b, res_b) = results
    np.testing.assert_allclose(theta_a, theta_b, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res_a.history["error"], res_b.history["error"], atol=1e-12)
    np.testing.assert_allclose(
        res_a.history["validation_error"], res_b.history["validation_error"], atol=1e-12
    )
    assert res_a.n_epochs == res_b.n_epochs and res_a.stop_reason == res_b.stop_reason


@pytest.mark.parametrize("engine", ["auto", "numpy"])
def test_xor_is_learned_online(engine):
    net = init_uniform((2, 4, 1), ("logsig", "logsig"), np.random.default_rng(2))
    result = train_online(net, XOR_X, XOR_T, lr=0.9, goal=0.001, epochs=20000, engine=engine)
    assert result.converged and result.stop_reason == "goal"
    assert result.history["error"][-1] <= 0.001 < result.history["error"][0]
    np.testing.assert_array_equal(np.round(net.predict(XOR_X)), XOR_T)


def test_epoch_error_is_half_the_summed_squared_error_before_each_update():
    X, T = _paper_b_like(2, n=5)
    net = init_uniform((3, 4, 3), ("logsig", "logsig"), np.random.default_rng(0))
    probe = init_uniform((3, 4, 3), ("logsig", "logsig"), np.random.default_rng(0))
    expected = 0.0
    for i in range(len(X)):  # replay the epoch one sample at a time
        expected += 0.5 * float(np.sum((T[i] - probe.predict(X[i : i + 1])) ** 2))
        train_online(probe, X[i : i + 1], T[i : i + 1], lr=0.9, goal=0.0, epochs=1)
    result = train_online(net, X, T, lr=0.9, goal=0.0, epochs=1)
    assert result.history["error"][0] == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(net.theta, probe.theta, atol=1e-14)
    mse = train_online(
        init_uniform((3, 4, 3), ("logsig", "logsig"), np.random.default_rng(0)),
        X, T, lr=0.9, goal=0.0, epochs=1, performance_kind="mse",
    )  # fmt: skip
    assert mse.history["error"][0] == pytest.approx(expected * 2 / (5 * 3), rel=1e-12)


def test_same_seed_same_network_and_shuffling_changes_the_path():
    X, T = _paper_b_like(3)

    def run(shuffle, seed):
        net = init_uniform((3, 8, 3), ("logsig", "logsig"), np.random.default_rng(0))
        train_online(net, X, T, epochs=30, goal=0, shuffle=shuffle, rng=np.random.default_rng(seed))
        return net.theta

    np.testing.assert_array_equal(run(True, 1), run(True, 1))
    np.testing.assert_array_equal(run(False, 1), run(False, 2))  # no shuffle: the seed is unused
    assert not np.allclose(run(True, 1), run(True, 2))
    assert not np.allclose(run(True, 1), run(False, 1))


def test_epochs_beyond_one_chunk_run_exactly():
    X, T = _paper_b_like(4, n=10)
    net = init_uniform((3, 4, 3), ("logsig", "logsig"), np.random.default_rng(0))
    result = train_online(net, X, T, goal=0.0, epochs=600, shuffle=True)
    assert result.n_epochs == 600 == len(result.history["error"]) == len(result.history["lr"])
    assert not result.converged and result.stop_reason == "epochs"


def test_validation_stop_returns_the_best_weights():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (30, 3))
    T = rng.uniform(0, 1, (30, 1))  # noise: validation error soon stops improving
    Xv, Tv = rng.uniform(0, 1, (10, 3)), rng.uniform(0, 1, (10, 1))
    net = init_uniform((3, 20, 1), ("logsig", "logsig"), np.random.default_rng(1))
    result = train_online(net, X, T, goal=0, epochs=5000, X_val=Xv, T_val=Tv, max_fail=6)
    assert result.stop_reason == "validation" and result.n_epochs < 5000
    val = np.asarray(result.history["validation_error"])
    best = int(np.argmin(val))
    assert result.n_epochs - 1 - best >= 6  # six or more epochs after the best never beat it
    assert net.performance(Xv, Tv, "sse") == pytest.approx(val[best], rel=1e-12)


def test_environment_variable_forces_the_numpy_path_without_importing_numba():
    code = (
        "import sys, numpy as np\n"
        "from netpersona.nn import BPClassifier, numba_enabled\n"
        "X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 2, float)\n"
        "clf = BPClassifier(hidden=(3,), epochs=20, random_state=0).fit(X, [0, 1, 1, 0] * 2)\n"
        "print(numba_enabled(), 'numba' in sys.modules, clf.n_epochs_)\n"
    )
    env = {**os.environ, "NETPERSONA_NO_NUMBA": "1"}
    forced = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert forced.stdout.split() == ["False", "False", "20"], forced.stderr
    if HAVE_NUMBA:
        env.pop("NETPERSONA_NO_NUMBA")
        default = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True
        )
        assert default.stdout.split() == ["True", "True", "20"], default.stderr


@needs_numba
@pytest.mark.slow
def test_paths_agree_over_paper_b_full_run():
    """3-8-3 logsig, lr 0.9, 104 samples, all 864 epochs: rounding never grows past 1e-12."""
    X, T = _paper_b_like(5)
    thetas = []
    for engine in ("numba", "numpy"):
        net = init_uniform((3, 8, 3), ("logsig", "logsig"), np.random.default_rng(0))
        train_online(net, X, T, lr=0.9, goal=0.0, epochs=864, engine=engine)
        thetas.append(net.theta)
    np.testing.assert_allclose(thetas[0], thetas[1], rtol=0, atol=1e-12)


@needs_numba
@settings(max_examples=20, deadline=None)
@given(
    st.lists(st.integers(1, 7), min_size=1, max_size=3),
    st.lists(st.sampled_from(["logsig", "tansig", "purelin"]), min_size=3, max_size=3),
    st.sampled_from(["logsig", "tansig", "purelin", "softmax"]),
    st.integers(0, 2**31),
    st.booleans(),
)
def test_paths_agree_for_any_architecture(hidden, hidden_transfer, output, seed, shuffle):
    rng = np.random.default_rng(seed)
    m, k = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    X, T = rng.uniform(0, 1, (12, m)), rng.uniform(0, 1, (12, k))
    sizes = (m, *hidden, k)
    transfer = (*hidden_transfer[: len(hidden)], output)
    # one epoch agrees to rounding; over five, deep linear chains amplify the last-bit
    # differences of the two paths' summation orders (seed 0, 7-7-7 logsig-purelin-purelin:
    # 7e-15 after one epoch, 6e-11 after two, 7e-8 after five), so five get a looser bound,
    # still far below what any difference in the training rule gives
    for epochs, atol in ((1, 1e-12), (5, 1e-6)):
        thetas = []
        for engine in ("numba", "numpy"):
            net = init_uniform(sizes, transfer, np.random.default_rng(seed))
            result = train_online(net, X, T, lr=0.1, goal=0.0, epochs=epochs, shuffle=shuffle,
                                  rng=np.random.default_rng(seed), engine=engine)  # fmt: skip
            thetas.append((net.theta, result.history["error"]))
        np.testing.assert_allclose(thetas[0][0], thetas[1][0], rtol=0, atol=atol)
        np.testing.assert_allclose(thetas[0][1], thetas[1][1], rtol=atol, atol=atol)
