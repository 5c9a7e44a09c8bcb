"""The whole pipeline: synthetic questionnaires, the real marketing_campaign.tsv, saved models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from customers_helpers import MARKETING_SYSTEM, shared_file

from netpersona import ColumnNotFoundError, ConfigError, ModelFormatError
from netpersona.customers import (
    CustomerSettings,
    load_run,
    load_system,
    run_customers,
    save_run,
    score_table,
)
from netpersona.synth.customers import class_counts, synth_customers

PAPER_COUNTS = [102, 150, 110, 105, 81]


def test_synthetic_questionnaires_have_the_papers_pre_class_counts():
    assert class_counts(548) == PAPER_COUNTS
    data = synth_customers(548, seed=5)
    assert np.bincount(data["true_pre_class"])[1:].tolist() == PAPER_COUNTS
    assert data.equals(synth_customers(548, seed=5))
    assert not data.equals(synth_customers(548, seed=6))


def test_the_synthetic_truth_uses_the_papers_shares_and_tier_thresholds():
    # synth sits below the domains, so it states the paper's figures itself; they must agree
    from netpersona import synth
    from netpersona.customers import PAPER_PRE_CLASS_SHARES, TierThresholds, assign_tiers

    assert synth.customers.PAPER_PRE_CLASS_SHARES == PAPER_PRE_CLASS_SHARES
    paper = TierThresholds()
    assert (paper.a, paper.b, paper.c) == synth.customers.PAPER_TIER_BOUNDS
    data = synth_customers(300, seed=7)
    assert (data["true_tier"].to_numpy() == assign_tiers(data["true_K"].to_numpy())).all()


@pytest.mark.parametrize("weights", [None, "rfm"])
def test_scoring_synthetic_data_recovers_the_generating_pre_classes(tmp_path, weights):
    data = synth_customers(548, seed=2)
    if weights == "rfm":  # any positive R, F, M weights keep every customer in its class
        weights = tmp_path / "w.csv"
        weights.write_text("expert,recency,frequency,monetary\na,5,3,2\nb,1,1,8\n")
    table = score_table(data, None, weights)
    assert np.array_equal(table.pre_class, data["true_pre_class"].to_numpy())
    assert [r.count for r in __import__("netpersona.customers", fromlist=["x"])
            .pre_class_table(table.pre_class)] == PAPER_COUNTS  # fmt: skip
    if weights is not None:
        assert "R, F, M only" in table.weights.note
        assert table.weights.current["monetary"] == pytest.approx((0.2 + 0.8) / 2)


def test_run_on_synthetic_data_trains_the_papers_network_and_tracks_the_truth():
    data = synth_customers(548, seed=1)
    run = run_customers(data, settings=CustomerSettings(seed=1, ensemble=1))
    summary = run.summary()
    assert summary["network"]["sizes"] == "14-29-1"
    assert summary["sample"]["size"] == 274 and summary["n_train"] == 229
    assert summary["sample"]["per_class"] == {"1": 51, "2": 75, "3": 55, "4": 53, "5": 40}
    frame = run.frame()
    assert list(frame.columns) == ["customer", *load_system().indicator_names, "C",
                                   "pre_class", "K", "tier"]  # fmt: skip
    assert frame["K"].between(0, 1).all() and set(frame["tier"]) <= set("ABCD")
    # a network trained to the paper's goal agrees with the truth far better than chance (25%)
    assert np.mean(run.tiers == data["true_tier"].to_numpy()) > 0.6
    assert np.corrcoef(run.k, data["true_K"])[0, 1] > 0.9
    again = run_customers(data, settings=CustomerSettings(seed=1, ensemble=1))
    assert np.array_equal(run.k, again.k)


def test_end_to_end_on_the_real_marketing_campaign_file():
    path = shared_file("customers/marketing_campaign.tsv")
    run = run_customers(path, MARKETING_SYSTEM, settings=CustomerSettings(ensemble=1))
    frame = run.frame()
    assert len(frame) == 2240 and frame["customer"].is_unique
    assert set(frame["tier"]) <= set("ABCD") and frame["tier"].notna().all()
    summary = run.summary()
    assert summary["network"]["sizes"] == "9-19-1"
    assert sorted(summary["dropped_indicators"]) == [
        "brand_perception", "membership", "rating", "recommend", "time_online"]  # fmt: skip
    assert run.table.scored.filled_nulls == {"basic_properties": 24}
    assert any("24 empty 'basic_properties'" in line for line in summary["scoring"])
    assert "no weights given" in summary["weights"]["note"]
    # the 24 customers without Income are scored neutral on basic properties
    raw = pd.read_csv(path, sep="\t")
    no_income = raw["Income"].isna().to_numpy()
    assert (frame.loc[no_income, "basic_properties"] == 3).all()
    assert sum(r["count"] for r in summary["pre_class_table"]) == 2240


def test_the_real_file_with_missing_income_dropped_counts_the_dropped_customers(tmp_path):
    path = shared_file("customers/marketing_campaign.tsv")
    system = tmp_path / "drop.toml"
    system.write_text(
        MARKETING_SYSTEM.read_text().replace('on_null = "neutral"', 'on_null = "drop"')
    )
    table = score_table(path, system)
    assert len(table.scored.scores) == 2216
    assert table.scored.dropped_rows == {"basic_properties": 24}
    assert "24 customers dropped: empty 'basic_properties'" in table.scored.summary_lines()[-1]


def test_saved_model_scores_new_customers_like_the_run(tmp_path):
    data = synth_customers(300, seed=4)
    run = run_customers(data, settings=CustomerSettings(seed=4, ensemble=3))
    save_run(run, tmp_path / "model")
    model = load_run(tmp_path / "model")
    predicted = model.predict(data)
    assert np.allclose(predicted["K"], run.frame()["K"], atol=1e-6)
    assert (predicted["tier"] == run.frame()["tier"]).all()
    fresh = synth_customers(50, seed=99).drop(columns=["rating"])
    with pytest.raises(Exception, match="rating"):
        model.predict(fresh)
    with pytest.raises(Exception, match="--force"):
        save_run(run, tmp_path / "model")


def test_a_folder_without_a_model_is_a_model_format_error(tmp_path):
    with pytest.raises(ModelFormatError, match="not a customer-value model"):
        load_run(tmp_path)
    (tmp_path / "customers.json").write_text(
        '{"format": "netpersona.customers", "format_version": 9}'
    )
    with pytest.raises(ModelFormatError, match="newer"):
        load_run(tmp_path)


def test_a_label_column_is_the_target_when_given():
    data = synth_customers(300, seed=3)
    table = score_table(data, None, label_column="true_K")
    assert np.allclose(table.target, data["true_K"])
    letters = score_table(data, None, label_column="true_tier")
    assert set(np.unique(letters.target)) <= {0.125, 0.375, 0.625, 0.875}


def test_weights_that_miss_indicators_are_refused(tmp_path):
    weights = tmp_path / "w.csv"
    weights.write_text("expert,recency,frequency,monetary,rating\na,1,1,1,1\n")
    with pytest.raises(ConfigError, match="give no weight to indicator"):
        score_table(synth_customers(60, seed=1), None, weights)


def test_full_expert_weights_change_the_composite_target(tmp_path):
    data = synth_customers(200, seed=8)
    names = load_system().indicator_names
    weights = tmp_path / "w.csv"
    weights.write_text("expert," + ",".join(names) + "\n" + "a," + ",".join(
        "10" if n == "monetary" else "0" for n in names) + "\n")  # fmt: skip
    table = score_table(data, None, weights)
    scores = table.scored.scores["monetary"].to_numpy()
    assert np.allclose(table.target, (scores - 1) / 4)
    assert table.weights.current == pytest.approx({"recency": 0, "frequency": 0, "monetary": 1})


def test_public_api_is_listed_and_sorted():
    from netpersona import customers

    assert len(set(customers.__all__)) == len(customers.__all__)
    assert all(hasattr(customers, name) for name in customers.__all__)


def test_a_model_ignores_indicators_it_was_trained_without(tmp_path):
    path = shared_file("customers/marketing_campaign.tsv")
    run = run_customers(path, MARKETING_SYSTEM, settings=CustomerSettings(ensemble=1))
    save_run(run, tmp_path / "model")
    model = load_run(tmp_path / "model")
    raw = pd.read_csv(path, sep="\t")
    with_extra = raw.assign(MinutesOnline=7.0)  # time_online was dropped when it trained
    predicted = model.predict(with_extra)
    assert "time_online" not in predicted.columns
    assert np.allclose(predicted["K"], run.frame()["K"], atol=1e-6)
    with pytest.raises(ColumnNotFoundError, match=r"'recency' \(the model was trained with it\)"):
        model.predict(raw.drop(columns=["Recency"]))
