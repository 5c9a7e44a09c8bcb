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

from netpersona._core import ConfigError, InputError, Progress, TooManyBadRowsError
from netpersona.io._formats import LogFormat, check_columns, detect_format, file_columns
from netpersona.io._mapping import LogMapping
from netpersona.io._privacy import load_key, pseudonymize
from netpersona.io._quarantine import (
    EXPECTED,
    RejectedRow,
    locate_delimited,
    locate_lines,
    quarantine_path_for,
    write_quarantine,
)
from netpersona.io._sites import authority_of, sites_for_hosts
from netpersona.io._sources import (
    delimited_source,
    jsonl_source,
    parquet_source,
    rejects_limit,
    table_exists,
)
from netpersona.io._sources import (
    sql_ident as _ident,
)
from netpersona.io._sources import (
    sql_str as _lit,
)

_PARSER_REASONS = {
    "MISSING COLUMNS": "wrong field count",
    "TOO MANY COLUMNS": "wrong field count",
    "INVALID ENCODING": "invalid UTF-8",
}


@dataclass
class ReadSummary:
    """What a read did: rows accepted into ``table``, rows rejected, where they went."""

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


@dataclass
class _Staged:
    """One file staged in a temporary table, with its bad-row count."""

    path: Path
    fmt: LogFormat
    stage: str
    rows: int
    bad: int
    rejected: list[RejectedRow]


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
    finally:
        engine.execute(f"SET TimeZone = {_lit(before)}")


def _site_map(engine, stages: list[str], mapping: LogMapping, name: str) -> None:
    """Table ``name(host, site)`` over every distinct host of the staged files."""
    union = " UNION ".join(f"SELECT DISTINCT host FROM {s}" for s in stages)
    hosts = engine.fetch_arrow(union).column(0).to_pylist()
    sites = [h or None for h in hosts] if mapping.site_col else sites_for_hosts(hosts)
    engine.register_arrow(
        name, pa.table({"host": pa.array(hosts, pa.string()), "site": pa.array(sites, pa.string())})
    )


def _bad_condition(stage: str, sites: str) -> str:
    return (
        f"{stage}.user_raw IS NULL OR {stage}.user_raw = '' OR {stage}.ts IS NULL "
        f"OR {sites}.site IS NULL"
    )


def _reason_sql(stage: str, sites: str, mapping: LogMapping, jsonl: bool) -> str:
    site_reason = "missing site" if mapping.site_col else "unparsable URL"
    json_case = f"WHEN {stage}.json_error IS NOT NULL THEN 'invalid JSON' " if jsonl else ""
    return (
        f"CASE {json_case}WHEN {stage}.user_raw IS NULL OR {stage}.user_raw = '' "
        f"THEN 'missing user' WHEN {stage}.ts IS NULL THEN 'bad time' "
        f"ELSE {_lit(site_reason)} END"
    )


def _parser_rejects(engine, rejects: str, fmt: LogFormat) -> dict[int, str]:
    if not table_exists(engine, rejects):
        return {}
    rows = engine.fetch_arrow(
        f"SELECT line, min(error_type) AS error_type FROM {rejects} GROUP BY line"
    ).to_pylist()
    if fmt.kind == "jsonl":
        return {r["line"]: "invalid JSON" for r in rows}
    return {r["line"]: _PARSER_REASONS.get(r["error_type"], "unreadable row") for r in rows}


def _semantic_check(
    mapping: LogMapping, cols: Sequence[str], bad_times: set[str], bad_hosts: set[str]
):
    """The Python twin of :func:`_bad_condition` on a parsed record: bad times and hosts are
    recognised by their text, as found in SQL."""
    user_i = cols.index(mapping.user_col)
    time_i = cols.index(mapping.time_col)
    site_i = cols.index(mapping.site_source)
    site_reason = "missing site" if mapping.site_col else "unparsable URL"

    def is_bad(fields: list[str]) -> tuple[str, str] | None:
        if fields[user_i] == "":
            return "missing user", ""
        if fields[time_i] in bad_times:
            return "bad time", fields[time_i]
        value = fields[site_i]
        if (value if mapping.site_col else authority_of(value)) in bad_hosts:
            return site_reason, value
        return None

    return is_bad


def _stage_file(
    path: Path, mapping: LogMapping, engine, prefix: str, index: int, progress: Progress
) -> tuple[_Staged, list[str] | None, str]:
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
    # bad_time keeps the text of times that could not be read, to find their lines later
    sql = (
        f"SELECT * EXCLUDE (time_raw), CASE WHEN ts IS NULL THEN CAST(time_raw AS VARCHAR) END "
        f"AS bad_time FROM (SELECT *, {ts} AS ts FROM ({source}))"
    )
    with progress.step(f"reading {path.name}"):
        try:
            engine.execute(f"CREATE TEMP TABLE {stage} AS {sql}")
        except Exception as exc:  # DuckDB's own errors name the problem; add the file
            if isinstance(exc, InputError):
                raise
            raise InputError(
                str(exc).splitlines()[0], path=path, hint="check the file format and --sep"
            ) from exc
    staged = _Staged(path, fmt, stage, 0, 0, [])
    return staged, list(cols), rejects


