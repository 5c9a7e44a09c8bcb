"""Data-package purchases -> ``buycounts`` (paper B, section 3.2: "query the times of users who
buy Internet traffic the same month from the database").

The source is a CSV / Parquet file or a database named by a SQLAlchemy-style URL
(``sqlite:///purchases.db``, ``postgresql://user:pw@host/db``, ``duckdb:///purchases.duckdb``),
read from a table or a query. Only the user and purchase-time columns are used.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from netpersona._core import (
    ColumnNotFoundError,
    ConfigError,
    InputError,
    literal_path,
    mask_id,
)
from netpersona.devices._fields import PurchaseFields
from netpersona.devices._parse import column_names, first_row, sql_str, time_sql
from netpersona.devices._quarantine import check_bad_fraction

#: the table :func:`load_purchases` creates: ``user_id VARCHAR, bought TIMESTAMP``
PURCHASES_TABLE = "device_purchases"
_BATCH = 100_000


@dataclass
class PurchaseSummary:
    """What was read from the purchases source.

    >>> PurchaseSummary(source='purchases.csv', rows=120, rejected=2)
    PurchaseSummary(source='purchases.csv', rows=120, rejected=2)
    """

    source: str
    rows: int = 0
    rejected: int = 0


def is_database_url(source: str | Path) -> bool:
    """Whether ``source`` names a database (``scheme://...``) rather than a file."""
    return "://" in str(source)


def redact_url(url: str) -> str:
    """The URL with its password hidden, for messages."""
    scheme, _, rest = url.partition("://")
    if "@" in rest and ":" in rest.split("@", 1)[0]:
        user = rest.split("@", 1)[0].split(":", 1)[0]
        rest = f"{user}:***@{rest.split('@', 1)[1]}"
    return f"{scheme}://{rest}"


def _read_file(engine, path: Path) -> tuple[str, list[str]]:
    if not path.is_file():
        raise InputError("no such file", path=path, hint="check the path given to --purchases")
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".parquet"):
        source = f"read_parquet('{sql_str(literal_path(path))}')"
    elif name.endswith((".csv", ".tsv", ".txt")):
        source = f"read_csv('{sql_str(literal_path(path))}', all_varchar=true, header=true)"
    else:
        raise InputError(
            "cannot tell the format from the file name",
            path=path,
            hint="give purchases as *.csv, *.tsv, *.parquet or a database URL",
        )
    return source, column_names(engine, f"SELECT * FROM {source}")


#: sqlglot nodes that write, lock or reach outside the database: refused anywhere in a query
_WRITES = (
    "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "Command", "Into",
    "Copy", "Set", "Pragma", "Use", "Attach", "Detach", "Lock", "Transaction", "Commit",
    "Rollback", "LoadData", "Grant", "Revoke",
)  # fmt: skip
_DIALECTS = {"duckdb": "duckdb", "sqlite": "sqlite", "postgresql": "postgres", "mysql": "mysql"}


def check_select(query: str, url: str = "") -> str:
    """``query`` when it is exactly one read-only ``SELECT`` (parsed with sqlglot in the URL's
    dialect); else :class:`ConfigError` saying so. Writes, several statements, ``SELECT ...
    INTO``, ``FOR UPDATE`` and commands are refused.

    >>> check_select("SELECT msisdn, bought_at FROM sales WHERE month = '2024-05'")
    "SELECT msisdn, bought_at FROM sales WHERE month = '2024-05'"
    >>> check_select("SELECT 1; DROP TABLE sales")
    Traceback (most recent call last):
    ...
    netpersona._core._exceptions.ConfigError: --purchases-query must be one read-only SELECT: found 2 statements
    """  # noqa: E501
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    def refuse(why: str) -> ConfigError:
        return ConfigError(f"--purchases-query must be one read-only SELECT: {why}")

    scheme = url.split("://", 1)[0].split("+", 1)[0].lower()
    try:
        trees = [t for t in sqlglot.parse(query, read=_DIALECTS.get(scheme)) if t is not None]
    except SqlglotError as exc:
        raise refuse(f"it does not parse ({str(exc).splitlines()[0][:200]})") from None
    if len(trees) != 1:
        raise refuse(f"found {len(trees)} statements")
    tree = trees[0]
    if not isinstance(tree, exp.Query):
        raise refuse(f"found {type(tree).__name__.upper()}")
    for node in tree.walk():
        kind = type(node).__name__
        if kind in _WRITES or (isinstance(node, exp.Lock)):
            raise refuse(f"it contains {kind.upper()} ({node.sql()[:60]})")
    return query


def _database_sql(fields: PurchaseFields, url: str = "") -> tuple[str | None, str | None]:
    if fields.query:
        return check_select(fields.query, url), None
    if not fields.table:
        raise ConfigError("reading purchases from a database needs a table or a query")
    return None, fields.table


def _read_duckdb(url: str, fields: PurchaseFields) -> pa.Table:
    path = url.split("://", 1)[1].removeprefix("/")
    if not Path(path).is_file():
        raise InputError("no such DuckDB database file", path=path)
    query, table = _database_sql(fields, url)
    with duckdb.connect(path, read_only=True) as con:
        con.execute("SET enable_external_access = false")  # no files, no network from SQL
        try:
            return con.sql(query or _table_select(con, table, fields)).to_arrow_table()
        except duckdb.Error as exc:
            raise InputError(f"the purchases query failed: {exc}", path=path) from exc


