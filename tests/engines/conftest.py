"""The cross-engine suite: every test here runs once per engine (DuckDB, Spark local mode).

One Spark session serves the whole test session (starting Spark takes tens of seconds on a
small machine); the Spark parameter is marked ``spark`` and skipped, with the reason, when
pyspark or Java is missing.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import pytest

from netpersona.engine import DuckDBEngine
from netpersona.engine._spark import spark_available

#: the Spark settings of the test session: small, quiet, bounded memory
TEST_SPARK_CONF = {
    "spark.sql.shuffle.partitions": "1",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.driver.memory": "3g",
    # one session serves every test: broadcasting even small tables from a driver whose heap
    # holds the earlier tests' state failed late in the run ("Not enough memory to build and
    # broadcast the table"); shuffle joins cost nothing noticeable on test-sized tables
    "spark.sql.autoBroadcastJoinThreshold": "-1",
    "spark.sql.adaptive.enabled": "false",
    # tiny test tables: compiling generated code costs more than it saves
    "spark.sql.codegen.wholeStage": "false",
    # on a busy machine Python may take more than the default 15 s to connect to the JVM's
    # result server (SPARK-33143), which fails a collect with Py4JJavaError ... getResult
    "spark.python.authenticate.socketTimeout": "120s",
}

ENGINES = [
    "duckdb",
    pytest.param("spark", marks=pytest.mark.spark),
]


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory):
    """The one Spark session of the test run (local[2])."""
    reason = spark_available()
    if reason:
        pytest.skip(f"Spark tests skipped: {reason}")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from netpersona.engine._spark import session

    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    conf = {**TEST_SPARK_CONF, "spark.sql.warehouse.dir": str(warehouse)}
    spark = session("local[2]", conf, app_name="netpersona-tests")
    spark.sparkContext.setLogLevel("ERROR")
    yield spark
    spark.stop()


def make_test_engine(kind: str, request):
    """A fresh engine of ``kind``: a new in-memory DuckDB, or the shared Spark session."""
    if kind == "duckdb":
        return DuckDBEngine(threads=2)
    from netpersona.engine import SparkEngine

    return SparkEngine(request.getfixturevalue("spark_session"), stop_on_close=False)


@pytest.fixture(params=ENGINES)
def engine(request):
    """Each test using this runs on every engine."""
    eng = make_test_engine(request.param, request)
    yield eng
    eng.close()


@pytest.fixture
def spark_engine(request):
    """The Spark engine alone (for Spark-only pieces: the distributed join, mapInPandas)."""
    eng = make_test_engine("spark", request)
    yield eng
    eng.close()


@dataclass
class Built:
    """Library and query profiles of the shared test log, built on one engine."""

    kind: str
    engine: object
    library: object
    queries: object
    library_log: object
    query_log: object


def _build(kind: str, request) -> Built:
    from _engines_data import habitual_log, split

    from netpersona.rejoin import RejoinSettings, build_profiles

    library_log, query_log = split(habitual_log(n_users=24, days=12, seed=1), query_days=4)
    eng = (
        DuckDBEngine(threads=2)
        if kind == "duckdb"
        else _spark_engine(request.getfixturevalue("spark_session"))
    )
    eng.register_arrow("lib_src", library_log)
    eng.register_arrow("qry_src", query_log)
    eng.create_table("lib_log", "SELECT * FROM lib_src")
    eng.create_table("qry_log", "SELECT * FROM qry_src")
    settings = RejoinSettings()
    lib = build_profiles(eng, "lib_log", "lib", settings)
    qry = build_profiles(eng, "qry_log", "qry", settings, reference=lib)
    return Built(kind, eng, lib, qry, library_log, query_log)


def _spark_engine(spark):
    from netpersona.engine import SparkEngine

    return SparkEngine(spark, stop_on_close=False)


@pytest.fixture(scope="session")
def duckdb_built(request) -> Built:
    """The test log's profiles on DuckDB (the reference engine)."""
    return _build("duckdb", request)


@pytest.fixture(scope="session")
def spark_built(request) -> Built:
    """The test log's profiles on Spark (built once per test session)."""
    return _build("spark", request)


@pytest.fixture(params=ENGINES)
def built(request) -> Built:
    """The test log's profiles, on each engine in turn."""
    return request.getfixturevalue(f"{request.param}_built")