def _check_file(
    staged: _Staged, cols: list[str], rejects: str, mapping: LogMapping, engine, sites: str
) -> None:
    """Count the file's good and bad rows; stop if too many are bad; locate the bad ones."""
    stage, fmt, path = staged.stage, staged.fmt, staged.path
    join = f"{stage} LEFT JOIN {sites} ON {stage}.host = {sites}.host"
    bad_sql = _bad_condition(stage, sites)
    # the same count as over `join` (every host is in the map once), without joining every
    # row: only the few hosts that have no site are looked up
    bad_host = (
        f"{stage}.host IS NULL OR {stage}.host IN (SELECT host FROM {sites} WHERE site IS NULL)"
    )
    counts = engine.fetch_arrow(
        f"SELECT count(*) AS n, count(*) FILTER (WHERE {stage}.user_raw IS NULL "
        f"OR {stage}.user_raw = '' OR {stage}.ts IS NULL OR {bad_host}) AS bad FROM {stage}"
    ).to_pylist()[0]
    parser = _parser_rejects(engine, rejects, fmt)
    semantic = counts["bad"]
    staged.bad = semantic + len(parser)
    staged.rows = counts["n"] - semantic
    if staged.bad == 0:
        return
    total = staged.rows + staged.bad
    # at the limit the parser stopped keeping rejects: there are at least that many, too many
    capped = fmt.kind != "parquet" and len(parser) >= rejects_limit(path, fmt, mapping)
    too_many = capped or staged.bad > mapping.max_bad_fraction * total

    if fmt.kind == "parquet":
        found = _parquet_bad_rows(staged, sites, mapping, engine, first_only=too_many)
    elif fmt.kind == "jsonl":
        reason = _reason_sql(stage, sites, mapping, jsonl=True)
        bad_lines = {
            r["ref"]: r["reason"]
            for r in engine.fetch_arrow(
                f"SELECT DISTINCT {stage}.ref, {reason} AS reason FROM {join} WHERE {bad_sql}"
            ).to_pylist()
        }
        found = locate_lines(
            path,
            compressed=fmt.gzip,
            bad_lines=bad_lines,
            parser_rejects=parser,
            n_bad=staged.bad,
            first_only=too_many,
        )
    else:
        bad_hosts = set(
            engine.fetch_arrow(f"SELECT host FROM {sites} WHERE site IS NULL").column(0).to_pylist()
        )
        bad_times = set(
            engine.fetch_arrow(f"SELECT DISTINCT bad_time FROM {stage} WHERE bad_time IS NOT NULL")
            .column(0)
            .to_pylist()
        )
        found = locate_delimited(
            path,
            compressed=fmt.gzip,
            sep=fmt.sep or ",",
            header=not mapping.no_header,
            n_fields=len(cols),
            parser_rejects=parser,
            is_bad=_semantic_check(mapping, cols, bad_times, bad_hosts),
            n_bad=staged.bad,
            first_only=too_many,
        )
    if too_many:
        first = found[0] if found else None
        reason = first.reason if first else "unreadable row"
        # the row itself may hold a subscriber id: show only the offending value
        found_text = f", found {first.detail!r}" if first and first.detail else ""
        raise TooManyBadRowsError(
            f"{'at least ' if capped else ''}{staged.bad:,} of {total:,} rows "
            f"({staged.bad / total:.2%}) cannot be read, more "
            f"than --max-bad-fraction {mapping.max_bad_fraction:g}; the first is a {reason}: "
            f"expected {EXPECTED.get(reason, 'a well-formed row')}{found_text}",
            path=path,
            line=first.line if first else None,
            column=_column_of(reason, mapping),
            hint="check the column mapping (--user-col, --time-col, --url-col/--site-col, "
            "--sep, --no-header/--columns, --time-unit), or raise --max-bad-fraction",
        )
    staged.rejected = found


def _column_of(reason: str, mapping: LogMapping) -> str | None:
    return {
        "bad time": mapping.time_col,
        "missing user": mapping.user_col,
        "unparsable URL": mapping.site_source,
        "missing site": mapping.site_source,
    }.get(reason)


