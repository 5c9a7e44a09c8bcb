"""Pair features of the learned matcher: symmetric where they should be, in range, sensible."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpersona.engine import DuckDBEngine
from netpersona.rejoin import RejoinSettings
from netpersona.rejoin._learned._candidates import (
    FROM_TFIDF,
    CandidatePairs,
    idf_weights,
    pair_cosine,
    tfidf_matrix,
)
from netpersona.rejoin._learned._features import FEATURES, SYMMETRIC, UNIT_RANGE, pair_features
from netpersona.rejoin._learned._side import build_side

START = dt.datetime(2024, 5, 1)

events = st.lists(
    st.tuples(
        st.integers(0, 5),  # user
        st.integers(0, 6 * 24 * 60 - 1),  # minute of a six-day period
        st.integers(0, 7),  # site
    ),
    min_size=2,
    max_size=60,
)


def _side(rows):
    engine = DuckDBEngine(threads=1)
    engine.execute("SET preserve_insertion_order = true")
    table = pa.table(
        {
            "user_id": [f"u{u}" for u, _, _ in rows],
            "ts": pa.array(
                [START + dt.timedelta(minutes=m) for _, m, _ in rows], pa.timestamp("us")
            ),
            "site": [f"s{s}.com" for _, _, s in rows],
        }
    )
    engine.register_arrow("raw", table)
    engine.create_table("log", "SELECT * FROM raw")
    settings_ = RejoinSettings(frequent_ratio=0.3, active_minutes=1, min_run=1)
    return build_side(engine, "log", "lib", settings_), settings_


def _pairs(side, query, library):
    idf = idf_weights(side.activity, side.n_codes)
    m = tfidf_matrix(side.activity, idf)
    order = np.lexsort((library, query))
    q, lib = np.asarray(query)[order], np.asarray(library)[order]
    return CandidatePairs(q, lib, pair_cosine(m, m, q, lib), np.full(len(q), FROM_TFIDF, np.int8))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=events)
def test_features_symmetric_and_in_range(rows):
    side, s = _side(rows)
    n = side.n_users
    a, b = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    a, b = a.ravel(), b.ravel()
    forward = _pairs(side, a, b)
    x = pair_features(forward, side, side, s.min_run)
    assert x.shape == (len(forward), len(FEATURES))
    assert np.isfinite(x).all()
    for name in UNIT_RANGE:
        col = x[:, FEATURES.index(name)]
        assert (col >= -1e-12).all() and (col <= 1 + 1e-9).all(), name
    # swap the two sides of every pair: the symmetric features must not change
    position = {
        (q, u): i for i, (q, u) in enumerate(zip(forward.query, forward.library, strict=True))
    }
    swapped = np.array(
        [position[(u, q)] for q, u in zip(forward.query, forward.library, strict=True)]
    )
    for name in SYMMETRIC:
        col = x[:, FEATURES.index(name)]
        np.testing.assert_allclose(col, col[swapped], atol=1e-9, err_msg=name)
    # a user against itself: every set overlap is complete
    same = forward.query == forward.library
    for name in ("site_jaccard", "core_jaccard", "hour_cosine", "dow_cosine", "tfidf_cosine"):
        col = x[same, FEATURES.index(name)]
        np.testing.assert_allclose(col, 1.0, atol=1e-9, err_msg=name)
    # ... and its own last activity is never before its first: the gap is -(active span) <= 0
    span = (side.activity.last_seconds - side.activity.first_seconds) / 86_400.0
    np.testing.assert_allclose(
        x[same, FEATURES.index("gap_days")], -span[forward.query[same]], atol=1e-9
    )


def test_rank_features_describe_the_candidate_list():
    rows = [(0, 10, 1), (0, 20, 2), (1, 30, 1), (1, 40, 2), (2, 50, 1), (2, 60, 3), (3, 70, 4)]
    side, s = _side(rows)
    q = np.array([0, 0, 0])
    lib = np.array([1, 2, 3])
    pairs = _pairs(side, q, lib)
    x = pair_features(pairs, side, side, s.min_run)
    rank = np.exp(x[:, FEATURES.index("tfidf_rank")])
    cos = x[:, FEATURES.index("tfidf_cosine")]
    assert cos[0] > cos[1] > cos[2] == 0.0
    assert rank.round().tolist() == [1, 2, 3]
    margin = x[:, FEATURES.index("tfidf_margin_next")]
    np.testing.assert_allclose(margin, [cos[0] - cos[1], cos[1] - cos[2], 0.0])
    np.testing.assert_allclose(x[:, FEATURES.index("tfidf_gap_best")], cos[0] - cos)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=events, keep=st.integers(1, 5), chunk=st.integers(1, 40))
def test_sequence_features_read_in_runs_equal_one_pass(rows, keep, chunk):
    """Bigrams and last items, read a run of users at a time (from the engine or from loaded
    sequences), are each user's distinct consecutive pairs and last ``keep`` items."""
    from netpersona.rejoin._learned._activity import BIGRAM_BASE, sequence_features

    side, _ = _side(rows)
    assert side.arrays.sequence_indptr is None  # a side leaves its sequences in the engine
    lazy = sequence_features(side.arrays, keep, chunk)
    side.arrays.load_sequences()
    for got in (lazy, sequence_features(side.arrays, keep, chunk)):
        b_indptr, b_ids, r_indptr, r_items = got
        for user in range(side.n_users):
            seq = side.arrays.sequence_of(user).tolist()
            pairs = sorted({a * int(BIGRAM_BASE) + b for a, b in itertools.pairwise(seq)})
            assert b_ids[b_indptr[user] : b_indptr[user + 1]].tolist() == pairs
            assert r_items[r_indptr[user] : r_indptr[user + 1]].tolist() == seq[-keep:]
    a = side.activity  # what the side loaded: the same, with SEQUENCE_ITEMS kept
    for user in range(side.n_users):
        seq = side.arrays.sequence_of(user).tolist()
        recent = a.recent_items[a.recent_indptr[user] : a.recent_indptr[user + 1]]
        assert recent.tolist() == seq[-100:]


