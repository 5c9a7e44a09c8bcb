"""Scoring rules on hand-made columns: quantile ties, reversal, category maps, missing values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from customers_helpers import system_writer
from hypothesis import given
from hypothesis import strategies as st

from netpersona import InputError
from netpersona.customers import load_system, score_customers
from netpersona.customers._scoring_rules import quantile_cuts

EXTRA = """
[[indicators]]
name = "x"
dimension = "current"
{source}
on_null = "{null}"
[indicators.score]
{score}
"""


@pytest.fixture
def write_system(tmp_path):
    return system_writer(tmp_path)


def _score(write_system, values, score, source='column = "x"', null="fail", **cols):
    system = load_system(write_system(EXTRA.format(source=source, null=null, score=score)))
    n = len(values)
    table = pd.DataFrame({"days": [1] * n, "buys": [1] * n, "spend": [1] * n, "x": values, **cols})
    return score_customers(table, system, path="t.csv")


def test_quantile_bins_have_equal_frequency_without_ties(write_system):
    scored = _score(write_system, list(range(10, 0, -1)), 'method = "quantile"')
    assert scored.scores["x"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_quantile_ties_always_share_a_score(write_system):
    # 0 is 40% of the population, 7 is 30%: ties never straddle a bin edge
    values = [0, 0, 0, 0, 7, 7, 7, 9, 12, 15]
    scored = _score(write_system, values, 'method = "quantile"')
    assert scored.scores["x"].tolist() == [1, 1, 1, 1, 3, 3, 3, 4, 5, 5]
    assert quantile_cuts(np.array(values, dtype=float)) == (7.0, 7.0, 9.0, 12.0)


def test_a_constant_column_scores_1_everywhere(write_system):
    scored = _score(write_system, [4, 4, 4], 'method = "quantile"')
    assert scored.scores["x"].tolist() == [1, 1, 1]


def test_thresholds_and_their_reversal(write_system):
    score = 'method = "thresholds"\nthresholds = [10, 20, 30, 40]'
    values = [0, 9.99, 10, 25, 40, 1000]
    assert _score(write_system, values, score).scores["x"].tolist() == [1, 1, 2, 3, 5, 5]
    reversed_ = _score(write_system, values, score + "\nreverse = true").scores
    assert reversed_["x"].tolist() == [5, 5, 4, 3, 1, 1]
    # the recency rule R: thresholds [8, 31, 91, 181] reversed; 1 day ago -> 5
    assert reversed_["r"].tolist() == [5] * 6


def test_reversed_quantiles_keep_ties_together(write_system):
    # lower is better: the three tied best customers share a score (70% of the others are
    # worse, so 4), never split between 4 and 5
    values = [1, 1, 1, 50, 60, 70, 80, 90, 95, 99]
    scored = _score(write_system, values, 'method = "quantile"\nreverse = true')
    assert scored.scores["x"].tolist() == [4, 4, 4, 4, 3, 3, 2, 2, 1, 1]


def test_category_map_with_default_and_numbers_as_keys(write_system):
    score = 'method = "category"\ncategories = { "PhD" = 5, "Master" = 4, "1" = 2 }\ndefault = 3'
    scored = _score(write_system, ["PhD", " Master ", "Basic", 1.0, 1], score)
    assert scored.scores["x"].tolist() == [5, 4, 3, 2, 2]


def test_an_unmapped_category_without_default_names_line_and_column(write_system):
    score = 'method = "category"\ncategories = { "yes" = 5, "no" = 1 }'
    with pytest.raises(InputError, match="category 'YOLO' is not in the map") as info:
        _score(write_system, ["yes", "no", "YOLO"], score)
    assert info.value.line == 4 and info.value.column == "x" and info.value.path == "t.csv"


def test_likert_answers_outside_1_to_5_are_refused(write_system):
    with pytest.raises(InputError, match=r"integer 1\.\.5, found 6") as info:
        _score(write_system, [1, 5, 6], 'method = "likert"')
    assert info.value.line == 4


def test_text_in_a_numeric_column_is_refused(write_system):
    with pytest.raises(InputError, match="expected a number, found 'n/a'") as info:
        _score(write_system, ["3", "n/a", "4"], 'method = "quantile"')
    assert info.value.line == 3


@pytest.mark.parametrize(
    ("null", "expected"),
    [("lowest", [1, 1, 3, 5, 5]), ("neutral", [1, 3, 3, 5, 5]), ("median", [1, 4, 3, 5, 5])],
)
def test_missing_values_are_scored_as_the_system_says(write_system, null, expected):
    score = 'method = "thresholds"\nthresholds = [2, 3, 4, 5]'
    scored = _score(write_system, [1, None, 3, 5, 9], score, null=null)
    assert scored.scores["x"].tolist() == expected
    assert scored.filled_nulls == {"x": 1}
    assert any(f"on_null = '{null}'" in line for line in scored.summary_lines())


def test_missing_values_with_drop_remove_and_count_the_customers(write_system):
    score = 'method = "thresholds"\nthresholds = [2, 3, 4, 5]'
    scored = _score(write_system, [1, None, 3, None, 9], score, null="drop")
    assert scored.scores["x"].tolist() == [1, 3, 5]
    assert scored.customer.tolist() == ["1", "3", "5"]  # row numbers: no id column
    assert scored.dropped_rows == {"x": 2} and scored.source_rows == 5


def test_missing_values_with_fail_name_the_first_line(write_system):
    with pytest.raises(InputError, match="without a value") as info:
        _score(write_system, [1, None, 3, None], 'method = "quantile"')
    assert "2 customers, first on line 3" in str(info.value) and "on_null" in str(info.value)


def test_columns_glob_with_count_nonzero_and_sum(write_system):
    cols = {"MntWine": [0, 5, 3], "MntFish": [0, 0, 1], "MntGold": [1, 0, 0], "Other": [9, 9, 9]}
    nonzero = _score(write_system, [0, 0, 0], 'method = "likert"',
                     source='columns = ["Mnt*"]\ncombine = "count_nonzero"', **cols)  # fmt: skip
    assert nonzero.scores["x"].tolist() == [1, 1, 2]
    total = _score(write_system, [0, 0, 0], 'method = "thresholds"\nthresholds = [2, 3, 4, 5]',
                   source='columns = ["Mnt*"]\ncombine = "sum"', **cols)  # fmt: skip
    assert total.scores["x"].tolist() == [1, 5, 4]


def test_expression_source(write_system):
    scored = _score(write_system, [1, 2, 3], 'method = "thresholds"\nthresholds = [2, 3, 4, 5]',
                    source='expr = "x * 2 - 1"')  # fmt: skip
    assert scored.scores["x"].tolist() == [1, 3, 5]


def test_refitting_reuses_the_learned_cut_points(write_system):
    system = load_system(write_system())
    first = pd.DataFrame({"days": [1] * 5, "buys": [1, 2, 3, 4, 5], "spend": [1, 2, 3, 4, 5]})
    scored = score_customers(first, system)
    later = pd.DataFrame({"days": [1, 1], "buys": [3, 100], "spend": [0, 3]})
    again = score_customers(later, system, fitted=scored.fitted)
    assert again.scores["f"].tolist() == [3, 5]
    assert again.scores["m"].tolist() == [1, 3]


@given(st.lists(st.integers(-5, 5), min_size=1, max_size=60))
def test_quantile_scores_are_monotone_tie_preserving_and_in_range(values):
    x = np.array(values, dtype=float)
    cuts = quantile_cuts(x)
    scores = 1 + sum((x >= c).astype(int) for c in cuts)
    assert scores.min() >= 1 and scores.max() <= 5
    order = np.argsort(x, kind="stable")
    assert (np.diff(scores[order]) >= 0).all()
    for v in np.unique(x):
        assert len(set(scores[x == v])) == 1
    # equal frequency: a score s starts where at least (s-1)/5 of the population lies below
    below = np.array([(x < v).mean() for v in x])
    assert np.array_equal(scores, 1 + np.minimum(np.floor(below * 5 + 1e-9), 4).astype(int))