def _parquet_bad_rows(
    staged: _Staged, sites: str, mapping: LogMapping, engine, first_only: bool
) -> list[RejectedRow]:
    stage = staged.stage
    reason = _reason_sql(stage, sites, mapping, jsonl=False)
    limit = " LIMIT 1" if first_only else ""
    reasons = {
        r["row"]: r["reason"]
        for r in engine.fetch_arrow(
            f"SELECT {stage}.ref AS row, {reason} AS reason "
            f"FROM {stage} LEFT JOIN {sites} ON {stage}.host = {sites}.host "
            f"WHERE {_bad_condition(stage, sites)} ORDER BY row{limit}"
        ).to_pylist()
    }
    wanted = f"{stage}_bad"
    engine.register_arrow(wanted, pa.table({"row": pa.array(list(reasons), pa.int64())}))
    try:
        records = engine.fetch_arrow(
            "SELECT file_row_number + 1 AS row, * EXCLUDE (file_row_number) "
            f"FROM read_parquet({_lit(str(staged.path))}, file_row_number = true) "
            f"WHERE file_row_number + 1 IN (SELECT row FROM {wanted}) ORDER BY row"
        ).to_pylist()
    finally:
        engine.execute(f"DROP VIEW IF EXISTS {wanted}")
    rejected = []
    for record in records:
        row = record.pop("row")
        raw = ",".join("" if v is None else str(v) for v in record.values())
        column = _column_of(reasons[row], mapping)
        detail = "" if column in (None, mapping.user_col) else str(record.get(column))
        rejected.append(RejectedRow(str(staged.path), row, reasons[row], raw, detail))
    return rejected


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


def _good_rows_sql(stage: str, sites: str, users: str | None) -> str:
    user = f"{users}.user_id" if users else f"{stage}.user_raw"
    join_users = f" JOIN {users} ON {stage}.user_raw = {users}.user_raw" if users else ""
    return (
        f"SELECT CAST({user} AS VARCHAR) AS user_id, CAST({stage}.ts AS TIMESTAMP) AS ts, "
        f"CAST({sites}.site AS VARCHAR) AS site FROM {stage} "
        f"JOIN {sites} ON {stage}.host = {sites}.host{join_users} "
        f"WHERE NOT ({_bad_condition(stage, sites)})"
    )


def read_access_log(
    paths: Path | str | Sequence[Path | str],
    mapping: LogMapping | None = None,
    engine=None,
    table: str = "access_log",
    quarantine: Path | str | None = None,
    progress: Progress | None = None,
    *,
    append: bool = False,
) -> ReadSummary:
    """Read access-log files into ``table`` (``user_id VARCHAR, ts TIMESTAMP, site VARCHAR``).

    ``paths`` are CSV / TSV / space-separated / JSON Lines / Parquet files, plain or gzip.
    The table is created or replaced (appended to with ``append=True``) only after every file
    has been read and checked, so a failed read leaves it as it was. Rows that cannot be read go
    to ``quarantine`` (default: ``<first input>.rejected.csv`` next to it, written only when
    there are bad rows). Raises :class:`~netpersona.ColumnNotFoundError` when a mapped column
    is missing and :class:`~netpersona.TooManyBadRowsError` when a file has more than
    ``mapping.max_bad_fraction`` bad rows.
    """
    from netpersona.engine import DuckDBEngine

    mapping = mapping or LogMapping()
    progress = progress or Progress()
    files = _as_paths(paths)
    if engine is None:
        engine = DuckDBEngine()
    elif getattr(engine, "dialect", "duckdb") != "duckdb":
        raise ConfigError(
            f"reading access logs needs the DuckDB engine, not {type(engine).__name__}: read "
            "them into a DuckDB workspace (netpersona logs ingest) and load the table from there"
        )
    prefix = f"_np_{uuid.uuid4().hex[:8]}"
    sites, users = f"{prefix}_sites", f"{prefix}_users"
    staged: list[_Staged] = []
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
                _check_file(one, cols, rejects, mapping, engine, sites)
        if mapping.pseudonymize_key_file is not None:
            with progress.step("pseudonymising subscriber ids"):
                _pseudonym_map(engine, stages, load_key(mapping.pseudonymize_key_file), users)
        select = " UNION ALL ".join(
            _good_rows_sql(s, sites, users if mapping.pseudonymize_key_file else None)
            for s in stages
        )
        with progress.step(f"writing table {table}"):
            if append and table_exists(engine, table):
                engine.execute(f"INSERT INTO {_ident(table)} {select}")
            else:
                engine.create_table(_ident(table), select, replace=True)
    finally:
        # best effort: after a failed statement inside a transaction, drops fail too
        for name in (sites, users):
            with suppress(Exception):
                engine.execute(f"DROP VIEW IF EXISTS {name}")
        for name in temporary:
            with suppress(Exception):
                engine.execute(f"DROP TABLE IF EXISTS {name}")

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
        summary.quarantine = write_quarantine(target, rejected)
        progress.log(
            f"{summary.rejected:,} rows could not be read; they are in {summary.quarantine}"
        )
    return summary
