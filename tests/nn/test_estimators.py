"""BPClassifier and BPRegressor: the contract other packages code against, on toy and real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import netpersona._core as nn_progress
import netpersona.nn as nn
from netpersona.nn import BPClassifier, BPRegressor, load_model
from shared_data import shared_file

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array(["no", "yes", "yes", "no"])


def _tiers(n=130, seed=0):
    """Paper B's shape: hours online per day, MB per day, purchases -> vip/growth/ordinary."""
    rng = np.random.default_rng(seed)
    hours = rng.gamma(3.0, 1.0, n)
    mb = rng.gamma(2.0, 120.0, n)
    buys = rng.poisson(1.0, n)
    score = hours / 3 + mb / 240 + buys
    tier = np.where(score > 3.6, "vip", np.where(score > 2.4, "growth", "ordinary"))
    return np.column_stack([hours, mb, buys]).astype(float), tier


def test_public_names_are_listed():
    assert len(set(nn.__all__)) == len(nn.__all__)
    for name in nn.__all__:
        assert hasattr(nn, name)
    for name in ("BPClassifier", "BPRegressor", "load_model", "hidden_size_rules"):
        assert name in nn.__all__


def test_constructor_follows_the_contract():
    params = BPClassifier().get_params()
    assert params["hidden"] == (8,) and params["transfer"] == ("logsig", "logsig")
    assert params["algorithm"] == "online" and params["init"] == "uniform"
    assert params["input_range"] == (0.0, 1.0) and params["shuffle"] is False
    for name, value in dict(mc=0.9, lr_inc=1.05, lr_dec=0.7, max_perf_inc=1.04, min_grad=1e-5,
                            max_fail=6, validation_fraction=0.0).items():  # fmt: skip
        assert params[name] == value
    assert set(params) == set(BPRegressor().get_params())


@pytest.mark.parametrize("algorithm", ["online", "traingdx"])
def test_xor_labels_are_learned_from_most_starting_points(algorithm):
    learned = 0
    for seed in range(10):  # XOR has local minima: a few starts may stall, most must not
        clf = BPClassifier(
            hidden=(4,),
            transfer=("tansig", "logsig"),
            algorithm=algorithm,
            goal=0.001,
            epochs=5000,
            random_state=seed,
        ).fit(XOR_X, XOR_Y)
        learned += clf.converged_ and clf.predict(XOR_X).tolist() == XOR_Y.tolist()
        assert clf.n_epochs_ == len(clf.history_["error"])
        assert set(clf.history_) >= {"error", "lr", "accepted"}
        assert len({len(v) for v in clf.history_.values()}) == 1
    assert learned >= 8


def test_paper_b_settings_learn_tiers_and_report_probabilities():
    X, y = _tiers()
    clf = BPClassifier(hidden=(8,), transfer=("logsig", "logsig"), algorithm="online", lr=0.9,
                       goal=0.001, epochs=3000, random_state=0)  # fmt: skip
    clf.fit(X[:104], y[:104])
    assert clf.classes_.tolist() == ["growth", "ordinary", "vip"]
    assert clf.score(X[104:], y[104:]) >= 0.8
    proba = clf.predict_proba(X[104:])
    assert proba.shape == (26, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (clf.classes_[proba.argmax(axis=1)] == clf.predict(X[104:])).all()
    np.testing.assert_array_equal(clf.input_min_, X[:104].min(axis=0))
    np.testing.assert_array_equal(clf.input_max_, X[:104].max(axis=0))
    # the defaults left at None resolve to paper B's values for online
    assert clf.history_["lr"][0] == 0.9


def test_one_hot_targets_follow_the_output_function():
    X, y = _tiers(60)
    for transfer, low in [(("logsig", "logsig"), 0.0), (("tansig", "tansig"), -1.0)]:
        clf = BPClassifier(transfer=transfer, epochs=1, random_state=0).fit(X, y)
        raw = clf._raw_outputs(X)
        assert raw.min() >= low - 1e-12
        proba = clf.predict_proba(X)
        assert np.all(proba >= 0) and np.allclose(proba.sum(axis=1), 1)


def test_regressor_scales_logsig_targets_into_zero_one_and_back():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 10, (229, 14))
    k = (X @ rng.uniform(0, 1, 14)) / 70 * 3 + 5  # targets well outside [0, 1]
    reg = BPRegressor(hidden=(29,), transfer=("tansig", "logsig"), algorithm="traingdx", lr=0.01,
                      goal=0.01, epochs=1000, performance="mse", random_state=0)  # fmt: skip
    reg.fit(X, k)
    assert (reg.target_scaling_.lo, reg.target_scaling_.hi) == (0.0, 1.0)
    assert reg.converged_ and reg.history_["error"][-1] <= 0.01
    pred = reg.predict(X)
    assert pred.shape == (229,)
    # the goal holds in scaled units: mse <= 0.01 * (target span)^2 in the original ones
    assert np.mean((pred - k) ** 2) <= 0.01 * np.ptp(k) ** 2
    assert reg.score(X, k) > 0.5


def test_regressor_two_dimensional_targets():
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 1, (80, 3))
    Y = np.column_stack([X.sum(axis=1), X[:, 0] - X[:, 1]])
    reg = BPRegressor(hidden=(6,), transfer=("tansig", "purelin"), lr=0.1, epochs=300,
                      random_state=0).fit(X, Y)  # fmt: skip
    assert reg.predict(X).shape == (80, 2) and reg.score(X, Y) > 0.9


