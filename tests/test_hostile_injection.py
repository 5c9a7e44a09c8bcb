"""Hostile input, part 1: nothing a user types reaches SQL as SQL (issue #17).

Each case is an attack that worked before: it must now end in a declared error (ConfigError)
and leave the target untouched, or run harmlessly as data.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "customers"))
from customers_helpers import system_writer

from netpersona import ConfigError, InputError
from netpersona._core import check_name, check_size, quote_identifier
from netpersona.customers import load_system
from netpersona.customers._expr import evaluate
from netpersona.devices import PurchaseFields
from netpersona.devices._purchases import check_select, load_purchases
from netpersona.engine import DuckDBEngine, Workspace

HOSTILE_NAMES = [
    "x\" FROM customers_src; COPY (SELECT 1) TO '/tmp/pwned.csv'; --",
    'a"b',
    "1abc",
    "",
    "spaces in name",
    "x" * 65,
    "naïve",
    "name\n",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_indicator_name_in_a_system_file_is_refused(tmp_path, name):
    import json

    more = f"""
[[indicators]]
name = {json.dumps(name)}
dimension = "current"
expr = "days + 1"
[indicators.score]
method = "quantile"
"""
    path = system_writer(tmp_path)(more)
    with pytest.raises(ConfigError, match=r"indicator (name .* is not allowed|#4 needs a name)"):
        load_system(path)


def test_evaluate_refuses_a_hostile_name_even_when_called_directly(tmp_path):
    table = pd.DataFrame({"days": [1, 2]})
    target = tmp_path / "pwned.csv"
    name = f"x\" FROM customers_src; COPY (SELECT 1) TO '{target}'; --"
    with pytest.raises(ConfigError, match="not allowed"):
        evaluate(table, {name: "days + 1"})
    assert not target.exists()
    # a plain name still works, and gives the values
    assert evaluate(table, {"next_day": "days + 1"})["next_day"].tolist() == [2, 3]


def test_quoting_doubles_the_engines_quote_character():
    con = duckdb.connect()
    alias = quote_identifier('we"ird')
    assert con.execute(f"SELECT 1 AS {alias}").description[0][0] == 'we"ird'
    assert quote_identifier("a`b", "spark") == "`a``b`"


@pytest.mark.parametrize("bad", ["1GB'; COPY (SELECT 1) TO 'x.csv'; --", "lots", "2 GB GB", ""])
def test_a_memory_limit_that_is_not_a_size_is_refused_before_any_sql(bad):
    with pytest.raises(ConfigError, match="is not a size"):
        check_size(bad)
    with pytest.raises(ConfigError, match="is not a size"):
        DuckDBEngine(memory_limit=bad or "x")


def test_a_valid_memory_limit_is_applied():
    with DuckDBEngine(memory_limit="512 mb") as engine:
        assert engine.fetch_scalar("SELECT current_setting('memory_limit')").startswith("48")


@pytest.mark.parametrize(
    "query",
    [
        "SELECT phone, ordered_at FROM orders; DROP TABLE orders",
        "DELETE FROM orders",
        "UPDATE orders SET kind = 'x'",
        "INSERT INTO orders VALUES ('1', '2', '3')",
        "CREATE TABLE stolen AS SELECT * FROM orders",
        "DROP TABLE orders",
        "ATTACH '/tmp/x.db' AS x",
        "PRAGMA writable_schema = 1",
        "SELECT * INTO stolen FROM orders",
        "not sql at all (",
        "   ",
    ],
)
def test_purchases_query_must_be_one_read_only_select(tmp_path, query):
    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE orders (phone TEXT, ordered_at TEXT, kind TEXT)")
        con.execute("INSERT INTO orders VALUES ('13800000001', '2024-05-01 10:00:00', 'data')")
    fields = PurchaseFields(user="phone", time="ordered_at", query=query)
    with DuckDBEngine() as engine, pytest.raises(ConfigError, match="one read-only SELECT"):
        load_purchases(engine, f"sqlite:///{db}", fields)
    with sqlite3.connect(db) as con:  # the table is whole
        assert con.execute("SELECT count(*), min(kind) FROM orders").fetchone() == (1, "data")


def test_a_select_with_a_cte_or_union_is_accepted():
    assert check_select("WITH a AS (SELECT 1 AS x) SELECT x FROM a UNION SELECT 2")


def test_a_duckdb_purchases_query_cannot_read_other_files(tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("user_id,ts\n13800000001,2024-05-01 00:00:00\n")
    db = tmp_path / "shop.duckdb"
    duckdb.connect(str(db)).close()
    fields = PurchaseFields(user="user_id", time="ts", query=f"SELECT * FROM read_csv('{secret}')")
    with DuckDBEngine() as engine, pytest.raises(InputError, match=r"(?i)external access|disabled"):
        load_purchases(engine, f"duckdb:///{db}", fields)


def test_the_ledger_binds_table_names_and_refuses_odd_spellings(tmp_path):
    log = tmp_path / "day.csv"
    log.write_text("user_id,ts,url\n13800000001,2024-05-01 10:00:00,http://a.com/\n")
    with Workspace(tmp_path / "w.duckdb") as ws:
        ws.ingest([log])
        assert ws.ingested("access_log'; DROP TABLE access_log; --") == []
        assert len(ws.ingested("ACCESS_LOG")) == 1  # one table, however it is spelt
        for name in ('"access_log"', "access_log; DROP TABLE x", "a-b"):
            with pytest.raises(ConfigError, match="--table"):
                ws.ingest([log], table=name)
        again = ws.ingest([log], table="Access_Log")
        assert again.rows == 0 and len(again.skipped) == 1  # the dedupe holds
        assert ws.fetch_scalar("SELECT count(*) FROM access_log") == 1


def test_the_build_marker_binds_its_values(tmp_path):
    with DuckDBEngine() as engine:
        Workspace.mark(engine, 3, True, "it's; DROP TABLE x; --")
        state = Workspace.state_of(engine)
    assert (state.version, state.complete, state.what) == (3, True, "it's; DROP TABLE x; --")


def test_check_name_accepts_plain_names():
    assert check_name("_a1", "x") == "_a1"
