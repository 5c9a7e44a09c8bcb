"""Apache Spark behind the :class:`Engine` interface: the same queries on a cluster.

Statements are DuckDB SQL, translated here by :func:`netpersona.engine.translate`; text that
came out of ``translate(sql, "spark")`` already (it carries its mark) runs as is. Tables are
materialised either as checkpointed temporary views (the default: fast, lives as long as the
session) or, with ``database=``, as Parquet tables of that database (kept between runs on a
cluster with a metastore).

Times: the canonical ``ts`` is a naive local wall-clock time. Spark keeps it in ``TIMESTAMP``
with the session time zone pinned to UTC, so ``hour(ts)`` and ``CAST(ts AS DATE)`` read the wall
clock exactly as DuckDB does; results come back as naive Arrow timestamps again.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from netpersona._core import ConfigError, InputError, OutputExistsError
from netpersona.engine._base import Engine
from netpersona.engine._dialect import CATALOG_VIEW, mark, translate

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from netpersona.io import LogMapping, ReadSummary

#: settings every netpersona Spark session gets (a user's ``spark_conf`` wins over them)
DEFAULT_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.adaptive.skewJoin.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
}
#: extra settings for local mode, where the machine is usually a laptop or a CI runner
LOCAL_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.driver.memory": "2g",
}

_DROP = re.compile(r"^\s*DROP\s+(TABLE|VIEW)\s+(IF\s+EXISTS\s+)?([\w.`]+)\s*;?\s*$", re.I)
_CREATE_AS = re.compile(
    r"^\s*CREATE\s+(OR\s+REPLACE\s+)?TABLE\s+([\w.`]+)\s+AS\s+(.*)$", re.I | re.S
)
_MARK = re.compile(r"^\s*/\*[^*]*\*/\s*")


def spark_available() -> str | None:
    """None when pyspark and a Java runtime are usable here, else the reason they are not."""
    import shutil
    from importlib.util import find_spec

    if find_spec("pyspark") is None:
        return 'pyspark is not installed (pip install "netpersona[spark]")'
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        return "no Java runtime (install Java 17 or set JAVA_HOME)"
    return None


def session(
    master: str = "local[*]",
    conf: Mapping[str, str] | None = None,
    app_name: str = "netpersona",
) -> SparkSession:
    """A Spark session for ``master`` (``local[*]``, ``yarn``, ``spark://host:7077`` ...).

    An active session (e.g. under ``spark-submit``) is reused and only gets the SQL settings.
    """
    reason = spark_available()
    if reason:
        raise ConfigError(f"cannot use the Spark engine: {reason}")
    from pyspark.sql import SparkSession

    settings = dict(DEFAULT_CONF)
    submitted = bool(os.environ.get("PYSPARK_GATEWAY_PORT"))  # launched by spark-submit
    if master.startswith("local") and not submitted:
        settings.update(LOCAL_CONF)
        if not os.environ.get("PYSPARK_PYTHON") and "spark.pyspark.python" not in (conf or {}):
            # local Python workers (step 5's mapInPandas) run this interpreter, which has
            # netpersona; pyspark reads the variable when the session starts
            os.environ["PYSPARK_PYTHON"] = sys.executable
    settings.update(conf or {})
    active = SparkSession.getActiveSession()
    if active is not None:
        for key, value in settings.items():
            if key.startswith("spark.sql."):
                active.conf.set(key, value)
        return active
    builder = SparkSession.builder.appName(app_name)
    if not submitted:  # under spark-submit the JVM exists already and its --master wins
        builder = builder.master(master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


class SparkEngine(Engine):
    """An engine over a Spark session (given, or started for ``master`` with ``conf``).

    ``database``: materialise tables as Parquet tables of this database instead of
    temporary views. ``materialize`` (views only): ``"cache"`` persists a table when it is
    first used (no Spark job per statement: best for many small steps), ``"checkpoint"``
    computes it at once and cuts its lineage (timings per statement are then honest).
    ``stop_on_close``: stop the session on :meth:`close` (default: only when this engine
    started it). ``candidates``: how identification's step 2 finds candidate pairs here,
    ``"exact"`` (salted prefix-filter join) or ``"minhash"`` (banding, verified exactly; with
    ``measure_recall`` the exact join also runs, to measure its recall); each run is recorded
    in ``step2_runs``.
    """

    dialect = "spark"
    native_log_reader = True
    distributed = True

    def __init__(
        self,
        spark: SparkSession | None = None,
        *,
        master: str = "local[*]",
        conf: Mapping[str, str] | None = None,
        database: str | None = None,
        materialize: str = "cache",
        stop_on_close: bool | None = None,
        candidates: str = "exact",
        measure_recall: bool = True,
    ) -> None:
        if materialize not in ("cache", "checkpoint"):
            raise ConfigError(f"materialize must be 'cache' or 'checkpoint', not {materialize!r}")
        if candidates not in ("exact", "minhash"):
            raise ConfigError(f"candidates must be 'exact' or 'minhash', not {candidates!r}")
        self.candidates = candidates
        self.measure_recall = measure_recall
        self.step2_runs: list = []
        self.materialize = materialize
        # a session this engine starts is its own to stop; an active one (spark-submit's, a
        # notebook's, a test run's) is only borrowed
        own = spark is None and _active_session() is None
        self.spark = spark if spark is not None else session(master, conf)
        self.database = database
        self.stop_on_close = own if stop_on_close is None else stop_on_close
        self._frames: dict[str, DataFrame] = {}
        if database:
            self.spark.sql(f"CREATE DATABASE IF NOT EXISTS {database}")

    # -- the Engine interface ---------------------------------------------------------------
    def execute(self, sql: str) -> None:
        text = self.to_spark(sql)
        bare = _MARK.sub("", text)
        created = _CREATE_AS.match(bare)
        if created:  # v1 tables cannot be replaced by SQL: materialise as ours
            name, select = created.group(2).strip("`"), mark(self.dialect) + created.group(3)
            self.create_table(name, select, replace=bool(created.group(1)))
            return
        dropped = _DROP.match(bare)
        if dropped:
            self._forget(dropped.group(3).strip("`"))
        self.spark.sql(text).collect()

    def fetch_arrow(self, sql: str) -> pa.Table:
        return to_arrow(self.spark.sql(self.to_spark(sql)))

    def register_arrow(self, name: str, table: pa.Table) -> None:
        self._forget(name)
        frame = self.spark.createDataFrame(_spark_ready(table))
        frame.createOrReplaceTempView(name)
        self._frames[name] = frame

    def create_table(self, name: str, select_sql: str, replace: bool = True) -> None:
        if not replace and self.has_table(name):
            raise InputError(f"table {name!r} exists already in the Spark session")
        frame = self.spark.sql(self.to_spark(select_sql))
        self.save(name, frame)

    def has_table(self, name: str) -> bool:
        if (
            self.database
            and "." not in name
            and self.spark.catalog.tableExists(f"{self.database}.{name}")
        ):
            return True
        return bool(self.spark.catalog.tableExists(name))

    def close(self) -> None:
        for name in list(self._frames):
            self._forget(name)
        if self.stop_on_close:
            self.spark.stop()

    def read_log(
        self,
        sources: Sequence[str],
        table: str,
        mapping: LogMapping,
        *,
        from_table: str | None = None,
    ) -> ReadSummary:
        """Read paths Spark reaches (or the catalog table ``from_table``) into the canonical
        table ``table``; rows left out are counted and kept in ``<table>_rejected``."""
        from netpersona.engine._spark_read import read_logs

        return read_logs(self, list(sources), table, mapping, from_table)

    # -- Spark specifics ----------------------------------------------------------------------
    def to_spark(self, sql: str) -> str:
        """``sql`` in Spark's dialect (DuckDB SQL is translated; translated text kept)."""
        text = translate(sql, self.dialect)
        if CATALOG_VIEW in text:
            self._refresh_catalog_view()
        return text

    def _refresh_catalog_view(self) -> None:
        """DuckDB's ``information_schema.tables`` (name, type, schema) from Spark's catalog."""
        rows = [
            (
                t.name,
                "VIEW" if t.isTemporary else "BASE TABLE",
                t.namespace[0] if t.namespace else "temp",
            )
            for t in self.spark.catalog.listTables()
            if t.name != CATALOG_VIEW
        ]
        table = pa.table(
            {
                "table_name": pa.array([r[0] for r in rows], pa.string()),
                "table_type": pa.array([r[1] for r in rows], pa.string()),
                "table_schema": pa.array([r[2] for r in rows], pa.string()),
            }
        )
        self.spark.createDataFrame(_spark_ready(table)).createOrReplaceTempView(CATALOG_VIEW)

    def save(self, name: str, frame: DataFrame) -> None:
        """Materialise ``frame`` as table ``name`` (replacing it): a persisted or checkpointed
        view, or a Parquet table of ``database``, always reachable as the bare ``name``."""
        from pyspark import StorageLevel

        self._forget(name)
        if self.database:
            qualified = f"{self.database}.{name}"
            frame.write.mode("overwrite").format("parquet").saveAsTable(qualified)
            stored = self.spark.table(qualified)
        elif self.materialize == "checkpoint":
            # computed now; the lineage is cut, so a later DROP of an input cannot touch it
            stored = frame.localCheckpoint(eager=True)
            self._frames[name] = stored
        else:
            # computed on first use, then kept (memory, spilling to disk): no job per table
            stored = frame.persist(StorageLevel.MEMORY_AND_DISK)
            self._frames[name] = stored
        stored.createOrReplaceTempView(name)

    def write(self, name: str, path: str, fmt: str = "parquet", force: bool = False) -> None:
        """Write table ``name`` to ``path`` (any path Spark writes: local, ``hdfs://``,
        ``s3a://``) as a Parquet (or ``fmt="csv"``, with a header) directory of part files;
        an existing output is an error unless ``force``."""
        writer = self.frame(name).write.mode("overwrite" if force else "errorifexists")
        if fmt == "csv":
            writer = writer.option("header", "true")
        try:
            writer.format(fmt).save(path)
        except Exception as exc:
            if "already exists" in str(exc).lower() or "PATH_ALREADY_EXISTS" in str(exc):
                raise OutputExistsError(path) from None
            raise

    def frame(self, name: str) -> DataFrame:
        """Table ``name`` as a Spark DataFrame."""
        return self.spark.table(name)

    def read_source(self, name: str, source: str, fmt: str | None = None, **options) -> int:
        """Register ``source`` as view ``name`` and return its row count.

        ``source`` is a table (``db.name``) or any path Spark reads (local, ``hdfs://``,
        ``s3a://``): Parquet by default, ``fmt="csv"`` / ``"json"`` with reader ``options``.
        """
        looks_like_table = re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)?", source) is not None
        if fmt is None and looks_like_table and self.spark.catalog.tableExists(source):
            frame = self.spark.table(source)
        else:
            frame = self.spark.read.format(fmt or "parquet").options(**options).load(source)
        self._forget(name)
        frame.createOrReplaceTempView(name)
        return int(frame.count())

    def _forget(self, name: str) -> None:
        frame = self._frames.pop(name, None)
        if frame is not None:
            frame.unpersist()
        if self.database and "." not in name:
            self.spark.sql(f"DROP TABLE IF EXISTS {self.database}.{name}")
        self.spark.catalog.dropTempView(name)


