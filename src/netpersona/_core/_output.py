"""Writing results safely: never half a file, never over an existing result without ``force``."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from netpersona._core._exceptions import OutputExistsError


def check_writable(path: str | Path, force: bool = False) -> Path:
    """Raise :class:`OutputExistsError` if ``path`` exists and ``force`` is false (for a
    database table URL, if that table exists: see ``_table_db.check_table_writable``).

    >>> import tempfile, pathlib
    >>> done = pathlib.Path(tempfile.mkdtemp()) / "tiers.csv"
    >>> check_writable(done) == done
    True
    >>> _ = done.write_text("kept")
    >>> try:
    ...     check_writable(done)
    ... except OutputExistsError:
    ...     print("refused without force")
    refused without force
    >>> check_writable(done, force=True) == done
    True
    """
    from netpersona._core._table_urls import is_table_url

    if is_table_url(path):
        from netpersona._core._table_db import check_table_writable
        from netpersona._core._table_urls import parse_table_url

        check_table_writable(parse_table_url(path), force)
        return Path(str(path))  # the caller keeps the URL string; this only says "writable"
    path = Path(path)
    if path.exists() and not force:
        raise OutputExistsError(path)
    return path


@contextmanager
def atomic_output(path: str | Path, force: bool = False, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it into place only if the block succeeds.

    The temporary file lives in the destination's folder so the final ``os.replace`` is atomic
    on one file system. If the block raises (or the process dies) no file appears at ``path``;
    a dead process may leave a ``.<name>.*.tmp`` file behind, never a half-written result.
    With ``directory=True`` the yielded path is a fresh empty folder.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "matches.csv"
    >>> try:
    ...     with atomic_output(out) as tmp:
    ...         _ = tmp.write_text("half a file")
    ...         raise RuntimeError("killed midway")
    ... except RuntimeError:
    ...     pass
    >>> out.exists(), list(out.parent.iterdir())
    (False, [])
    >>> with atomic_output(out) as tmp:
    ...     _ = tmp.write_text("query_user,decision")
    >>> out.read_text()
    'query_user,decision'
    """
    path = Path(path)
    check_writable(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        # mkstemp/mkdtemp make owner-only files; give the result the usual umask permissions
        tmp.chmod((0o777 if directory else 0o666) & ~_umask())
        if directory and path.exists():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        os.replace(tmp, path)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | Path, text: str, force: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_output`).

    >>> import tempfile, pathlib
    >>> path = write_text_atomic(pathlib.Path(tempfile.mkdtemp()) / "a.txt", "hello")
    >>> path.read_text()
    'hello'
    """
    with atomic_output(path, force=force) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def sync_folder(folder: str | Path) -> None:
    """fsync ``folder``, so that renames and new files in it survive a power cut (best effort
    where a directory cannot be opened).

    >>> import tempfile
    >>> sync_folder(tempfile.mkdtemp())
    """
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
