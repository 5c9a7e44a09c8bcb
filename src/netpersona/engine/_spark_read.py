"""Spark's own log reader: any path Spark reaches (local, ``hdfs://``, ``s3a://``) or a table of
its catalog, read into the canonical table ``user_id, ts, site`` by the same rules as io's reader
(sites by the Public Suffix List, times to the subscribers' wall clock). Rows without a user, a
time or a site are left out, counted, and kept with the reason in ``<table>_rejected``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pyarrow as pa

from netpersona._core import ConfigError, InputError
from netpersona.engine._dialect import mark, translate
from netpersona.engine._spark import _MARK
from netpersona.io import LogMapping, ReadSummary, authority_sql, sites_for_hosts

if TYPE_CHECKING:
    from netpersona.engine._spark import SparkEngine


def spark_format(path: str, mapping: LogMapping) -> tuple[str, dict[str, str]]:
    """Spark's reader format and options for a path, by its extension (Parquet otherwise)."""
    name = path.lower().removesuffix(".gz").removesuffix(".bz2")
    if name.endswith((".jsonl", ".json", ".ndjson")):
        return "json", {}
    if name.endswith((".csv", ".tsv", ".txt", ".log", ".ssv")):
        default = {".tsv": "\t", ".csv": ","}.get(name[-4:], " ")
        return "csv", {"header": "true", "sep": mapping.sep or default}
    return "parquet", {}


def read_logs(
    engine: SparkEngine,
    sources: list[str],
    table: str,
    mapping: LogMapping,
    from_table: str | None = None,
) -> ReadSummary:
    """Every source (or ``from_table``) into ``table``; what ``SparkEngine.read_log`` does."""
    unsupported = {
        "--columns/--no-header": mapping.no_header,
        "--pseudonymize-key-file": mapping.pseudonymize_key_file is not None,
        "--time-origin": mapping.time_origin is not None,
    }
    used = [flag for flag, on in unsupported.items() if on]
    if used:
        raise ConfigError(
            f"{', '.join(used)} are not supported with --engine spark; prepare the table "
            "with those columns in Spark, or read the files with --engine duckdb"
        )
    if from_table and not engine.spark.catalog.tableExists(from_table):
        raise InputError(
            f"no table {from_table!r} in the Spark catalog",
            hint="name it as database.table (see SHOW TABLES IN database)",
        )
    columns = {
        "user_col": mapping.user_col,
        "time_col": mapping.time_col,
        "url_col": None if mapping.site_col else mapping.url_col,
        "site_col": mapping.site_col,
        "time_unit": mapping.time_unit,
        "timezone": mapping.timezone,
        "time_bounds": mapping.time_bounds(),
    }
    parts = []
    for i, source in enumerate([from_table] if from_table else sources):
        fmt, options = (None, {}) if from_table else spark_format(source, mapping)
        part = f"{table}__part{i}"
        read_canonical_log(engine, source, part, fmt=fmt, options=options, **columns)
        parts.append(part)
    engine.create_table(table, " UNION ALL ".join(f"SELECT * FROM {p}" for p in parts))
    rejected = [f"{p}_rejected" for p in parts if engine.has_table(f"{p}_rejected")]
    kept = f"{table}_rejected"
    engine.execute(f"DROP TABLE IF EXISTS {kept}")
    count = 0
    if rejected:  # never dropped silently: counted, and kept with the reason
        engine.create_table(kept, " UNION ALL ".join(f"SELECT * FROM {r}" for r in rejected))
        count = int(engine.fetch_scalar(f"SELECT count(*) FROM {kept}"))
    for part in parts + rejected:
        engine.execute(f"DROP TABLE IF EXISTS {part}")
    rows = int(engine.fetch_scalar(f"SELECT count(*) FROM {table}"))
    return ReadSummary(
        rows=rows, rejected=count, table=table, rejected_table=kept if rejected else None
    )


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
    time_bounds: tuple | None = None,
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
    if time_bounds is not None:  # outside the window: rejected as out of range
        low, high = (f"TIMESTAMP '{b.isoformat(sep=' ')}'" for b in time_bounds)
        ts = f"CASE WHEN ({ts}) BETWEEN {low} AND {high} THEN ({ts}) END"
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
                 WHEN ts IS NULL THEN 'time missing, not a time, or out of range'
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