def _table_select(con, table: str, fields: PurchaseFields) -> str:
    relation = ".".join(_quote(p) for p in table.split("."))
    names = [r[0] for r in con.execute(f"DESCRIBE {relation}").fetchall()]
    if fields.user in names and fields.time in names:  # only the two columns needed
        return f"SELECT {_quote(fields.user)}, {_quote(fields.time)} FROM {relation}"
    return f"SELECT * FROM {relation}"  # the caller names the missing column


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _sqlalchemy_url(url: str) -> str:
    # SQLAlchemy's default PostgreSQL driver is psycopg2; we ship psycopg (3)
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix) and importlib.util.find_spec("psycopg2") is None:
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _read_sqlalchemy(url: str, fields: PurchaseFields) -> pa.Table:
    import sqlalchemy as sa

    query, table = _database_sql(fields, url)
    if url.lower().startswith("sqlite:///"):  # SQLite would create a missing file, empty
        path = url.split(":///", 1)[1].split("?", 1)[0]
        if path and path != ":memory:" and not Path(path).is_file():
            raise InputError("no such SQLite database file", path=path)
    try:
        engine = sa.create_engine(_sqlalchemy_url(url))
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        raise ConfigError(f"cannot use the database URL {redact_url(url)}: {exc}") from exc
    if query:
        statement = sa.text(query)
    else:
        schema, _, name = table.rpartition(".")
        source = sa.table(
            name, sa.column(fields.user), sa.column(fields.time), schema=schema or None
        )
        try:  # read only the two columns, when the table has them
            names = {c["name"] for c in sa.inspect(engine).get_columns(name, schema=schema or None)}
        except sa.exc.SQLAlchemyError:
            names = set()
        statement = (
            sa.select(source.c[fields.user], source.c[fields.time])
            if {fields.user, fields.time} <= names
            else sa.select(sa.text("*")).select_from(source)
        )
    try:
        with engine.connect() as conn:
            _read_only(conn, engine.dialect.name)
            result = conn.execution_options(stream_results=True).execute(statement)
            names = list(result.keys())
            columns: list[list] = [[] for _ in names]
            for batch in result.partitions(_BATCH):
                for i, values in enumerate(zip(*batch, strict=True)):
                    columns[i].extend(values)
    except sa.exc.SQLAlchemyError as exc:
        raise InputError(
            f"reading purchases from {redact_url(url)} failed: {exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0]}",
            hint="check the URL, --purchases-table / --purchases-query and that the server runs",
        ) from exc
    finally:
        engine.dispose()
    # every value as text; times are parsed the same way as file input
    return pa.table(
        {
            n: pa.array([None if v is None else str(v) for v in c], pa.string())
            for n, c in zip(names, columns, strict=True)
        }
    )


def _read_only(conn, dialect: str) -> None:
    """Make the session read-only where the database offers it (a second guard beside
    :func:`check_select`: a function with side effects still cannot write)."""
    if dialect == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
    elif dialect == "sqlite":
        conn.exec_driver_sql("PRAGMA query_only = ON")


def load_purchases(
    engine,
    source: str | Path,
    fields: PurchaseFields = PurchaseFields(),
    *,
    max_bad_fraction: float = 0.01,
) -> PurchaseSummary:
    """Read purchases into the engine's ``device_purchases`` table (times in local time)."""
    text = str(source)
    if is_database_url(text):
        scheme = text.split("://", 1)[0].lower()
        table = _read_duckdb(text, fields) if scheme == "duckdb" else _read_sqlalchemy(text, fields)
        engine.register_arrow("_purchases_source", table)
        relation, columns, where = "_purchases_source", table.column_names, redact_url(text)
    else:
        relation, columns = _read_file(engine, Path(source))
        where = str(source)
    for column, flag in (
        (fields.user, "--purchases-user-col"),
        (fields.time, "--purchases-time-col"),
    ):
        if column not in columns:
            raise ColumnNotFoundError(
                f"no column {column!r} in the purchases; there are {', '.join(columns)}",
                path=where,
                column=column,
                hint=f"name the right one with {flag}",
            )
    user, bought = _quote(fields.user), _quote(fields.time)
    engine.execute(
        f"""CREATE OR REPLACE TABLE {PURCHASES_TABLE} AS
        SELECT row_number() OVER () AS nth, {user}::VARCHAR AS user_id,
            {bought}::VARCHAR AS bought_text,
            {time_sql(f"{bought}::VARCHAR", fields.time_unit)} AS bought
        FROM {relation}"""
    )
    total, bad = first_row(
        engine,
        f"SELECT count(*), count(*) FILTER (WHERE bought IS NULL OR user_id IS NULL "
        f"OR trim(user_id) = '') FROM {PURCHASES_TABLE}",
    )
    if bad:
        first = first_row(
            engine,
            f"SELECT nth, user_id, bought_text FROM {PURCHASES_TABLE} WHERE bought IS NULL "
            f"OR user_id IS NULL OR trim(user_id) = '' ORDER BY nth LIMIT 1",
        )
        check_bad_fraction(
            what="purchases",
            total=total,
            bad=bad,
            limit=max_bad_fraction,
            first_bad=(
                where,
                None,
                f"row {first[0]}: user {mask_id(first[1])!r}, time {str(first[2])[:200]!r}",
            ),
            quarantine=None,
        )
        engine.execute(
            f"DELETE FROM {PURCHASES_TABLE} WHERE bought IS NULL OR user_id IS NULL "
            "OR trim(user_id) = ''"
        )
    return PurchaseSummary(source=where, rows=total - bad, rejected=bad)
