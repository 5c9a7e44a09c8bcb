"""The one interface every SQL engine offers; domain code talks only to this.

Queries are written once in DuckDB's dialect (the default engine). An engine that speaks another
dialect translates them in :mod:`netpersona.engine._dialect`, the one place dialect differences
live, so the domain packages never branch on the engine.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


class Engine(ABC):
    """Runs engine-neutral SQL over named tables."""

    #: sqlglot dialect name of the engine's SQL
    dialect: str = "duckdb"

    @abstractmethod
    def execute(self, sql: str) -> None:
        """Run a statement that returns nothing of interest (DDL, INSERT)."""

    @abstractmethod
    def fetch_arrow(self, sql: str) -> pa.Table:
        """Run a query and return its result as an Arrow table."""

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

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the engine's resources."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
