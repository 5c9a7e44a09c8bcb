"""The dialect differences, each checked by running the same DuckDB SQL on every engine.

The expected values are DuckDB's semantics, written out by hand: Spark must give them too
after :func:`netpersona.engine.translate`.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pyarrow as pa
import pytest

from netpersona._core import ConfigError
from netpersona.engine import make_engine, parse_spark_conf, translate

QUERY = r"""
SELECT
    list(site ORDER BY ts DESC, site) AS newest_first,
    list(site ORDER BY rank_, site) AS by_rank_nulls_last,
    list_cosine_similarity([1.0, 2.0, 0.0], [2.0, 4.0, 0.0]) AS cos_same,
    list_cosine_similarity([1.0, 0.0], [0.0, 3.0]) AS cos_orthogonal,
    regexp_replace('a1b2a3', 'a(\d)', '<\1$>') AS first_only,
    regexp_replace('a1b2a3', 'a(\d)', '<\1>', 'g') AS every_match,
    regexp_replace('http://x.cn/a', '^[ \t]*[A-Za-z][A-Za-z0-9+.\-]*://', '') AS no_scheme,
    epoch(TIMESTAMP '2024-03-02 01:30:00' - TIMESTAMP '2024-03-01 23:00:00') AS gap_seconds,
    epoch(TIMESTAMP '1970-01-02 00:00:00') AS day_seconds,
    dayofweek(DATE '2024-03-03') AS sunday_dow,
    isodow(DATE '2024-03-03') AS sunday_isodow,
    date_diff('day', TIMESTAMP '2024-03-01 23:59:00', TIMESTAMP '2024-03-02 00:01:00') AS days,
    date_diff('hour', TIMESTAMP '2024-03-01 10:59:00', TIMESTAMP '2024-03-01 11:00:00')
        AS hours,
    date_diff('month', DATE '2024-01-31', DATE '2024-02-01') AS months,
    hour(max(ts)) AS last_hour,
    CAST(max(ts) AS DATE) AS last_day
