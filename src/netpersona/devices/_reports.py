"""Device reports and session exports -> one row per session (paper B, section 3.2 step 1).

Devices POST a JSON report at fixed intervals and on demand; every report of one session carries
the same ``username`` and ``logontime``. A session is kept once, from its latest report (by report
time, else logoff time, else position in the input), so a session still open when the data ends
keeps what its last report said. CSV session exports (RADIUS accounting) hold one row per session
with a duration instead of a logoff time.

Reports that cannot be used go to a quarantine file with the reason; the reading stops with an
error when more than ``max_bad_fraction`` of them are bad.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from netpersona._core import ColumnNotFoundError, InputError, Progress, literal_path
from netpersona.devices._fields import ReportFields
from netpersona.devices._parse import (
    bytes_sql,
    column_names,
    first_row,
    seconds_sql,
    set_timezone,
    sql_str,
    time_sql,
)
from netpersona.devices._quarantine import check_bad_fraction, write_quarantine

#: the table of sessions :func:`load_sessions` creates
SESSIONS_TABLE = "device_sessions"
_REPORTS = "_device_reports"
#: the report files read: file_index -> source path
_FILES = "device_report_files"
_JSON_SUFFIXES = (".jsonl", ".ndjson", ".json", ".log")
_CSV_SUFFIXES = (".csv", ".tsv", ".txt")
_LINES = (
    "read_csv('{path}', columns={{'raw': 'VARCHAR'}}, header=false, delim='\\x1e', quote='', "
    "escape='', auto_detect=false, strict_mode=false, null_padding=true)"
)


@dataclass
class ReadSummary:
    """What reading the reports found: counts for the person running it.

    >>> summary = ReadSummary(files=['may.jsonl'], reports=10, rejected=1, sessions=6)
    >>> summary.reports - summary.rejected - summary.sessions  # repeated reports of a session
    3
    """

    files: list[str]
    reports: int = 0
    rejected: int = 0
    duplicates: int = 0
    sessions: int = 0
    users: int = 0
    quarantine: Path | None = None
    #: (user, user, share of the smaller user's sessions that are identical) pairs
    near_duplicate_users: list[tuple[str, str, float]] = field(default_factory=list)


def expand_paths(paths: str | Path | list[str | Path], patterns: bool = False) -> list[Path]:
    """Files named by ``paths`` in the order given (glob patterns expanded only with
    ``patterns``: otherwise every path is taken literally); error when none exist.

    A folder stands for the report files directly in it (``*.jsonl[.gz]``, ``*.csv[.gz]``
    ..., by name; hidden files skipped), as ``netpersona serve`` writes them: one per day."""
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    found: list[Path] = []
    for item in items:
        literal = not patterns or not glob.has_magic(str(item))
        matches = [str(item)] if literal else sorted(glob.glob(str(item)))
        for match in matches:
            path = Path(match)
            if path.is_dir():
                found += _folder_reports(path)
                continue
            if not path.is_file():
                raise InputError(
                    "no such file", path=path, hint="check the path given to --reports"
                )
            found.append(path)
    if not found:
        raise InputError(
            f"no report files match {items}",
            hint="check the --reports pattern (expanded with --glob)",
        )
    return found


def _folder_reports(folder: Path) -> list[Path]:
    """The report files directly in ``folder``, sorted by name."""
    suffixes = _JSON_SUFFIXES + _CSV_SUFFIXES
    return [
        p
        for p in sorted(folder.iterdir())
        if p.is_file()
        and not p.name.startswith(".")
        and p.name.lower().removesuffix(".gz").endswith(suffixes)
    ]


def _kind(path: Path) -> str:
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(_JSON_SUFFIXES):
        return "json"
    if name.endswith(_CSV_SUFFIXES):
        return "csv"
    raise InputError(
        "cannot tell the format from the file name",
        path=path,
        hint="name JSON Lines reports *.jsonl[.gz] and session exports *.csv[.gz]",
    )


def _json_path(field_path: str) -> str:
    parts = ".".join('"' + p.replace('"', '\\"') + '"' for p in field_path.split("."))
    return sql_str(f"$.{parts}")


def _json_fields(path: Path, fields: ReportFields) -> str:
    """SELECT line, raw, ok, and the text of each mapped field, from a JSON Lines file."""
    lines = _LINES.format(path=sql_str(literal_path(path)))
    return json_line_fields(f"SELECT row_number() OVER () AS line, raw FROM {lines}", fields)


def json_line_fields(lines_sql: str, fields: ReportFields) -> str:
    """SELECT line, raw, ok, and the text of each mapped field, from ``lines_sql``'s
    ``(line, raw)`` rows of JSON text."""
    names = _field_names(fields)
    paths = ", ".join(f"'{_json_path(p)}'" for p in names.values())
    picks = ", ".join(f"f[{i + 1}] AS {key}_t" for i, key in enumerate(names))
    return (
        f"SELECT line, raw, f IS NOT NULL AS ok, {picks} FROM ("
        f"SELECT line, raw, try(json_extract_string(raw, [{paths}])) AS f FROM ("
        f"{lines_sql}) "
        f"WHERE raw IS NOT NULL AND trim(raw) <> '')"
    )


def _csv_fields(engine, path: Path, fields: ReportFields) -> str:
    """SELECT line, raw, ok, and the text of each mapped field, from a CSV session export."""
    source = f"read_csv('{sql_str(literal_path(path))}', all_varchar=true, header=true)"
    columns = column_names(engine, f"SELECT * FROM {source}")
    names = _field_names(fields)
    for key, column in names.items():
        if column not in columns and key != "report_time":
            raise ColumnNotFoundError(
                f"no column {column!r} (for the {key.replace('_', ' ')}); the file has "
                f"{', '.join(columns)}",
                path=path,
                column=column,
                hint="map it with --user-field / --logon-field / --logoff-field / "
                "--duration-field / --up-field / --down-field",
            )
    picks = ", ".join(
        f'"{column}" AS {key}_t' if column in columns else f"NULL::VARCHAR AS {key}_t"
        for key, column in names.items()
    )
    raw = " || ',' || ".join(f"coalesce(\"{c}\", '')" for c in columns)
    # line 1 is the header
    return (
        f"SELECT row_number() OVER () + 1 AS line, {raw} AS raw, true AS ok, {picks} FROM {source}"
    )


def _field_names(fields: ReportFields) -> dict[str, str]:
    names = {"user": fields.user, "logon": fields.logon}
    if fields.logoff:
        names["logoff"] = fields.logoff
    if fields.duration:
        names["duration"] = fields.duration
    if fields.report_time:
        names["report_time"] = fields.report_time
    names["up"] = fields.upflow
    names["down"] = fields.downflow
    return names


def _parsed(fields_sql: str, fields: ReportFields, file_index: int) -> str:
    """Parse the field texts and give each report the reason it is unusable (or NULL)."""
    names = _field_names(fields)

    def t(key: str) -> str:
        return f"{key}_t" if key in names else "NULL::VARCHAR"

    logon = time_sql("logon_t", fields.time_unit)
    logoff = time_sql(t("logoff"), fields.time_unit) if "logoff" in names else "NULL::TIMESTAMP"
    rtime = (
        time_sql(t("report_time"), fields.time_unit)
        if "report_time" in names
        else "NULL::TIMESTAMP"
    )
    duration = seconds_sql(t("duration")) if "duration" in names else "NULL::DOUBLE"
    up, down = bytes_sql("up_t", fields.flow_unit), bytes_sql("down_t", fields.flow_unit)

    def missing(key: str) -> str:
        return f"{t(key)} IS NULL OR trim({t(key)}) = ''"

    def name(key: str) -> str:
        return sql_str(names.get(key, key))

    reason = f"""CASE
        WHEN NOT ok THEN 'not a valid JSON object'
        WHEN {missing("user")} THEN 'missing {name("user")}'
        WHEN {missing("logon")} THEN 'missing {name("logon")}'
        WHEN logon IS NULL THEN 'unreadable {name("logon")} ' || '''' || logon_t || ''''
            || ': expected an ISO-8601 time or an epoch number'
        WHEN {missing("up")} THEN 'missing {name("up")}'
        WHEN up IS NULL OR NOT isfinite(up)
            THEN 'unreadable {name("up")} ' || '''' || up_t || ''''
            || ': expected a number, optionally with a unit (B, KB, MB, GB)'
        WHEN up < 0 THEN 'negative {name("up")} ' || up_t
        WHEN {missing("down")} THEN 'missing {name("down")}'
        WHEN down IS NULL OR NOT isfinite(down)
            THEN 'unreadable {name("down")} ' || '''' || down_t || ''''
            || ': expected a number, optionally with a unit (B, KB, MB, GB)'
        WHEN down < 0 THEN 'negative {name("down")} ' || down_t
        WHEN NOT ({missing("logoff")}) AND logoff IS NULL THEN 'unreadable {name("logoff")} '
            || '''' || {t("logoff")} || '''' || ': expected an ISO-8601 time or an epoch number'
        WHEN NOT ({missing("duration")}) AND duration IS NULL THEN 'unreadable {name("duration")} '
            || '''' || {t("duration")} || '''' || ': expected DD:HH:MM:SS, HH:MM:SS or seconds'
        WHEN NOT ({missing("report_time")}) AND rtime IS NULL THEN 'unreadable '
            || '{name("report_time")} ' || '''' || {t("report_time")} || ''''
        WHEN logoff_at IS NULL THEN 'missing {name("logoff" if "logoff" in names else "duration")}'
            || ' (and no report time to end the open session)'
        WHEN logoff_at < logon THEN '{name("logoff" if "logoff" in names else "duration")}'
            || ' before {name("logon")}'
        END"""
    return f"""
        SELECT {file_index}::SMALLINT AS file_index, line,
            reason, CASE WHEN reason IS NOT NULL THEN raw END AS raw,
            user_t AS user_id, logon, logoff_at AS logoff,
            coalesce(rtime, logoff_at) AS reported, up, down
        FROM (
            SELECT *, {reason} AS reason,
            FROM (
                SELECT *, coalesce(logoff, logon + to_microseconds((duration * 1e6)::BIGINT),
                                   rtime) AS logoff_at
                FROM (
                    SELECT line, raw, ok, user_t, logon_t, {t("logoff")} AS logoff_t,
                        {t("duration")} AS duration_t, {t("report_time")} AS report_time_t,
                        up_t, down_t,
                        {logon} AS logon, {logoff} AS logoff, {rtime} AS rtime,
                        {duration} AS duration, {up} AS up, {down} AS down
                    FROM ({fields_sql})
                )
            )
        )"""


def load_sessions(
    engine,
    paths: str | Path | list[str | Path],
    fields: ReportFields = ReportFields(),
    *,
    quarantine: str | Path | None = None,
    force: bool = False,
    progress: Progress = Progress(),
) -> ReadSummary:
    """Read report / export files into the engine's ``device_sessions`` table.

    The table has ``user_id, logon, logoff, up, down`` (times local to ``fields.timezone``,
    flows in bytes) plus ``file_index`` and ``line`` of the report kept (the table
    ``device_report_files`` maps ``file_index`` to the file). Unusable reports go to
    ``quarantine`` (CSV) when given.
    """
    fields = fields.validate()
    files = expand_paths(paths, fields.glob)
    set_timezone(engine, fields.timezone)
    engine.execute("SET enable_progress_bar = false")
    # line numbers come from row_number() OVER (), which follows file order only when DuckDB
    # preserves insertion order
    engine.execute("SET preserve_insertion_order = true")
    engine.execute(f"DROP TABLE IF EXISTS {_REPORTS}")
    engine.register_arrow(
        "_report_file_list",
        pa.table({"file_index": pa.array(range(len(files)), pa.int16()),
                  "source": pa.array([str(p) for p in files], pa.string())}),
    )  # fmt: skip
    engine.create_table(_FILES, "SELECT file_index, source FROM _report_file_list")
    summary = ReadSummary(files=[str(p) for p in files])
    for index, path in enumerate(progress.track(files, "reading device reports")):
        if _kind(path) == "json":
            fields_sql = _json_fields(path, fields)
        else:
            fields_sql = _csv_fields(engine, path, fields)
        select = _parsed(fields_sql, fields, index)
        try:
            if index == 0:
                engine.execute(f"CREATE TABLE {_REPORTS} AS {select}")
            else:
                engine.execute(f"INSERT INTO {_REPORTS} {select}")
        except (
            duckdb.IOException,
            duckdb.InvalidInputException,
        ) as exc:  # unreadable gzip, a binary file, ...
            # DuckDB's message may quote the offending line (ids and all): its first line, cut
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise InputError(
                f"cannot read the file: {reason}",
                path=path,
                hint="reports must be JSON Lines (one JSON object per line), plain or gzip",
            ) from exc
    total, bad = first_row(engine, f"SELECT count(*), count(reason) FROM {_REPORTS}")
    summary.reports, summary.rejected = total, bad
    if total == 0:
        raise InputError(
            "no reports in the input", path=files[0], hint="check that the files are not empty"
        )
    if bad:
        if quarantine is not None:
            summary.quarantine = write_quarantine(
                engine,
                f"SELECT f.source AS source_file, line, reason, raw FROM {_REPORTS} "
                f"JOIN {_FILES} f USING (file_index) WHERE reason IS NOT NULL "
                "ORDER BY file_index, line",
                quarantine,
                force=force,
            )
        first = first_row(
            engine,
            f"SELECT f.source, line, reason FROM {_REPORTS} JOIN {_FILES} f USING (file_index) "
            "WHERE reason IS NOT NULL ORDER BY file_index, line LIMIT 1",
        )
        check_bad_fraction(
            what="reports",
            total=total,
            bad=bad,
            limit=fields.max_bad_fraction,
            first_bad=first,
            quarantine=summary.quarantine,
        )
    with progress.step("keeping the latest report of each session"):
        engine.execute(
            f"""CREATE OR REPLACE TABLE {SESSIONS_TABLE} AS
            SELECT user_id, logon, logoff, up, down, file_index, line FROM (
                SELECT *, row_number() OVER (
                    PARTITION BY user_id, logon
                    ORDER BY reported DESC, file_index DESC, line DESC
                ) AS nth
                FROM {_REPORTS} WHERE reason IS NULL
            ) WHERE nth = 1"""
        )
        engine.execute(f"DROP TABLE {_REPORTS}")
    summary.sessions, summary.users = first_row(
        engine, f"SELECT count(*), count(DISTINCT user_id) FROM {SESSIONS_TABLE}"
    )
    summary.duplicates = total - bad - summary.sessions
    from netpersona.devices._sessions import near_duplicate_users

    summary.near_duplicate_users = near_duplicate_users(engine)
    return summary
