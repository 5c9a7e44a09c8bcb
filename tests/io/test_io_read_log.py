"""io.read_log: the one way to read a log, for files and for a table of the engine."""

from __future__ import annotations

import pytest
from io_logs import write_log

from netpersona._core import ConfigError, InputError, UsageError
from netpersona.io import LogMapping, LogTable, log_source, read_log

CSV = "user_id,ts,url\nu1,2024-01-01 08:00:00,https://www.example.co.uk/a\n"


def test_files_and_a_table_of_the_engine_give_the_same_rows(tmp_path, engine):
    path = write_log(tmp_path / "log.csv", CSV + "u2,2024-01-01 09:00:00,news.bbc.co.uk\n")
    files = read_log([path], engine=engine, table="from_files")
    assert (files.rows, files.rejected) == (2, 0)
    engine.execute("CREATE SCHEMA raw")
    engine.execute(f"CREATE TABLE raw.access AS SELECT * FROM read_csv('{path}')")
    table = read_log(LogTable("raw.access"), engine=engine, table="from_table")
    assert table.rows == 2 and table.files == ()
    want = engine.fetch_arrow("SELECT * FROM from_files ORDER BY ALL").to_pylist()
    assert engine.fetch_arrow("SELECT * FROM from_table ORDER BY ALL").to_pylist() == want
    assert {r["site"] for r in want} == {"example.co.uk", "bbc.co.uk"}


def test_a_missing_table_is_a_clear_error(engine):
    with pytest.raises(InputError, match=r"no table 'nosuch' in workspace w\.duckdb"):
        read_log(LogTable("nosuch"), engine=engine, where="workspace w.duckdb")


@pytest.mark.parametrize("name", ["x; DROP TABLE y", "a.b.c", "1abc", 'a"b', ""])
def test_table_names_are_checked_not_pasted(name):
    with pytest.raises(ConfigError, match="is not a table name"):
        LogTable(name)


def test_urls_need_an_engine_that_reads_them(tmp_path, engine):
    with pytest.raises(InputError, match="DuckDB reads local files only"):
        read_log(["s3a://bucket/logs/day1.csv"], engine=engine)


def test_log_source_checks_what_a_command_names(tmp_path):
    path = write_log(tmp_path / "log.csv", CSV)
    assert log_source([path]) == [str(path)]
    assert log_source(["hdfs:///logs/"]) == ["hdfs:///logs/"]  # left to the engine
    assert log_source(None, "db.t") == LogTable("db.t")
    with pytest.raises(UsageError, match="not both"):
        log_source([path], "db.t")
    with pytest.raises(UsageError, match="no input"):
        log_source([], None)
    with pytest.raises(InputError, match="no such file"):
        log_source([tmp_path / "absent.csv"])


def test_without_an_engine_the_read_is_checked_and_counted(tmp_path):
    text = CSV + "u2,yesterday,x.com\n" + "u3,2024-01-01 10:00:00,y.org\n" * 200
    summary = read_log(write_log(tmp_path / "log.csv", text), LogMapping())
    assert (summary.rows, summary.rejected, summary.reasons) == (201, 1, {"bad time": 1})
    assert summary.quarantine is not None and summary.quarantine.exists()


def _parquet_log(tmp_path, engine):
    """A Parquet log of real rows (Gowalla check-ins) plus one row without a user."""
    from shared_data import shared_file

    source = shared_file("access_logs/gowalla_u1000.csv.gz")
    path = tmp_path / "log.parquet"
    engine.execute(
        "COPY (SELECT CAST(user_id AS VARCHAR) AS user_id, ts, CAST(site AS VARCHAR) AS site "
        f"FROM read_csv('{source}') UNION ALL SELECT NULL, TIMESTAMP '2010-01-01', 'x') "
        f"TO '{path}' (FORMAT parquet)"
    )
    return path


def test_a_parquet_log_read_in_place_is_a_view_of_the_same_rows(tmp_path, engine):
    """in_place: no copy of a Parquet log, the same good rows, the bad one still set aside."""
    path = _parquet_log(tmp_path, engine)
    mapping = LogMapping(site_col="site")
    copied = read_log(path, mapping, engine, "copied", quarantine=tmp_path / "a.csv")
    viewed = read_log(path, mapping, engine, "viewed", quarantine=tmp_path / "b.csv",
                      in_place=True)  # fmt: skip
    assert (viewed.rows, viewed.rejected) == (copied.rows, copied.rejected) == (143_337, 1)
    assert viewed.reasons == {"missing user": 1}
    kinds = engine.fetch_arrow(
        "SELECT table_name, table_type FROM information_schema.tables ORDER BY table_name"
    ).to_pylist()
    assert [(k["table_name"], k["table_type"]) for k in kinds] == [
        ("copied", "BASE TABLE"),
        ("viewed", "VIEW"),
        ("viewed__sites", "BASE TABLE"),
    ]  # fmt: skip  (the staging views and tables are gone)
    same = "SELECT * FROM {} EXCEPT ALL SELECT * FROM {}"
    assert engine.fetch_scalar(f"SELECT count(*) FROM ({same.format('copied', 'viewed')})") == 0
    assert engine.fetch_scalar(f"SELECT count(*) FROM ({same.format('viewed', 'copied')})") == 0
    # read again in place over the view (replaced), and over a table of that name
    assert read_log(path, mapping, engine, "copied", quarantine=tmp_path / "c.csv",
                    in_place=True).rows == 143_337  # fmt: skip


def test_a_parquet_log_is_read_inside_an_open_transaction(tmp_path, engine):
    """The workspace appends a log inside its transaction: staging a Parquet file as a view
    and dropping it afterwards must not abort it."""
    path = _parquet_log(tmp_path, engine)
    engine.execute("CREATE TABLE log (user_id VARCHAR, ts TIMESTAMP, site VARCHAR)")
    engine.execute("BEGIN TRANSACTION")
    read = read_log(path, LogMapping(site_col="site"), engine, "log", append=True,
                    quarantine=tmp_path / "q.csv")  # fmt: skip
    engine.execute("COMMIT")
    assert read.rows == engine.fetch_scalar("SELECT count(*) FROM log") == 143_337
