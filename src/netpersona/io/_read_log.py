"""The one way any capability reads an access log: :func:`read_log`.

A log is local files (CSV/TSV/space/JSONL/Parquet, gzip), a table of the engine (``--table``),
or, on an engine that reads paths itself (Spark), any path that engine reaches (``hdfs://``,
``s3a://``). io never imports the engine package: it receives an engine object and asks it.
An engine whose ``native_log_reader`` is true reads the log with its own
``engine.read_log(sources, table, mapping, from_table=...)``; any other engine must speak
DuckDB's SQL, and io's reader (:func:`~netpersona.io.read_access_log`) does the work.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from netpersona._core import ConfigError, InputError, Progress, UsageError
from netpersona.io._mapping import LogMapping
from netpersona.io._reader import ReadSummary, read_access_log
from netpersona.io._sources import sql_ident

_TABLE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)?")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class LogTable:
    """A table of the engine read as a log (the CLI's ``--table db.name``).

    >>> LogTable("raw.access").quoted
    '"raw"."access"'
    >>> LogTable("x; DROP TABLE y")
    Traceback (most recent call last):
    ...
    netpersona._core._exceptions.ConfigError: --table 'x; DROP TABLE y' is not a table name; expected name or db.name
    """  # noqa: E501

    name: str

    def __post_init__(self) -> None:
        if not _TABLE_NAME.fullmatch(self.name):
            raise ConfigError(
                f"--table {self.name!r} is not a table name; expected name or db.name"
            )

    @property
    def quoted(self) -> str:
        """The name as a quoted SQL identifier (each part quoted)."""
        return ".".join(sql_ident(part) for part in self.name.split("."))


#: what :func:`read_log` reads: files / paths, or a table of the engine
LogSource = LogTable | str | Path | Sequence[str | Path]


def is_url(path: str | Path) -> bool:
    """Whether ``path`` names a location by scheme (``hdfs://``, ``s3a://``, ``file://``).

    >>> is_url("s3a://bucket/logs/"), is_url("logs/day1.csv")
    (True, False)
    """
    return _SCHEME.match(str(path)) is not None


def log_source(paths: Sequence[str | Path] | None, table: str | None = None) -> LogSource:
    """The source a command names: its input files, or ``--table`` (UsageError for both or
    neither); local files are checked to exist, URLs are left to the engine.

    >>> log_source(None, "raw.access")
    LogTable(name='raw.access')
    """
    files = [str(p) for p in paths or []]
    if files and table:
        raise UsageError("give input files or --table, not both")
    if not files and not table:
        raise UsageError("no input: give log files or --table db.name")
    if table:
        return LogTable(table)
    for path in files:
        if not is_url(path) and not Path(path).exists():
            raise InputError("no such file", path=path, hint="check the path")
    return files


def read_log(
    source: LogSource,
    mapping: LogMapping | None = None,
    engine=None,
    table: str = "access_log",
    *,
    quarantine: Path | str | None = None,
    progress: Progress | None = None,
    append: bool = False,
    where: str = "the engine's database",
    in_place: bool = False,
) -> ReadSummary:
    """Read ``source`` into the canonical table ``table`` (``user_id, ts, site``) of ``engine``.

    ``source``: file paths (or one), or a :class:`LogTable` of the engine. On an engine that
    reads paths itself (Spark) any path it reaches is read there, and rows without a user, a
    time or a site are left out, counted (``summary.rejected``) and kept with the reason in
    ``summary.rejected_table``. Otherwise io's reader checks every row, quarantines bad ones
    and stops at ``mapping.max_bad_fraction``. ``where`` names the engine's database in errors.
    ``in_place``: local Parquet files become a view of their good rows instead of a copy (see
    :func:`~netpersona.io.read_access_log`).

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "log.csv").write_text("user_id,ts,url\\nu1,2024-01-01 08:00:00,a.com\\n")
    >>> read_log(folder / "log.csv").rows
    1
    """
    mapping = mapping or LogMapping()
    progress = progress or Progress()
    if engine is not None and getattr(engine, "native_log_reader", False):
        if isinstance(source, LogTable):
            sources, from_table = [], source.name
        else:
            sources, from_table = _as_list(source), None
        return engine.read_log(sources, table, mapping, from_table=from_table)
    if isinstance(source, LogTable):
        if engine is None:
            raise ConfigError(f"--table {source.name}: give the engine that holds the table")
        return _read_engine_table(
            engine, source, mapping, table, progress, where, append, quarantine
        )
    files = _as_list(source)
    for path in files:
        if is_url(path):
            raise InputError(
                "DuckDB reads local files only",
                path=path,
                hint="use --engine spark for hdfs://, s3a:// and other URLs",
            )
    return read_access_log(
        [Path(p) for p in files],
        mapping,
        engine,
        table,
        quarantine=quarantine,
        progress=progress,
        append=append,
        in_place=in_place,
    )


def _as_list(source) -> list[str]:
    if isinstance(source, str | Path):
        return [str(source)]
    return [str(p) for p in source]


def _read_engine_table(
    engine, source: LogTable, mapping, table, progress, where, append, quarantine
) -> ReadSummary:
    """A table of the DuckDB database read as a log: the reader's own checks apply, through a
    temporary Parquet copy."""
    try:
        engine.fetch_arrow(f"SELECT * FROM {source.quoted} LIMIT 0")
    except Exception:  # the engine's "no such table" error, whatever its class
        raise InputError(
            f"no table {source.name!r} in {where}",
            hint="--table on DuckDB reads a table of the --workspace file; "
            "use --engine spark for a table of the Spark catalog",
        ) from None
    with tempfile.TemporaryDirectory(prefix="netpersona-table-") as folder:
        copy = Path(folder) / f"{source.name}.parquet"
        literal = "'" + str(copy).replace("'", "''") + "'"
        engine.execute(f"COPY (SELECT * FROM {source.quoted}) TO {literal} (FORMAT parquet)")
        summary = read_access_log(copy, mapping, engine, table, quarantine, progress, append=append)
    summary.files = ()
    return summary
