"""Step 1 profiles by SQL on hand-made users, and the SQL's portability to Spark."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pyarrow as pa
import pytest
import sqlglot

from netpersona import ConfigError, InputError
from netpersona.engine import DuckDBEngine
from netpersona.rejoin import Profiles, RejoinSettings, build_profiles
from netpersona.rejoin._sql import profile_statements, render

DAY = dt.datetime(2024, 1, 1)


def _rows(user: str, day: int, hour: int, minutes, sites) -> list[tuple]:
    return [
        (user, DAY + dt.timedelta(days=day, hours=hour, minutes=m, seconds=k % 60), s)
        for k, (m, s) in enumerate(zip(minutes, sites, strict=True))
    ]


def _engine(rows: list[tuple], table: str = "log", engine=None) -> DuckDBEngine:
    engine = engine or DuckDBEngine(threads=1)
    users, ts, sites = zip(*rows, strict=True)
    engine.register_arrow(
        f"{table}_src",
        pa.table({"user_id": users, "ts": pa.array(ts, pa.timestamp("us")), "site": sites}),
    )
    engine.create_table(table, f"SELECT * FROM {table}_src")
    return engine


def _alice_and_bob() -> list[tuple]:
    rows = []
    # alice: 5 online days; a.com every day, b.com on 4, c.com on 1
    for day in range(5):
        rows += _rows("alice", day, 9, range(25), ["a.com"] * 25)  # 25 active minutes at 9h
    for day in range(4):
        rows += _rows("alice", day, 10, range(19), ["b.com"] * 19)  # only 19 minutes at 10h
    rows += _rows("alice", 0, 22, [0, 0, 1, 1, 2], ["c.com", "c.com", "a.com", "a.com", "c.com"])
    # bob: 2 days, a.com and d.com
    rows += _rows("bob", 0, 8, range(30), ["a.com", "d.com"] * 15)
    rows += _rows("bob", 1, 8, [0], ["d.com"])
    return rows


@pytest.fixture(scope="module")
def alice_and_bob():
    engine = _engine(_alice_and_bob())
    profiles = build_profiles(engine, "log", "lib")
    return engine, profiles, profiles.arrays()


def _sites(arrays, codes) -> list[str]:
    return [arrays.site_names[int(c)].as_py() for c in codes]


def test_users_sites_and_visitor_counts(alice_and_bob):
    _, profiles, arrays = alice_and_bob
    assert profiles.n_users == 2 and arrays.user_ids.to_pylist() == ["alice", "bob"]
    assert arrays.online_days.tolist() == [5, 2]
    assert arrays.site_names.to_pylist() == ["a.com", "b.com", "c.com", "d.com"]
    # V(d) = users who visited d at all; W = 1/V
    assert arrays.site_weight.tolist() == [0.5, 1.0, 1.0, 1.0]


def test_frequent_sites_need_80_percent_of_online_days(alice_and_bob):
    _, _, arrays = alice_and_bob
    assert _sites(arrays, arrays.frequent_of(0)) == ["a.com", "b.com"]  # 5/5 and 4/5 days
    assert _sites(arrays, arrays.frequent_of(1)) == ["d.com"]  # a.com on 1 of 2 days only
    assert arrays.frequent_weight.tolist() == [1.5, 1.0]


def test_hour_vector_counts_days_with_20_active_minutes(alice_and_bob):
    engine, _, arrays = alice_and_bob
    assert arrays.hours[0].tolist() == [5 if h == 9 else 0 for h in range(24)]
    assert arrays.hours[1].tolist() == [1 if h == 8 else 0 for h in range(24)]
    loose = build_profiles(engine, "log", "loose", RejoinSettings(active_minutes=1)).arrays()
    assert loose.hours[0][[9, 10, 22]].tolist() == [5, 4, 1]
    assert loose.hours[1][8] == 2


def test_site_hour_vectors_of_frequent_sites(alice_and_bob):
    _, _, arrays = alice_and_bob
    a, b = arrays.site_hours[0], arrays.site_hours[1]  # alice's a.com, b.com
    assert a[9] == 5 and a[22] == 1 and a.sum() == 6
    assert b[10] == 4 and b.sum() == 4
    assert arrays.site_hours[2][8] == 2  # bob's d.com


def test_item_sequence_collapses_consecutive_repeats(alice_and_bob):
    _, _, arrays = alice_and_bob
    bob = _sites(arrays, arrays.sequence_of(1))
    assert bob == ["a.com", "d.com"] * 15  # alternating: nothing to collapse; day 2 d.com merges
    alice = _sites(arrays, arrays.sequence_of(0))
    # per day: a.com (9h) then b.com (10h); day 0 ends with c a c at 22h; day 4 only a.com
    assert alice[:5] == ["a.com", "b.com", "c.com", "a.com", "c.com"]
    assert alice[5:] == ["a.com", "b.com"] * 3 + ["a.com"]
    assert all(x != y for x, y in itertools.pairwise(alice))


def test_query_profiles_share_library_codes_and_weights(alice_and_bob):
    engine, lib, _ = alice_and_bob
    rows = _rows("carol", 0, 9, range(3), ["new.org", "a.com", "b.com"])
    _engine(rows, "qlog", engine)
    qry = build_profiles(engine, "qlog", "qry", reference=lib).arrays()
    codes = qry.frequent_of(0)
    names = [
        (lib.arrays().site_names[c].as_py() if c < 4 else qry.site_names[c].as_py()) for c in codes
    ]
    assert sorted(names) == ["a.com", "b.com", "new.org"]
    assert codes.min() == 0 and codes.max() == 4  # a.com keeps code 0, new.org gets 4
    assert qry.site_weight[[0, 1, 4]].tolist() == [0.5, 1.0, 1.0]  # V from the library; unseen 1


def test_frequent_ratio_boundary_is_inclusive():
    rows = []
    for day in range(10):
        rows += _rows("u", day, 12, [0], ["x.com"])
        if day < 7:
            rows += _rows("u", day, 13, [0], ["y.com"])
    engine = _engine(rows)
    arrays = build_profiles(engine, "log", "p", RejoinSettings(frequent_ratio=0.7)).arrays()
    assert _sites(arrays, arrays.frequent_of(0)) == ["x.com", "y.com"]  # 7 >= 0.7 * 10


def test_reopen_from_the_engine_and_errors(alice_and_bob):
    engine, profiles, _ = alice_and_bob
    again = Profiles.open(engine, "lib")
    assert (again.n_users, again.n_sites, again.settings) == (2, 4, RejoinSettings())
    assert np.array_equal(again.arrays().hours, profiles.arrays().hours)
    with pytest.raises(InputError, match="rejoin index"):
        Profiles.open(engine, "nothing")
    with pytest.raises(InputError, match="no log table"):
        build_profiles(engine, "absent_log", "x")
    with pytest.raises(ConfigError, match="active_minutes"):
        build_profiles(engine, "log", "q", RejoinSettings(active_minutes=3), reference=profiles)


@pytest.mark.parametrize("reference", [None, "lib"])
@pytest.mark.parametrize("minutes", [1, 20])
def test_profile_sql_transpiles_to_spark(reference, minutes):
    settings = RejoinSettings(active_minutes=minutes)
    for table, select, lists in profile_statements("log", "p", settings, reference):
        spark = render(select, "spark", lists)
        sqlglot.parse_one(spark, read="spark")  # valid Spark SQL
        assert "__ordered_list" not in spark
        if lists:
            assert "COLLECT_LIST" in spark.upper() and "ARRAY_SORT" in spark.upper()
        assert table.startswith("p_")
