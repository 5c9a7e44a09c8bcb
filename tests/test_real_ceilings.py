"""The diagnostic ceilings of the real-data benchmark (benchmarks/_real_ceilings.py)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "_real_ceilings.py"
_SPEC = importlib.util.spec_from_file_location("real_ceilings", _PATH)
ceilings = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(ceilings)

INF = math.inf


def test_oracle_threshold_by_hand():
    # query: score, present, rank-1 is the true user
    # 0: .9 P T | 1: .8 P T | 2: .7 A | 3: .6 P T | 4: .5 A | 5: no candidate P | 6: .4 A
    score = [0.9, 0.8, 0.7, 0.6, 0.5, -INF, 0.4]
    present = [True, True, False, True, False, True, False]
    correct = [True, True, False, True, False, False, False]
    # thresholds: inf 0.5 | .9 (1 + 1/4)/2 | .8 (1 + 2/4)/2 = 0.75 | .7 (2/3 + 2/4)/2
    # | .6 (2/3 + 3/4)/2 = 0.708 | .5 (1/3 + 3/4)/2 | .4 (0 + 3/4)/2
    best = ceilings.oracle_threshold(score, correct, present)
    assert best["balanced"] == pytest.approx(0.75)
    assert best["threshold"] == 0.8
    assert best["acc_absent"] == 1.0 and best["acc_present"] == 0.5
    assert ceilings.balanced_at(score, correct, present, 0.6) == pytest.approx((2 / 3 + 0.75) / 2)


def test_oracle_threshold_ties_are_one_threshold():
    # two queries with the same score are answered together: 0.5 either way; the first best
    # is the highest threshold (+inf: all "new")
    best = ceilings.oracle_threshold([0.5, 0.5], [True, False], [True, False])
    assert best["balanced"] == 0.5 and best["threshold"] == INF


def test_oracle_threshold_one_class_and_none():
    only_present = ceilings.oracle_threshold([0.3, 0.2], [True, False], [True, True])
    assert only_present["balanced"] == 0.5 and only_present["acc_absent"] is None
    assert ceilings.oracle_threshold([], [], [])["balanced"] is None


def test_rank1_table_reads_rank1_outputs_only():
    matches = pa.table(
        {
            "query_user": ["q1", "q1", "q2", "q3", "q4", "q5"],
            "decision": ["match", "match", "new", "match", "new", "match"],
            "rank": [1, 2, 1, 1, 0, 1],
            "library_user": ["u1", "u2", "u2", "u9", None, "u5"],
            "score": [0.9, 0.5, 0.8, 0.4, None, 0.7],
            "answer": [1, 0, 0, 1, 0, 0],
        }
    )
    truth = pa.table(
        {
            "query_user": ["q1", "q2", "q3", "q4", "q5"],
            "true_user": ["u1", "u2", "u3", "q4", "u5"],
            "in_library": [True, True, False, False, True],
        }
    )
    score, correct, present = ceilings.rank1_table(matches, truth)
    # q5: a rank-1 row that is not an output (one-to-one gave its user to another query)
    assert score.tolist() == [0.9, -INF, 0.4, -INF, -INF]
    assert correct.tolist() == [True, False, False, False, False]
    assert present.tolist() == [True, True, False, False, True]


queries = st.lists(
    st.tuples(
        st.one_of(st.floats(-1, 1), st.just(-INF), st.just(math.nan)),
        st.booleans(),
        st.booleans(),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(queries, st.one_of(st.floats(-2, 2), st.just(INF), st.just(-INF)))
def test_oracle_is_at_least_any_threshold(rows, threshold):
    score = np.array([r[0] for r in rows], dtype=float)
    correct = np.array([r[1] for r in rows], dtype=bool)
    present = np.array([r[2] for r in rows], dtype=bool)
    best = ceilings.oracle_threshold(score, correct, present)
    if not rows:
        assert best["balanced"] is None
        return
    candidates = [threshold, *[s for s in score if not math.isnan(s)]]
    for t in candidates:
        assert best["balanced"] >= ceilings.balanced_at(score, correct, present, t) - 1e-12
    # the oracle's threshold reproduces its figure
    assert ceilings.balanced_at(score, correct, present, best["threshold"]) == pytest.approx(
        best["balanced"]
    )
    if present.any() and (~present).any():
        assert 0.5 <= best["balanced"] <= 1.0
