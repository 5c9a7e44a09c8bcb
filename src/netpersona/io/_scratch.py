"""A private in-memory DuckDB for reading a log when the caller passes no engine.

io sits below ``engine`` and never imports it; a caller that wants the table afterwards passes
its own engine (``netpersona.engine.DuckDBEngine`` or a ``Workspace``)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from netpersona._core import resource_error, resource_limits, temp_budget

if TYPE_CHECKING:
    import pyarrow as pa


class ScratchDuckDB:
    """The few engine methods the reader uses, over a throw-away in-memory DuckDB that spills
    into a private temporary folder (removed on :meth:`close`), within the process's limits
    (``netpersona._core.resource_limits``)."""

    dialect = "duckdb"

    def __init__(self) -> None:
        import duckdb

        limits = resource_limits()
        if limits.temp_dir:
            Path(limits.temp_dir).mkdir(parents=True, exist_ok=True)
        self._temp = tempfile.mkdtemp(prefix="netpersona-read-", dir=limits.temp_dir)
        self._memory, self._budget = (
            limits.memory_limit,
            temp_budget(self._temp, limits.max_temp_size),
        )
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET temp_directory = ?", [self._temp])
        self.con.execute(f"SET max_temp_directory_size = '{self._budget}B'")
        if limits.threads:
            self.con.execute(f"SET threads = {int(limits.threads)}")
        if self._memory:  # validated by ResourceLimits: digits and a unit only
            self.con.execute(f"SET memory_limit = '{self._memory}'")
        self.con.execute("SET preserve_insertion_order = false")

    @contextmanager
    def _limits(self) -> Iterator[None]:
        import duckdb

        try:
            yield
        except duckdb.Error as exc:
            clear = resource_error(
                exc, temp_dir=self._temp, memory_limit=self._memory, temp_limit=self._budget
            )
            if clear is None:
                raise
            raise clear from None

    def execute(self, sql: str) -> None:
        with self._limits():
            self.con.execute(sql)

    def fetch_arrow(self, sql: str) -> pa.Table:
        with self._limits():
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
        with self._limits():
            self.con.execute(f"{verb} {name} AS {select_sql}")

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self._temp, ignore_errors=True)
