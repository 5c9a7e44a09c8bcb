"""The workspace: one DuckDB file in which netpersona keeps its tables between commands.

The :class:`Workspace` owns the file's layout (the library's tables, the learned matcher's
folder), its writer lock (one writer; a second gets :class:`WorkspaceBusyError` naming the
holder), its version and its complete-marker. A build never changes the live file: it writes a
copy beside it (``W.building``) and swaps it in with one rename, so a failed or killed build
leaves the previous state whole, and readers keep answering from the last complete state
meanwhile (:meth:`Workspace.reader` attaches the live file read-only).

Every ingested file is recorded with its content hash (SHA-256) per table, so ingesting the
same content into the same table again is a no-op with a message instead of duplicate rows.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from netpersona._core import (
    InputError,
    Progress,
    WorkspaceBusyError,
    WorkspaceIncompleteError,
    check_name,
)
from netpersona.engine import _store
from netpersona.engine._base import Engine
from netpersona.engine._duckdb import DuckDBEngine
from netpersona.engine._lock import holder, writer_lock

if TYPE_CHECKING:
    from netpersona.io import LogMapping, ReadSummary

#: the table recording which file contents went into which table
LEDGER = "_netpersona_ingested"
#: the table holding the workspace's version and complete-marker (one row)
STATE = "_netpersona_state"
DEFAULT_WORKSPACE = "netpersona.duckdb"
#: the re-join library's log and profile set, as every command names them
LIBRARY_LOG = "library_log"
LIBRARY = "library"
_CHUNK = 1 << 20
_WHAT = re.compile(r"[A-Za-z0-9 _-]{1,80}")


def content_hash(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as hex (streamed: memory stays flat on huge logs)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class WorkspaceState:
    """A workspace's build state: ``version`` counts completed builds; ``complete`` is false
    while (or when) a build has not finished.

    >>> WorkspaceState(version=3).complete
    True
    """

    version: int = 0
    complete: bool = True
    built_at: str | None = None
    what: str | None = None


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC).replace(tzinfo=None)


def _is_lock_error(exc: Exception) -> bool:
    return "lock" in str(exc).lower()


class Workspace(DuckDBEngine):
    """A DuckDB engine over a workspace file (created if missing), with ingest bookkeeping.

    Opened read-write it holds the writer lock until :meth:`close` (another writer gets
    :class:`WorkspaceBusyError` at once). Commands that build use :meth:`rebuild`; those that
    only read use :meth:`reader`.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "w.duckdb"
    >>> with Workspace.rebuild(path) as ws:
    ...     ws.execute("CREATE TABLE t AS SELECT 42 AS answer")
    >>> with Workspace.reader(path) as ws:
    ...     ws.fetch_scalar("SELECT answer FROM t"), Workspace.state_of(ws).version
    (42, 1)
    """

    #: the layout: the re-join library's log table and profile set
    LIBRARY_LOG = LIBRARY_LOG
    LIBRARY = LIBRARY

    def __init__(
        self,
        path: str | Path = DEFAULT_WORKSPACE,
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        read_only: bool = False,
        lock: bool = True,
    ) -> None:
        self.workspace_path = Path(path)
        self._unlock = None
        if read_only and not self.workspace_path.exists():
            raise InputError(
                "no such workspace",
                path=path,
                hint="build it with `netpersona rejoin index LOGS --workspace W`",
            )
        if not read_only:
            self.workspace_path.parent.mkdir(parents=True, exist_ok=True)
            if lock:
                held = writer_lock(path)
                held.__enter__()
                self._unlock = held
        try:
            super().__init__(path, threads=threads, memory_limit=memory_limit, read_only=read_only)
        except Exception as exc:
            self._release()
            if _is_lock_error(exc):
                raise WorkspaceBusyError(path, *holder(path)) from None
            raise
        if not read_only:
            self.execute(
                f"CREATE TABLE IF NOT EXISTS {LEDGER} (table_name VARCHAR, content_hash VARCHAR, "
                "source VARCHAR, rows BIGINT, rejected BIGINT, ingested_at TIMESTAMP)"
            )

    def _release(self) -> None:
        if self._unlock is not None:
            self._unlock.__exit__(None, None, None)
            self._unlock = None

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()

    # -- layout -----------------------------------------------------------------------------
    @staticmethod
    def matcher_dir(path: str | Path) -> Path:
        """Where ``rejoin train`` keeps the learned matcher of workspace ``path``."""
        path = Path(path)
        return path.with_name(path.name + ".learned")

    @staticmethod
    def building_path(path: str | Path) -> Path:
        """The copy a build writes before it is swapped in."""
        path = Path(path)
        return path.with_name(path.name + ".building")

    #: the store beside the workspace (``W.store``), which only the writer opens, written in
    #: place by :meth:`store_build`; :meth:`store_reading` lends it to a reader
    store_path = staticmethod(_store.store_path)
    store_reading = staticmethod(_store.store_reading)

    @classmethod
    def store_build(cls, path: str | Path, *, what: str, fresh: bool = False, **options):
        """A build that changes ``W.store`` in place and swaps in the library file."""
        return _store.store_build(cls, path, what=what, fresh=fresh, **options)

    # -- readers ----------------------------------------------------------------------------
    @classmethod
    def reader(
        cls,
        path: str | Path,
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        require_complete: bool = True,
    ) -> DuckDBEngine:
        """An in-memory engine with the workspace's last complete state attached read-only:
        its tables read by their names, scratch tables created in memory. Any number of
        readers run beside each other and beside a build."""
        path = Path(path)
        if not path.exists():
            raise InputError(
                "no such workspace",
                path=path,
                hint="build it with `netpersona rejoin index LOGS --workspace W`",
            )
        engine = DuckDBEngine(threads=threads, memory_limit=memory_limit)
        literal = "'" + str(path).replace("'", "''") + "'"
        try:
            engine.execute(f"ATTACH {literal} AS workspace (READ_ONLY)")
        except Exception as exc:
            engine.close()
            if _is_lock_error(exc):
                raise WorkspaceBusyError(path, *holder(path)) from None
            raise InputError(
                f"not a netpersona workspace: {str(exc).splitlines()[0]}",
                path=path,
                hint="give the DuckDB file written by `netpersona rejoin index`",
            ) from None
        engine.execute("SET search_path = 'memory.main,workspace.main'")
        engine.workspace_path = path  # type: ignore[attr-defined]
        if require_complete:
            cls.require_complete(engine, path)
        return engine

    # -- versions and the complete-marker ------------------------------------------------------
    @staticmethod
    def state_of(engine: Engine) -> WorkspaceState:
        """The build state recorded in ``engine``'s database (a workspace from before markers
        existed counts as complete, version 0)."""
        if not engine.has_table(STATE):
            return WorkspaceState()
        rows = engine.fetch_arrow(
            f"SELECT version, complete, CAST(finished_at AS VARCHAR) AS built_at, what FROM {STATE}"
        ).to_pylist()
        if not rows:
            return WorkspaceState()
        row = rows[0]
        return WorkspaceState(
            int(row["version"]), bool(row["complete"]), row["built_at"], row["what"]
        )

    @classmethod
    def require_complete(cls, engine: Engine, where: str | Path) -> WorkspaceState:
        """The state, or :class:`WorkspaceIncompleteError` when the last build did not end."""
        state = cls.state_of(engine)
        if not state.complete:
            raise WorkspaceIncompleteError(
                f"{where}: the workspace's last build ({state.what or 'index'}, version "
                f"{state.version + 1}) did not complete, so its tables cannot be trusted\n"
                "  hint: rebuild it (`netpersona rejoin index LOGS --workspace W --force`)"
            )
        return state

    @staticmethod
    def mark(engine: Engine, version: int, complete: bool, what: str) -> None:
        """Record ``engine``'s build state (one row, replaced); values are bound parameters on
        DuckDB, and on an engine without parameters (Spark) ``what`` must be plain words."""
        stamp = _now().isoformat(sep=" ")
        con = getattr(engine, "con", None)
        if con is not None:
            con.execute(
                f"CREATE OR REPLACE TABLE {STATE} AS SELECT CAST(? AS BIGINT) AS version, "
                "CAST(? AS BOOLEAN) AS complete, CAST(? AS TIMESTAMP) AS finished_at, "
                "CAST(? AS BIGINT) AS pid, CAST(? AS VARCHAR) AS what",
                [int(version), bool(complete), stamp, os.getpid(), str(what)],
            ).fetchall()
            return
        if not _WHAT.fullmatch(what):
            raise ValueError(f"build name {what!r}: letters, digits, spaces, _ and - only")
        engine.create_table(
            STATE,
            f"SELECT CAST({int(version)} AS BIGINT) AS version, {str(bool(complete)).upper()} "
            f"AS complete, CAST('{stamp}' AS TIMESTAMP) AS finished_at, "
            f"CAST({os.getpid()} AS BIGINT) AS pid, '{what}' AS what",
        )

    # -- builds: beside the live file, swapped in whole ----------------------------------------
    @classmethod
    @contextmanager
    def rebuild(
        cls,
        path: str | Path,
        *,
        fresh: bool = False,
        what: str = "index",
        threads: int | None = None,
        memory_limit: str | None = None,
    ) -> Iterator[Workspace]:
        """Build the next state of workspace ``path``: hold the writer lock, copy the live file
        (or start empty with ``fresh``) to ``W.building``, yield it marked incomplete, then mark
        it complete and rename it over the live file. On any error (or a kill) the live file is
        untouched; a stale copy is removed by the next build."""
        path = Path(path)
        with writer_lock(path):
            building, version = _store.stage(cls, path, fresh)
            ws = cls(building, threads=threads, memory_limit=memory_limit, lock=False)
            try:
                cls.mark(ws, version + 1, False, what)
                yield ws
                cls.mark(ws, version + 1, True, what)
                ws.execute("CHECKPOINT")
                ws.close()
                _store.swap_in(building, path)
            except BaseException:
                ws.close()
                _store.discard(building)
                raise

    @classmethod
    def exists(cls, path: str | Path) -> bool:
        """Whether a workspace file exists at ``path``."""
        return Path(path).is_file()

    def drop_ingested(self, table: str) -> None:
        """Drop ``table`` and forget which files went into it (so they can be read again)."""
        self.execute(f'DROP TABLE IF EXISTS "{table.replace(chr(34), chr(34) * 2)}"')
        self.con.execute(
            f"DELETE FROM {LEDGER} WHERE lower(table_name) = lower(?)", [table]
        ).fetchall()

    def ingested(self, table: str | None = None) -> list[dict]:
        """The files ingested so far (into ``table``, or into any table), oldest first."""
        if not self.has_table(LEDGER):
            return []
        where, params = (
            ("", []) if table is None else (" WHERE lower(table_name) = lower(?)", [table])
        )
        result = self.con.execute(
            f"SELECT * FROM {LEDGER}{where} ORDER BY ingested_at, source", params
        )
        names = [d[0] for d in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

    def ingest(
        self,
        paths: str | Path | Sequence[str | Path],
        mapping: LogMapping | None = None,
        table: str = "access_log",
        quarantine: str | Path | None = None,
        progress: Progress | None = None,
        transaction: bool = True,
    ) -> ReadSummary:
        """Append access-log files to ``table`` (created if missing), skipping any file whose
        content was ingested into ``table`` before. All or nothing: if a file fails, the table
        and the record of ingested files stay as they were (``transaction=False``: the caller's
        open transaction is the one that does so)."""
        from netpersona.io import ReadSummary, read_access_log

        progress = progress or Progress()
        # one spelling per table: a quoted or odd name would dodge the ledger (and reach SQL)
        table = check_name(table, "--table")
        files = [Path(p) for p in ([paths] if isinstance(paths, str | Path) else paths)]
        seen = {row["content_hash"] for row in self.ingested(table)}
        fresh: list[tuple[Path, str]] = []
        skipped: list[Path] = []
        for path in progress.track(files, "hashing files"):
            digest = content_hash(path)
            if digest in seen:
                progress.log(
                    f"{path}: this content (sha256 {digest[:12]}…) is already in table "
                    f"{table}; skipped"
                )
                skipped.append(path)
            else:
                seen.add(digest)
                fresh.append((path, digest))
        if not fresh:
            return ReadSummary(table=table, skipped=tuple(skipped))
        if transaction:
            self.execute("BEGIN TRANSACTION")
        try:
            summary = read_access_log(
                [p for p, _ in fresh],
                mapping,
                engine=self,
                table=table,
                quarantine=quarantine,
                progress=progress,
                append=True,
            )
            now = _dt.datetime.now(_dt.UTC).replace(tzinfo=None)
            for path, digest in fresh:
                self.con.execute(
                    f"INSERT INTO {LEDGER} VALUES (?, ?, ?, ?, ?, ?)",
                    [table, digest, str(path.resolve()), *summary.by_file[path], now],
                ).fetchall()
            if transaction:
                self.execute("COMMIT")
        except BaseException:
            if transaction:
                self.execute("ROLLBACK")
            raise
        summary.skipped = tuple(skipped)
        return summary