FROM dialect_rows
"""

EXPECTED = {
    "newest_first": ["c", "a", "b"],
    "by_rank_nulls_last": ["b", "a", "c"],
    "cos_same": 1.0,
    "cos_orthogonal": 0.0,
    "first_only": "<1$>b2a3",
    "every_match": "<1>b2<3>",
    "no_scheme": "x.cn/a",
    "gap_seconds": 9000.0,
    "day_seconds": 86400.0,
    "sunday_dow": 0,
    "sunday_isodow": 7,
    "days": 1,
    "hours": 1,
    "months": 1,
    "last_hour": 23,
    "last_day": dt.date(2024, 3, 1),
}


def test_duckdb_sql_means_the_same_on_every_engine(engine):
    rows = pa.table(
        {
            "site": ["a", "b", "c"],
            "ts": pa.array(
                [
                    dt.datetime(2024, 3, 1, 8),
                    dt.datetime(2024, 3, 1, 7),
                    dt.datetime(2024, 3, 1, 23, 59),
                ],
                pa.timestamp("us"),
            ),
            "rank_": pa.array([2, 1, None], pa.int32()),
        }
    )
    engine.register_arrow("dialect_rows", rows)
    got = engine.fetch_arrow(QUERY).to_pylist()[0]
    for key, want in EXPECTED.items():
        value = got[key]
        if isinstance(want, float):
            assert value == pytest.approx(want, abs=1e-12), key
        else:
            assert value == want, key


def test_timestamps_round_trip_as_naive_wall_time(engine):
    when = [dt.datetime(2024, 3, 31, 1, 30), dt.datetime(2024, 10, 27, 2, 30)]
    engine.register_arrow("times", pa.table({"ts": pa.array(when, pa.timestamp("us"))}))
    engine.create_table("times_copy", "SELECT ts, hour(ts) AS h FROM times")
    back = engine.fetch_arrow("SELECT ts, h FROM times_copy ORDER BY ts")
    assert back["ts"].type == pa.timestamp("us")
    assert back["ts"].to_pylist() == when
    assert back["h"].to_pylist() == [1, 2]
    # DuckDB's own catalog query, answered from Spark's catalog on Spark
    listed = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'times_copy'"
    assert engine.fetch_scalar(listed) == 1
    engine.execute("DROP TABLE IF EXISTS times_copy")
    assert engine.fetch_scalar(listed) == 0


def test_fetch_batches_hand_back_every_row_in_bounded_batches(engine):
    ids = list(range(5000))
    pairs = pa.array([[i, i + 1] for i in ids], pa.list_(pa.int64()))
    engine.register_arrow("batched_rows", pa.table({"id": ids, "pair": pairs}))
    engine.create_table("batched", "SELECT id, pair FROM batched_rows")
    batches = list(engine.fetch_batches("SELECT id, pair FROM batched", 700))
    assert len(batches) > 1
    assert max(b.num_rows for b in batches) <= 700
    rows = sorted(r for b in batches for r in zip(*b.to_pydict().values(), strict=True))
    assert rows == [(i, [i, i + 1]) for i in range(5000)]
    engine.execute("DROP TABLE IF EXISTS batched")  # the engine takes statements again


@pytest.mark.spark
def test_spark_engine_replaces_and_drops_tables(spark_engine):
    spark_engine.create_table("t_once", "SELECT 1 AS x")
    spark_engine.execute("CREATE OR REPLACE TABLE t_once AS SELECT 2 AS x")
    assert spark_engine.has_table("t_once")
    assert spark_engine.fetch_scalar("SELECT x FROM t_once") == 2
    spark_engine.execute("DROP TABLE IF EXISTS t_once")
    assert not spark_engine.has_table("t_once")


def test_translate_marks_its_output_and_leaves_it_alone():
    once = translate("SELECT list(x ORDER BY y) FROM t GROUP BY k", "spark")
    assert "ARRAY_SORT" in once and "COLLECT_LIST" in once
    assert translate(once, "spark") == once
    assert translate("SELECT 1", "duckdb") == "SELECT 1"


def test_make_engine_and_spark_conf_flags():
    engine = make_engine("duckdb")
    assert engine.dialect == "duckdb"
    engine.close()
    with pytest.raises(ConfigError, match="unknown engine"):
        make_engine("oracle")
    assert parse_spark_conf(["spark.executor.memory=4g", "a.b = c=d"]) == {
        "spark.executor.memory": "4g",
        "a.b": "c=d",
    }
    with pytest.raises(ConfigError, match="key=value"):
        parse_spark_conf(["spark.executor.memory"])


def test_importing_the_engine_package_does_not_import_pyspark():
    code = "import sys, netpersona.engine; print('pyspark' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_spark_submit_entry_point_runs_the_cli_on_spark(monkeypatch):
    import netpersona.cli
    from netpersona.cli._spark_submit import submit_main

    seen = []
    monkeypatch.setattr(netpersona.cli, "main", lambda: seen.append(list(sys.argv)))
    monkeypatch.setattr(sys, "argv", sys.argv[:])
    submit_main(["rejoin", "identify", "--queries", "hdfs:///q/", "--out", "M.csv"])
    submit_main(["rejoin", "index", "--engine", "duckdb", "logs.csv"])
    assert seen[0] == [
        "netpersona",
        "rejoin",
        "identify",
        "--queries",
        "hdfs:///q/",
        "--out",
        "M.csv",
        "--engine=spark",
    ]
    assert seen[1] == ["netpersona", "rejoin", "index", "--engine", "duckdb", "logs.csv"]


@pytest.mark.spark
def test_spark_engine_writes_parquet_directories_and_refuses_to_overwrite(spark_engine, tmp_path):
    import pyarrow.parquet as pq

    from netpersona._core import OutputExistsError

    spark_engine.create_table("to_write", "SELECT 'a' AS user_id, CAST(1.5 AS DOUBLE) AS score")
    out = tmp_path / "matches.parquet"
    spark_engine.write("to_write", str(out))
    assert pq.read_table(out).to_pylist() == [{"user_id": "a", "score": 1.5}]
    with pytest.raises(OutputExistsError):
        spark_engine.write("to_write", str(out))
    spark_engine.write("to_write", str(out), force=True)
