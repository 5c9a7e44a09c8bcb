"""Forgetting subscribers inside a workspace's database: every row of theirs leaves it.

:func:`forget_in` writes the next state of a workspace into a *fresh* database file (the one
``Workspace.rebuild(path, fresh=True)`` yields) from the previous state attached read-only:
every table is copied without the rows that hold one of the ids in any text column, and every
profile set is derived again from its log without them (V(d) and the site codes change when a
user leaves). Copying into a new file, rather than deleting in place, is what makes the id's
bytes leave the file: DuckDB keeps deleted rows in free blocks until a file is rewritten.

:func:`linked_ids` follows the identity links (``rejoin_links``) both ways, through chains, so
forgetting one number forgets the other numbers of the same subscriber too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa

from netpersona._core import InputError
from netpersona.engine import Engine, Workspace
from netpersona.rejoin._profiles import Profiles, build_profiles
from netpersona.rejoin._settings import RejoinSettings
from netpersona.rejoin._sql import PARTS, table_name

#: the identity links table (old -> new number of one subscriber), see docs/forget.md
LINKS = "rejoin_links"
#: the catalog name the previous state is attached under while forgetting
SOURCE = "forget_prev"
_IDS = "_forget_ids"
_SCRATCH = "forget_scratch"
#: tables the build writes itself (the complete-marker) rather than copies
_STATE = "_netpersona_state"


def quote(name: str) -> str:
    """An SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """An SQL string literal (for the few statements that take no bound value: ATTACH)."""
    return "'" + text.replace("'", "''") + "'"


def _id_list(ids: str | Iterable[str]) -> list[str]:
    return sorted({ids} if isinstance(ids, str) else {str(i) for i in ids})


def linked_ids(engine: Engine, user_ids: str | Iterable[str], links: str = LINKS) -> set[str]:
    """``user_ids`` and every id an identity link in table ``links`` connects to them, in
    either direction and through chains (a -> b -> c: forgetting c forgets a and b).

    >>> from netpersona.engine import DuckDBEngine
    >>> with DuckDBEngine() as engine:
    ...     engine.execute("CREATE TABLE rejoin_links (old_user VARCHAR, new_user VARCHAR)")
    ...     engine.execute("INSERT INTO rejoin_links VALUES ('a', 'b'), ('b', 'c'), ('x', 'y')")
    ...     sorted(linked_ids(engine, "c"))
    ['a', 'b', 'c']
    """
    found = set(_id_list(user_ids))
    if not engine.has_table(links.split(".")[-1]):
        return found
    rows = engine.fetch_arrow(f"SELECT old_user, new_user FROM {links}").to_pylist()
    edges: dict[str, set[str]] = {}
    for row in rows:
        old, new = row["old_user"], row["new_user"]
        if old is None or new is None:
            continue
        edges.setdefault(old, set()).add(new)
        edges.setdefault(new, set()).add(old)
    todo = list(found)
    while todo:
        for other in edges.get(todo.pop(), ()):
            if other not in found:
                found.add(other)
                todo.append(other)
    return found


def _tables(engine: Engine, catalog: str) -> list[dict]:
    return engine.fetch_arrow(
        "SELECT table_name, sql FROM duckdb_tables() WHERE database_name = "
        f"{literal(catalog)} AND schema_name = 'main' ORDER BY table_name"
    ).to_pylist()


def _own(engine: Engine) -> set[str]:
    """The tables of the engine's own database (not of the attached previous state)."""
    own = engine.fetch_scalar("SELECT current_database()")
    return {t["table_name"] for t in _tables(engine, own)}


def _text_columns(engine: Engine, catalog: str, table: str) -> list[str]:
    rows = engine.fetch_arrow(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = "
        f"{literal(catalog)} AND schema_name = 'main' AND table_name = {literal(table)} "
        "AND data_type = 'VARCHAR' ORDER BY column_index"
    )
    return rows.column("column_name").to_pylist()


def _profile_sets(engine: Engine, catalog: str, names: set[str]) -> dict[str, dict]:
    """name -> meta of every profile set in ``catalog`` (a ``<name>_meta`` table whose JSON
    names its settings and log table)."""
    sets = {}
    for table in sorted(names):
        if not table.endswith("_meta"):
            continue
        name = table.removesuffix("_meta")
        try:
            value = engine.fetch_scalar(f"SELECT value FROM {catalog}.main.{quote(table)}")
            meta = json.loads(value)
        except Exception:  # not a profile set's meta table: copied like any other
            continue
        if isinstance(meta, dict) and "settings" in meta and "log_table" in meta:
            sets[name] = meta
    return sets


def forget_in(ws: Workspace, user_ids: str | Iterable[str], *, source: str = SOURCE) -> dict:
    """Write into ``ws`` (a fresh workspace file) the state attached as catalog ``source``
    without any row that holds one of ``user_ids`` in a text column, and with every profile set
    derived again from its log. Returns the rows removed per table (profile sets as
    ``<name>_users``: the users they held before minus after). The caller attaches ``source``
    read-only and swaps ``ws`` in (see :func:`netpersona.rejoin.forget`)."""
    ids = _id_list(user_ids)
    ws.register_arrow(_IDS, pa.table({"id": pa.array(ids, pa.string())}))
    try:
        return _copy_without(ws, source)
    finally:
        ws.execute(f"DROP VIEW IF EXISTS {_IDS}")


