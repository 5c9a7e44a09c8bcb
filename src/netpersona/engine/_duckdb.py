"""DuckDB, the embedded default engine and store."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from netpersona._core import (
    ConfigError,
    memory_limit_sql,
    parse_size,
    resource_error,
    resource_limits,
    temp_budget,
)
from netpersona.engine._base import Engine

if TYPE_CHECKING:
    import pyarrow as pa


class DuckDBEngine(Engine):
    """An engine over one DuckDB database: a file (a workspace) or ``:memory:``.

    ``threads`` defaults to the machine's cores; ``memory_limit`` (e.g. ``"8GB"``, validated)
    bounds DuckDB's own memory, spilling to ``temp_directory`` beyond it. Arguments left None
    take the process's limits (``netpersona._core.resource_limits``: ``--memory-limit``,
    ``--threads``, ``--temp-dir``, ``--max-temp-size`` or their ``NETPERSONA_*`` variables).
    Without a temporary folder given, an in-memory database spills into a private folder under
    the system's temporary directory (``$TMPDIR``) and a workspace beside its file (``W.tmp``);
    with ``--temp-dir`` each engine spills into a private folder inside it, removed on
    :meth:`close`. A spill never exceeds the free disk there less a reserve
    (``max_temp_directory_size``): a run too big for the disk stops with
    ``netpersona._core.TempSpaceError`` naming the folder and the space needed.

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
        limits = resource_limits()
        self.path = str(path)
        self.memory_limit = memory_limit_sql(memory_limit) if memory_limit else limits.memory_limit
        threads = int(threads or limits.threads or os.cpu_count() or 1)
        self._own_temp: str | None = None
        if temp_directory is None and (limits.temp_dir or self.path == ":memory:"):
            if limits.temp_dir:
                Path(limits.temp_dir).mkdir(parents=True, exist_ok=True)
            temp_directory = tempfile.mkdtemp(prefix="netpersona-duckdb-", dir=limits.temp_dir)
            self._own_temp = temp_directory
        elif temp_directory is None:
            temp_directory = os.path.abspath(f"{self.path}.tmp")
        #: where this engine spills, and the most it may hold there (bytes)
        self.temp_directory = str(temp_directory)
        self.temp_limit = temp_budget(self.temp_directory, limits.max_temp_size)
        try:
            self.con = duckdb.connect(self.path, read_only=read_only)
        except BaseException:
            self._remove_own_temp()
            raise
        self.con.execute("SET temp_directory = ?", [self.temp_directory])
        self.con.execute(f"SET max_temp_directory_size = '{int(self.temp_limit)}B'")
        self.con.execute(f"SET threads = {threads}")
        if self.memory_limit:
            self.con.execute(f"SET memory_limit = '{self.memory_limit}'")
        self.con.execute("SET preserve_insertion_order = false")

    @contextmanager
    def _limits(self) -> Iterator[None]:
        """Turn DuckDB's out-of-memory and disk-full errors into netpersona's clear ones."""
        try:
            yield
        except duckdb.Error as exc:
            clear = resource_error(
                exc,
                temp_dir=self.temp_directory,
                memory_limit=self.memory_limit,
                temp_limit=self.temp_limit,
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
            if relation is None:  # a statement, not a query
                import pyarrow as pa

                return pa.table({})
            # duckdb >= 1.4 names it to_arrow_table; older releases call it arrow()
            if hasattr(relation, "to_arrow_table"):
                return relation.to_arrow_table()
            return relation.arrow()

    def fetch_batches(self, sql: str, rows: int) -> Iterator[pa.RecordBatch]:
        """Streamed: DuckDB produces the next batch when it is asked for (no other statement
        may run on this engine until the batches are all read or the iterator is closed)."""
        with self._limits():
            relation = self.con.sql(sql)
            # duckdb >= 1.4 names it to_arrow_reader; older releases fetch_arrow_reader
            reader = getattr(relation, "to_arrow_reader", None) or relation.fetch_arrow_reader
            yield from reader(rows)

    def register_arrow(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)

    def memory_limit_bytes(self) -> int | None:
        """DuckDB's memory limit in bytes: the one this engine was given, exactly, else
        DuckDB's current setting (which it shows to a tenth of a GiB); None if unreadable."""
        given = self.memory_limit or ""
        if given.endswith("B") and given[:-1].isdigit():
            return int(given[:-1])
        current = str(self.fetch_scalar("SELECT current_setting('memory_limit')"))
        try:
            return parse_size(current.replace(" ", ""))
        except ConfigError:
            return None

    @contextmanager
    def lend_memory(self, keep: float) -> Iterator[Callable[[float], None]]:
        """Lower DuckDB's memory limit to ``keep`` of itself while the block runs: DuckDB
        evicts what it holds beyond that (an in-memory database's tables go to its temporary
        folder, a workspace's cached pages are dropped) and gives the memory back, then gets
        its limit back. If it cannot free enough, the block runs at the limit it had. Yields
        a function that sets another share of the same limit inside the block."""
        if not 0 < keep <= 1:
            raise ValueError(f"keep must be a share between 0 and 1 (got {keep})")
        full = self.memory_limit_bytes()  # None: no limit to read, nothing to lend
        lowered = False

        def share(keep: float) -> None:
            nonlocal lowered
            if not 0 < keep <= 1:
                raise ValueError(f"keep must be a share between 0 and 1 (got {keep})")
            if full is None:
                return
            try:
                self.con.execute(f"SET memory_limit = '{max(1, int(full * keep))}B'")
                lowered = True
            except duckdb.Error:
                pass  # nothing could be freed: run as before

        share(keep)
        try:
            yield share
        finally:
            try:
                if lowered and self.memory_limit:  # the limit it was given, exactly
                    self.con.execute(f"SET memory_limit = '{self.memory_limit}'")
                elif lowered:
                    self.con.execute("RESET memory_limit")  # DuckDB's default
            except duckdb.Error:
                pass  # a transaction aborted by the block's error refuses SET: that error counts

    def create_table(self, name: str, select_sql: str, replace: bool = True) -> None:
        verb = "CREATE OR REPLACE TABLE" if replace else "CREATE TABLE"
        with self._limits():
            self.con.execute(f"{verb} {name} AS {select_sql}")

    def has_table(self, name: str) -> bool:
        rows = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchall()  # read fully: an open result would break the next query
        return bool(rows[0][0])

    def close(self) -> None:
        self.con.close()
        self._remove_own_temp()

    def _remove_own_temp(self) -> None:
        if self._own_temp is not None:
            shutil.rmtree(self._own_temp, ignore_errors=True)
            self._own_temp = None
