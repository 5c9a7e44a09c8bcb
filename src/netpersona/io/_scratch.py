"""A private in-memory DuckDB for reading a log when the caller passes no engine.

io sits below ``engine`` and never imports it; a caller that wants the table afterwards passes
its own engine (``netpersona.engine.DuckDBEngine`` or a ``Workspace``)."""

from __future__ import annotations

import shutil
import tempfile
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


class ScratchDuckDB:
    """The few engine methods the reader uses, over a throw-away in-memory DuckDB that spills
    into a private temporary folder (removed on :meth:`close`)."""

    dialect = "duckdb"

    def __init__(self) -> None:
        import duckdb

        self._temp = tempfile.mkdtemp(prefix="netpersona-read-")
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET temp_directory = ?", [self._temp])
        self.con.execute("SET preserve_insertion_order = false")

    def execute(self, sql: str) -> None:
        self.con.execute(sql)

    def fetch_arrow(self, sql: str) -> pa.Table:
        relation = self.con.sql(sql)
        if relation is None:
            import pyarrow as pa

            return pa.table({})
        if hasattr(relation, "to_arrow_table"):
            return relation.to_arrow_table()
        return relation.arrow()

    def fetch_scalar(self, sql: str):
        table = self.fetch_arrow(sql)
        return table.column(0)[0].as_py() if table.num_rows else None

    def register_arrow(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)

    def create_table(self, name: str, select_sql: str, replace: bool = True) -> None:
        verb = "CREATE OR REPLACE TABLE" if replace else "CREATE TABLE"
        self.con.execute(f"{verb} {name} AS {select_sql}")

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self._temp, ignore_errors=True)
