"""DuckDB, the embedded default engine and store."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from netpersona._core import check_size
from netpersona.engine._base import Engine

if TYPE_CHECKING:
    import pyarrow as pa


class DuckDBEngine(Engine):
    """An engine over one DuckDB database: a file (a workspace) or ``:memory:``.

    ``threads`` defaults to the machine's cores; ``memory_limit`` (e.g. ``"8GB"``) bounds DuckDB's
    own memory, spilling to ``temp_directory`` beyond it. An in-memory database spills into a
    private folder under the system's temporary directory (``$TMPDIR``), removed on
    :meth:`close`, never into the current folder; a workspace spills beside its file.

    >>> with DuckDBEngine(threads=1, memory_limit="1GB") as engine:
    ...     engine.fetch_arrow("SELECT 1 AS one").to_pylist()
    [{'one': 1}]
    """

    dialect = "duckdb"

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        read_only: bool = False,
        temp_directory: str | Path | None = None,
    ) -> None:
        self.path = str(path)
        self.con = duckdb.connect(self.path, read_only=read_only)
        self._own_temp: str | None = None
        if temp_directory is None and self.path == ":memory:":
            self._own_temp = temp_directory = tempfile.mkdtemp(prefix="netpersona-duckdb-")
        if temp_directory is not None:
            self.con.execute(f"SET temp_directory = '{str(temp_directory).replace(chr(39), '')}'")
        self.con.execute(f"SET threads = {int(threads or os.cpu_count() or 1)}")
        if memory_limit:
            self.con.execute(f"SET memory_limit = '{check_size(memory_limit)}'")  # never raw
        self.con.execute("SET preserve_insertion_order = false")

    def execute(self, sql: str) -> None:
        self.con.execute(sql)

    def fetch_arrow(self, sql: str) -> pa.Table:
        relation = self.con.sql(sql)
        if relation is None:  # a statement, not a query
            import pyarrow as pa

            return pa.table({})
        # duckdb >= 1.4 names it to_arrow_table; older releases call it arrow()
        if hasattr(relation, "to_arrow_table"):
            return relation.to_arrow_table()
        return relation.arrow()

    def register_arrow(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)

    def create_table(self, name: str, select_sql: str, replace: bool = True) -> None:
        verb = "CREATE OR REPLACE TABLE" if replace else "CREATE TABLE"
        self.con.execute(f"{verb} {name} AS {select_sql}")

    def has_table(self, name: str) -> bool:
        rows = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchall()  # read fully: an open result would break the next query
        return bool(rows[0][0])

    def close(self) -> None:
        self.con.close()
        if self._own_temp is not None:
            shutil.rmtree(self._own_temp, ignore_errors=True)
            self._own_temp = None
