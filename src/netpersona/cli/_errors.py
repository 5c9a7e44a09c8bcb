"""What an error that ends a command becomes: one line (and a hint) on stderr, an exit status.

    0   done
    1   bad input or data (a file, a setting, a model)          InputError, ConfigError, ...
    2   usage: flags that cannot run as given, a missing --force  UsageError, Click's own
    3   the workspace is busy (another writer) or incomplete     WorkspaceError
    4   the environment refused: disk full, no permission, memory  ResourceError, OSError
    70  internal: a bug in netpersona (report it; --debug shows the traceback)

The one place exceptions turn into exit statuses (docs/errors.md lists them for users).
"""

from __future__ import annotations

import errno
import traceback

from netpersona._core import InputError, NetpersonaError, ResourceError

EXIT_INPUT, EXIT_USAGE, EXIT_BUSY, EXIT_ENVIRONMENT, EXIT_INTERNAL = 1, 2, 3, 4, 70

_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}
_HINT_FULL = "free some space (or point --out / $TMPDIR at a disk with room) and run it again"
_HINT_DENIED = "check the path's owner and permissions, or choose a folder you can write"


def declared(exc: BaseException) -> NetpersonaError | None:
    """``exc`` as one of netpersona's declared errors, when it is one or stands for one (an
    ``OSError`` of the machine, a database's "disk full"); None for a bug."""
    if isinstance(exc, NetpersonaError):
        return exc
    if isinstance(exc, MemoryError):
        return ResourceError("out of memory\n  hint: give it less at once (fewer files, days)")
    if isinstance(exc, UnicodeDecodeError):
        return InputError(
            f"not UTF-8 text ({exc.reason} at byte {exc.start})",
            hint="save the file as UTF-8 and run it again",
        )
    if isinstance(exc, OSError):
        return _os_error(exc)
    # a database engine's I/O failure (DuckDB's IOException, OutOfMemoryException) without
    # importing the engine here
    kind = type(exc).__name__
    text = str(exc).splitlines()[0] if str(exc) else kind
    if type(exc).__module__.split(".")[0] in {"duckdb", "_duckdb"}:
        low = text.lower()
        if "no space left" in low or "disk full" in low:
            return ResourceError(f"the disk is full: {text}\n  hint: {_HINT_FULL}")
        if "permission denied" in low:
            return ResourceError(f"permission denied: {text}\n  hint: {_HINT_DENIED}")
        if kind == "OutOfMemoryException":
            return ResourceError(f"out of memory: {text}\n  hint: raise --memory-limit")
    return None


def _os_error(exc: OSError) -> NetpersonaError:
    where = exc.filename if exc.filename is not None else ""
    what = f"{where}: " if where else ""
    if exc.errno in _FULL:
        return ResourceError(f"{what}the disk is full\n  hint: {_HINT_FULL}")
    if exc.errno in _DENIED:
        return ResourceError(f"{what}permission denied\n  hint: {_HINT_DENIED}")
    if isinstance(exc, FileNotFoundError):
        return InputError("no such file or folder", path=where or None, hint="check the path")
    if isinstance(exc, IsADirectoryError):
        return InputError("a folder, where a file was expected", path=where or None)
    if isinstance(exc, NotADirectoryError):
        return InputError("a file, where a folder was expected", path=where or None)
    return ResourceError(f"{what}{exc.strerror or exc}\n  hint: check the disk and the path")


def render(exc: BaseException) -> tuple[int, str, str]:
    """``(exit status, label, message)`` for ``exc``: label ``error`` for a declared error,
    ``internal error`` for a bug (with a hint to rerun with ``--debug`` and report it)."""
    error = declared(exc)
    if error is None:
        line = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return (
            EXIT_INTERNAL,
            "internal error",
            (
                f"a bug in netpersona: {line[:300]}\n"
                "  hint: run it again with --debug for the traceback, and report it"
            ),
        )
    return error.exit_code, "error", str(error)


def traceback_text(exc: BaseException) -> str:
    """The traceback of ``exc``, as ``--debug`` shows it."""
    return "".join(traceback.format_exception(exc))
