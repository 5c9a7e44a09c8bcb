"""Issue 16, item 6: the first-seen and last-days splits, checked row by row."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpersona._core import ConfigError, InputError
from netpersona.engine import DuckDBEngine
from netpersona.rejoin._protocol import drop_tables, fetch_truth
from netpersona.rejoin._splits import (
    make_split,
    read_identity_pairs,
    split_first_seen,
    split_last_days,
)

START = dt.datetime(2015, 6, 1)


def _engine(rows) -> DuckDBEngine:
    engine = DuckDBEngine(threads=1)
    engine.register_arrow(
        "raw",
        pa.table(
            {
                "user_id": pa.array([r[0] for r in rows], pa.string()),
                "ts": pa.array([r[1] for r in rows], pa.timestamp("us")),
                "site": pa.array([r[2] for r in rows], pa.string()),
            }
        ),
    )
    engine.create_table("log", "SELECT * FROM raw")
    return engine


def _rows(engine, table):
    return sorted(
        (r["user_id"], r["ts"], r["site"])
        for r in engine.fetch_arrow(f"SELECT * FROM {table}").to_pylist()
    )


def day(n: int, hour: int = 10) -> dt.datetime:
    return START + dt.timedelta(days=n, hours=hour)


def test_first_seen_split_by_hand():
    rows = [
        ("old", day(0), "a"), ("old", day(5), "b"),       # changes to "new" after the cut
        ("stay", day(1), "a"), ("stay", day(30), "c"),    # in the library, also active later
        ("new", day(12), "b"), ("new", day(40), "b"), ("new", day(200), "z"),  # 200: too late
        ("fresh", day(15), "q"),                          # first seen after the cut, no pair
        ("old2", day(2), "x"), ("old2", day(8), "y"),     # a second old identity of "new"
    ]  # fmt: skip
    engine = _engine(rows)
    cut = (START + dt.timedelta(days=10)).date()
    pairs = [("old", "new"), ("old2", "new"), ("gone", "fresh")]
    split = split_first_seen(engine, "log", pairs, cut=cut, query_days=90, prefix="fs")
    truth = {r["true_user"] if r["in_library"] else r["query_user"]: r for r in
             fetch_truth(engine, split).to_pylist()}  # fmt: skip
    # library: every row before the cut
    assert _rows(engine, split.library_table) == sorted(r for r in rows if r[1].date() < cut)
    assert split.n_library == 3 and split.n_queries == 2 and split.n_absent == 1
    # the query of "new": its first 90 days only; its true user the old identity active last
    assert "old2" in truth and truth["old2"]["in_library"]
    q_new = truth["old2"]["query_user"]
    got = [(r[1], r[2]) for r in _rows(engine, split.query_table) if r[0] == q_new]
    assert got == [(day(12), "b"), (day(40), "b")]
    # "fresh" has a pair whose old identity is not in the library: it is new
    assert sum(not r["in_library"] for r in truth.values()) == 1
    # fresh ids say nothing of the original
    assert all(r["query_user"].startswith("q-") for r in truth.values())
    drop_tables(engine, "fs")
    engine.close()


def test_first_seen_needs_a_cut_inside_the_log_and_the_truth():
    engine = _engine([("a", day(0), "x"), ("b", day(9), "y")])
    with pytest.raises(ConfigError, match="not inside the log"):
        split_first_seen(engine, "log", [], cut=dt.date(2001, 1, 1))
    with pytest.raises(ConfigError, match="--truth"):
        make_split(engine, "log", "first-seen")
    with pytest.raises(ConfigError, match="split-by"):
        make_split(engine, "log", "sideways")
    # without a cut: the day by which half of the identities were seen
    split = split_first_seen(engine, "log", [("a", "b")], prefix="x")
    assert split.query_period[0] == day(9).date() and split.n_absent == 0
    engine.close()


def test_read_identity_pairs_errors(tmp_path):
    good = tmp_path / "p.csv"
    good.write_text("old_user,new_user,gap_days\na,b,3\nc,d,1\n")
    assert read_identity_pairs(good) == [("a", "b"), ("c", "d")]
    bad = tmp_path / "bad.csv"
    bad.write_text("old,new\na,b\n")
    with pytest.raises(InputError, match="line 1"):
        read_identity_pairs(bad)
    empty = tmp_path / "e.csv"
    empty.write_text("old_user,new_user\na,\n")
    with pytest.raises(InputError, match="line 2"):
        read_identity_pairs(empty)
    with pytest.raises(InputError, match="cannot read"):
        read_identity_pairs(tmp_path / "missing.csv")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 60), st.sampled_from("abcd")),
        min_size=1,
        max_size=60,
    ),
    st.integers(1, 10),
    st.integers(0, 3),
)
def test_last_days_split_matches_a_plain_reading(events, query_days, seed):
    rows = [(f"u{u}", day(d, hour=d % 24), s) for u, d, s in events]
    engine = _engine(rows)
    split = split_last_days(engine, "log", query_days=query_days, library_fraction=0.5,
                            seed=seed, prefix="ld")  # fmt: skip
    truth = fetch_truth(engine, split).to_pylist()
    back = {r["query_user"]: r for r in truth}
    last_day = {}
    for u, ts, _ in rows:
        last_day[u] = max(last_day.get(u, ts.date()), ts.date())
    start = {u: d - dt.timedelta(days=query_days - 1) for u, d in last_day.items()}
    in_library = {r["true_user"] for r in truth if r["in_library"]}
    # every user is a query, with exactly its own last query_days days
    assert len(truth) == len(last_day)
    expected_q = sorted((u, ts, s) for u, ts, s in rows if ts.date() >= start[u])
    got_q = sorted(
        (back[u]["true_user"] if back[u]["in_library"] else _true(engine, split, u), ts, s)
        for u, ts, s in _rows(engine, split.query_table)
    )
    assert got_q == expected_q
    # the library: the drawn users' rows before their own query period, nothing else
    expected_l = sorted(r for r in rows if r[0] in in_library and r[1].date() < start[r[0]])
    assert _rows(engine, split.library_table) == expected_l
    engine.close()


def _true(engine, split, query_user):
    return engine.fetch_scalar(
        f"SELECT true_query_user FROM {split.truth_table} WHERE query_user = '{query_user}'"
    )


def test_after_cut_split_starts_each_query_at_its_own_first_row_after_the_cut():
    from netpersona.rejoin._splits import split_after_cut

    rows = [
        ("a", day(0), "x"), ("a", day(12), "x"), ("a", day(200), "y"),  # resumes at once
        ("b", day(1), "z"), ("b", day(60), "z"), ("b", day(100), "w"),  # resumes after a pause
        ("c", day(30), "n"),                                             # first seen after it
    ]  # fmt: skip
    engine = _engine(rows)
    cut = (START + dt.timedelta(days=10)).date()
    split = split_after_cut(engine, "log", cut, query_days=50, library_fraction=1.0, prefix="ac")
    truth = {r["query_user"]: r for r in fetch_truth(engine, split).to_pylist()}
    assert (split.n_library, split.n_queries, split.n_absent) == (2, 3, 1)
    assert _rows(engine, split.library_table) == sorted(r for r in rows if r[1].date() < cut)
    by_user: dict[str, list] = {}
    for q, ts, _ in _rows(engine, split.query_table):
        user = truth[q]["true_user"] if truth[q]["in_library"] else "c"
        by_user.setdefault(user, []).append(ts)
    # each query: the first 50 days from its own first row on or after the cut
    assert by_user == {"a": [day(12)], "b": [day(60), day(100)], "c": [day(30)]}
    engine.close()