def test_same_seed_same_model():
    X, y = _tiers(80)
    for algorithm in ("online", "traingdx"):
        a = BPClassifier(algorithm=algorithm, epochs=50, shuffle=True, random_state=7).fit(X, y)
        b = BPClassifier(algorithm=algorithm, epochs=50, shuffle=True, random_state=7).fit(X, y)
        c = BPClassifier(algorithm=algorithm, epochs=50, shuffle=True, random_state=8).fit(X, y)
        np.testing.assert_array_equal(a.network_.theta, b.network_.theta)
        assert a.history_ == b.history_
        assert not np.array_equal(a.network_.theta, c.network_.theta)


def test_validation_fraction_holds_out_rows_and_stops_early():
    rng = np.random.default_rng(2)
    X = rng.uniform(0, 1, (100, 3))
    y = rng.uniform(0, 1, 100)  # nothing to learn: validation error stops improving early
    reg = BPRegressor(hidden=(20,), algorithm="traingdx", validation_fraction=0.2, epochs=5000,
                      random_state=0).fit(X, y)  # fmt: skip
    assert reg.stop_reason_ == "validation" and reg.n_epochs_ < 5000
    assert len(reg.history_["validation_error"]) == reg.n_epochs_


def test_nguyen_widrow_init_is_available():
    X, y = _tiers(100)
    clf = BPClassifier(init="nguyen-widrow", algorithm="traingdx", lr=0.05, epochs=2000,
                       random_state=0).fit(X, y)  # fmt: skip
    assert clf.score(X, y) > 0.8


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"algorithm": "trainlm"}, "algorithm='trainlm' unknown"),
        ({"transfer": ("logsig",)}, "give one per layer"),
        ({"transfer": ("softmax", "logsig")}, "output layer only"),
        ({"transfer": ("relu", "logsig")}, "'relu' unknown"),
        ({"hidden": (0,)}, "positive layer sizes"),
        ({"lr": -1.0}, "lr=-1.0"),
        ({"epochs": 2.5}, "whole number"),
        ({"performance": "mae"}, "performance='mae'"),
        ({"init": "xavier"}, "init='xavier'"),
        ({"validation_fraction": 1.0}, "below 1"),
        ({"engine": "gpu"}, "engine='gpu'"),
    ],
)
def test_bad_settings_are_explained_at_fit(params, message):
    X, y = _tiers(20)
    clf = BPClassifier(**params)  # __init__ stores, never validates
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)


def test_divergence_is_reported_not_returned_as_nan():
    X, y = _tiers(50)
    reg = BPRegressor(transfer=("purelin", "purelin"), lr=50.0, epochs=200, random_state=0)
    with pytest.raises(ValueError, match="diverged"):
        reg.fit(X, y[:, None] == "vip")


def test_works_inside_pipelines_and_cross_validation():
    X, y = _tiers(120)
    pipe = make_pipeline(StandardScaler(), BPClassifier(epochs=200, random_state=0))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.7


def test_customer_value_network_on_real_customers(tmp_path):
    """Paper C's 14-29-1 traingdx network on the real marketing-campaign table."""
    data = pd.read_csv(shared_file("customers/marketing_campaign.tsv"), sep="\t").dropna()
    columns = ["Income", "Kidhome", "Teenhome", "Recency", "MntWines", "MntFruits",
               "MntMeatProducts", "MntFishProducts", "MntSweetProducts", "MntGoldProds",
               "NumDealsPurchases", "NumWebPurchases", "NumCatalogPurchases",
               "NumWebVisitsMonth"]  # fmt: skip
    sample = data.sample(274, random_state=0)
    X = sample[columns].to_numpy(float)
    spend = np.log1p(sample["NumStorePurchases"].to_numpy(float))
    reg = BPRegressor(hidden=(29,), transfer=("tansig", "logsig"), algorithm="traingdx", lr=0.01,
                      goal=0.01, epochs=1000, performance="mse", random_state=0)  # fmt: skip
    reg.fit(X[:229], spend[:229])
    assert reg.history_["error"][-1] < reg.history_["error"][0]
    assert reg.score(X[229:], spend[229:]) > 0.3  # store purchases follow the other habits
    reg.save(tmp_path / "model")
    np.testing.assert_array_equal(load_model(tmp_path / "model").predict(X), reg.predict(X))


class _Recorder(nn_progress.Progress):
    def __init__(self):
        self.items: dict[str, int] = {}

    def track(self, iterable, description, total=None):
        self.items[description] = 0
        for item in iterable:
            self.items[description] += 1
            yield item


@pytest.mark.parametrize(("algorithm", "label"), [("online", "3-8-3 online"),
                                                  ("traingdx", "3-8-3 traingdx")])  # fmt: skip
def test_training_reports_progress(algorithm, label):
    X, y = _tiers(40)
    recorder = _Recorder()
    clf = BPClassifier(algorithm=algorithm, goal=0.0, epochs=300, random_state=0)
    clf.fit(X, y, progress=recorder)
    ((description, count),) = recorder.items.items()
    assert label in description
    assert count == (2 if algorithm == "online" else 301)  # chunks of 256 epochs / every epoch


def test_input_range_minus_one_one_scales_training_inputs_there():
    X, y = _tiers(50)
    clf = BPClassifier(input_range=(-1.0, 1.0), epochs=2, random_state=0).fit(X, y)
    scaled = clf.input_scaling_.transform(X)
    np.testing.assert_allclose(scaled.min(axis=0), -1.0)
    np.testing.assert_allclose(scaled.max(axis=0), 1.0)
    with pytest.raises(ValueError, match="low < high"):
        BPClassifier(input_range=(1.0, 0.0)).fit(X, y)
