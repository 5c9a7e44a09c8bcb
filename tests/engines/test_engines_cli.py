"""The engine flags through the command line (``--engine``, ``--spark-master``,
``--spark-conf``, ``--table``, ``--candidates``): the same MATCHES.csv from DuckDB and Spark,
Parquet-directory outputs, table inputs, and the error cases.

Spark runs in the test session's shared local session (the CLI borrows the active session and
leaves it running); every Spark test is marked ``spark``.
"""

from __future__ import annotations

import csv

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from _engines_data import habitual_log, split
from typer.testing import CliRunner

from netpersona._core import (
    ConfigError,
    InputError,
    OutputExistsError,
    ResourceError,
    UsageError,
)
from netpersona.cli import app
from netpersona.engine import Workspace

runner = CliRunner()
SITE = ["--site-col", "site"]
SCORES = ("score", "simi_one", "simi_two", "simi_three", "simi_four")
SPARK = ["--engine", "spark"]


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli_logs")
    library, queries = split(habitual_log(n_users=24, days=12, seed=1), query_days=4)
    pacsv.write_csv(library, folder / "library.csv")
    pacsv.write_csv(queries, folder / "queries.csv")
    pq.write_table(queries, folder / "queries.parquet")
    return folder


@pytest.fixture(scope="module")
def duckdb_matches(logs):
    out = logs / "duckdb_matches.csv"
    result = _identify(logs, out)
    assert result.exit_code == 0, result.output
    return _rows(out)


def _identify(logs, out, *extra: str, queries: str = "queries.csv"):
    args = ["rejoin", "identify", "--library", str(logs / "library.csv"), *SITE]
    if "--table" not in extra:
        args += ["--queries", str(logs / queries)]
    return runner.invoke(app, [*args, "--out", str(out), "--top-k", "2", *extra])


