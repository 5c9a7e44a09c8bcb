"""Shared by the forget and links tests: a habitual log with long ids (stored uncompressed by
DuckDB, so a byte scan of the file finds them), and scans of tables and files for ids."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from _core_data import habitual_log, split_log

from netpersona.io import LogMapping

SITE = ["--site-col", "site"]
MAPPING = LogMapping(site_col="site", url_col=None)
PREFIX = "subscriber-1380000"


def write_logs(folder: Path, n_users: int = 30, days: int = 15) -> tuple[Path, Path, set[str]]:
    """library.csv and queries.csv (query users ``q<id>``) in ``folder``; the absent ones."""
    log = habitual_log(n_users, days, seed=3)
    log = log.set_column(0, "user_id", pc.replace_substring(log["user_id"], "user", PREFIX))
    library, queries, absent = split_log(log, query_days=4)
    pacsv.write_csv(library, folder / "library.csv")
    pacsv.write_csv(queries, folder / "queries.csv")
    return folder / "library.csv", folder / "queries.csv", absent


def library_users(folder: Path) -> list[str]:
    table = pacsv.read_csv(folder / "library.csv")
    return sorted(set(table.column("user_id").to_pylist()))


def cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "netpersona", *map(str, args)],
        capture_output=True,
        text=True,
        **kwargs,
    )


def sql_hits(workspace: Path, ids: set[str]) -> dict[str, int]:
    """(table.column -> rows) where a text column of any table of the workspace file or of the
    daily store beside it (``W.store``) equals or contains an id."""
    hits = _sql_hits(workspace, ids)
    store = workspace.with_name(workspace.name + ".store")
    if store.exists():
        for key, n in _sql_hits(store, ids).items():
            hits[key] = hits.get(key, 0) + n
    return hits


def _sql_hits(workspace: Path, ids: set[str]) -> dict[str, int]:
    hits: dict[str, int] = {}
    con = duckdb.connect(str(workspace), read_only=True)
    try:
        columns = con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'main' "
            "AND data_type = 'VARCHAR' AND NOT internal"
        ).fetchall()
        assert columns, "the scan found no text column at all"
        for table, column in columns:
            for user in ids:
                n = con.execute(
                    f'SELECT count(*) FROM "{table}" WHERE contains("{column}", ?)', [user]
                ).fetchone()[0]
                if n:
                    hits[f"{table}.{column}"] = hits.get(f"{table}.{column}", 0) + n
    finally:
        con.close()
    return hits


def workspace_files(workspace: Path, *more: Path) -> list[Path]:
    """Every file of the workspace: W, W.wal, and everything in or named W.* beside it."""
    found = []
    for path in [*sorted(workspace.parent.iterdir()), *more]:
        if path == workspace or path.name.startswith(workspace.name + ".") or path in more:
            found += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return [p for p in found if p.is_file()]


def byte_hits(files: list[Path], ids: set[str]) -> list[tuple[str, str]]:
    """(file, id) for every file whose bytes contain an id."""
    return [
        (str(path), user)
        for path in files
        for user in sorted(ids)
        if user.encode() in path.read_bytes()
    ]
