"""Step 1 for a small query log in this process equals the engine's SQL step 1, part by part.

The service and a CLI run on a small query file profile the queries with NumPy
(:mod:`netpersona.rejoin._profiles_local`) instead of the dozen SQL statements. The random-log
property (ties, bursts, minute and hour boundaries, a missing field) is part of
``test_profile_sql``'s; these tests hold the two to the same arrays on real check-in data and
to the same verdicts through :class:`netpersona.rejoin.Library`.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from _core_data import habitual_log, split_log
from pyarrow import csv as pacsv
from test_profile_sql import _load, assert_same_arrays

from netpersona.engine import DuckDBEngine
from netpersona.io import LogMapping
from netpersona.rejoin import Library, RejoinSettings, build_profiles
from netpersona.rejoin._profiles_local import _library_sites, local_query_profiles
from shared_data import shared_file


def _both(engine, lib, table: str, config: RejoinSettings):
    sql = build_profiles(engine, table, "qry", config, reference=lib)
    rows = engine.fetch_arrow(f"SELECT user_id, ts, site FROM {table}")
    local = local_query_profiles(rows, lib, config, "qry_local")
    return local, sql


def test_local_step_one_on_real_check_ins():
    """Gowalla check-ins (real, sparse, venues as sites): a library of 150 users' first 40
    days, queries from everybody's later days (many venues the library never saw)."""
    table = pacsv.read_csv(
        shared_file("access_logs/gowalla_u1000.csv.gz"),
        convert_options=pacsv.ConvertOptions(
            column_types={"user_id": pa.string(), "ts": pa.timestamp("us"), "site": pa.string()}
        ),
    )
    users = sorted(set(table["user_id"].to_pylist()))[:200]
    table = table.filter(pc.is_in(table["user_id"], pa.array(users)))
    cut = pa.scalar(pc.min(table["ts"]).as_py() + dt.timedelta(days=40), pa.timestamp("us"))
    early = pc.less(table["ts"], cut)
    in_library = pc.is_in(table["user_id"], pa.array(users[:150]))
    engine = DuckDBEngine(threads=1)
    try:
        engine.register_arrow("lib_src", table.filter(pc.and_(in_library, early)))
        engine.create_table("lib_log", "SELECT * FROM lib_src")
        engine.register_arrow("qry_src", table.filter(pc.invert(early)))
        engine.create_table("qry_log", "SELECT 'new-' || user_id AS user_id, ts, site FROM qry_src")
        config = RejoinSettings(active_minutes=1, frequent_ratio=0.3)
        lib = build_profiles(engine, "lib_log", "lib", config)
        local, sql = _both(engine, lib, "qry_log", config)
        arrays = local.arrays()
        assert local.n_users > 50  # many users, many venues unseen by the library
        assert int(pc.sum(pc.is_valid(arrays.site_names[lib.n_sites :])).as_py()) > 100
        assert len(arrays.frequent_sites) > 0 and arrays.hours.sum() > 0
        assert_same_arrays(arrays, sql.arrays())
    finally:
        engine.close()


def test_library_identify_answers_as_before(tmp_path):
    """Library.identify (paper method) profiles small query logs locally; its MATCHES rows
    equal those of identification on the SQL-built query profiles."""
    library_part, query_part, _ = split_log(habitual_log(30, 15, seed=3), query_days=4)
    lib_file, q_file = tmp_path / "library.csv", tmp_path / "queries.csv"
    pacsv.write_csv(library_part, lib_file)
    pacsv.write_csv(query_part, q_file)
    mapping = LogMapping(site_col="site")
    with Library.from_log(lib_file, mapping) as library:
        fast = library.identify(q_file, mapping, top_k=2)
        assert not library._scratch_profiles  # no SQL step 1 ran for the queries
        slow = library.identify(library.profile_queries(q_file, mapping), top_k=2)
    assert fast.matches.num_rows > 0
    assert fast.matches.to_pylist() == slow.matches.to_pylist()
    assert sum(r["decision"] == "match" for r in fast.matches.to_pylist()) >= 5


def test_library_site_codes_are_kept_with_the_arrays():
    engine = DuckDBEngine(threads=1)
    try:
        _load(engine, "lib_log", [("u", pa.scalar(0, pa.timestamp("us")).as_py(), "a.com")])
        lib = build_profiles(engine, "lib_log", "lib")
        first = _library_sites(lib)
        assert first == {"a.com": 0}
        assert _library_sites(lib) is first
    finally:
        engine.close()


@pytest.mark.parametrize("n_rows", [0])
def test_an_empty_query_log(n_rows):
    engine = DuckDBEngine(threads=1)
    try:
        _load(engine, "lib_log", [("u", pa.scalar(0, pa.timestamp("us")).as_py(), "a.com")])
        lib = build_profiles(engine, "lib_log", "lib")
        empty = pa.table(
            {
                "user_id": pa.array([], pa.string()),
                "ts": pa.array([], pa.timestamp("us")),
                "site": pa.array([], pa.string()),
            }
        )
        local = local_query_profiles(empty, lib, RejoinSettings(), "q")
        assert local.n_users == n_rows
    finally:
        engine.close()
