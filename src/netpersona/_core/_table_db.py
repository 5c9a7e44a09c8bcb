"""Writing a table into a database (DuckDB, SQLite, PostgreSQL), all or nothing.

One transaction does everything: it checks whether the table exists (refused without
``force``), creates a new table under a temporary name, fills it, drops the old table and
renames the new one into its place, then commits. A failure or a kill at any point before the
commit rolls all of it back: the database keeps the old table, or none, never half a table and
never a stray temporary one. Names are quoted and every value is bound, never pasted.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager, suppress
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from netpersona._core._exceptions import OutputExistsError, ResourceError, UsageError
from netpersona._core._names import quote_identifier
from netpersona._core._table_urls import TableURL

_BATCH = 10_000


def check_table_writable(target: TableURL, force: bool = False) -> None:
    """Before any work: :class:`OutputExistsError` if the table exists and ``force`` is false;
    an unreachable server is a :class:`ResourceError` now rather than after the run. A database
    file that does not exist yet is fine (and is not created here).

    >>> import tempfile
    >>> from netpersona._core._table_urls import parse_table_url
    >>> db = Path(tempfile.mkdtemp()) / "out.db"
    >>> check_table_writable(parse_table_url(f"sqlite:///{db}?table=tiers"))
    >>> db.exists()
    False
    """
    if target.path is not None and not target.path.exists():
        return
    with _connection(target, read_only=True) as con:
        if _exists(con, target) and not force:
            raise OutputExistsError(f"{target.shown} (table {_name(target)})")


def write_table_url(table: Any, target: TableURL, force: bool = False) -> None:
    """Write ``table`` (pyarrow) as the table ``target`` names, in one transaction.

    >>> import sqlite3, tempfile, pyarrow as pa
    >>> from netpersona._core._table_urls import parse_table_url
    >>> db = Path(tempfile.mkdtemp()) / "out.db"
    >>> url = parse_table_url(f"sqlite:///{db}?table=tiers")
    >>> write_table_url(pa.table({"user": ["177****3461"], "K": [0.82]}), url)
    >>> sqlite3.connect(db).execute('SELECT * FROM tiers').fetchall()
    [('177****3461', 0.82)]
    """
    table = _plain(table)
    if target.path is not None:
        target.path.parent.mkdir(parents=True, exist_ok=True)
    with _connection(target) as con:
        exists = _exists(con, target)
        if exists and not force:
            raise OutputExistsError(f"{target.shown} (table {_name(target)})")
        new = f"_np_new_{uuid.uuid4().hex[:16]}"
        columns = ", ".join(
            f"{quote_identifier(f.name)} {sql_type(f.type, target.kind)}" for f in table.schema
        )
        con.execute(f"CREATE TABLE {_name(target, new)} ({columns})")
        _FILL[target.kind](con, _name(target, new), table)
        _swap(con, target, new, exists)


def sql_type(arrow_type: Any, kind: str) -> str:
    """The column type an Arrow type is stored as in a ``kind`` database.

    >>> import pyarrow as pa
    >>> [sql_type(t, "postgresql") for t in (pa.string(), pa.int32(), pa.float64(), pa.bool_())]
    ['TEXT', 'BIGINT', 'DOUBLE PRECISION', 'BOOLEAN']
    >>> sql_type(pa.timestamp("us", "UTC"), "duckdb"), sql_type(pa.date32(), "sqlite")
    ('TIMESTAMPTZ', 'TEXT')
    """
    import pyarrow as pa

    types = pa.types
    if types.is_boolean(arrow_type):
        return "INTEGER" if kind == "sqlite" else "BOOLEAN"
    if types.is_integer(arrow_type):
        return "INTEGER" if kind == "sqlite" else "BIGINT"
    if types.is_floating(arrow_type) or types.is_decimal(arrow_type):
        return "REAL" if kind == "sqlite" else "DOUBLE PRECISION"
    if kind != "sqlite" and types.is_timestamp(arrow_type):
        return "TIMESTAMPTZ" if arrow_type.tz else "TIMESTAMP"
    if kind != "sqlite" and types.is_date(arrow_type):
        return "DATE"
    return "TEXT"  # strings, and anything else as its text (SQLite keeps times as ISO text)


def _plain(table: Any) -> Any:
    """A pyarrow table with dictionary columns decoded and decimals as floats."""
    import pyarrow as pa

    if not isinstance(table, pa.Table):
        table = pa.Table.from_pandas(table, preserve_index=False)
    fields = []
    for field in table.schema:
        kind = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
        fields.append(field.with_type(pa.float64() if pa.types.is_decimal(kind) else kind))
    return table.cast(pa.schema(fields))


def _name(target: TableURL, table: str | None = None) -> str:
    name = quote_identifier(table or target.table)
    return f"{quote_identifier(target.schema)}.{name}" if target.schema else name


def _exists(con: Any, target: TableURL) -> bool:
    if target.kind == "sqlite":
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND lower(name) = lower(?)"
        return con.execute(sql, [target.table]).fetchone() is not None
    if target.kind == "duckdb":
        sql = (
            "SELECT 1 FROM information_schema.tables WHERE table_catalog = current_database() "
            "AND table_schema = current_schema() AND lower(table_name) = lower(?)"
        )
        return con.execute(sql, [target.table]).fetchone() is not None
    sql = (
        "SELECT 1 FROM information_schema.tables "
        "WHERE table_schema = COALESCE(%s, current_schema()) AND table_name = %s"
    )
    return con.execute(sql, [target.schema, target.table]).fetchone() is not None


def _swap(con: Any, target: TableURL, new: str, exists: bool) -> None:
    """The last step of the transaction: the old table dropped, the new one renamed into place
    (a rename keeps the new table in its schema)."""
    if exists:
        con.execute(f"DROP TABLE {_name(target)}")
    con.execute(f"ALTER TABLE {_name(target, new)} RENAME TO {quote_identifier(target.table)}")


def _fill_duckdb(con: Any, name: str, table: Any) -> None:
    view = f"_np_rows_{uuid.uuid4().hex[:16]}"
    con.register(view, table)
    try:
        con.execute(f"INSERT INTO {name} SELECT * FROM {quote_identifier(view)}")
    finally:
        con.unregister(view)


def _rows(table: Any, kind: str):
    """The rows of ``table`` as tuples of Python values, batch by batch (SQLite gets times as
    ISO text and booleans as 0/1)."""
    for batch in table.to_batches(max_chunksize=_BATCH):
        columns = [column.to_pylist() for column in batch.columns]
        if kind == "sqlite":
            columns = [[_sqlite_value(v) for v in column] for column in columns]
        yield from zip(*columns, strict=True)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return value


def _fill_sqlite(con: Any, name: str, table: Any) -> None:
    marks = ", ".join("?" * table.num_columns)
    con.executemany(f"INSERT INTO {name} VALUES ({marks})", _rows(table, "sqlite"))


def _fill_postgresql(con: Any, name: str, table: Any) -> None:
    columns = ", ".join(quote_identifier(c) for c in table.column_names)
    with con.cursor() as cur, cur.copy(f"COPY {name} ({columns}) FROM STDIN") as copy:
        for row in _rows(table, "postgresql"):
            copy.write_row(row)


_FILL = {"duckdb": _fill_duckdb, "sqlite": _fill_sqlite, "postgresql": _fill_postgresql}


@contextmanager
def _connection(target: TableURL, read_only: bool = False):
    """A connection inside a transaction: committed when the block ends, rolled back (and the
    error named with the URL's password masked) when it raises."""
    driver_errors = _driver_errors(target.kind)
    try:
        con = _connect(target, read_only)
    except driver_errors as exc:
        raise _environment(target, "cannot connect to", exc) from None
    try:
        if target.kind != "postgresql":
            con.execute("BEGIN TRANSACTION")
        yield con
        con.execute("COMMIT") if target.kind != "postgresql" else con.commit()
    except BaseException as exc:
        with suppress(driver_errors):
            con.execute("ROLLBACK") if target.kind != "postgresql" else con.rollback()
        if isinstance(exc, driver_errors):
            raise _environment(target, "writing failed in", exc) from None
        raise
    finally:
        con.close()


def _connect(target: TableURL, read_only: bool) -> Any:
    if target.kind == "duckdb":
        import duckdb

        return duckdb.connect(str(target.path), read_only=read_only)
    if target.kind == "sqlite":
        import sqlite3

        mode = "ro" if read_only else "rwc"
        uri = f"{Path(target.path).absolute().as_uri()}?mode={mode}"
        return sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30)
    try:
        import psycopg
    except ImportError:
        raise UsageError(
            f"{target.shown}: writing to PostgreSQL needs psycopg: "
            "pip install 'netpersona[postgres]'"
        ) from None
    return psycopg.connect(target.conninfo, connect_timeout=10)


def _driver_errors(kind: str) -> tuple[type[BaseException], ...]:
    if kind == "duckdb":
        import duckdb

        return (duckdb.Error,)
    if kind == "sqlite":
        import sqlite3

        return (sqlite3.Error,)
    try:
        import psycopg
    except ImportError:
        return (OSError,)
    return (psycopg.Error,)


def _environment(target: TableURL, what: str, exc: BaseException) -> ResourceError:
    """The driver's error as a :class:`ResourceError` naming the URL, no password in it."""
    message = " ".join(str(exc).split()) or exc.__class__.__name__
    secret = target.password
    for text in {secret, unquote(secret)} if secret else ():
        message = message.replace(text, "***")
    text = f"{what} {target.shown}: {exc.__class__.__name__}: {message[:500]}"
    if target.kind == "duckdb" and ("already attached" in message or "lock" in message.lower()):
        text += (
            "\n  hint: another connection holds this DuckDB file (the command's own --workspace, "
            "or another process): write the table to another database file"
        )
    return ResourceError(text)
