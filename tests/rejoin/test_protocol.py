"""The paper's split: library period vs query period, random library, fresh query ids."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netpersona._core import ConfigError, InputError
from netpersona.engine import DuckDBEngine
from netpersona.rejoin._protocol import (
    draw_library,
    drop_tables,
    fresh_query_ids,
    parse_window,
    split_log,
)

START = dt.datetime(2013, 11, 4)


def _exists(engine, name: str) -> bool:
    """Whether table ``name`` exists (read fully: leaves no open result on the connection)."""
    return bool(
        engine.fetch_scalar(
            f"SELECT count(*) FROM information_schema.tables WHERE table_name = '{name}'"
        )
    )


def _log(engine: DuckDBEngine, rows: list[tuple[str, dt.datetime, str]], table="log") -> str:
    engine.register_arrow(
        f"{table}_rows",
        pa.table(
            {
                "user_id": pa.array([r[0] for r in rows], pa.string()),
                "ts": pa.array([r[1] for r in rows], pa.timestamp("us")),
                "site": pa.array([r[2] for r in rows], pa.string()),
            }
        ),
    )
    engine.create_table(table, f"SELECT * FROM {table}_rows")
    return table


def _daily_log(n_users: int = 40, days: int = 20) -> list[tuple[str, dt.datetime, str]]:
    """User i is active on days where (day + i) % 3 != 0, plus users only active late/early."""
    rows = []
    for i in range(n_users):
        for day in range(days):
            if (day + i) % 3:
                ts = START + dt.timedelta(days=day, hours=8 + i % 10, minutes=i % 60)
                rows.append((f"user{i:03d}", ts, f"site{(i + day) % 7}.com"))
    for day in range(days - 2, days):  # newcomers: only in the last days
        rows.append(("late-joiner", START + dt.timedelta(days=day, hours=23, minutes=59), "x.com"))
    rows.append(("early-leaver", START + dt.timedelta(hours=1), "y.com"))
    return rows


@pytest.fixture
def engine():
    eng = DuckDBEngine(threads=1)
    yield eng
    eng.close()


def test_no_query_period_row_leaks_into_the_library(engine):
    table = _log(engine, _daily_log())
    split = split_log(engine, table, query_days=5, library_fraction=0.7, seed=3)
    assert split.window == (START.date(), (START + dt.timedelta(days=19)).date())
    assert split.query_period == (dt.date(2013, 11, 19), dt.date(2013, 11, 23))
    assert split.library_period == (dt.date(2013, 11, 4), dt.date(2013, 11, 18))
    boundary = dt.datetime(2013, 11, 19)
    lib_max = engine.fetch_scalar(f"SELECT max(ts) FROM {split.library_table}")
    qry_min = engine.fetch_scalar(f"SELECT min(ts) FROM {split.query_table}")
    assert lib_max < boundary <= qry_min
    # the library holds *all* library-period rows of its users, and nothing else
    expected_lib_rows = engine.fetch_scalar(
        f"SELECT count(*) FROM {table} WHERE ts < TIMESTAMP '2013-11-19' AND user_id IN "
        f"(SELECT DISTINCT user_id FROM {split.library_table})"
    )
    assert engine.fetch_scalar(f"SELECT count(*) FROM {split.library_table}") == expected_lib_rows
    # the queries hold every query-period row, re-labelled
    expected_qry_rows = engine.fetch_scalar(
        f"SELECT count(*) FROM {table} WHERE ts >= TIMESTAMP '2013-11-19'"
    )
    assert engine.fetch_scalar(f"SELECT count(*) FROM {split.query_table}") == expected_qry_rows


def test_counts_and_truth(engine):
    table = _log(engine, _daily_log())
    split = split_log(engine, table, query_days=5, library_fraction=0.7, seed=3)
    # 40 regular users + early-leaver are active before the query period
    assert split.n_library_active == 41
    assert split.n_library == round(0.7 * 41)
    assert split.n_queries == 41  # 40 regular users + late-joiner
    truth = engine.fetch_arrow(f"SELECT * FROM {split.truth_table}").to_pylist()
    assert len(truth) == split.n_queries
    library = set(
        engine.fetch_arrow(f"SELECT DISTINCT user_id FROM {split.library_table}")
        .column("user_id")
        .to_pylist()
    )
    for row in truth:
        assert row["in_library"] == (row["true_user"] in library)
    late = next(r for r in truth if r["true_user"] == "late-joiner")
    assert late["in_library"] is False
    assert split.n_absent == sum(not r["in_library"] for r in truth)
    # query rows carry the fresh id of their true user
    per_query = engine.fetch_arrow(
        f"SELECT q.user_id, count(*) AS n FROM {split.query_table} q GROUP BY 1"
    ).to_pylist()
    assert {r["user_id"] for r in per_query} == {r["query_user"] for r in truth}


def test_fresh_ids_are_deterministic_and_unlinkable(engine):
    table = _log(engine, _daily_log())
    a = split_log(engine, table, seed=11, prefix="a")
    b = split_log(engine, table, seed=11, prefix="b")
    c = split_log(engine, table, seed=12, prefix="c")
    truth = {
        name: engine.fetch_arrow(
            f"SELECT query_user, true_user FROM {s.truth_table} ORDER BY query_user"
        ).to_pylist()
        for name, s in (("a", a), ("b", b), ("c", c))
    }
    assert truth["a"] == truth["b"]
    assert truth["a"] != truth["c"]
    for row in truth["a"]:
        assert row["true_user"] not in row["query_user"]
        assert row["query_user"].startswith("q-")
    # numbering does not follow the original ids' order
    originals = [row["true_user"] for row in truth["a"]]
    assert originals != sorted(originals)
    # the same rows under the same ids for the same seed
    rows = [
        engine.fetch_arrow(f"SELECT * FROM {s.query_table} ORDER BY ALL").to_pylist()
        for s in (a, b)
    ]
    assert rows[0] == rows[1]


def test_drop_tables_removes_a_split(engine):
    table = _log(engine, _daily_log(n_users=5, days=8))
    split = split_log(engine, table, query_days=2, prefix="gone")
    drop_tables(engine, "gone")
    for name in (split.library_table, split.query_table, split.truth_table):
        assert not _exists(engine, name)
    assert _exists(engine, table)


@given(st.sets(st.text(min_size=1, max_size=12), min_size=1, max_size=60), st.integers(0, 9))
@settings(max_examples=60, deadline=None)
def test_fresh_ids_depend_only_on_the_number_of_users(users, seed):
    ids = fresh_query_ids(sorted(users), seed)
    assert sorted(ids.values()) == [f"q-{i:06d}" for i in range(1, len(users) + 1)]
    assert ids == fresh_query_ids(sorted(users, reverse=True), seed)


@given(st.sets(st.text(min_size=1, max_size=8), min_size=1, max_size=80), st.floats(0.01, 1.0))
@settings(max_examples=60, deadline=None)
def test_library_draw_size_and_determinism(users, fraction):
    users = sorted(users)
    drawn = draw_library(users, fraction, seed=5)
    assert len(drawn) == round(fraction * len(users))
    assert set(drawn) <= set(users)
    assert drawn == draw_library(list(reversed(users)), fraction, seed=5)


def test_window_restricts_both_periods(engine):
    table = _log(engine, _daily_log())
    window = parse_window("2013-11-06..2013-11-15")
    split = split_log(engine, table, query_days=3, window=window, library_fraction=1.0)
    assert split.query_period == (dt.date(2013, 11, 13), dt.date(2013, 11, 15))
    lo, hi = (
        engine.fetch_arrow(f"SELECT min(ts) AS lo, max(ts) AS hi FROM {split.library_table}")
        .to_pylist()[0]
        .values()
    )
    assert lo >= dt.datetime(2013, 11, 6) and hi < dt.datetime(2013, 11, 13)
    assert engine.fetch_scalar(f"SELECT max(ts) FROM {split.query_table}") < dt.datetime(
        2013, 11, 16
    )


@pytest.mark.parametrize("text", ["2004-04-15", "2004-04-15..x", "2004-06-13..2004-04-15"])
def test_bad_window_is_a_clear_error(text):
    with pytest.raises(ConfigError, match="window"):
        parse_window(text)


def test_impossible_splits_are_clear_errors(engine):
    table = _log(engine, _daily_log(n_users=3, days=4))
    with pytest.raises(ConfigError, match="no library period"):
        split_log(engine, table, query_days=4)
    with pytest.raises(ConfigError, match="library_fraction"):
        split_log(engine, table, query_days=1, library_fraction=0.0)
    with pytest.raises(InputError, match="no user is active"):
        split_log(engine, table, window=parse_window("2013-11-01..2013-11-03"), query_days=1)
    empty = _log(engine, [], table="empty")
    with pytest.raises(InputError, match="no rows"):
        split_log(engine, empty)


def _collegemsg(engine: DuckDBEngine, shared_data) -> str:
    path = shared_data / "access_logs" / "collegemsg.txt"
    if not path.exists():
        pytest.skip(f"real data file {path} is absent on this machine")
    engine.create_table(
        "college",
        "SELECT CAST(column0 AS VARCHAR) AS user_id, make_timestamp(column2 * 1000000) AS ts, "
        f"CAST(column1 AS VARCHAR) AS site FROM read_csv('{path}', delim=' ', header=false)",
    )
    return "college"


def test_collegemsg_protocol_figures(engine, shared_data):
    """data/README.md: window 2004-04-15..2004-06-13, t = 5: library 1,196 users, 390 queries,
    356 of them in the library, 34 new -- with the whole library period's users as the library."""
    table = _collegemsg(engine, shared_data)
    window = parse_window("2004-04-15..2004-06-13")
    split = split_log(engine, table, query_days=5, library_fraction=1.0, window=window)
    assert (split.n_library, split.n_queries, split.n_absent) == (1196, 390, 34)
    assert split.n_queries - split.n_absent == 356
    sampled = split_log(
        engine, table, query_days=5, library_fraction=0.8, window=window, seed=1, prefix="s"
    )
    assert sampled.n_library == round(0.8 * 1196)
    assert sampled.n_queries == 390
    # 34 newcomers plus the returning users left out of the library by the draw
    assert sampled.n_absent > 34


