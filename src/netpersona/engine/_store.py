"""A workspace's store: a second DuckDB file beside the workspace (``W.store``) that only the
writer opens, written in place.

Readers (``identify``, ``explain``, ``status``, ``serve``) hold the workspace file ``W`` open
read-only, and DuckDB lets no other process write a file that is open, so every build writes a
copy of ``W`` and renames it over the live one. What only the writer needs (the daily store's
raw rows, partials and running sums, whose size grows with the window) lives in ``W.store``
instead, which no reader opens: a build changes it in place, inside one transaction (DuckDB's
write-ahead log makes the commit atomic, so a kill before it leaves the previous state), and only
the small library file ``W`` is copied and swapped in.

The store commits first, then the library file is renamed in: a kill between the two leaves a
store one batch ahead of the library. Both record the same token per batch, so the next build
sees the difference and derives the library from the store again.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from netpersona._core import InputError, sync_folder
from netpersona.engine._lock import writer_lock

if TYPE_CHECKING:
    from netpersona.engine._workspace import Workspace

#: the catalog name the library file's next state is attached under during a build
LIB = "netpersona_next"


def store_path(workspace: str | Path) -> Path:
    """The store file of workspace file ``workspace`` (``W.store``)."""
    workspace = Path(workspace)
    return workspace.with_name(workspace.name + ".store")


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


@contextmanager
def store_build(
    cls: type[Workspace],
    path: str | Path,
    *,
    what: str,
    fresh: bool = False,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> Iterator[Workspace]:
    """Hold the writer lock; open ``W.store`` in place (created if missing) and attach the next
    state of the library file as catalog ``netpersona_next`` (``engine.next_catalog``): a copy
    of ``W`` (``W.building``, or an empty file with ``fresh``), marked incomplete. Yields the
    store's engine; the caller changes the store inside its own transaction(s) and writes the
    library into that catalog. On success it
    is marked complete and renamed over ``W``; on any error (or a kill) ``W`` is untouched and
    the store keeps what it last committed."""
    path = Path(path)
    with writer_lock(path):
        building, version = stage(cls, path, fresh)
        store = cls(store_path(path), threads=threads, memory_limit=memory_limit, lock=False)
        store.workspace_path = path
        name = str(store.fetch_scalar("SELECT current_database()"))
        store.store_catalog, store.next_catalog = name, LIB  # type: ignore[attr-defined]
        try:
            store.execute(f"ATTACH {_literal(building)} AS {LIB}")
            # tables read by their names: the store's first, then the library file's
            search = quote(name).replace("'", "''") + f".main,{LIB}.main"
            store.execute(f"SET search_path = '{search}'")
            mark_in(store, version + 1, False, what)
            yield store
            mark_in(store, version + 1, True, what)
            store.execute(f"CHECKPOINT {LIB}")
            store.execute(f"DETACH {LIB}")
            store.execute("CHECKPOINT")
            store.close()
            swap_in(building, path)
        except BaseException:
            store.close()
            discard(building)
            raise


def stage(cls: type[Workspace], path: Path, fresh: bool) -> tuple[Path, int]:
    """(``W.building``, the live version): a stale copy removed, the live file (and its
    write-ahead log) copied unless ``fresh``. The caller holds the writer lock."""
    building = cls.building_path(path)
    discard(building)
    version = 0
    if path.exists():
        with cls.reader(path, require_complete=False) as live:
            version = cls.state_of(live).version
        if not fresh:
            shutil.copyfile(path, building)
            if Path(f"{path}.wal").exists():  # changes not yet checkpointed travel too
                shutil.copyfile(f"{path}.wal", f"{building}.wal")
    return building, version


def swap_in(building: Path, path: Path) -> None:
    """Rename a finished build over the live file, durably."""
    os.replace(building, path)
    sync_folder(path.parent)


def discard(building: Path) -> None:
    """Remove a build's copy and its write-ahead log."""
    for stale in (building, Path(f"{building}.wal")):
        stale.unlink(missing_ok=True)


def mark_in(store: Workspace, version: int, complete: bool, what: str) -> None:
    """The library file's build state (its complete-marker), as :meth:`Workspace.mark`."""
    from netpersona.engine._workspace import STATE, _now

    store.con.execute(
        f"CREATE OR REPLACE TABLE {LIB}.main.{STATE} AS SELECT CAST(? AS BIGINT) AS version, "
        "CAST(? AS BOOLEAN) AS complete, CAST(? AS TIMESTAMP) AS finished_at, "
        "CAST(? AS BIGINT) AS pid, CAST(? AS VARCHAR) AS what",
        [int(version), bool(complete), _now().isoformat(sep=" "), os.getpid(), str(what)],
    ).fetchall()


@contextmanager
def store_reading(engine, path: str | Path, table: str) -> Iterator[None]:
    """Make the store's tables readable by ``engine`` (a reader of workspace ``path``) while
    the block runs, when ``table`` is not in the library file itself: the writer lock is held
    (so no build runs meanwhile; a running one gives ``WorkspaceBusyError``) and ``W.store``
    attached read-only. A workspace without a store (the old layout) needs nothing."""
    store = store_path(path)
    if engine.has_table(table):
        yield
        return
    if not store.exists():
        raise InputError(
            "the workspace's daily store (its rows and partials) is missing",
            path=store,
            hint="copy it along with the workspace file, or build the library afresh "
            "(`netpersona rejoin index LOGS --workspace W --force`)",
        )
    with writer_lock(path):
        engine.execute(f"ATTACH {_literal(store)} AS daily_store (READ_ONLY)")
        search = engine.fetch_scalar("SELECT current_setting('search_path')")
        engine.execute(f"SET search_path = '{search},daily_store.main'")
        try:
            yield
        finally:
            engine.execute(f"SET search_path = '{search}'")
            engine.execute("DETACH daily_store")
