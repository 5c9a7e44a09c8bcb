"""Exceptions raised by netpersona, for people to read and programs to catch.

    NetpersonaError                 base of everything netpersona raises on purpose   exit 1
     ├── InputError                 bad input data: names the file, line, column, what was expected
     │    ├── ColumnNotFoundError   a mapped column is not in the file (lists the ones that are)
     │    └── TooManyBadRowsError   more than --max-bad-fraction of the rows could not be parsed
     ├── ConfigError                a settings / indicator-system / weights file is wrong
     ├── ModelFormatError           a saved model is corrupt or from a newer format
     ├── UsageError                 the command cannot run as asked (flags)            exit 2
     │    └── OutputExistsError     an output exists and --force was not given
     ├── WorkspaceError             a workspace cannot be used as it is now            exit 3
     │    ├── WorkspaceBusyError    another process is writing it ("held by pid N since T")
     │    └── WorkspaceIncompleteError  its last build did not complete
     └── ResourceError              the machine refused: disk full, no permission      exit 4
          └── ResourceLimitError    the run needs more memory than --memory-limit allows
               └── TempSpaceError   ... or more temporary disk than its temp folder may use

Every message says what was expected and what to do about it. ``exit_code`` is the command
line's exit status for the class (anything else that escapes is a bug: exit 70).
"""

from __future__ import annotations

from pathlib import Path


class NetpersonaError(Exception):
    """Base class of all errors netpersona raises deliberately."""

    #: the command line's exit status for this kind of error
    exit_code: int = 1


class InputError(NetpersonaError):
    """Input data that cannot be used as it is.

    ``path``, ``line`` (1-based, counting the header) and ``column`` are set when known, and
    appear in the message.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.column = column
        self.hint = hint
        where = []
        if self.path is not None:
            where.append(self.path)
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column!r}")
        text = f"{', '.join(where)}: {message}" if where else message
        if hint:
            text = f"{text}\n  hint: {hint}"
        super().__init__(text)


class ColumnNotFoundError(InputError):
    """A mapped column does not exist in the input."""


class TooManyBadRowsError(InputError):
    """The share of unparsable rows exceeds the allowed fraction."""


class ConfigError(NetpersonaError):
    """A settings file, indicator system or weights file is invalid."""


class UsageError(NetpersonaError):
    """The command cannot run as asked: flags that conflict, a missing ``--force``.

    >>> UsageError("give input files or --table, not both").exit_code
    2
    """

    exit_code = 2


class OutputExistsError(UsageError):
    """Refusing to overwrite an existing output without ``force``."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        super().__init__(
            f"{self.path} already exists; pass --force to overwrite it, "
            "or choose another output path"
        )


class ModelFormatError(NetpersonaError):
    """A saved model cannot be loaded: corrupt, or written by a newer format version."""


class WorkspaceError(NetpersonaError):
    """A workspace cannot be used as it is now."""

    exit_code = 3


class WorkspaceBusyError(WorkspaceError):
    """Another process holds the workspace's writer lock.

    ``pid`` and ``since`` (ISO time) name the holder when known.
    """

    def __init__(self, path: str | Path, pid: int | None = None, since: str | None = None) -> None:
        self.path = str(path)
        self.pid = pid
        self.since = since
        held = f" (held by pid {pid} since {since})" if pid is not None else ""
        super().__init__(
            f"workspace busy{held}: {self.path}\n  hint: wait for that command to finish, or "
            "stop it; readers (identify, explain) keep answering from the last complete state"
        )


class WorkspaceIncompleteError(WorkspaceError):
    """The workspace's last build did not complete: its tables cannot be trusted."""


class ResourceError(NetpersonaError):
    """The machine refused: the disk is full, a path is not writable, memory ran out.

    >>> ResourceError("out/: the disk is full").exit_code
    4
    """

    exit_code = 4


class ResourceLimitError(ResourceError):
    """The run needs more of the machine than it is allowed (``--memory-limit``)."""


class TempSpaceError(ResourceLimitError):
    """The run would spill more to its temporary folder than the disk (or
    ``--max-temp-size``) allows; ``folder`` is that folder, ``needed`` and ``limit`` bytes
    when known."""

    def __init__(
        self,
        message: str,
        *,
        folder: str | Path,
        needed: int | None = None,
        limit: int | None = None,
    ) -> None:
        self.folder = str(folder)
        self.needed = needed
        self.limit = limit
        super().__init__(message)
