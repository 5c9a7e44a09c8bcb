"""One writer per workspace: an advisory lock file beside it (``W.lock``).

The lock is an ``flock`` on the file, so the operating system releases it when its holder dies,
even by ``kill -9``; the file's text (``pid since``) only names the holder in the error. Within
one process the lock is re-entrant (a command that opens its workspace twice does not lock
itself out).
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from netpersona._core import WorkspaceBusyError

_HELD: dict[str, tuple[int, int]] = {}  # lock path -> (fd, depth), this process
_GUARD = threading.Lock()


def lock_path(workspace: str | Path) -> Path:
    """The writer-lock file of workspace file ``workspace``."""
    workspace = Path(workspace)
    return workspace.with_name(workspace.name + ".lock")


def holder(workspace: str | Path) -> tuple[int | None, str | None]:
    """(pid, since) written by the lock's current or last holder, if readable."""
    try:
        text = lock_path(workspace).read_text(encoding="utf-8").split()
        return int(text[0]), text[1]
    except (OSError, ValueError, IndexError):
        return None, None


@contextmanager
def writer_lock(workspace: str | Path) -> Iterator[None]:
    """Hold the workspace's writer lock, or raise :class:`WorkspaceBusyError` at once."""
    path = lock_path(workspace)
    key = str(path.resolve())
    with _GUARD:
        if key in _HELD:
            fd, depth = _HELD[key]
            _HELD[key] = (fd, depth + 1)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise WorkspaceBusyError(workspace, *holder(workspace)) from None
            since = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {since}\n".encode(), 0)
            _HELD[key] = (fd, 1)
    try:
        yield
    finally:
        with _GUARD:
            fd, depth = _HELD[key]
            if depth > 1:
                _HELD[key] = (fd, depth - 1)
            else:
                del _HELD[key]
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)


def is_held_here(workspace: str | Path) -> bool:
    """Whether this process holds the workspace's writer lock."""
    return str(lock_path(workspace).resolve()) in _HELD
