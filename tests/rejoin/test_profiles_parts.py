"""Step 1 in parts by user, and a Parquet log read in place, give exactly the one-pass results.

A large log is profiled a range of users at a time (``rejoin._profiles_parts``) and a Parquet
log is read where it lies (a view, no copy), so that neither spills the whole log to the
temporary folder. Here the part size is set low on real check-ins (Gowalla, 704 users) so that
the parted build runs in many parts, and both are held to the one-pass tables and to the same
evaluation figures.
"""

from __future__ import annotations

import duckdb
import pytest
from test_profile_sql import built_tables

from netpersona.engine import DuckDBEngine
from netpersona.io import LogMapping
from netpersona.rejoin import Library, RejoinSettings, build_profiles, evaluate
from netpersona.rejoin import _profiles_parts as parts
from netpersona.rejoin._sql import code_statements, render
from shared_data import shared_file

CONFIG = RejoinSettings(active_minutes=1, frequent_ratio=0.3)


def _gowalla(engine: DuckDBEngine, table: str = "log") -> int:
    path = str(shared_file("access_logs/gowalla_u1000.csv.gz"))
    engine.create_table(
        table,
        "SELECT CAST(user_id AS VARCHAR) AS user_id, ts, CAST(site AS VARCHAR) AS site "
        f"FROM read_csv('{path}')",
    )
    return int(engine.fetch_scalar(f"SELECT count(*) FROM {table}"))


def _figures(evaluation) -> dict:
    doc = evaluation.to_json()
    doc.pop("seconds_total")
    for step in doc["steps"]:
        step.pop("seconds")
    return doc


def test_parts_build_the_same_profiles(monkeypatch):
    engine = DuckDBEngine(threads=2)
    try:
        rows = _gowalla(engine)
        engine.create_table("qry", "SELECT 'q' || user_id AS user_id, ts, site FROM log "
                                   "WHERE ts >= TIMESTAMP '2010-06-01'")  # fmt: skip
        lib = build_profiles(engine, "log", "whole", CONFIG)
        build_profiles(engine, "qry", "whole_q", CONFIG, reference=lib)
        monkeypatch.setattr(parts, "PART_ROWS", rows // 9)
        used = []
        ranges = parts.user_ranges
        monkeypatch.setattr(parts, "user_ranges", lambda *a: used.append(ranges(*a)) or used[-1])
        lib_p = build_profiles(engine, "log", "parted", CONFIG)
        build_profiles(engine, "qry", "parted_q", CONFIG, reference=lib_p)
        assert built_tables(engine, "parted") == built_tables(engine, "whole")
        assert built_tables(engine, "parted_q") == built_tables(engine, "whole_q")
        assert [len(r) for r in used] == [9, 4]  # the library in 9 parts, the queries in 4
        assert (lib_p.n_users, lib_p.n_sites) == (lib.n_users, lib.n_sites) == (704, 22909)
    finally:
        engine.close()


def test_user_ranges_cover_every_user_once_in_parts_of_about_the_size(monkeypatch):
    engine = DuckDBEngine(threads=2)
    try:
        rows = _gowalla(engine)
        for table, select, lists in code_statements("log", "c"):
            engine.create_table(table, render(select, "duckdb", lists))
        ranges = parts.user_ranges(engine, "c", rows // 9)
        counted = engine.fetch_arrow("SELECT user_id, count(*) AS n FROM log GROUP BY user_id")
        per_user = {r["user_id"]: r["n"] for r in counted.to_pylist()}
        users = sorted(per_user, key=lambda u: u.encode())
        assert 9 <= len(ranges) <= 10
        covered = [u for lo, hi in ranges for u in users if lo <= u <= hi]
        assert covered == users  # contiguous, disjoint, in order, none left out
        biggest = max(per_user.values())
        for lo, hi in ranges:
            size = sum(n for u, n in per_user.items() if lo <= u <= hi)
            assert size <= rows // 9 + biggest
        assert parts.user_ranges(engine, "c", rows) == [(users[0], users[-1])]
    finally:
        engine.close()


@pytest.mark.parametrize(("part_rows", "query_days"), [(7_000, 30), (40_000, 90)])
def test_parts_give_the_same_evaluation(part_rows, query_days):
    engine = DuckDBEngine(threads=2)
    try:
        _gowalla(engine)
        options = {"query_days": query_days, "library_fraction": 0.8, "settings": CONFIG}
        whole = _figures(evaluate(engine, "log", prefix="a", **options))
        before, parts.PART_ROWS = parts.PART_ROWS, part_rows
        try:
            parted = _figures(evaluate(engine, "log", prefix="b", **options))
        finally:
            parts.PART_ROWS = before
        assert parted == whole
        assert whole["n_queries"] > 100 and whole["acc_overall"] > 0.2
    finally:
        engine.close()


@pytest.fixture
def gowalla_parquet(tmp_path):
    path = tmp_path / "gowalla.parquet"
    source = str(shared_file("access_logs/gowalla_u1000.csv.gz"))
    duckdb.sql(
        "COPY (SELECT CAST(user_id AS VARCHAR) AS user_id, ts, CAST(site AS VARCHAR) AS site "
        f"FROM read_csv('{source}')) TO '{path}' (FORMAT parquet)"
    )
    return path, source


def test_parquet_read_in_place_gives_the_same_evaluation(gowalla_parquet, monkeypatch):
    """evaluate on a Parquet log: the log table is a view of the file (no copy), the library
    and query logs views of it, and the figures those of the same log read from CSV."""
    parquet, csv = gowalla_parquet
    mapping = LogMapping(site_col="site")
    engine = DuckDBEngine(threads=2)
    try:
        on_parquet = Library.evaluate(parquet, mapping, engine=engine, query_days=60,
                                      settings=CONFIG)  # fmt: skip
        listed = engine.fetch_arrow("SELECT table_name, table_type FROM information_schema.tables")
        kinds = {r["table_name"]: r["table_type"] for r in listed.to_pylist()}
        assert kinds["access_log"] == "VIEW"
        assert not any(name.startswith("_np_") for name in kinds)  # staging dropped
    finally:
        engine.close()
    monkeypatch.setattr(parts, "PART_ROWS", 20_000)
    on_csv = Library.evaluate(csv, mapping, query_days=60, settings=CONFIG)
    assert _figures(on_parquet) == _figures(on_csv)
    assert on_parquet.reads[0].rows == on_csv.reads[0].rows == 143_337