def _active_session() -> SparkSession | None:
    """The active Spark session of this thread, if pyspark is here and one is running."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return None
    return SparkSession.getActiveSession()


def to_arrow(frame: DataFrame) -> pa.Table:
    """A Spark DataFrame as an Arrow table, timestamps naive (UTC session = wall time)."""
    if hasattr(frame, "toArrow"):
        table = frame.toArrow()
    else:  # pyspark 3.5
        batches = frame._collect_as_arrow()
        if batches:
            table = pa.Table.from_batches(batches)
        else:
            table = pa.Table.from_pandas(frame.limit(0).toPandas())
    columns = []
    for column, field in zip(table.columns, table.schema, strict=True):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            column = pc.cast(column, pa.timestamp(field.type.unit))
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def _spark_ready(table: pa.Table) -> pa.Table | object:
    """Arrow data Spark can take: pyspark >= 4 takes Arrow tables, older ones pandas."""
    import pyspark

    if int(pyspark.__version__.split(".")[0]) >= 4:
        return table
    return table.to_pandas()


def read_canonical_log(engine: SparkEngine, source: str, table: str = "access_log", **options):
    """One source Spark reaches into the canonical table ``table``; returns its row count
    (see ``netpersona.engine._spark_read.read_canonical_log``)."""
    from netpersona.engine._spark_read import read_canonical_log as read

    return read(engine, source, table, **options)
