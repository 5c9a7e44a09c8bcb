"""The tier network: the paper's settings, the split, save/load, out-of-range flags, the report."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from netpersona import ColumnNotFoundError, ModelFormatError
from netpersona.devices import (
    FEATURE_NAMES,
    NetworkSettings,
    TierModel,
    build_report,
    predict_tiers,
    train_tiers,
)
from netpersona.synth.devices import TIERS, hidden_tier


def make_users(n, seed=0, noise=0.0):
    rng = np.random.default_rng(seed)
    ontime = rng.uniform(1.5, 5.0, n)
    flow = rng.uniform(120, 420, n)
    buys = rng.integers(0, 4, n)
    tier = hidden_tier(ontime, flow, buys)
    flip = rng.random(n) < noise
    tier = np.where(flip, (tier + 1) % 3, tier)
    users = [f"1380000{i:04d}" for i in range(n)]
    features = pa.table({"user": users, "avgontime": ontime, "avguseflow": flow, "buycounts": buys})
    labels = pa.table({"user": users, "tier": np.array(TIERS)[tier]})
    return features, labels


def test_paper_defaults():
    settings = NetworkSettings()
    assert (settings.hidden, settings.transfer) == ((8,), ("logsig", "logsig"))
    assert (settings.algorithm, settings.lr, settings.goal, settings.epochs) == (
        "online",
        0.9,
        0.001,
        10_000,
    )
    assert (settings.init, settings.test_fraction) == ("uniform", 0.2)
    clf = settings.classifier()
    assert clf.lr == 0.9 and clf.goal == 0.001 and clf.epochs == 10_000


def test_paper_shape_split_and_learning():
    features, labels = make_users(130)
    result = train_tiers(features, labels, NetworkSettings(epochs=3000))
    assert (result.n_train, result.n_test) == (104, 26)
    assert sum(map(sum, result.confusion)) == 26
    diagonal = sum(result.confusion[i][i] for i in range(3))
    assert result.test_accuracy == pytest.approx(diagonal / 26)
    assert result.model.tiers == ("vip", "growth", "ordinary")
    # a clean rule is learnable: far better than always answering the largest tier
    largest = max(labels.column("tier").to_pylist().count(t) for t in TIERS) / 130
    assert result.test_accuracy > largest
    errors = result.model.classifier.history_["error"]
    assert len(errors) == result.epochs and errors[-1] < errors[0]


def test_the_same_seed_gives_the_same_model():
    features, labels = make_users(60, noise=0.1)
    settings = NetworkSettings(epochs=300, seed=7)
    one, two = train_tiers(features, labels, settings), train_tiers(features, labels, settings)
    assert one.confusion == two.confusion
    np.testing.assert_array_equal(
        one.model.predict(features).column("p_vip").to_numpy(),
        two.model.predict(features).column("p_vip").to_numpy(),
    )


def test_save_load_and_predict(tmp_path):
    features, labels = make_users(80)
    result = train_tiers(features, labels, NetworkSettings(epochs=500))
    result.model.save(tmp_path / "model")
    loaded = TierModel.load(tmp_path / "model")
    assert loaded.feature_names == FEATURE_NAMES
    assert loaded.metadata["test_accuracy"] == result.test_accuracy
    before, after = result.model.predict(features), predict_tiers(tmp_path / "model", features)
    assert before.column_names == [
        "user",
        "tier",
        "p_vip",
        "p_growth",
        "p_ordinary",
        "out_of_range",
    ]
    assert before.equals(after)
    proba = np.column_stack([after.column(f"p_{t}").to_numpy() for t in TIERS])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    best = np.array(TIERS)[proba.argmax(axis=1)]
    assert best.tolist() == after.column("tier").to_pylist()


def test_features_outside_the_training_range_are_flagged(tmp_path):
    features, labels = make_users(80)
    # everyone trains, so the training range is the whole table's
    model = train_tiers(features, labels, NetworkSettings(epochs=200, test_fraction=0.0)).model
    top = max(features.column("avguseflow").to_pylist())
    new = pa.table(
        {
            "user": ["a", "b", "c"],
            "avgontime": [3.0, 3.0, 30.0],
            "avguseflow": [200.0, top * 3, 200.0],
            "buycounts": [1, 1, -1],
        }
    )
    flags = model.predict(new).column("out_of_range").to_pylist()
    assert flags[0] == ""
    assert flags[1] == f"avguseflow above {top:.4g}"
    assert flags[2].startswith("avgontime above") and "buycounts below 0" in flags[2]


def test_missing_feature_columns_are_named():
    features, labels = make_users(40)
    model = train_tiers(features, labels, NetworkSettings(epochs=50)).model
    with pytest.raises(ColumnNotFoundError, match="buycounts"):
        model.predict(features.drop(["buycounts"]))


def test_any_tier_names():
    features, labels = make_users(60)
    gold = pa.table(
        {
            "user": labels.column("user"),
            "tier": [
                {"vip": "gold", "growth": "silver", "ordinary": "bronze"}[t]
                for t in labels.column("tier").to_pylist()
            ],
        }
    )
    result = train_tiers(features, gold, NetworkSettings(epochs=100))
    assert result.model.tiers == ("bronze", "gold", "silver")
    assert "p_gold" in result.model.predict(features).column_names


def test_a_folder_that_is_not_a_model(tmp_path):
    with pytest.raises(ModelFormatError, match="not a device-tier model"):
        TierModel.load(tmp_path)


def test_report_has_the_papers_figures(tmp_path):
    features, labels = make_users(130, noise=0.05)
    model = train_tiers(features, labels, NetworkSettings(epochs=300)).model
    predictions = model.predict(features)
    path = build_report(model, features, predictions, tmp_path / "report.html")
    html = path.read_text()
    for name in ("error", "confusion", "shares", "profiles"):
        assert (tmp_path / f"report_{name}.png").stat().st_size > 1000
    assert html.count("data:image/png;base64") == 4
    assert "Fig. 4" in html and "Fig. 5" in html
    assert "13800000000" not in html and "138****" in html  # ids masked


def test_the_synthetic_tiers_are_the_papers():
    # synth sits below the domains, so it names the tiers itself; they must be the paper's
    from netpersona.devices import PAPER_TIERS

    assert TIERS == PAPER_TIERS == ("vip", "growth", "ordinary")