@given(
    st.lists(
        st.tuples(st.integers(0, 12), st.integers(0, 20 * 24 * 60 - 1), st.integers(0, 4)),
        min_size=1,
        max_size=120,
    ),
    st.integers(1, 6),
    st.floats(0.1, 1.0),
    st.integers(0, 3),
)
@settings(max_examples=40, deadline=None)
def test_split_property_no_leak_and_every_row_accounted_for(events, query_days, fraction, seed):
    rows = [
        (f"u{u}", START + dt.timedelta(minutes=minute), f"s{site}.com")
        for u, minute, site in events
    ]
    engine = DuckDBEngine(threads=1)
    try:
        table = _log(engine, rows)
        last_day = max(r[1] for r in rows).date()
        first_day = min(r[1] for r in rows).date()
        if (last_day - first_day).days + 1 <= query_days:
            with pytest.raises(ConfigError):
                split_log(engine, table, query_days=query_days)
            return
        split = split_log(
            engine, table, query_days=query_days, library_fraction=fraction, seed=seed
        )
        boundary = dt.datetime.combine(split.query_period[0], dt.time())
        lib = engine.fetch_arrow(f"SELECT * FROM {split.library_table}").to_pylist()
        qry = engine.fetch_arrow(f"SELECT * FROM {split.query_table}").to_pylist()
        truth = {
            r["query_user"]: r
            for r in engine.fetch_arrow(f"SELECT * FROM {split.truth_table}").to_pylist()
        }
        assert all(r["ts"] < boundary for r in lib)
        assert all(r["ts"] >= boundary for r in qry)
        assert len(qry) == sum(1 for r in rows if r[1] >= boundary)
        library_users = {r["user_id"] for r in lib}
        assert len(library_users) == split.n_library
        # a library user keeps all its library-period rows
        assert len(lib) == sum(1 for r in rows if r[1] < boundary and r[0] in library_users)
        for row in qry:
            entry = truth[row["user_id"]]
            assert entry["in_library"] == (entry["true_user"] in library_users)
        assert split.n_absent == sum(not t["in_library"] for t in truth.values())
    finally:
        engine.close()
