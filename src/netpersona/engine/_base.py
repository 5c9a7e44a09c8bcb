"""The one interface every SQL engine offers; domain code talks only to this.

Queries are written once in DuckDB's dialect (the default engine). An engine that speaks another
dialect translates them in :mod:`netpersona.engine._dialect`, the one place dialect differences
live, so the domain packages never branch on the engine.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    import pyarrow as pa

    from netpersona.io import LogMapping, ReadSummary


class Engine(ABC):
    """Runs engine-neutral SQL over named tables.

    >>> from netpersona.engine import DuckDBEngine
    >>> with DuckDBEngine() as engine:
    ...     engine.create_table("t", "SELECT 7 AS n")
    ...     engine.has_table("t"), engine.fetch_scalar("SELECT n * 6 FROM t")
    (True, 42)
    """

    #: sqlglot dialect name of the engine's SQL
    dialect: str = "duckdb"
    #: whether the engine reads log paths itself (:meth:`read_log`, e.g. Spark: any path it
    #: reaches); otherwise ``netpersona.io.read_log`` reads local files with io's own reader
    native_log_reader: bool = False
    #: whether the engine runs distributed (Spark): steps 2 and 5 then run on it, and it
    #: writes outputs to any path it reaches (:meth:`write`)
    distributed: bool = False

    @abstractmethod
    def execute(self, sql: str) -> None:
        """Run a statement that returns nothing of interest (DDL, INSERT)."""

    @abstractmethod
    def fetch_arrow(self, sql: str) -> pa.Table:
        """Run a query and return its result as an Arrow table."""

    def fetch_batches(self, sql: str, rows: int) -> Iterator[pa.RecordBatch]:
        """Run a query and hand its result back in batches of at most ``rows`` rows, in no
        particular order. Engines that can stream do, so that a large result is never in this
        process's memory whole; this default fetches it whole, then cuts it."""
        yield from self.fetch_arrow(sql).to_batches(max_chunksize=rows)

    @abstractmethod
    def register_arrow(self, name: str, table: pa.Table) -> None:
        """Make an Arrow table queryable under ``name`` (a temporary view)."""

    @abstractmethod
    def create_table(self, name: str, select_sql: str, replace: bool = True) -> None:
        """Materialise ``select_sql`` as table ``name``."""

    @abstractmethod
    def has_table(self, name: str) -> bool:
        """Whether a table or view called ``name`` exists."""

    def fetch_scalar(self, sql: str):
        """Run a query returning one value."""
        table = self.fetch_arrow(sql)
        return table.column(0)[0].as_py() if table.num_rows else None

    def read_log(
        self,
        sources: Sequence[str],
        table: str,
        mapping: LogMapping,
        *,
        from_table: str | None = None,
    ) -> ReadSummary:
        """Read log paths (or the table ``from_table``) into the canonical table ``table``
        with the engine's own reader; only engines with ``native_log_reader`` have one.
        Call ``netpersona.io.read_log``, which asks the engine."""
        raise NotImplementedError(f"{type(self).__name__} has no log reader of its own")

    def write(self, name: str, path: str, fmt: str = "parquet", force: bool = False) -> None:
        """Write table ``name`` to ``path`` as the engine writes files (only ``distributed``
        engines: a directory of part files)."""
        raise NotImplementedError(f"{type(self).__name__} writes no paths of its own")

    def memory_limit_bytes(self) -> int | None:
        """This process's engine memory limit in bytes; None where the engine has none of
        its own to read (Spark's executors hold their memory elsewhere)."""
        return None

    @contextmanager
    def lend_memory(self, keep: float) -> Iterator[Callable[[float], None]]:
        """While the caller holds large arrays of its own, the engine keeps at most ``keep``
        (a share) of its memory limit and gives the rest back, so that the process stays
        within the limit the user set; restored on exit. Yields a function that sets another
        share (of the same limit) inside the block. Engines whose memory is not this
        process's (Spark's executors) have nothing to lend."""
        yield lambda keep: None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the engine's resources."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