def _daily_tables() -> set[str]:
    """The daily store's tables (raw rows, per-user-day partials, link segments, days held,
    its state): :func:`netpersona.rejoin.forget_daily` removes the ids from them and derives
    the library again, the way `add-day` built it."""
    from netpersona.rejoin._daily import APPLIED, DAYS, LIBRARY_LOG, STATE
    from netpersona.rejoin._daily_sql import PARTIALS

    return {LIBRARY_LOG, APPLIED, DAYS, STATE, *PARTIALS.values()}


def _copy_without(ws: Workspace, source: str) -> dict:
    from netpersona.rejoin._daily import DAYS, LIBRARY
    from netpersona.rejoin._forget_store import has_store, library_tables

    tables = {t["table_name"]: t["sql"] for t in _tables(ws, source)}
    sets = _profile_sets(ws, source, set(tables))
    daily = DAYS in tables
    # a daily workspace's library is the daily store's aggregate: copied as it is, then
    # derived again by forget_daily (or written again from the store beside the workspace);
    # other profile sets are derived from their logs below
    as_is = _daily_tables() | {table_name(LIBRARY, part) for part in PARTS} if daily else set()
    if daily and has_store(ws):
        as_is = library_tables(ws, source)
    if daily:
        sets.pop(LIBRARY, None)
    derived = {table_name(name, part) for name in sets for part in PARTS}
    removed: dict[str, int] = {}
    own = _own(ws)
    for table, ddl in tables.items():
        if table == _STATE or table in derived:
            continue
        if table in as_is:
            continue
        where = " OR ".join(
            f"coalesce({quote(c)} IN (SELECT id FROM {_IDS}), false)"
            for c in _text_columns(ws, source, table)
        )
        origin = f"{source}.main.{quote(table)}"
        if table not in own:
            ws.execute(ddl)
        ws.execute(
            f"INSERT INTO {quote(table)} SELECT * FROM {origin}"
            + (f" WHERE NOT ({where})" if where else "")
        )
        if where:
            gone = int(ws.fetch_scalar(f"SELECT count(*) FROM {origin} WHERE {where}"))
            if gone:
                removed[table] = gone
    if daily:
        for table, gone in _forget_daily_beside(ws, source, sorted(as_is & set(tables))).items():
            removed[table] = removed.get(table, 0) + gone
    for name, meta in sorted(sets.items(), key=lambda item: item[1].get("reference") is not None):
        before = int(ws.fetch_scalar(f"SELECT count(*) FROM {source}.main.{name}_users"))
        after = _derive(ws, name, meta)
        if before - after:
            removed[table_name(name, "users")] = before - after
    return removed


def _forget_daily_beside(ws: Workspace, source: str, copied: list[str]) -> dict[str, int]:
    """The daily store without the ids, derived in a scratch database beside ``ws`` and then
    copied into it: its deletes and re-aggregation leave their free pages in the scratch
    file, which is removed, never in the workspace's. A store beside the workspace
    (``W.store``) is written again fresh, and the library from it
    (:func:`netpersona.rejoin._forget_store.forget_store`)."""
    from netpersona.rejoin._daily_status import forget_daily
    from netpersona.rejoin._forget_store import forget_store, has_store

    ids = ws.fetch_arrow(f"SELECT id FROM {_IDS}").column("id").to_pylist()
    if has_store(ws):
        meta = json.loads(ws.fetch_scalar(f"SELECT value FROM {source}.main.library_meta"))
        settings = RejoinSettings.from_mapping(meta["settings"], source="library_meta")
        return forget_store(ws, source, ids, settings)
    path = Path(ws.workspace_path)
    scratch = path.with_name(path.name + ".forget-scratch")
    for stale in (scratch, Path(f"{scratch}.wal")):
        stale.unlink(missing_ok=True)
    main = ws.fetch_scalar("SELECT current_database()")
    ws.execute(f"ATTACH {literal(str(scratch))} AS {_SCRATCH}")
    try:
        ws.execute(f"USE {_SCRATCH}")
        for table in copied:
            ws.execute(f"CREATE TABLE {quote(table)} AS SELECT * FROM "
                       f"{source}.main.{quote(table)}")  # fmt: skip
        removed = forget_daily(ws, ids)
        ws.execute(f"USE {quote(main)}")
        for row in _tables(ws, _SCRATCH):
            name = quote(row["table_name"])
            ws.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {_SCRATCH}.main.{name}")
        views = ws.fetch_arrow(
            f"SELECT sql FROM duckdb_views() WHERE database_name = {literal(_SCRATCH)} "
            "AND NOT internal"
        )
        for sql in views.column("sql").to_pylist():
            ws.execute(sql)
    finally:
        ws.execute(f"USE {quote(main)}")
        ws.execute(f"DETACH {_SCRATCH}")
        for stale in (scratch, Path(f"{scratch}.wal")):
            stale.unlink(missing_ok=True)
    return removed


def _derive(ws: Workspace, name: str, meta: dict) -> int:
    """Profile set ``name`` built again in ``ws`` from its log; its user count."""
    log = meta["log_table"]
    if log not in _own(ws):
        raise InputError(
            f"the profile set {name!r} was built from table {log!r}, which the workspace no "
            "longer holds, so it cannot be derived again without the forgotten rows",
            hint="rebuild the library (`netpersona rejoin index LOGS --workspace W --force`)",
        )
    settings = RejoinSettings.from_mapping(meta["settings"], source=f"{name}_meta")
    reference = meta.get("reference")
    ref = Profiles.open(ws, reference) if reference else None
    return build_profiles(ws, log, name, settings, reference=ref).n_users
