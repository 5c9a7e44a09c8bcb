"""Dialect differences, in one place.

Domain SQL is written in DuckDB's dialect. :func:`translate` turns it into another engine's
dialect with sqlglot; constructs sqlglot cannot map are listed in ``_REWRITES`` per dialect.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1024)
def translate(sql: str, to: str) -> str:
    """Translate DuckDB SQL to the ``to`` dialect (identity for DuckDB)."""
    if to == "duckdb":
        return sql
    import sqlglot

    return ";\n".join(sqlglot.transpile(sql, read="duckdb", write=to, pretty=False))
