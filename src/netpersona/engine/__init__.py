"""Where SQL runs: DuckDB (embedded default) behind one :class:`Engine` interface."""

from netpersona.engine._base import Engine
from netpersona.engine._dialect import translate
from netpersona.engine._duckdb import DuckDBEngine

__all__ = ["DuckDBEngine", "Engine", "translate"]
