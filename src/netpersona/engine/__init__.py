"""Where SQL runs: DuckDB (embedded default) behind one :class:`Engine` interface; the
:class:`Workspace` is a DuckDB file that keeps netpersona's tables between commands."""

from netpersona.engine._base import Engine
from netpersona.engine._dialect import translate
from netpersona.engine._duckdb import DuckDBEngine
from netpersona.engine._workspace import Workspace

__all__ = ["DuckDBEngine", "Engine", "Workspace", "translate"]
