"""SQL expressions that turn the text of a field into a time, a byte count or a duration.

Every expression takes a VARCHAR expression and yields NULL where the text cannot be read, so the
caller can name the field in a quarantine reason instead of failing the whole file. Times come
out as naive TIMESTAMPs in the session's ``TimeZone`` (set by :func:`set_timezone`).
"""

from __future__ import annotations

from netpersona._core import ConfigError
from netpersona.devices._fields import FLOW_UNITS

_NUMBER = r"[-+]?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?"


def first_row(engine, sql: str) -> tuple:
    """The first row of a query on an engine, as a tuple."""
    table = engine.fetch_arrow(sql)
    return tuple(column[0].as_py() for column in table.columns)


def column_names(engine, select_sql: str) -> list[str]:
    """The column names ``select_sql`` would return (DuckDB's DESCRIBE)."""
    return engine.fetch_arrow(f"DESCRIBE {select_sql}").column("column_name").to_pylist()


def set_timezone(engine, timezone: str) -> None:
    """Make ``timezone`` the zone in which the engine reads and writes local times."""
    try:
        engine.execute(f"SET TimeZone = '{sql_str(timezone)}'")
    except Exception as exc:  # duckdb raises NotImplementedException for an unknown zone
        raise ConfigError(
            f"unknown time zone {timezone!r}; use an IANA name such as 'UTC' or 'Asia/Shanghai'"
        ) from exc


def sql_str(text: str) -> str:
    """``text`` escaped for use inside a single-quoted SQL literal."""
    return text.replace("'", "''")


def time_sql(expr: str, time_unit: str = "auto") -> str:
    """A local TIMESTAMP from an ISO string or an epoch number (NULL when unreadable)."""
    number = f"try_cast({expr} AS DOUBLE)"
    if time_unit == "s":
        epoch = f"try(to_timestamp({number}))"
    elif time_unit == "ms":
        epoch = f"try(to_timestamp({number} / 1000.0))"
    else:  # epoch milliseconds are > 1e11 for any date after 1973
        epoch = (
            f"try(to_timestamp(CASE WHEN abs({number}) >= 1e11 "
            f"THEN {number} / 1000.0 ELSE {number} END))"
        )
    # CASE evaluates each branch only for its own rows, and failed casts are slow: text with
    # no ':' and no inner '-' is tried as a number, local times without an offset skip the
    # time-zone-aware parser
    looks_numeric = f"strpos({expr}, ':') = 0 AND strpos(substr({expr}, 2), '-') = 0"
    no_offset = (
        f"length({expr}) BETWEEN 10 AND 26 AND strpos({expr}, '+') = 0 "
        f"AND strpos(substr({expr}, 11), '-') = 0 AND NOT ({expr} ILIKE '%z')"
    )
    aware = f"try_cast(trim({expr}) AS TIMESTAMPTZ)::TIMESTAMP"
    return (
        f"(CASE WHEN {looks_numeric} AND {number} IS NOT NULL THEN {epoch}::TIMESTAMP "
        f"WHEN {no_offset} THEN coalesce(try_cast({expr} AS TIMESTAMP), {aware}) "
        f"ELSE {aware} END)"
    )


def bytes_sql(expr: str, default_unit: str) -> str:
    """Bytes from a number in ``default_unit`` or a number with its own unit (``240B``)."""
    default = FLOW_UNITS[default_unit.upper()]
    pattern = f"'^\\s*({_NUMBER})\\s*([A-Za-z]*)\\s*$'"
    number = f"try_cast(regexp_extract({expr}, {pattern}, 1) AS DOUBLE)"
    unit = f"upper(rtrim(regexp_extract({expr}, {pattern}, 2), 'sS'))"
    units = " ".join(f"WHEN '{name}' THEN {factor}.0" for name, factor in FLOW_UNITS.items())
    return (
        f"(CASE WHEN try_cast({expr} AS DOUBLE) IS NOT NULL "
        f"THEN try_cast({expr} AS DOUBLE) * {default}.0 "
        f"ELSE {number} * (CASE {unit} "
        f"WHEN 'BYTE' THEN 1.0 WHEN 'K' THEN 1024.0 WHEN 'M' THEN 1048576.0 "
        f"WHEN 'KIB' THEN 1024.0 WHEN 'MIB' THEN 1048576.0 {units} END) END)"
    )


def seconds_sql(expr: str) -> str:
    """Seconds from ``DD:HH:MM:SS`` / ``HH:MM:SS`` / ``MM:SS`` or a plain number of seconds."""
    return (
        f"(CASE WHEN try_cast({expr} AS DOUBLE) IS NOT NULL THEN try_cast({expr} AS DOUBLE) "
        f"WHEN regexp_full_match(trim({expr}), '[0-9]+(:[0-9]{{1,2}}){{1,3}}') THEN "
        f"list_sum(list_transform(list_reverse(string_split(trim({expr}), ':')), "
        f"lambda p, i: try_cast(p AS DOUBLE) * [1, 60, 3600, 86400][i])) END)"
    )