def _rows(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _assert_same_matches(got: list[dict], want: list[dict]) -> None:
    assert len(got) == len(want) > 0
    for a, b in zip(got, want, strict=True):
        for column, value in b.items():
            if column in SCORES and value != "":
                assert abs(float(a[column]) - float(value)) <= 1e-9, column
            else:
                assert a[column] == value, column


@pytest.fixture
def spark(spark_session):
    """The shared session; Spark SQL settings a test changes are put back afterwards."""
    before = spark_session.conf.get("spark.sql.shuffle.partitions")
    yield spark_session
    spark_session.conf.set("spark.sql.shuffle.partitions", before)


# -- identify: the same MATCHES.csv on both engines ------------------------------------------


@pytest.mark.spark
def test_identify_on_spark_writes_the_same_matches_csv_as_duckdb(spark, logs, duckdb_matches):
    out = logs / "spark_matches.csv"
    result = _identify(logs, out, *SPARK)
    assert result.exit_code == 0, result.output
    _assert_same_matches(_rows(out), duckdb_matches)
    # step 2 ran as Spark's exact join, and the command says so
    assert "step 2 on Spark (exact)" in result.output
    again = _identify(logs, out, *SPARK)  # an existing output is refused before any work
    assert isinstance(again.exception, OutputExistsError)


@pytest.mark.spark
def test_identify_on_spark_writes_a_parquet_directory(spark, logs, duckdb_matches, tmp_path):
    out = tmp_path / "matches"  # no .csv: a Parquet directory of part files
    result = _identify(logs, out, *SPARK, queries="queries.parquet")
    assert result.exit_code == 0, result.output
    assert out.is_dir() and list(out.glob("*.parquet"))
    table = pq.read_table(out)
    rows = [
        {k: "" if v is None else (str(v) if not isinstance(v, float) else v) for k, v in r.items()}
        for r in table.to_pylist()
    ]
    rows.sort(key=lambda r: (r["query_user"], int(r["rank"])))
    want = sorted(duckdb_matches, key=lambda r: (r["query_user"], int(r["rank"])))
    assert [r["query_user"] for r in rows] == [r["query_user"] for r in want]
    assert [r["library_user"] for r in rows] == [r["library_user"] for r in want]
    got_scores = np.array([np.nan if r["score"] == "" else r["score"] for r in rows], float)
    want_scores = np.array([np.nan if r["score"] == "" else r["score"] for r in want], float)
    np.testing.assert_allclose(got_scores, want_scores, rtol=0, atol=1e-9, equal_nan=True)
    refused = _identify(logs, out, *SPARK, queries="queries.parquet")
    assert isinstance(refused.exception, OutputExistsError)
    forced = _identify(logs, out, *SPARK, "--force", queries="queries.parquet")
    assert forced.exit_code == 0, forced.output


@pytest.mark.spark
def test_minhash_candidates_report_their_recall(spark, logs, duckdb_matches, tmp_path):
    out = tmp_path / "m.csv"
    result = _identify(logs, out, *SPARK, "--candidates", "minhash")
    assert result.exit_code == 0, result.output
    assert "step 2 on Spark (minhash)" in result.output
    recall = float(result.output.split("MinHash recall ")[1].split()[0])
    # 32 bands of 4 hashes find a pair at the threshold with 1 - (1 - 0.6^4)^32 = 0.988
    assert 0.9 <= recall <= 1.0
    if recall == 1.0:  # every exact pair found: the verdicts are DuckDB's
        _assert_same_matches(_rows(out), duckdb_matches)


# -- index, workspace and --table on both engines --------------------------------------------


@pytest.mark.parametrize("kind", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_index_then_identify_from_a_table(kind, request, logs, duckdb_matches, tmp_path):
    """The library indexed into a workspace (DuckDB file / Spark database), the queries read
    from a table of it: the same MATCHES as from files."""
    if kind == "spark":
        spark = request.getfixturevalue("spark")
        workspace = "np_cli_test"
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {workspace}")
        queries = pq.read_table(logs / "queries.parquet")
        frame = spark.createDataFrame(queries.to_pandas())
        frame.write.mode("overwrite").saveAsTable(f"{workspace}.query_log")
        flags, table = [*SPARK, "--force"], f"{workspace}.query_log"
    else:
        workspace = str(tmp_path / "ws.duckdb")
        flags, table = [], "query_log"
    index = runner.invoke(
        app,
        ["rejoin", "index", str(logs / "library.csv"), *SITE, "--workspace", workspace, *flags],
    )
    assert index.exit_code == 0, index.output
    if kind == "duckdb":
        with Workspace(workspace) as ws:
            ws.register_arrow("q", pacsv.read_csv(logs / "queries.csv"))
            ws.execute("CREATE TABLE query_log AS SELECT * FROM q")
    out = tmp_path / "m.csv"
    args = ["rejoin", "identify", "--workspace", workspace, *SITE, "--table", table]
    result = runner.invoke(app, [*args, "--out", str(out), "--top-k", "2", *flags[:2]])
    assert result.exit_code == 0, result.output
    _assert_same_matches(_rows(out), duckdb_matches)


@pytest.mark.spark
def test_spark_index_refuses_to_replace_a_library_without_force(spark, logs):
    args = ["rejoin", "index", str(logs / "library.csv"), *SITE, "--workspace", "np_cli_twice"]
    first = runner.invoke(app, [*args, *SPARK, "--force"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, [*args, *SPARK])
    assert isinstance(again.exception, OutputExistsError)


@pytest.mark.spark
def test_spark_conf_reaches_the_session(spark, logs, tmp_path):
    out = tmp_path / "m.csv"
    flags = [*SPARK, "--spark-master", "local[2]", "--spark-conf", "spark.sql.shuffle.partitions=3"]
    result = _identify(logs, out, *flags)
    assert result.exit_code == 0, result.output
    assert spark.conf.get("spark.sql.shuffle.partitions") == "3"


@pytest.mark.spark
def test_evaluate_gives_the_same_metrics_on_both_engines(spark, tmp_path):
    import json

    log = habitual_log(n_users=24, days=12, seed=2)
    pacsv.write_csv(log, tmp_path / "log.csv")
    metrics = {}
    for kind in ("duckdb", "spark"):
        out = tmp_path / f"{kind}.json"
        args = ["rejoin", "evaluate", str(tmp_path / "log.csv"), *SITE, "--query-days", "4"]
        result = runner.invoke(app, [*args, "--json", str(out), "--engine", kind])
        assert result.exit_code == 0, result.output
        metrics[kind] = json.loads(out.read_text())
    for key in ("acc_overall", "acc_present", "acc_absent", "n_library", "n_queries"):
        assert metrics["spark"][key] == metrics["duckdb"][key], key


# -- devices features --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def device_month(tmp_path_factory):
    from netpersona.synth.devices import write_device_reports

    out = tmp_path_factory.mktemp("devices") / "d"
    write_device_reports(out, users=60, month="2024-05", seed=3)
    return out


def _features(month_dir, out, *extra):
    args = ["devices", "features", "--month", "2024-05", "--out", str(out)]
    if "--table" not in extra:
        args += ["--reports", str(month_dir / "reports.jsonl.gz")]
        args += ["--purchases", str(month_dir / "purchases.csv")]
    return runner.invoke(app, [*args, *extra])


@pytest.mark.spark
def test_devices_features_on_spark_equal_duckdb(spark, device_month, tmp_path):
    duck, sprk = tmp_path / "duck.csv", tmp_path / "spark.csv"
    for out, extra in ((duck, []), (sprk, SPARK)):
        result = _features(device_month, out, *extra)
        assert result.exit_code == 0, result.output
    assert sprk.read_bytes() == duck.read_bytes()  # the very same CSV
    folder = tmp_path / "features.parquet"  # on Spark a Parquet directory
    result = _features(device_month, folder, *SPARK)
    assert result.exit_code == 0, result.output
    assert folder.is_dir()
    from netpersona.devices import read_features

    got = read_features(folder).sort_by("user")
    want = pacsv.read_csv(
        duck, convert_options=pacsv.ConvertOptions(column_types={"user": pa.string()})
    )
    assert got["user"].to_pylist() == want["user"].to_pylist()
    np.testing.assert_allclose(got["avgontime"].to_numpy(), want["avgontime"].to_numpy(), atol=1e-9)


@pytest.mark.parametrize("kind", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_devices_features_from_a_sessions_table(kind, request, device_month, tmp_path):
    from netpersona.devices import read_sessions

    sessions = read_sessions(device_month / "reports.jsonl.gz").select(
        ["user_id", "logon", "logoff", "up", "down"]
    )
    want = tmp_path / "want.csv"
    result = runner.invoke(
        app,
        ["devices", "features", "--month", "2024-05", "--out", str(want),
         "--reports", str(device_month / "reports.jsonl.gz")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    if kind == "spark":
        spark = request.getfixturevalue("spark")
        spark.sql("CREATE DATABASE IF NOT EXISTS np_cli_test")
        spark.createDataFrame(sessions.to_pandas()).write.mode("overwrite").saveAsTable(
            "np_cli_test.sessions"
        )
        extra = [*SPARK, "--table", "np_cli_test.sessions"]
    else:
        ws = tmp_path / "ws.duckdb"
        with Workspace(ws) as w:
            w.register_arrow("s", sessions)
            w.execute("CREATE TABLE sessions AS SELECT * FROM s")
        extra = ["--table", "sessions", "--workspace", str(ws)]
    got = tmp_path / "got.csv"
    result = _features(device_month, got, *extra)
    assert result.exit_code == 0, result.output
    assert got.read_bytes() == want.read_bytes()


# -- errors ------------------------------------------------------------------------------------


def test_minhash_needs_spark(logs, tmp_path):
    result = _identify(logs, tmp_path / "m.csv", "--candidates", "minhash")
    assert isinstance(result.exception, UsageError)  # exit 2
    assert "--engine spark" in str(result.exception)
    assert not (tmp_path / "m.csv").exists()


def test_spark_flags_need_spark(logs, tmp_path):
    result = _identify(logs, tmp_path / "m.csv", "--spark-conf", "spark.executor.memory=4g")
    assert isinstance(result.exception, UsageError)
    assert "--engine spark" in str(result.exception)


def test_a_missing_table_on_duckdb_is_a_clear_error(logs, tmp_path):
    ws = tmp_path / "ws.duckdb"
    index = runner.invoke(
        app, ["rejoin", "index", str(logs / "library.csv"), *SITE, "--workspace", str(ws)]
    )
    assert index.exit_code == 0, index.output
    result = runner.invoke(
        app,
        ["rejoin", "identify", "--workspace", str(ws), "--table", "nosuch", *SITE,
         "--out", str(tmp_path / "m.csv")],
    )  # fmt: skip
    assert isinstance(result.exception, InputError)
    assert "no table 'nosuch'" in str(result.exception)


def test_missing_spark_extra_says_how_to_install_it(logs, tmp_path, monkeypatch):
    import netpersona.engine._spark as spark_module

    monkeypatch.setattr(
        spark_module,
        "spark_available",
        lambda: 'pyspark is not installed (pip install "netpersona[spark]")',
    )
    result = _identify(logs, tmp_path / "m.csv", *SPARK)
    assert isinstance(result.exception, ResourceError)  # the environment lacks it: exit 4
    assert 'pip install "netpersona[spark]"' in str(result.exception)


def test_bad_spark_conf_is_a_clear_error(logs, tmp_path):
    result = _identify(logs, tmp_path / "m.csv", *SPARK, "--spark-conf", "no-equals-sign")
    assert isinstance(result.exception, ConfigError)
    assert "key=value" in str(result.exception)


def test_missing_input_file_is_a_clear_error(logs, tmp_path):
    result = _identify(logs, tmp_path / "m.csv", queries="nosuch.csv")
    assert isinstance(result.exception, InputError)
    assert "nosuch.csv" in str(result.exception)


# -- spark-submit's entry point ----------------------------------------------------------------


@pytest.mark.spark
def test_submit_main_runs_a_command_on_spark(spark, logs, duckdb_matches, tmp_path):
    """What `spark-submit netpersona/cli/_spark_submit.py rejoin identify ...` runs in the driver:
    the command line, on the Spark engine (it adds --engine=spark)."""
    from netpersona.cli._spark_submit import submit_main

    out = tmp_path / "m.csv"
    with pytest.raises(SystemExit) as done:
        submit_main(
            ["rejoin", "identify", "--library", str(logs / "library.csv"), "--queries",
             str(logs / "queries.csv"), *SITE, "--top-k", "2", "--out", str(out)]
        )  # fmt: skip
    assert done.value.code in (0, None)
    _assert_same_matches(_rows(out), duckdb_matches)
