"""The re-join library the service answers from: loaded once, swapped when the workspace
changes, never written.

The workspace is attached read-only just long enough to copy the library's profile tables
into an in-memory DuckDB (DuckDB's file lock forbids a reader while the daily job writes, so
it is not kept open). A background task watches :func:`workspace_version`; when a new version
has stayed the same for one check interval (the writer is done) it loads it beside the old one
and swaps the reference: requests in flight finish on the state they started with.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from netpersona.rejoin import RejoinSettings
from netpersona.serve._identify import LoadedLibrary, identify_events, load_library

log = logging.getLogger("netpersona.serve")


def workspace_version(path: Path) -> tuple | None:
    """Identity of the workspace's current complete state, or ``None`` while it is being
    written (a write-ahead log beside it) or absent. The one place that says what a new
    version is: switch it to the workspace's own version marker when it has one."""
    wal = path.with_name(path.name + ".wal")
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    if wal.exists() and wal.stat().st_size > 0:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass
class LibraryState:
    """One loaded version of the library and the lock its in-memory engine is used under."""

    library: LoadedLibrary
    version: tuple | None
    loaded_at: float
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def n_users(self) -> int:
        return self.library.profiles.n_users


def load_state(workspace: Path, settings: RejoinSettings, threads: int = 1) -> LibraryState:
    """Load the library of ``workspace`` and run one identification to warm it up (the
    compiled steps are built on first use; no request should pay for that)."""
    version = workspace_version(workspace)
    library = load_library(workspace, settings)
    try:
        _warm_up(library)
    except BaseException:
        library.close()
        raise
    return LibraryState(library, version, time.time())


def _warm_up(library: LoadedLibrary) -> None:
    arrays = library.profiles.arrays()
    if arrays.n_users == 0:
        return
    sites = arrays.site_names.to_pylist()
    first = arrays.frequent_sites[arrays.frequent_indptr[0] : arrays.frequent_indptr[1]]
    names = [sites[int(c)] for c in first[:5]] or [s for s in sites[:5] if s]
    events = [
        {"user_id": "warm-up", "ts": f"2000-01-0{1 + i % 3}T{8 + i:02d}:00:00", "site": name}
        for i, name in enumerate(names * 2)
    ]
    identify_events(library, events, "site")


def _close_when_free(state: LibraryState) -> None:
    with state.lock:
        state.library.close()


class LibraryHolder:
    """The current :class:`LibraryState` and the task that replaces it when the workspace
    changes."""

    def __init__(
        self, workspace: Path, settings: RejoinSettings, check_seconds: float = 2.0, metrics=None
    ) -> None:
        self.workspace = workspace
        self.settings = settings
        self.check_seconds = check_seconds
        self.metrics = metrics
        self.state: LibraryState | None = None
        self._task: asyncio.Task | None = None
        self._seen: tuple | None = None

    def load(self) -> None:
        self._swap(load_state(self.workspace, self.settings))

    def _swap(self, state: LibraryState) -> None:
        old, self.state = self.state, state  # one assignment: requests see old or new, whole
        if old is not None:  # closed once the request that may still hold it is done
            threading.Thread(target=_close_when_free, args=(old,), daemon=True).start()
        if self.metrics is not None:
            self.metrics.library_users.set(state.n_users)
            self.metrics.library_loaded.set(state.loaded_at)
        log.info(
            "re-join library of %s loaded: %d users (pid %d)",
            self.workspace, state.n_users, os.getpid(),
        )  # fmt: skip

    async def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="netpersona-library-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.check_seconds)
            try:
                await self.check_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep serving the old state; try again next time
                log.exception("reloading the library failed; still serving the previous one")
                if self.metrics is not None:
                    self.metrics.library_reloads.labels("failed").inc()

    async def check_once(self) -> bool:
        """Load the workspace when a new version has been stable for one check; True if
        the state was swapped."""
        current = self.state.version if self.state is not None else None
        version = workspace_version(self.workspace)
        if version is None or version == current:
            self._seen = None
            return False
        if version != self._seen:  # changed since the last look: wait until it settles
            self._seen = version
            return False
        state = await asyncio.to_thread(load_state, self.workspace, self.settings)
        if state.version != version:  # written again while we loaded: take it next time
            self._seen = None
        self._swap(state)
        if self.metrics is not None:
            self.metrics.library_reloads.labels("ok").inc()
        return True
