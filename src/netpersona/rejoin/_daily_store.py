"""Where the daily store's tables live: in ``W.store`` beside the workspace file (see
:mod:`netpersona.engine._store`), which only the writer opens. A workspace of the old layout
(everything in ``W``) is moved over by its first build: the store's tables into ``W.store``,
the rest into a fresh library file (so ``W`` loses the old rows' pages too)."""

from __future__ import annotations

from pathlib import Path

from netpersona._core import InputError
from netpersona.engine import Engine, Workspace
from netpersona.rejoin._daily import APPLIED, DAYS, LIBRARY_LOG, STATE, WINDOW_LOG
from netpersona.rejoin._daily_sql import PARTIALS
from netpersona.rejoin._daily_sums import SCHEMAS as SUMS

#: the table a batch is read into (its files recorded in the ingest ledger under this name)
INCOMING = "rejoin_incoming"
LEDGER = "_netpersona_ingested"
#: the daily store's tables (all in ``W.store``; ``DAYS`` and ``STATE`` copied into ``W`` for
#: ``rejoin status``)
STORE_TABLES = (LIBRARY_LOG, INCOMING, APPLIED, DAYS, STATE, *PARTIALS.values(), *SUMS)
_LIVE = "netpersona_live"


def literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def tables_of(ws: Engine, catalog: str) -> list[str]:
    return (
        ws.fetch_arrow(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = "
            f"{literal(catalog)} AND schema_name = 'main' ORDER BY table_name"
        )
        .column("table_name")
        .to_pylist()
    )


def old_layout(path: str | Path, force: bool = False) -> bool:
    """Whether workspace ``path`` keeps its daily store inside itself (the layout before
    ``W.store``): its first build moves it. A workspace whose library was written from a store
    that is no longer beside it is refused (unless ``force``: built afresh) rather than built
    again from the new rows alone."""
    path = Path(path)
    if not path.exists():
        return False
    with Workspace.reader(path, require_complete=False) as ws:
        if ws.has_table(LIBRARY_LOG):
            return True
        split = (
            ws.has_table(STATE) and "token" in ws.fetch_arrow(f"SELECT * FROM {STATE}").schema.names
        )
    store = Workspace.store_path(path)
    if split and not force and not store.exists():
        raise InputError(
            "the workspace's daily store (its rows and partials) is missing",
            path=store,
            hint="copy it along with the workspace file, or build the library afresh "
            "(`netpersona rejoin index LOGS --workspace W --force`)",
        )
    return False


def migrate(ws: Engine, path: Path) -> None:
    """Move an old-layout workspace: its daily store's tables (and their ledger rows) into the
    store ``ws``, every other table into the fresh library file ``ws.next_catalog``; the old
    library's item sequences are not copied (the build writes them per day)."""
    store, lib = ws.store_catalog, ws.next_catalog  # type: ignore[attr-defined]
    ws.execute(f"ATTACH {literal(str(path))} AS {_LIVE} (READ_ONLY)")
    try:
        daily = (INCOMING, LIBRARY_LOG)
        names = ", ".join(literal(t) for t in daily)
        for table in tables_of(ws, _LIVE):
            source = f"{_LIVE}.main.{quote(table)}"
            if table in STORE_TABLES:
                ws.execute(f"CREATE OR REPLACE TABLE {quote(store)}.main.{quote(table)} AS "
                           f"SELECT * FROM {source}")  # fmt: skip
            elif table == LEDGER:
                ws.execute(f"DELETE FROM {quote(store)}.main.{LEDGER}")
                ws.execute(f"INSERT INTO {quote(store)}.main.{LEDGER} SELECT * FROM {source} "
                           f"WHERE table_name IN ({names})")  # fmt: skip
                ws.execute(f"CREATE TABLE {lib}.main.{LEDGER} AS SELECT * FROM {source} "
                           f"WHERE table_name NOT IN ({names})")  # fmt: skip
            elif table not in ("library_sequences", "_netpersona_state"):
                ws.execute(f"CREATE TABLE {lib}.main.{quote(table)} AS SELECT * FROM {source}")
    finally:
        ws.execute(f"DETACH {_LIVE}")


def reset(ws: Workspace) -> None:
    """Forget the library and everything it was built from (``index --force``): the store's
    tables and ledger rows (the library file's tables are all written again by the build)."""
    for table in (LIBRARY_LOG, INCOMING):
        ws.drop_ingested(table)
    for table in STORE_TABLES:
        ws.execute(f"DROP TABLE IF EXISTS {quote(ws.store_catalog)}.main.{table}")  # type: ignore[attr-defined]
    ws.execute(f"DROP VIEW IF EXISTS {WINDOW_LOG}")


def read_state(ws: Engine, catalog: str | None = None) -> dict:
    """The daily state row (``rejoin_daily``) of ``catalog`` (default: the engine's own
    database), or ``{}``."""
    if catalog is not None and STATE not in tables_of(ws, catalog):
        return {}
    table = STATE if catalog is None else f"{quote(catalog)}.main.{STATE}"
    if catalog is None and not ws.has_table(STATE):
        return {}
    rows = ws.fetch_arrow(f"SELECT * FROM {table}").to_pylist()
    return rows[0] if rows else {}


def copy_status(ws: Engine) -> None:
    """The days held and the daily state into the library file (what ``status`` reads)."""
    store, lib = quote(ws.store_catalog), ws.next_catalog  # type: ignore[attr-defined]
    for table in (DAYS, STATE):
        ws.execute(f"CREATE OR REPLACE TABLE {lib}.main.{table} AS SELECT * FROM "
                   f"{store}.main.{table}")  # fmt: skip
