"""Step 1's SQL equals a plain-Python reading of the paper's rules, table for table.

Random canonical logs are built to hit what the ordered pass must get right: same-timestamp
requests to several sites (ties broken by site code), same-second repeats, sites interleaved
within a minute, requests on both sides of minute and hour boundaries, a user with one request,
rows with a missing field (ignored). Library and query profile sets are checked; the query set
takes the library's site codes and V(d) and codes unseen sites after them, and the in-process
step 1 for small query logs (`rejoin._profiles_local`) must give the same arrays.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpersona.engine import DuckDBEngine
from netpersona.rejoin import RejoinSettings, build_profiles
from netpersona.rejoin._profiles_local import local_query_profiles

START = dt.datetime(2024, 5, 6, 22, 58, 0)
SITES = ("a.com", "b.org", "c.net", "d.cn", "e.io")
USERS = ("u0", "u1", "u2", "u3")

Row = tuple[str | None, dt.datetime | None, str | None]


# -- the reference --------------------------------------------------------------------------
def reference_sites(rows: list[Row], library: dict[str, tuple[int, int]] | None) -> dict:
    """site -> (site_id, n_users): codes in site order (a library) or the library's codes with
    unseen sites numbered after them in site order and V = 0 (a query set)."""
    visitors: dict[str, set[str]] = defaultdict(set)
    for user, _ts, site in rows:
        visitors[site].add(user)
    if library is None:
        return {s: (i, len(visitors[s])) for i, s in enumerate(sorted(visitors))}
    fresh = sorted(s for s in visitors if s not in library)
    coded = {s: library[s] for s in visitors if s in library}
    coded.update({s: (len(library) + i, 0) for i, s in enumerate(fresh)})
    return coded


def reference_tables(
    log: list[Row], config: RejoinSettings, library: dict[str, tuple[int, int]] | None = None
) -> dict[str, list[tuple]]:
    """Every profile table, as sorted row tuples, straight from the paper's definitions."""
    rows = [r for r in log if None not in r]
    sites = reference_sites(rows, library)
    uid = {u: i for i, u in enumerate(sorted({r[0] for r in rows}))}
    code = {s: c for s, (c, _n) in sites.items()}
    per_user: dict[str, list[tuple[dt.datetime, int]]] = defaultdict(list)
    for user, ts, site in rows:
        per_user[user].append((ts, code[site]))
    tables: dict[str, list[tuple]] = defaultdict(list)
    for user, visits in per_user.items():
        u = uid[user]
        visits.sort()  # by time, ties by site code
        days = {ts.date() for ts, _ in visits}
        tables["users"].append((u, user, len(days), visits[0][0], visits[-1][0]))
        site_days, site_hours, minutes = defaultdict(set), defaultdict(set), defaultdict(set)
        for ts, s in visits:
            site_days[s].add(ts.date())
            site_hours[s, ts.hour].add(ts.date())
            minutes[ts.date(), ts.hour].add(ts.minute)
        frequent = {
            s: len(d)
            for s, d in site_days.items()
            if len(d) >= config.frequent_ratio * len(days) - 1e-9
        }
        tables["frequent"] += [(u, s, n) for s, n in frequent.items()]
        tables["site_hours"] += [
            (u, s, h, len(d)) for (s, h), d in site_hours.items() if s in frequent
        ]
        active = [h for (_day, h), m in minutes.items() if len(m) >= config.active_minutes]
        tables["hours"] += [(u, h, active.count(h)) for h in set(active)]
        items = [s for s, _ in itertools.groupby(s for _ts, s in visits)]
        tables["sequences"].append((u, items))
    tables["sites"] = [(c, s, n) for s, (c, n) in sites.items()]
    return {name: sorted(table) for name, table in tables.items()}


# -- the SQL build ---------------------------------------------------------------------------
def _load(engine: DuckDBEngine, table: str, rows: list[Row]) -> None:
    users, stamps, sites = (list(c) for c in zip(*rows, strict=True))
    engine.register_arrow(
        f"{table}_src",
        pa.table(
            {
                "user_id": pa.array(users, pa.string()),
                "ts": pa.array(stamps, pa.timestamp("us")),
                "site": pa.array(sites, pa.string()),
            }
        ),
    )
    engine.create_table(table, f"SELECT * FROM {table}_src")


def built_tables(engine: DuckDBEngine, name: str) -> dict[str, list[tuple]]:
    """The profile set's tables as sorted row tuples (lists kept in their order)."""
    out = {}
    for part in ("users", "sites", "frequent", "hours", "site_hours", "sequences"):
        table = engine.fetch_arrow(f"SELECT * FROM {name}_{part}")
        out[part] = sorted(tuple(row.values()) for row in table.to_pylist())
    return out


