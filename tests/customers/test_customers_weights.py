"""Expert weights: CSV averaging, AHP on textbook matrices, refusal of inconsistent experts."""

from __future__ import annotations

import numpy as np
import pytest

from netpersona import ConfigError
from netpersona.customers import ahp_priorities, csv_weights, load_weights

# Saaty, T. L. (1980), The Analytic Hierarchy Process, McGraw-Hill, ch. 2: the "wealth of
# nations" example (relative GNP of the US, USSR, China, France, UK, Japan, West Germany; also in
# Saaty & Khouja 1976). Published priorities .427 .230 .021 .052 .052 .123 .094,
# lambda_max = 7.61, CR = 0.08 (RI(7) = 1.32).
WEALTH_OF_NATIONS = [
    [1, 4, 9, 6, 6, 5, 5],
    [1 / 4, 1, 7, 5, 5, 3, 4],
    [1 / 9, 1 / 7, 1, 1 / 5, 1 / 5, 1 / 7, 1 / 5],
    [1 / 6, 1 / 5, 5, 1, 1, 1 / 3, 1 / 3],
    [1 / 6, 1 / 5, 5, 1, 1, 1 / 3, 1 / 3],
    [1 / 5, 1 / 3, 7, 3, 3, 1, 2],
    [1 / 5, 1 / 4, 5, 3, 3, 1 / 2, 1],
]
WEALTH_PRIORITIES = [0.427, 0.230, 0.021, 0.052, 0.052, 0.123, 0.094]

# Saaty, T. L. (1977), "A scaling method for priorities in hierarchical structures", J. Math.
# Psychology 15, 234-281 (and Saaty 1990, EJOR 48: 9-26): relative brightness of four chairs.
# lambda_max = 4.39, CI = 0.13, CR = 0.14: above Saaty's 0.1 limit.
CHAIR_BRIGHTNESS = [
    [1, 5, 6, 7],
    [1 / 5, 1, 4, 6],
    [1 / 6, 1 / 4, 1, 4],
    [1 / 7, 1 / 6, 1 / 4, 1],
]


def test_ahp_reproduces_saatys_wealth_of_nations_example():
    result = ahp_priorities(WEALTH_OF_NATIONS)
    assert np.allclose(result.weights, WEALTH_PRIORITIES, atol=0.0015)
    assert result.lambda_max == pytest.approx(7.61, abs=0.005)
    assert result.cr == pytest.approx(0.08, abs=0.005)


def test_ahp_chair_brightness_example_has_the_published_consistency():
    result = ahp_priorities(CHAIR_BRIGHTNESS)
    assert result.lambda_max == pytest.approx(4.39, abs=0.005)
    assert result.ci == pytest.approx(0.13, abs=0.005)
    assert result.cr == pytest.approx(0.14, abs=0.006)


def test_a_consistent_matrix_gives_its_generating_weights_and_cr_zero():
    w = np.array([0.5, 0.3, 0.2])
    result = ahp_priorities(w[:, None] / w[None, :])
    assert np.allclose(result.weights, w) and result.cr == pytest.approx(0.0, abs=1e-9)


def _matrix_toml(rows) -> str:
    return "[" + ", ".join("[" + ", ".join(f'"{v}"' if isinstance(v, str) else str(v)
                                           for v in row) + "]" for row in rows) + "]"  # fmt: skip


def test_ahp_file_refuses_an_inconsistent_expert_by_name(tmp_path):
    chairs = [["1", "5", "6", "7"], ["1/5", "1", "4", "6"], ["1/6", "1/4", "1", "4"],
              ["1/7", "1/6", "1/4", "1"]]  # fmt: skip
    good = [[1, 2, 3, 4], ["1/2", 1, 2, 3], ["1/3", "1/2", 1, 2], ["1/4", "1/3", "1/2", 1]]
    path = tmp_path / "ahp.toml"
    path.write_text(
        f'[[experts]]\nname = "Wang"\norder = ["a", "b", "c", "d"]\nmatrix = {_matrix_toml(good)}\n'
        f'[[experts]]\nname = "Li"\norder = ["a", "b", "c", "d"]\nmatrix = {_matrix_toml(chairs)}\n'
    )
    with pytest.raises(
        ConfigError, match=r"expert 'Li' is inconsistent: consistency ratio CR = 0\.14"
    ):
        load_weights(path, ["a", "b", "c", "d"])


def test_ahp_hierarchical_file_multiplies_dimension_and_local_weights(tmp_path):
    path = tmp_path / "ahp.toml"
    path.write_text("""
[[experts]]
name = "e1"
[experts.dimensions]
order = ["current", "potential"]
matrix = [[1, 3], ["1/3", 1]]
[experts.indicators.current]
order = ["r", "f", "m"]
matrix = [[1, "1/2", "1/4"], [2, 1, "1/2"], [4, 2, 1]]
[experts.indicators.potential]
order = ["p"]
matrix = [[1]]
""")
    weights = load_weights(path, ["r", "f", "m", "p"])
    expected = {"r": 0.75 / 7, "f": 0.75 * 2 / 7, "m": 0.75 * 4 / 7, "p": 0.25}
    assert weights.weights == pytest.approx(expected)
    assert weights.method == "ahp" and weights.consistency["e1"] == pytest.approx(0, abs=1e-9)


def test_a_non_reciprocal_matrix_is_refused_with_the_cell(tmp_path):
    with pytest.raises(ConfigError, match=r"not reciprocal at row 1, column 2"):
        ahp_priorities([[1, 3], [3, 1]])


def test_csv_rows_are_normalised_then_averaged(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("expert,r,f,m\nZhang,2,2,4\nZhao,1,1,0\n")
    weights = csv_weights(path, ["r", "f", "m", "x"])
    # Zhang: .25 .25 .5 ; Zhao: .5 .5 0 -> mean .375 .375 .25
    assert weights.weights == pytest.approx({"r": 0.375, "f": 0.375, "m": 0.25})
    assert list(weights.per_expert) == ["Zhang", "Zhao"]


def test_csv_with_an_unknown_indicator_is_refused(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("expert,r,f,money\nZhang,1,1,1\n")
    with pytest.raises(ConfigError, match=r"unknown indicator\(s\) \['money'\]"):
        csv_weights(path, ["r", "f", "m"])


@pytest.mark.parametrize(("row", "message"), [("a,1,x,1", "must be numbers"),
                                              ("a,1,-1,1", "non-negative"),
                                              ("a,0,0,0", "positive sum"),
                                              ("a,1,1", "2 weights for 3 indicators")])  # fmt: skip
def test_bad_csv_rows_name_the_line(tmp_path, row, message):
    path = tmp_path / "w.csv"
    path.write_text(f"expert,r,f,m\nok,1,1,1\n{row}\n")
    with pytest.raises(ConfigError, match=f"line 3.*{message}"):
        csv_weights(path, ["r", "f", "m"])
