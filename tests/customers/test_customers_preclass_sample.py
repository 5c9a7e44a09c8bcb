"""Current value, pre-class boundaries, the stratified sample and the train/test split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from netpersona import ConfigError
from netpersona.customers import (
    TierThresholds,
    assign_tiers,
    current_value,
    pre_class,
    pre_class_table,
    stratified_sample,
    stratum_sizes,
    train_test_split,
)

RFM = ("r", "f", "m")


def _c(r, f, m, weights):
    scores = pd.DataFrame({"r": [r], "f": [f], "m": [m]})
    return current_value(scores, RFM, weights)


@pytest.mark.parametrize("weights", [(0.1, 0.2, 0.7), (1 / 3, 1 / 3, 1 / 3), (0.3, 0.3, 0.4)])
def test_c_exactly_on_a_boundary_goes_to_the_upper_class(weights):
    # 2 * (0.1 + 0.2 + 0.7) is 2.0000000000000004 or 1.9999999999999998 in floating point
    assert pre_class(_c(2, 2, 2, weights)).tolist() == [2]
    assert pre_class(_c(5, 5, 5, weights)).tolist() == [5]
    assert pre_class(_c(1, 1, 1, weights)).tolist() == [1]


def test_classes_just_below_a_boundary_stay_below():
    assert pre_class(np.array([1.999, 2.0, 4.999999, 5.0, 3.5])).tolist() == [1, 2, 4, 5, 3]


def test_current_value_is_the_weighted_sum():
    assert _c(5, 3, 1, (0.2, 0.3, 0.5)).iloc[0] == pytest.approx(5 * 0.2 + 3 * 0.3 + 1 * 0.5)


@given(st.tuples(*[st.integers(1, 5)] * 3),
       st.tuples(*[st.floats(0.01, 1.0)] * 3))  # fmt: skip
def test_pre_class_is_the_interval_holding_c(scores, weights):
    c = _c(*scores, weights).iloc[0]
    k = pre_class(np.array([c]))[0]
    assert (k <= c + 1e-9 < k + 1) or (k == 5 and abs(c - 5) < 1e-9)


def test_pre_class_table_counts_and_proportions():
    rows = pre_class_table(np.array([1, 2, 2, 5, 5, 5, 3, 3]))
    assert [r.count for r in rows] == [1, 2, 2, 0, 3]
    assert [r.interval for r in rows][-1] == "C = 5"
    assert sum(r.proportion for r in rows) == pytest.approx(1.0)


def test_stratum_sizes_reproduce_the_papers_274():
    sizes = stratum_sizes(dict(enumerate([102, 150, 110, 105, 81], start=1)), 0.5)
    assert sizes == {1: 51, 2: 75, 3: 55, 4: 53, 5: 40}
    assert sum(sizes.values()) == 274


def test_stratified_sample_draws_each_class_share_and_is_seeded():
    classes = np.repeat([1, 2, 3, 4, 5], [102, 150, 110, 105, 81])
    np.random.default_rng(1).shuffle(classes)
    sample = stratified_sample(classes, 0.5, seed=7)
    assert len(sample) == 274 and len(set(sample)) == 274
    assert np.bincount(classes[sample])[1:].tolist() == [51, 75, 55, 53, 40]
    assert np.array_equal(sample, stratified_sample(classes, 0.5, seed=7))
    assert not np.array_equal(sample, stratified_sample(classes, 0.5, seed=8))
    assert (np.diff(sample) > 0).all()  # kept in the customers' order


@given(st.lists(st.integers(1, 5), min_size=1, max_size=300), st.floats(0.05, 1.0))
def test_stratified_sample_sizes_are_within_one_of_the_share(classes, share):
    classes = np.array(classes)
    sample = stratified_sample(classes, share, seed=0)
    for k in np.unique(classes):
        n_k = (classes == k).sum()
        assert abs((classes[sample] == k).sum() - share * n_k) <= 1


def test_split_by_order_is_the_papers_229_and_45():
    train, test = train_test_split(274)
    assert train.tolist() == list(range(229)) and test.tolist() == list(range(229, 274))
    r_train, r_test = train_test_split(274, split="random", seed=3)
    assert len(r_train) == 229 and len(r_test) == 45
    assert sorted([*r_train, *r_test]) == list(range(274)) and r_train.tolist() != list(range(229))


def test_tiers_follow_table_3_boundaries():
    k = np.array([1.0, 0.75, 0.7499, 0.5, 0.25, 0.2499, 0.0])
    assert assign_tiers(k).tolist() == ["A", "A", "B", "B", "C", "D", "D"]
    assert assign_tiers(k, TierThresholds(0.9, 0.6, 0.3)).tolist() == list("ABBCDDD")
    with pytest.raises(ConfigError, match="0 <= C < B < A <= 1"):
        TierThresholds(0.5, 0.6, 0.1)