def assert_same_arrays(local, sql) -> None:
    """Every part identification reads equal: the in-process step 1 and the SQL one (its
    sequences fetched from the engine first)."""
    sql.load_sequences()
    assert local.user_ids.to_pylist() == sql.user_ids.to_pylist()
    np.testing.assert_array_equal(local.online_days, sql.online_days)
    assert local.first_ts.to_pylist() == sql.first_ts.to_pylist()
    assert local.last_ts.to_pylist() == sql.last_ts.to_pylist()
    np.testing.assert_array_equal(local.frequent_indptr, sql.frequent_indptr)
    np.testing.assert_array_equal(local.frequent_sites, sql.frequent_sites)
    np.testing.assert_array_equal(local.site_hours, sql.site_hours)
    np.testing.assert_array_equal(local.hours, sql.hours)
    np.testing.assert_array_equal(local.sequence_indptr, sql.sequence_indptr)
    np.testing.assert_array_equal(local.sequence_items, sql.sequence_items)
    assert local.site_names.to_pylist() == sql.site_names.to_pylist()
    np.testing.assert_array_equal(local.site_weight, sql.site_weight)


# -- random logs -----------------------------------------------------------------------------
#: offsets (ms) around the 22:58, 22:59, 23:00 and 23:01 minute starts: requests fall on
#: both sides of minute boundaries and of the 23h hour boundary, many in the same second
_OFFSETS = st.one_of(
    st.integers(0, 1_000),
    st.integers(59_000, 61_000),
    st.integers(119_000, 121_000),
    st.integers(179_000, 181_000),
    st.integers(0, 240_000),
)


@st.composite
def logs(draw) -> list[Row]:
    """A small canonical log: bursts of requests, several days, one single-request user."""
    rows: list[Row] = []
    for _ in range(draw(st.integers(1, 30))):
        user = draw(st.sampled_from(USERS[:3]))
        day = draw(st.integers(0, 3))
        base = START + dt.timedelta(days=day, milliseconds=draw(_OFFSETS))
        for _ in range(draw(st.integers(1, 4))):  # a burst: same second or a few ms apart
            step = draw(st.sampled_from([0, 0, 1, 250]))
            base += dt.timedelta(milliseconds=step)
            rows.append((user, base, draw(st.sampled_from(SITES))))
    rows.append((USERS[3], START + dt.timedelta(days=draw(st.integers(0, 3))), SITES[0]))
    if draw(st.booleans()):  # a row with a missing field is not part of any profile
        rows.append((USERS[0], None, SITES[1]))
    return draw(st.permutations(rows))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    library=logs(),
    query=logs(),
    minutes=st.sampled_from([1, 2, 3]),
    ratio=st.sampled_from([0.5, 0.8, 1.0]),
)
def test_profile_tables_equal_the_reference(library, query, minutes, ratio):
    config = RejoinSettings(active_minutes=minutes, frequent_ratio=ratio)
    engine = DuckDBEngine(threads=2)
    try:
        _load(engine, "lib_log", library)
        lib = build_profiles(engine, "lib_log", "lib", config)
        expected = reference_tables(library, config)
        assert built_tables(engine, "lib") == expected
        assert lib.n_users == len(expected["users"])

        _load(engine, "qry_log", [(f"q{u}", ts, s) for u, ts, s in query])
        qry = build_profiles(engine, "qry_log", "qry", config, reference=lib)
        codes = {s: (c, n) for c, s, n in expected["sites"]}
        want = reference_tables([(f"q{u}", ts, s) for u, ts, s in query], config, codes)
        assert built_tables(engine, "qry") == want
        # the in-process step 1 for small query logs (the service's) gives the same arrays
        rows = engine.fetch_arrow("SELECT user_id, ts, site FROM qry_log")
        local = local_query_profiles(rows, lib, config, "qry_local")
        assert_same_arrays(local.arrays(), qry.arrays())
    finally:
        engine.close()


def test_ties_and_interleaving_by_hand():
    """Two requests in the same microsecond are ordered by site code; a b a in one second
    stays three items; a repeat across a day boundary merges."""
    t = START.replace(hour=23, minute=59, second=59)
    log: list[Row] = [
        ("u", t, "b.org"),
        ("u", t, "a.com"),  # same instant: a.com (code 0) before b.org
        ("u", t + dt.timedelta(milliseconds=5), "a.com"),
        ("u", t + dt.timedelta(milliseconds=900), "a.com"),
        ("u", t + dt.timedelta(seconds=1), "a.com"),  # next day, same site: merged
        ("v", t, "c.net"),
    ]
    engine = DuckDBEngine(threads=1)
    try:
        _load(engine, "log", log)
        build_profiles(engine, "log", "p", RejoinSettings(active_minutes=1))
        tables = built_tables(engine, "p")
    finally:
        engine.close()
    assert tables == reference_tables(log, RejoinSettings(active_minutes=1))
    assert tables["sequences"] == [(0, [0, 1, 0]), (1, [2])]
    assert tables["users"][0][2] == 2  # u online on two days
