"""Reading a log that Spark reaches (a path or a table) gives the same canonical rows as the
DuckDB reader: user, local wall-clock time, registrable-domain site."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from netpersona.io import LogMapping, read_access_log

URLS = [
    "http://m.news.sina.com.cn/x?y=1",
    "https://a.b.example.co.uk/p#frag",
    "10.0.0.1:8080/x",
    "HTTP://User@Host.COM:80/a",
    "localhost/index.html",
    "www.baidu.com",
]


@pytest.mark.spark
def test_spark_reader_gives_the_duckdb_readers_rows(spark_engine, tmp_path):
    from netpersona.engine import DuckDBEngine
    from netpersona.engine._spark import read_canonical_log

    start = int(dt.datetime(2024, 3, 1, 15, 30, tzinfo=dt.UTC).timestamp())
    n = 60
    log = pa.table(
        {
            "user_id": pa.array([f"1380000{i % 7:04d}" for i in range(n)]),
            "ts": pa.array([start + 977 * i for i in range(n)], pa.int64()),
            "url": pa.array([URLS[i % len(URLS)] for i in range(n)]),
        }
    )
    path = tmp_path / "log.parquet"
    pq.write_table(log, path)
    zone = "Asia/Shanghai"
    with DuckDBEngine(threads=2) as duck:
        read_access_log(path, LogMapping(time_unit="s", timezone=zone), duck, table="log")
        want = duck.fetch_arrow("SELECT user_id, ts, site FROM log ORDER BY user_id, ts, site")
    rows = read_canonical_log(spark_engine, str(path), "log", time_unit="s", timezone=zone)
    got = spark_engine.fetch_arrow("SELECT user_id, ts, site FROM log ORDER BY user_id, ts, site")
    assert rows == n == want.num_rows
    assert got.to_pylist() == want.to_pylist()
    assert {"sina.com.cn", "example.co.uk", "10.0.0.1", "host.com"} <= set(got["site"].to_pylist())
    # the same rows read back as a table of the session's catalog (--table db.name)
    spark_engine.spark.read.parquet(str(path)).write.mode("overwrite").saveAsTable("np_log_tbl")
    try:
        again = read_canonical_log(spark_engine, "np_log_tbl", "log2", time_unit="s", timezone=zone)
        assert again == n
    finally:
        spark_engine.spark.sql("DROP TABLE IF EXISTS np_log_tbl")


@pytest.mark.spark
def test_spark_reader_keeps_the_rows_it_leaves_out_with_the_reason(spark_engine, tmp_path):
    from netpersona.engine._spark import read_canonical_log

    log = pa.table(
        {
            "user_id": pa.array(["13800000001", None, "13800000003", "13800000004"]),
            "ts": pa.array(["2024-03-01 10:00:00", "2024-03-01 10:01:00", "not a time", None]),
            "site": pa.array(["a.com", "b.com", "c.com", "d.com"]),
        }
    )
    path = tmp_path / "bad.parquet"
    pq.write_table(log, path)
    rows = read_canonical_log(spark_engine, str(path), "badlog", url_col=None, site_col="site")
    assert rows == 1
    kept = spark_engine.fetch_arrow(
        "SELECT reason, raw_user, raw_time, raw_site FROM badlog_rejected ORDER BY raw_site"
    ).to_pylist()
    assert [(r["reason"], r["raw_site"]) for r in kept] == [
        ("no user id", "b.com"),
        ("time missing, not a time, or out of range", "c.com"),
        ("time missing, not a time, or out of range", "d.com"),
    ]
    assert kept[1]["raw_time"] == "not a time"


@pytest.mark.spark
def test_read_log_asks_the_spark_engine_and_reports_what_it_left_out(spark_engine, tmp_path):
    """io.read_log never imports the engine: it asks a Spark engine to read, and the rows left
    out come back counted in the summary, kept in the table it names."""
    from netpersona.io import LogTable, read_log

    log = pa.table(
        {
            "user_id": pa.array(["13800000001", None, "13800000003"]),
            "ts": pa.array(["2024-03-01 10:00:00", "2024-03-01 10:01:00", "2024-03-01 10:02:00"]),
            "site": pa.array(["a.com", "b.com", "c.com"]),
        }
    )
    path = tmp_path / "two.parquet"
    pq.write_table(log, path)
    mapping = LogMapping(url_col=None, site_col="site")
    summary = read_log([str(path), str(path)], mapping, spark_engine, "twice")
    assert (summary.rows, summary.rejected, summary.rejected_table) == (4, 2, "twice_rejected")
    assert spark_engine.fetch_scalar("SELECT count(*) FROM twice_rejected") == 2
    # a catalog table read through the same call (--table db.name)
    spark_engine.spark.read.parquet(str(path)).write.mode("overwrite").saveAsTable("np_two")
    try:
        again = read_log(LogTable("np_two"), mapping, spark_engine, "from_table")
        assert (again.rows, again.rejected) == (2, 1)
    finally:
        spark_engine.spark.sql("DROP TABLE IF EXISTS np_two")
