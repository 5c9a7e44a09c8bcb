"""The SQL that reads each log layout into staged rows ``user_raw, time_raw, host, ref``.

``host`` is the URL's authority (``user@host:port``, cut out by string functions) or the site
column as is; ``ref`` is what locates a row later (Parquet: its row number; JSON Lines: its
text). The time expressions turn the raw time into the local wall-clock ``TIMESTAMP`` (NULL
when it cannot be read).
"""

from __future__ import annotations

from pathlib import Path

from netpersona._core import InputError, literal_path
from netpersona.io._formats import LogFormat
from netpersona.io._mapping import LogMapping
from netpersona.io._sites import authority_sql

#: epoch times beyond this many seconds from 1970 (year ~5138) are rejected as bad times
MAX_EPOCH_SECONDS = 1e11


def sql_ident(name: str) -> str:
    """A SQL identifier in double quotes."""
    return '"' + name.replace('"', '""') + '"'


def sql_str(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def table_exists(engine, name: str) -> bool:
    """Whether ``engine`` has a table or view ``name`` (asked through a fully read query)."""
    sql = f"SELECT count(*) FROM information_schema.tables WHERE table_name = {sql_str(name)}"
    return bool(engine.fetch_scalar(sql))


def drop_relation(engine, name: str) -> None:
    """Drop the table or view ``name`` (unquoted) if there is one, by its kind: dropping it as
    the other kind would fail, and a failed statement aborts a caller's open transaction."""
    kinds = (
        engine.fetch_arrow(
            f"SELECT table_type FROM information_schema.tables WHERE table_name = {sql_str(name)}"
        )
        .column(0)
        .to_pylist()
    )
    for kind in kinds:
        verb = "VIEW" if "VIEW" in str(kind).upper() else "TABLE"
        engine.execute(f"DROP {verb} IF EXISTS {sql_ident(name)}")


_UTC_NAMES = {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Zulu", "GMT"}


def local_time(instant: str, mapping: LogMapping) -> str:
    """SQL: the wall-clock TIMESTAMP in ``mapping.timezone`` of a TIMESTAMPTZ expression."""
    if mapping.timezone in _UTC_NAMES:
        # plain arithmetic: several times cheaper per row than a time-zone conversion
        return f"make_timestamp(epoch_us({instant}))"
    return f"timezone({sql_str(mapping.timezone)}, {instant})"


def _epoch_expr(number: str, mapping: LogMapping) -> str:
    divisor = 1000.0 if mapping.time_unit == "ms" else 1.0
    seconds = f"({number} / {divisor} + {mapping.origin_seconds()!r})"
    if mapping.timezone in _UTC_NAMES:
        local = f"make_timestamp(CAST({seconds} * 1000000 AS BIGINT))"
    else:
        local = local_time(f"to_timestamp({seconds})", mapping)
    return f"CASE WHEN abs({seconds}) < {MAX_EPOCH_SECONDS!r} THEN {local} END"


def _text_time_expr(text: str, mapping: LogMapping) -> str:
    """Local wall time from a VARCHAR holding an ISO time or an epoch number (NULL if bad)."""
    if mapping.time_unit:
        return _epoch_expr(f"TRY_CAST({text} AS DOUBLE)", mapping)
    return local_time(f"TRY_CAST({text} AS TIMESTAMPTZ)", mapping)


def _host_expr(text: str, mapping: LogMapping) -> str:
    if mapping.site_col:
        return f"CAST({text} AS VARCHAR)"
    return authority_sql(f"CAST({text} AS VARCHAR)")


def rejects_limit(path: Path, fmt: LogFormat, mapping: LogMapping) -> int:
    """How many parser rejects to keep for one file: more than ``max_bad_fraction`` of the most
    rows it can hold (a row takes at least 10 bytes; gzip shrinks text at most 20 times), so
    reaching the limit proves the file has too many bad rows, and memory stays bounded."""
    size = path.stat().st_size * (20 if fmt.gzip else 1)
    return max(100_000, int(mapping.max_bad_fraction * size / 10) + 1)


def _scan_options(path: Path, fmt: LogFormat, mapping: LogMapping, rejects: str) -> str:
    """read_csv options shared by text layouts: compression, and rows the parser rejects kept
    in table ``rejects`` (with their record numbers, up to :func:`rejects_limit`) instead of
    failing the read."""
    limit = rejects_limit(path, fmt, mapping)
    return (
        f"compression = {sql_str('gzip' if fmt.gzip else 'none')}, store_rejects = true, "
        f"rejects_table = {sql_str(rejects)}, rejects_scan = {sql_str(rejects + '_scan')}, "
        f"rejects_limit = {int(limit)}"
    )


def delimited_source(path: Path, fmt: LogFormat, mapping: LogMapping, cols, rejects: str):
    """Staging SQL and time expression for CSV / TSV / space-separated text."""
    # every field is read as text: DuckDB numbers cast failures by record, not physical line,
    # so times are parsed in SQL below and bad ones located by value (see _semantic_check)
    columns = "{" + ", ".join(f"{sql_str(name)}: 'VARCHAR'" for name in cols) + "}"
    not_null = "[" + ", ".join(sql_str(c) for c in mapping.mapped_columns) + "]"
    read = (
        f"read_csv({sql_str(literal_path(path))}, "
        f"header = {'false' if mapping.no_header else 'true'}, "
        f"auto_detect = false, delim = {sql_str(fmt.sep or ',')}, quote = '\"', escape = '\"', "
        f"columns = {columns}, force_not_null = {not_null}, "
        f"{_scan_options(path, fmt, mapping, rejects)})"
    )
    select = (
        f"SELECT {sql_ident(mapping.user_col)} AS user_raw, "
        f"{sql_ident(mapping.time_col)} AS time_raw, "
        f"{_host_expr(sql_ident(mapping.site_source), mapping)} AS host, NULL AS ref FROM {read}"
    )
    return select, _text_time_expr("time_raw", mapping)


def jsonl_source(path: Path, fmt: LogFormat, mapping: LogMapping, rejects: str):
    """Staging SQL and time expression for JSON Lines, read as one text column per line."""
    keys = ", ".join(sql_str("$." + sql_ident(name)) for name in mapping.mapped_columns)
    read = (
        f"read_csv({sql_str(literal_path(path))}, columns = {{'line': 'VARCHAR'}}, header = false, "
        # a raw control character never occurs in valid JSON, so chr(1) never splits a line
        "auto_detect = false, delim = chr(1), quote = '', escape = '', "
        f"{_scan_options(path, fmt, mapping, rejects)})"
    )
    # each line is parsed once, for its three values together
    parsed = (
        f"SELECT line, ok, CASE WHEN ok THEN json_extract_string(line, [{keys}]) END AS v "
        f"FROM (SELECT line, json_valid(line) AS ok FROM {read} WHERE line IS NOT NULL)"
    )
    select = (
        f"SELECT v[1] AS user_raw, v[2] AS time_raw, {_host_expr('v[3]', mapping)} AS host, "
        f"CASE WHEN ok THEN NULL ELSE 'invalid JSON' END AS json_error, line AS ref "
        f"FROM ({parsed})"
    )
    return select, _text_time_expr("time_raw", mapping)


def parquet_source(path: Path, mapping: LogMapping, engine):
    """Staging SQL and time expression for Parquet (the time column's type decides)."""
    read = f"read_parquet({sql_str(literal_path(path))}, file_row_number = true)"
    types = {
        row["column_name"]: row["column_type"]
        for row in engine.fetch_arrow(f"DESCRIBE SELECT * FROM {read}").to_pylist()
    }
    kind = types[mapping.time_col].upper()
    if kind.startswith("TIMESTAMP WITH TIME ZONE"):
        ts = local_time("time_raw", mapping)
    elif kind.startswith(("TIMESTAMP", "DATE")):
        ts = "CAST(time_raw AS TIMESTAMP)"
    elif kind in ("VARCHAR", "JSON"):
        ts = _text_time_expr("time_raw", mapping)
    elif mapping.time_unit:
        ts = _epoch_expr("CAST(time_raw AS DOUBLE)", mapping)
    else:
        raise InputError(
            f"the time column holds {kind} numbers",
            path=path,
            column=mapping.time_col,
            hint="pass --time-unit s (epoch seconds) or --time-unit ms (milliseconds)",
        )
    select = (
        f"SELECT CAST({sql_ident(mapping.user_col)} AS VARCHAR) AS user_raw, "
        f"{sql_ident(mapping.time_col)} AS time_raw, "
        f"{_host_expr(sql_ident(mapping.site_source), mapping)} AS host, "
        f"file_row_number + 1 AS ref FROM {read}"
    )
    return select, ts
