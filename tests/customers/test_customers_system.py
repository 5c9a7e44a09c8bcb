"""The indicator system file: the shipped paper system, validation and clear errors."""

from __future__ import annotations

import pandas as pd
import pytest
from customers_helpers import system_writer

from netpersona import ColumnNotFoundError, ConfigError, InputError
from netpersona.customers import load_system, score_customers
from netpersona.customers._expr import check_expression, evaluate, referenced_columns


@pytest.fixture
def write_system(tmp_path):
    return system_writer(tmp_path)


def test_the_shipped_system_is_the_papers_table_1():
    system = load_system()
    assert [d.name for d in system.dimensions] == ["internet", "current", "potential"]
    per_dim = {d.name: [i.name for i in system.indicators if i.dimension == d.name]
               for d in system.dimensions}  # fmt: skip
    assert [len(v) for v in per_dim.values()] == [4, 3, 7]
    assert system.current_value == ("recency", "frequency", "monetary")
    assert system.indicator("recency").scoring.reverse


def test_unknown_indicator_in_current_value_is_a_config_error(tmp_path, write_system):
    path = write_system()
    path.write_text(path.read_text().replace('monetary = "m"', 'monetary = "money"'))
    with pytest.raises(
        ConfigError, match=r"monetary = 'money' is not an indicator.*\['r', 'f', 'm'\]"
    ):
        load_system(path)


def test_unknown_indicator_in_lookup_names_the_known_ones(write_system):
    system = load_system(write_system())
    with pytest.raises(ConfigError, match="unknown indicator 'x'"):
        system.indicator("x")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ('method = "thresholds"\nthresholds = [8, 31, 91, 181]\nreverse = true', None),
        ('method = "thresholds"\nthresholds = [8, 31, 31, 181]', "strictly increasing"),
        ('method = "thresholds"\nthresholds = [8, 31]', "list of 4 numbers"),
        ('method = "buckets"', "score method 'buckets'"),
        ('method = "category"\ncategories = { a = 7 }', "scores are integers 1..5"),
        ('method = "likert"\nreverse = true', "reverse does not apply"),
        ('method = "quantile"\nbins = 5', r"unknown score setting\(s\) \['bins'\]"),
    ],
)
def test_scoring_rules_are_validated(write_system, bad, message):
    more = f"""
[[indicators]]
name = "x"
dimension = "current"
column = "x"
[indicators.score]
{bad}
"""
    path = write_system(more)
    if message is None:
        assert load_system(path).indicator("x").scoring.reverse
    else:
        with pytest.raises(ConfigError, match=message) as info:
            load_system(path)
        assert str(path) in str(info.value) and "'x'" in str(info.value)


def test_an_indicator_needs_exactly_one_source(write_system):
    more = """
[[indicators]]
name = "x"
dimension = "current"
column = "a"
expr = "b + 1"
[indicators.score]
method = "quantile"
"""
    with pytest.raises(ConfigError, match="exactly one of column"):
        load_system(write_system(more))


INDICATOR = """
[[indicators]]
name = "x"
dimension = "{dim}"
column = "a"
{more}[indicators.score]
method = "likert"
"""


def test_unknown_keys_and_dimensions_are_refused(write_system):
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['colour'\]"):
        load_system(write_system(INDICATOR.format(dim="current", more="colour = 1\n")))
    with pytest.raises(ConfigError, match="dimension 'future' is not one of"):
        load_system(write_system(INDICATOR.format(dim="future", more="")))


def test_rfm_indicators_cannot_be_droppable(write_system):
    path = write_system()
    path.write_text(
        path.read_text().replace('column = "days"', 'column = "days"\non_missing = "drop"')
    )
    with pytest.raises(ConfigError, match="cannot be dropped"):
        load_system(path)


def test_not_toml_is_a_config_error(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[system\nname=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_system(path)


def test_missing_column_with_on_missing_fail_names_the_column(write_system):
    system = load_system(write_system())
    table = pd.DataFrame({"days": [1, 2], "buys": [1, 2]})
    with pytest.raises(
        ColumnNotFoundError, match=r"indicator 'm' needs column\(s\) \['spend'\]"
    ) as info:
        score_customers(table, system, path="shop.csv")
    assert isinstance(info.value, InputError)
    assert info.value.path == "shop.csv" and info.value.column == "spend"
    assert "on_missing = 'drop'" in str(info.value)


def test_missing_column_with_on_missing_drop_shrinks_the_system(write_system):
    more = """
[[indicators]]
name = "stars"
dimension = "current"
column = "Rating"
on_missing = "drop"
[indicators.score]
method = "likert"
"""
    system = load_system(write_system(more))
    table = pd.DataFrame({"days": [1, 200], "buys": [1, 2], "spend": [5, 6]})
    scored = score_customers(table, system)
    assert list(scored.scores.columns) == ["r", "f", "m"]
    assert scored.dropped_indicators == {"stars": "the source has no column 'Rating'"}
    assert any("'stars' dropped" in line for line in scored.summary_lines())


@pytest.mark.parametrize(
    "text",
    [
        "read_csv('/etc/passwd')",
        "(SELECT 1)",
        "getenv('HOME')",
        "a; DROP TABLE x",
        "max(a)",  # an aggregate without OVER would collapse the customers
    ],
)
def test_unsafe_expressions_are_refused(text):
    with pytest.raises(ConfigError):
        check_expression(text)


def test_expressions_are_evaluated_in_row_order_over_columns():
    table = pd.DataFrame({"a": [3, 0, 5, 1], "b": [0, 0, 2, 7], "d": ["01-02-2014"] * 4})
    assert referenced_columns("(a > 0)::INT + (b > 0)::INT") == ["a", "b"]
    out = evaluate(table, {"n": "(a > 0)::INT + (b > 0)::INT", "top": "a - max(a) OVER ()",
                           "y": "year(strptime(d, '%d-%m-%Y'))"})  # fmt: skip
    assert out["n"].tolist() == [1, 0, 2, 2]
    assert out["top"].tolist() == [-2, -5, 0, -4]
    assert out["y"].tolist() == [2014] * 4


def test_an_expression_that_fails_on_the_data_names_the_indicator_and_file(write_system):
    more = """
[[indicators]]
name = "tenure"
dimension = "current"
expr = "date_diff('day', strptime(joined, '%d-%m-%Y'), DATE '2015-01-01')"
[indicators.score]
method = "quantile"
"""
    system = load_system(write_system(more))
    table = pd.DataFrame({"days": [1], "buys": [1], "spend": [1], "joined": ["2014/03/02"]})
    with pytest.raises(InputError, match=r"indicator 'tenure': expression .* failed") as info:
        score_customers(table, system, path="shop.csv")
    assert info.value.path == "shop.csv"
