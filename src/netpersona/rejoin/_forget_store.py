"""Forgetting in a workspace whose daily store lives beside it (``W.store``): the store is
written again into a fresh file as well, so no byte of the id stays in either file.

The store's tables are copied from the previous store (attached read-only) into a scratch file,
where :func:`netpersona.rejoin.forget_daily` removes the ids and derives again what their rows
fed, and the running sums are summed again; they are then copied into a fresh ``W.store.building``
(no deleted row reaches it), and the library is written from it into the fresh workspace file.
The fresh store is renamed in before the workspace file: a kill between the two leaves a store
that is forgotten and a workspace file that is not (``forget`` again finishes it), whose token
differs from the store's, so an ``add-day`` meanwhile writes the library from the store again.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from netpersona._core import sync_folder
from netpersona.engine import Engine, Workspace
from netpersona.rejoin._daily import DAYS, LIBRARY, STATE, WINDOW_LOG, window_view
from netpersona.rejoin._daily_library import EVENTS, EXTRA, ITEMS, held_day_tables, write_library
from netpersona.rejoin._daily_store import LEDGER, STORE_TABLES, literal, quote, tables_of
from netpersona.rejoin._daily_sums import SUM_CELLS, SUM_SITES, sums_full
from netpersona.rejoin._settings import RejoinSettings
from netpersona.rejoin._sql import PARTS, table_name

_PREV, _SCRATCH, _NEXT = "forget_store_prev", "forget_store_scratch", "forget_store_next"


def live_of(ws: Workspace) -> Path:
    """The live workspace file of a build's ``W.building``."""
    path = Path(ws.workspace_path)
    return path.with_name(path.name.removesuffix(".building"))


def has_store(ws: Workspace) -> bool:
    """Whether the workspace being forgotten keeps its daily store beside it."""
    return Workspace.store_path(live_of(ws)).exists()


def library_tables(ws: Engine, catalog: str) -> set[str]:
    """The library file's tables that the store's library consists of (written again from the
    store, not copied)."""
    own = {table_name(LIBRARY, part) for part in PARTS} | {f"{LIBRARY}_{e}" for e in EXTRA}
    days = [*held_day_tables(ws, catalog).values(), *held_day_tables(ws, catalog, EVENTS).values()]
    return own | {ITEMS, DAYS, STATE, *days}


def forget_store(ws: Workspace, source: str, ids: list[str], settings: RejoinSettings) -> dict:
    """The store without ``ids`` in a fresh ``W.store`` and the library written from it into
    ``ws`` (the fresh workspace file); returns the rows removed per table."""
    from netpersona.rejoin._daily_status import forget_daily

    live = live_of(ws)
    store = Workspace.store_path(live)
    scratch = store.with_name(store.name + ".forget-scratch")
    building = store.with_name(store.name + ".building")
    for stale in (scratch, building):
        for path in (stale, Path(f"{stale}.wal")):
            path.unlink(missing_ok=True)
    main = ws.fetch_scalar("SELECT current_database()")
    done = False
    ws.execute(f"ATTACH {literal(str(store))} AS {_PREV} (READ_ONLY)")
    ws.execute(f"ATTACH {literal(str(scratch))} AS {_SCRATCH}")
    ws.execute(f"ATTACH {literal(str(building))} AS {_NEXT}")
    try:
        ws.execute(f"USE {_SCRATCH}")
        copied = [t for t in tables_of(ws, _PREV) if t in STORE_TABLES or t == LEDGER]
        for table in copied:
            if table not in (SUM_SITES, SUM_CELLS):  # summed again below
                _copy(ws, _PREV, table)
        removed = forget_daily(ws, ids, library=False)
        state = ws.fetch_arrow(f"SELECT * FROM {STATE}").to_pylist()[0]
        start = state.get("window_start")
        sums_full(ws, start)
        # a new token (a hex string: nothing a user typed), the rows held without the ids
        ws.execute(f"UPDATE {STATE} SET token = '{uuid.uuid4().hex}', "
                   "rows = (SELECT count(*) FROM library_log)")  # fmt: skip
        ws.execute(f"USE {_NEXT}")
        for table in tables_of(ws, _SCRATCH):
            if not table.startswith("_") or table == LEDGER:
                _copy(ws, _SCRATCH, table)
        window_view(ws, "rejoin_links_applied", start)
        before = int(ws.fetch_scalar(f"SELECT count(*) FROM {source}.main.{LIBRARY}_users"))
        users, _ = write_library(ws, main, settings, start, None, WINDOW_LOG)
        for table in (DAYS, STATE):
            ws.execute(f"CREATE TABLE {quote(main)}.main.{table} AS SELECT * FROM {table}")
        if before - users:
            removed[f"{LIBRARY}_users"] = before - users
        done = True
    finally:
        ws.execute(f"USE {quote(main)}")
        for catalog in (_PREV, _SCRATCH, _NEXT):
            ws.execute(f"DETACH {catalog}")
        for path in (scratch, Path(f"{scratch}.wal")) + (() if done else (building,)):
            path.unlink(missing_ok=True)
    os.replace(building, store)
    sync_folder(store.parent)
    return removed


def _copy(ws: Engine, catalog: str, table: str) -> None:
    """Table ``table`` of ``catalog`` into the current database, as it is."""
    ws.execute(f"CREATE TABLE {quote(table)} AS SELECT * FROM {catalog}.main.{quote(table)}")