@settings(max_examples=60, deadline=None)
@given(
    sets=st.lists(
        st.tuples(
            st.lists(st.integers(0, 300), max_size=60, unique=True),
            st.lists(st.integers(0, 300), max_size=200, unique=True),
        ),
        min_size=1,
        max_size=8,
    ),
    weighted=st.booleans(),
)
def test_overlap_equals_set_intersection(sets, weighted):
    """The galloping merge finds exactly the shared ids, whichever side is shorter."""
    from netpersona.rejoin._learned._features import _overlap

    def csr(lists):
        indptr = np.r_[0, np.cumsum([len(x) for x in lists])].astype(np.int64)
        ids = np.array([i for x in lists for i in sorted(x)], dtype=np.int64)
        return indptr, ids, (ids * 0.5 + 1.0).astype(np.float64)

    q_lists = [a for a, _ in sets]
    l_lists = [b for _, b in sets] + [q_lists[0]]  # a pair of identical sets as well
    qi, qids, qv = csr(q_lists)
    li, lids, lv = csr(l_lists)
    weight = np.linspace(0.1, 3.0, 301) if weighted else np.zeros(0)
    pq = np.r_[np.arange(len(sets)), 0].astype(np.int64)
    pl = np.arange(len(l_lists)).astype(np.int64)
    shared, w_shared, q_sum, l_sum = _overlap(pq, pl, qi, qids, qv, li, lids, lv, weight)
    for k in range(len(pq)):
        common = set(q_lists[pq[k]]) & set(l_lists[pl[k]])
        assert shared[k] == len(common)
        w = sum(weight[i] for i in common) if weighted else float(len(common))
        assert np.isclose(w_shared[k], w)
        assert np.isclose(q_sum[k], sum(i * 0.5 + 1.0 for i in common))
        assert np.isclose(l_sum[k], q_sum[k])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 30), width=st.integers(1, 24))
def test_pair_row_cosines_equal_the_gathered_row_cosines(seed, n, width):
    from netpersona.rejoin._learned._features import pair_row_cosines
    from netpersona.rejoin._steps import cosine_rows

    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, (6, width)).astype(float)  # some rows all zero
    y = rng.integers(0, 4, (5, width)).astype(float)
    pq, pl = rng.integers(0, 6, n), rng.integers(0, 5, n)
    got = pair_row_cosines(pq, pl, x, y)
    np.testing.assert_allclose(got, cosine_rows(x[pq], y[pl]), atol=1e-12)
    assert ((got >= 0) & (got <= 1)).all()


def test_identity_change_features_by_hand():
    """Query q (days 10-12 on rare site r) against: a candidate that went quiet on day 8
    (the old identity), one active until day 20 (still around after q started), one that
    stopped on day 1 and shares nothing."""
    day = 24 * 60
    rows = [
        (0, 10 * day, 7), (0, 12 * day, 7), (0, 12 * day + 5, 1),   # q: rare site 7, portal 1
        (1, 2 * day, 7), (1, 8 * day, 7), (1, 8 * day + 3, 1),      # old identity, quiet day 8
        (2, 3 * day, 1), (2, 20 * day, 1),                          # active after q starts
        (3, 0, 2), (3, 1 * day, 3),                                 # long gone, nothing shared
    ]  # fmt: skip
    side, s = _side(rows)
    idx = side.arrays.user_index
    q = idx["u0"]
    libs = [idx[f"u{k}"] for k in (1, 2, 3)]
    x = pair_features(_pairs(side, [q] * 3, libs), side, side, s.min_run)
    f = {name: x[:, FEATURES.index(name)] for name in FEATURES}
    old, around, gone = (libs.index(idx[f"u{k}"]) for k in (1, 2, 3))
    order = np.argsort(libs)  # _pairs sorts pairs by library row
    f = {k: v[np.argsort(order)] for k, v in f.items()}
    assert f["active_after_query_start"][old] == 0.0
    assert f["active_after_query_start"][around] == pytest.approx(np.log1p(10.0))
    assert f["log_gap_days"][old] == pytest.approx(np.log1p(2.0 - 3 / day))
    assert f["log_gap_days"][gone] == pytest.approx(np.log1p(9.0))
    assert f["log_gap_days"][around] < 0
    assert f["period_overlap"][old] == 0.0 and f["period_overlap"][around] == 1.0
    assert f["shared_sites"][old] == pytest.approx(np.log1p(2)) and f["shared_sites"][gone] == 0
    # the rare site (2 users) weighs more than the portal (3 users): mean of 1/2 and 1/3
    assert f["shared_rarity"][old] == pytest.approx((1 / 2 + 1 / 3) / 2)
    assert f["candidate_span"][gone] == pytest.approx(np.log1p(1.0))
    assert f["candidate_recency"][around] == 0.0
