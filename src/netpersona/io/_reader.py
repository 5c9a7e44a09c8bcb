"""Reading access logs into the canonical table ``user_id VARCHAR, ts TIMESTAMP, site VARCHAR``.

DuckDB parses the files (in parallel, gzip included). Per file the reader

1. stages ``user, local time, host`` (:mod:`netpersona.io._sources`; the host is cut out of
   the URL by string functions in SQL);
2. maps each *distinct* host to its site (Public Suffix List, in Python) and, with a key file,
   each distinct user id to its pseudonym;
3. counts the rows that cannot be used, stops if they exceed ``max_bad_fraction``, and writes
   them to a quarantine file with their exact line numbers;
4. and finally builds the table from the good rows of every file in one statement.

Times: epoch numbers (``time_unit``) and ISO strings with an offset are instants, converted to
the wall-clock time of ``mapping.timezone``; ISO strings without an offset are taken to be that
wall-clock time already. ``ts`` is stored naive, so ``CAST(ts AS DATE)`` is the local day.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from netpersona._core import ConfigError, InputError, Progress, ResourceLimitError
from netpersona.io._checks import Staged, bad_condition, check_file
from netpersona.io._formats import check_columns, detect_format, file_columns
from netpersona.io._mapping import LogMapping
from netpersona.io._privacy import load_key, pseudonymize
from netpersona.io._quarantine import (
    quarantine_path_for,
    write_quarantine,
)
from netpersona.io._quarantine_file import raw_protector
from netpersona.io._scratch import ScratchDuckDB
from netpersona.io._sites import sites_for_hosts
from netpersona.io._sources import (
    delimited_source,
    drop_relation,
    jsonl_source,
    parquet_source,
    table_exists,
)
from netpersona.io._sources import (
    sql_ident as _ident,
)
from netpersona.io._sources import (
    sql_str as _lit,
)


@dataclass
class ReadSummary:
    """What a read did: rows accepted into ``table``, rows rejected, where they went.

    >>> ReadSummary(rows=10, rejected=1).reasons
    {}
    """

    rows: int = 0
    rejected: int = 0
    quarantine: Path | None = None
    files: tuple[Path, ...] = ()
    table: str = "access_log"
    #: files skipped because their content was ingested into ``table`` before (workspace)
    skipped: tuple[Path, ...] = ()
    #: rejected rows by reason
    reasons: dict[str, int] = field(default_factory=dict)
    #: per input file: (rows accepted, rows rejected)
    by_file: dict[Path, tuple[int, int]] = field(default_factory=dict)
    #: the engine's table keeping rejected rows with their reason (engines that read logs
    #: themselves, e.g. Spark; io's own reader writes the ``quarantine`` file instead)
    rejected_table: str | None = None


def _as_paths(paths: Path | str | Sequence[Path | str]) -> list[Path]:
    if isinstance(paths, str | Path):
        paths = [paths]
    result = [Path(p) for p in paths]
    if not result:
        raise InputError("no log files given")
    for path in result:
        if not path.is_file():
            raise InputError("no such file", path=path, hint="check the path")
    return result


@contextmanager
def _session_timezone(engine, timezone: str) -> Iterator[None]:
    """Parse zone-less ISO times as wall-clock times of ``timezone`` while reading."""
    before = engine.fetch_scalar("SELECT current_setting('TimeZone')")
    engine.execute(f"SET TimeZone = {_lit(timezone)}")
    try:
        yield
    except BaseException:
        with suppress(Exception):  # an aborted transaction refuses the SET: keep the first error
            engine.execute(f"SET TimeZone = {_lit(before)}")
        raise
    engine.execute(f"SET TimeZone = {_lit(before)}")


def _site_map(engine, stages: list[str], mapping: LogMapping, name: str) -> None:
    """Table ``name(host, site)`` over every distinct host of the staged files."""
    union = " UNION ".join(f"SELECT DISTINCT host FROM {s}" for s in stages)
    hosts = engine.fetch_arrow(union).column(0).to_pylist()
    sites = [h or None for h in hosts] if mapping.site_col else sites_for_hosts(hosts)
    engine.register_arrow(
        name, pa.table({"host": pa.array(hosts, pa.string()), "site": pa.array(sites, pa.string())})
    )


def _stage_file(
    path: Path, mapping: LogMapping, engine, prefix: str, index: int, progress: Progress
) -> tuple[Staged, list[str] | None, str]:
    fmt = detect_format(path, mapping)
    cols = file_columns(path, fmt, mapping)
    check_columns(path, cols, mapping)
    stage, rejects = f"{prefix}_stage{index}", f"{prefix}_rejects{index}"
    if fmt.kind == "delimited":
        source, ts = delimited_source(path, fmt, mapping, cols, rejects)
    elif fmt.kind == "jsonl":
        source, ts = jsonl_source(path, fmt, mapping, rejects)
    else:
        source, ts = parquet_source(path, mapping, engine)
    # bad_time keeps the text of times that could not be read (or lie outside the allowed
    # window: out_of_range), to find their lines later
    low, high = (f"TIMESTAMP '{t.isoformat(sep=' ')}'" for t in mapping.time_bounds())
    inside = f"read_ts BETWEEN {low} AND {high}"
    sql = (
        f"SELECT * EXCLUDE (time_raw, read_ts), CASE WHEN {inside} THEN read_ts END AS ts, "
        f"CASE WHEN read_ts IS NULL OR NOT ({inside}) THEN CAST(time_raw AS VARCHAR) END "
        f"AS bad_time, coalesce(NOT ({inside}), false) AS out_of_range "
        f"FROM (SELECT *, {ts} AS read_ts FROM ({source}))"
    )
    # a Parquet file is read where it lies (a view, scanned again by each check), never
    # copied: a copy of a large log spills to the temporary folder uncompressed. Not when
    # its times are text without a zone: those are read in the session's zone, set only now
    in_place = fmt.kind == "parquet" and "AS TIMESTAMPTZ)" not in ts
    kind = "VIEW" if in_place else "TABLE"
    with progress.step(f"reading {path.name}"):
        try:
            engine.execute(f"CREATE TEMP {kind} {stage} AS {sql}")
        except Exception as exc:  # DuckDB's own errors name the problem; add the file
            if isinstance(exc, InputError | ResourceLimitError):  # already clear
                raise
            raise InputError(
                str(exc).splitlines()[0][:200], path=path, hint="check the file format and --sep"
            ) from exc
    staged = Staged(path, fmt, stage, 0, 0, [], sql if in_place else None)
    return staged, list(cols), rejects


def _pseudonym_map(engine, stages: list[str], key: bytes, name: str) -> None:
    """Table ``name(user_raw, user_id)``: each distinct subscriber id and its pseudonym."""
    union = " UNION ".join(f"SELECT DISTINCT user_raw FROM {s}" for s in stages)
    users = [u for u in engine.fetch_arrow(union).column(0).to_pylist() if u]
    engine.register_arrow(
        name,
        pa.table(
            {
                "user_raw": pa.array(users, pa.string()),
                "user_id": pa.array([pseudonymize(u, key) for u in users], pa.string()),
            }
        ),
    )


def _good_rows_sql(scans: Sequence[str], sites: str, users: str | None) -> str:
    """The good rows of the staged files ``scans`` (each a stage's name, or its SELECT in
    parentheses with the stage's name as alias). Their rows are joined to the site map (and
    the pseudonyms) once, as one union: a join per file builds a hash table per file, and
    with a hundred files those outgrow the memory limit."""
    rows = "_np_rows"
    scan = " UNION ALL ".join(
        "SELECT CAST(user_raw AS VARCHAR) AS user_raw, CAST(ts AS TIMESTAMP) AS ts, host "
        f"FROM {one}"
        for one in scans
    )
    user = f"{users}.user_id" if users else f"{rows}.user_raw"
    join_users = f" JOIN {users} ON {rows}.user_raw = {users}.user_raw" if users else ""
    return (
        f"SELECT CAST({user} AS VARCHAR) AS user_id, {rows}.ts AS ts, "
        f"CAST({sites}.site AS VARCHAR) AS site FROM ({scan}) AS {rows} "
        f"JOIN {sites} ON {rows}.host = {sites}.host{join_users} "
        f"WHERE NOT ({bad_condition(rows, sites)})"
    )


def _write_table(engine, table: str, select: str, append: bool, progress: Progress) -> None:
    with progress.step(f"writing table {table}"):
        if append and table_exists(engine, table):
            engine.execute(f"INSERT INTO {_ident(table)} {select}")
        else:
            engine.create_table(_ident(table), select, replace=True)


def _view_in_place(engine, table: str, staged: list[Staged], sites: str) -> None:
    """``table`` as a view of the good rows of Parquet files, read where they lie (each query
    scans them again): no copy of the log. Its host-to-site map is the table
    ``<table>__sites``, kept beside it."""
    site_table = _ident(f"{table}__sites")
    engine.execute(f"CREATE OR REPLACE TABLE {site_table} AS SELECT host, site FROM {sites}")
    select = _good_rows_sql([f"({s.select}) AS {s.stage}" for s in staged], site_table, None)
    drop_relation(engine, table)  # a table or view of that name, from before
    engine.execute(f"CREATE VIEW {_ident(table)} AS {select}")


def _protector(staged: list[Staged], layouts, mapping: LogMapping):
    """With a key: the raw text of a rejected row with its subscriber id pseudonymised."""
    key = load_key(mapping.pseudonymize_key_file)
    by_file = {
        str(one.path): raw_protector(
            one.fmt.kind, one.fmt.sep or ",", cols, mapping.user_col,
            lambda user: pseudonymize(user, key),
        )
        for one, (cols, _) in zip(staged, layouts, strict=True)
    }  # fmt: skip
    return lambda row: by_file[row.source_file](row.raw)


def read_access_log(
    paths: Path | str | Sequence[Path | str],
    mapping: LogMapping | None = None,
    engine=None,
    table: str = "access_log",
    quarantine: Path | str | None = None,
    progress: Progress | None = None,
    *,
    append: bool = False,
    in_place: bool = False,
) -> ReadSummary:
    """Read access-log files into ``table`` (``user_id VARCHAR, ts TIMESTAMP, site VARCHAR``).

    ``paths`` are CSV / TSV / space-separated / JSON Lines / Parquet files, plain or gzip.
    The table is created or replaced (appended to with ``append=True``) only after every file
    has been read and checked, so a failed read leaves it as it was. Rows that cannot be read go
    to ``quarantine`` (default: ``<first input>.rejected.csv`` next to it, written only when
    there are bad rows). Raises :class:`~netpersona.ColumnNotFoundError` when a mapped column
    is missing and :class:`~netpersona.TooManyBadRowsError` when a file has more than
    ``mapping.max_bad_fraction`` bad rows. With ``in_place`` (and not ``append``), Parquet
    files whose times are typed (or epoch numbers) are checked all the same but not copied:
    ``table`` is a view of their good rows, read where they lie by each query (the files must
    stay as they are while it is used); any other input is copied into a table as usual.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "log.csv").write_text(
    ...     "user_id,ts,url\\nu1,2024-01-01 08:00:00,https://www.example.co.uk/a\\n"
    ...     "u2,not a time,http://x.org/\\n" + "u1,2024-01-01 09:00:00,m.example.co.uk\\n" * 98)
    >>> summary = read_access_log(folder / "log.csv")
    >>> summary.rows, summary.rejected, summary.reasons, summary.quarantine.name
    (99, 1, {'bad time': 1}, 'log.rejected.csv')
    """
    mapping = mapping or LogMapping()
    progress = progress or Progress()
    files = _as_paths(paths)
    if engine is None:  # nobody will read the table: a throw-away database (summary only)
        engine = ScratchDuckDB()
        try:
            return _read(files, mapping, engine, table, quarantine, progress, append, False)
        finally:
            engine.close()
    if getattr(engine, "dialect", "duckdb") != "duckdb":
        raise ConfigError(
            f"reading access logs needs the DuckDB engine, not {type(engine).__name__}: read "
            "them into a DuckDB workspace (netpersona logs ingest) and load the table from there"
        )
    return _read(files, mapping, engine, table, quarantine, progress, append, in_place)


def _read(
    files: list[Path],
    mapping: LogMapping,
    engine,
    table: str,
    quarantine: Path | str | None,
    progress: Progress,
    append: bool,
    in_place: bool,
) -> ReadSummary:
    prefix = f"_np_{uuid.uuid4().hex[:8]}"
    sites, users = f"{prefix}_sites", f"{prefix}_users"
    staged: list[Staged] = []
    temporary: list[str] = []
    try:
        with _session_timezone(engine, mapping.timezone):
            layouts = []
            for index, path in enumerate(files):
                one, cols, rejects = _stage_file(path, mapping, engine, prefix, index, progress)
                staged.append(one)
                temporary += [one.stage, rejects, rejects + "_scan"]
                layouts.append((cols, rejects))
        stages = [s.stage for s in staged]
        with progress.step("mapping hosts to sites"):
            _site_map(engine, stages, mapping, sites)
        for one, (cols, rejects) in zip(staged, layouts, strict=True):
            with progress.step(f"checking {one.path.name}"):
                check_file(one, cols, rejects, mapping, engine, sites)
        if mapping.pseudonymize_key_file is not None:
            with progress.step("pseudonymising subscriber ids"):
                _pseudonym_map(engine, stages, load_key(mapping.pseudonymize_key_file), users)
        select = _good_rows_sql(stages, sites, users if mapping.pseudonymize_key_file else None)
        view = in_place and not append and not mapping.pseudonymize_key_file
        if view and all(s.select is not None for s in staged):
            with progress.step(f"table {table}: a view of the Parquet file(s)"):
                _view_in_place(engine, table, staged, sites)
        else:
            _write_table(engine, table, select, append, progress)
    finally:
        # best effort: after a failed statement inside a transaction, drops fail too
        for name in (sites, users):
            with suppress(Exception):
                engine.execute(f"DROP VIEW IF EXISTS {name}")
        for name in temporary:  # a staged Parquet file is a view, the rest tables
            with suppress(Exception):
                drop_relation(engine, name)

    rejected = [row for one in staged for row in one.rejected]
    summary = ReadSummary(
        rows=sum(s.rows for s in staged),
        rejected=sum(s.bad for s in staged),
        files=tuple(files),
        table=table,
        reasons=dict(Counter(row.reason for row in rejected)),
        by_file={s.path: (s.rows, s.bad) for s in staged},
    )
    if rejected:
        target = Path(quarantine) if quarantine else quarantine_path_for(files[0])
        protect = _protector(staged, layouts, mapping) if mapping.pseudonymize_key_file else None
        summary.quarantine = write_quarantine(target, rejected, protect)
        progress.log(
            f"{summary.rejected:,} rows could not be read; they are in {summary.quarantine}"
        )
    return summary
