"""buycounts from purchases in a CSV, a Parquet file, SQLite, DuckDB and PostgreSQL: all agree."""

from __future__ import annotations

import json
import sqlite3
import uuid

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from netpersona import ColumnNotFoundError, InputError
from netpersona.devices import PurchaseFields, extract_features
from shared_data import postgres_or_skip

# (user, purchase time): three in May for A, one in May for B (epoch), others outside May
PURCHASES = [
    ("13800000001", "2024-05-01 00:00:00"),
    ("13800000001", "2024-05-15 12:30:00"),
    ("13800000001", "2024-05-31 23:59:59"),
    ("13800000001", "2024-06-01 00:00:00"),  # next month
    ("13800000002", "2024-04-30 23:59:59"),  # month before
    ("13800000002", "2024-05-20 08:00:00"),
    ("13800000009", "2024-05-02 10:00:00"),  # never online: no features row
]
EXPECTED = {"13800000001": 3, "13800000002": 1, "13800000003": 0}


@pytest.fixture
def reports(tmp_path):
    path = tmp_path / "reports.jsonl"
    lines = [
        {
            "username": user,
            "logontime": "2024-05-03 10:00:00",
            "logofftime": "2024-05-03 11:00:00",
            "upflow": 1,
            "downflow": 1,
        }
        for user in EXPECTED
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def buycounts(reports, source, fields=PurchaseFields()):
    result = extract_features(reports, "2024-05", purchases=source, purchase_fields=fields)
    return {row["user"]: row["buycounts"] for row in result.features.to_pylist()}


def test_csv_and_parquet(tmp_path, reports):
    csv_path = tmp_path / "p.csv"
    csv_path.write_text("username,buytime\n" + "".join(f"{u},{t}\n" for u, t in PURCHASES))
    assert buycounts(reports, csv_path) == EXPECTED
    parquet = tmp_path / "p.parquet"
    pq.write_table(
        pa.table(
            {
                "msisdn": [u for u, _ in PURCHASES],
                "paid_at": pa.array([t for _, t in PURCHASES]).cast(pa.timestamp("s")),
            }
        ),
        parquet,
    )
    fields = PurchaseFields(user="msisdn", time="paid_at")
    assert buycounts(reports, parquet, fields) == EXPECTED


def test_sqlite_table_and_query(tmp_path, reports):
    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE orders (phone TEXT, ordered_at TEXT, kind TEXT)")
        con.executemany("INSERT INTO orders VALUES (?, ?, 'data')", PURCHASES)
        con.execute("INSERT INTO orders VALUES ('13800000002', '2024-05-21 09:00:00', 'voice')")
    fields = PurchaseFields(user="phone", time="ordered_at", table="orders")
    url = f"sqlite:///{db}"
    assert buycounts(reports, url, fields)["13800000002"] == 2  # the voice order too
    query = PurchaseFields(
        user="phone",
        time="ordered_at",
        query="SELECT phone, ordered_at FROM orders WHERE kind = 'data'",
    )
    assert buycounts(reports, url, query) == EXPECTED


def test_duckdb_file(tmp_path, reports):
    db = tmp_path / "shop.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA billing")
        con.execute("CREATE TABLE billing.purchases (username VARCHAR, buytime TIMESTAMP)")
        con.executemany("INSERT INTO billing.purchases VALUES (?, ?)", PURCHASES)
    fields = PurchaseFields(table="billing.purchases")
    assert buycounts(reports, f"duckdb:///{db}", fields) == EXPECTED


def test_postgresql(reports):
    url, con = postgres_or_skip()
    table = f"purchases_{uuid.uuid4().hex[:8]}"
    try:
        con.execute(f"CREATE TABLE {table} (username TEXT, buytime TIMESTAMPTZ)")
        with con.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {table} VALUES (%s, %s::timestamp AT TIME ZONE 'UTC')", PURCHASES
            )
        assert buycounts(reports, url, PurchaseFields(table=table)) == EXPECTED
        query = PurchaseFields(query=f"SELECT username, buytime FROM {table}")
        assert buycounts(reports, url, query) == EXPECTED
    finally:
        con.execute(f"DROP TABLE IF EXISTS {table}")
        con.close()


def test_a_missing_column_is_named(tmp_path, reports):
    path = tmp_path / "p.csv"
    path.write_text("user,when\n13800000001,2024-05-02 10:00:00\n")
    with pytest.raises(ColumnNotFoundError, match="user, when"):
        buycounts(reports, path)


def test_an_unreachable_database_is_a_clear_error(reports):
    url = "postgresql://nobody:secret@127.0.0.1:1/none"
    with pytest.raises(InputError, match="nobody:\\*\\*\\*@") as err:
        buycounts(reports, url)
    assert "secret" not in str(err.value)


def test_a_missing_sqlite_file_is_an_error_and_is_not_created(tmp_path, reports):
    missing = tmp_path / "nope.db"
    with pytest.raises(InputError, match="no such SQLite database file"):
        buycounts(reports, f"sqlite:///{missing}")
    assert not missing.exists()
