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

if __name__ == "__main__":
    # run as a script (spark-submit of this file): Python put this folder first on the path,
    # where our _duckdb.py would shadow duckdb's own _duckdb module
    _HERE = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from netpersona._core import ConfigError, InputError, OutputExistsError
from netpersona.engine._base import Engine
from netpersona.engine._dialect import CATALOG_VIEW, mark, translate

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

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


def read_canonical_log(
    engine: SparkEngine,
    source: str,
    table: str = "access_log",
    *,
    user_col: str = "user_id",
    time_col: str = "ts",
    url_col: str | None = "url",
    site_col: str | None = None,
    fmt: str | None = None,
    time_unit: str | None = None,
    timezone: str = "UTC",
    options: Mapping[str, str] | None = None,
) -> int:
    """Read an access log that Spark can reach into the canonical table ``table``
    (``user_id STRING, ts TIMESTAMP local wall time, site STRING``); returns its row count.

    ``source``: a table (``db.name``) or any path Spark reads (``hdfs://``, ``s3a://``, local),
    Parquet unless ``fmt`` says ``csv``/``json`` (``options`` go to the reader). Times: a
    timestamp column is taken as wall time already; epoch numbers (``time_unit`` ``s`` or
    ``ms``) and strings with an offset are instants shown in ``timezone``. Sites: ``site_col``
    as given (lower-cased), else the registrable domain of ``url_col``'s host, by the same
    code as the DuckDB reader (host cut in SQL, Public Suffix List once per distinct host on
    the driver). Rows without user, time or site are left out of ``table`` and kept, with the
    reason and their raw values, in ``<table>_rejected`` (absent when there are none).
    """
    from netpersona.io._sites import authority_sql, sites_for_hosts

    raw = f"{table}__raw"
    engine.read_source(raw, source, fmt, **dict(options or {}))
    frame = engine.frame(raw)
    kinds = dict(frame.dtypes)
    for column in (user_col, time_col, site_col or url_col):
        if column not in kinds:
            raise InputError(
                f"no column {column!r} in {source}; it has {', '.join(kinds)}",
                path=source,
                column=column,
                hint="name the columns with --user-col / --time-col / --url-col / --site-col",
            )
    t = f"`{time_col}`"
    zone = timezone.replace("'", "")
    if kinds[time_col].startswith("timestamp"):  # NTZ (naive Parquet) read as wall time too
        ts = f"CAST({t} AS TIMESTAMP)"
    elif time_unit in ("s", "ms") or kinds[time_col] in ("int", "bigint", "double", "float"):
        seconds = f"CAST({t} AS DOUBLE)" + (" / 1000" if time_unit == "ms" else "")
        ts = f"from_utc_timestamp(timestamp_micros(CAST({seconds} * 1000000 AS BIGINT)), '{zone}')"
    else:  # ISO text: with an offset it is an instant, without one it is wall time already
        ts = (
            f"CASE WHEN {t} RLIKE '(Z|[+-][0-9]{{2}}:?[0-9]{{2}})$' "
            f"THEN from_utc_timestamp(try_to_timestamp({t}), '{zone}') "
            f"ELSE try_to_timestamp({t}) END"
        )
    user = f"CAST(`{user_col}` AS STRING)"
    if site_col:
        sites_join, site = "", f"lower(CAST(`{site_col}` AS STRING))"
    else:
        authority = translate(authority_sql(f'CAST("{url_col}" AS VARCHAR)'), engine.dialect)
        hosts_table = f"{table}__hosts"
        engine.create_table(
            f"{table}__authority",
            mark(engine.dialect)
            + f"SELECT *, {_MARK.sub('', authority)} AS authority__ FROM {raw}",
        )
        authorities = engine.fetch_arrow(
            f"SELECT DISTINCT authority__ AS authority FROM {table}__authority"
        )["authority"].to_pylist()
        engine.register_arrow(
            hosts_table,
            pa.table(
                {
                    "authority": pa.array(authorities, pa.string()),
                    "site": pa.array(sites_for_hosts(authorities), pa.string()),
                }
            ),
        )
        raw = f"{table}__authority"
        sites_join = f"LEFT JOIN {hosts_table} AS h ON h.authority = r.authority__"
        site = "h.site"
    source_column = f"`{site_col or url_col}`"
    engine.create_table(
        f"{table}__typed",
        mark(engine.dialect)
        + f"""SELECT {user} AS user_id, {ts} AS ts, {site} AS site,
            CAST(`{user_col}` AS STRING) AS raw_user, CAST({t} AS STRING) AS raw_time,
            CAST({source_column} AS STRING) AS raw_site
        FROM {raw} AS r {sites_join}""",
    )
    engine.create_table(
        table,
        f"""SELECT user_id, ts, site FROM {table}__typed
        WHERE user_id IS NOT NULL AND ts IS NOT NULL AND site IS NOT NULL""",
    )
    # rows left out are kept, with the reason, in <table>_rejected (dropped when there are none)
    rejected = f"{table}_rejected"
    literal = "'" + source.replace("'", "''") + "'"
    engine.create_table(
        rejected,
        f"""SELECT {literal} AS source,
            CASE WHEN user_id IS NULL THEN 'no user id'
                 WHEN ts IS NULL THEN 'time missing or not a time'
                 ELSE 'no site (missing, or no registrable domain)' END AS reason,
            raw_user, raw_time, raw_site
        FROM {table}__typed
        WHERE user_id IS NULL OR ts IS NULL OR site IS NULL""",
    )
    rows = int(engine.fetch_scalar(f"SELECT count(*) FROM {table}"))
    if not int(engine.fetch_scalar(f"SELECT count(*) FROM {rejected}")):
        engine.execute(f"DROP TABLE IF EXISTS {rejected}")
    engine.execute(f"DROP TABLE IF EXISTS {table}__typed")
    for scratch in (f"{table}__raw", f"{table}__authority", f"{table}__hosts"):
        engine.execute(f"DROP VIEW IF EXISTS {scratch}")
    return rows


def submit_main(argv: list[str] | None = None) -> None:
    """Entry point for ``spark-submit <this file> <netpersona command> ...``: runs the
    netpersona command line in the submitted driver, on the Spark engine unless the command
    names one."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--engine" not in args and not any(a.startswith("--engine=") for a in args):
        args.append("--engine=spark")
    sys.argv = ["netpersona", *args]
    from netpersona.cli import main

    main()


if __name__ == "__main__":
    submit_main()
