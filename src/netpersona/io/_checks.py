"""Checking the rows of one staged log file: how many are good, how many bad and why, whether
there are too many, and where the bad ones are (file, line) for the quarantine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from netpersona._core import TooManyBadRowsError, literal_path
from netpersona.io._formats import LogFormat
from netpersona.io._mapping import LogMapping
from netpersona.io._quarantine import EXPECTED, RejectedRow, locate_delimited, locate_lines
from netpersona.io._sites import authority_of
from netpersona.io._sources import rejects_limit, table_exists
from netpersona.io._sources import sql_str as _lit

_PARSER_REASONS = {
    "MISSING COLUMNS": "wrong field count",
    "TOO MANY COLUMNS": "wrong field count",
    "INVALID ENCODING": "invalid UTF-8",
}


@dataclass
class Staged:
    """One file staged in a temporary table, with its bad-row count."""

    path: Path
    fmt: LogFormat
    stage: str
    rows: int
    bad: int
    rejected: list[RejectedRow]
    #: the SELECT a Parquet file is staged by (a view: the file is read in place), else None
    select: str | None = None


def bad_condition(stage: str, sites: str) -> str:
    return (
        f"{stage}.user_raw IS NULL OR {stage}.user_raw = '' OR {stage}.ts IS NULL "
        f"OR {sites}.site IS NULL"
    )


def _reason_sql(stage: str, sites: str, mapping: LogMapping, jsonl: bool) -> str:
    site_reason = "missing site" if mapping.site_col else "unparsable URL"
    json_case = f"WHEN {stage}.json_error IS NOT NULL THEN 'invalid JSON' " if jsonl else ""
    return (
        f"CASE {json_case}WHEN {stage}.user_raw IS NULL OR {stage}.user_raw = '' "
        f"THEN 'missing user' WHEN {stage}.out_of_range THEN 'time out of range' "
        f"WHEN {stage}.ts IS NULL THEN 'bad time' "
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
    mapping: LogMapping,
    cols: Sequence[str],
    bad_times: set[str],
    bad_hosts: set[str],
    out_of_range: frozenset[str] = frozenset(),
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
            reason = "time out of range" if fields[time_i] in out_of_range else "bad time"
            return reason, fields[time_i]
        value = fields[site_i]
        if (value if mapping.site_col else authority_of(value)) in bad_hosts:
            return site_reason, value
        return None

    return is_bad


def check_file(
    staged: Staged, cols: list[str], rejects: str, mapping: LogMapping, engine, sites: str
) -> None:
    """Count the file's good and bad rows; stop if too many are bad; locate the bad ones."""
    stage, fmt, path = staged.stage, staged.fmt, staged.path
    join = f"{stage} LEFT JOIN {sites} ON {stage}.host = {sites}.host"
    bad_sql = bad_condition(stage, sites)
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
        out_of_range = frozenset(
            engine.fetch_arrow(
                f"SELECT DISTINCT bad_time FROM {stage} WHERE out_of_range AND bad_time IS NOT NULL"
            )
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
            is_bad=_semantic_check(mapping, cols, bad_times, bad_hosts, out_of_range),
            n_bad=staged.bad,
            first_only=too_many,
        )
    if too_many:
        first = found[0] if found else None
        reason = first.reason if first else "unreadable row"
        # the row itself may hold a subscriber id: show only the offending value
        found_text = f", found {_cut(first.detail)!r}" if first and first.detail else ""
        raise TooManyBadRowsError(
            f"{'at least ' if capped else ''}{staged.bad:,} of {total:,} rows "
            f"({staged.bad / total:.2%}) cannot be read, more "
            f"than --max-bad-fraction {mapping.max_bad_fraction:g}; the first is a {reason}: "
            f"expected {EXPECTED.get(reason, 'a well-formed row')}{found_text}",
            path=path,
            line=first.line if first else None,
            column=_column_of(reason, mapping),
            hint="check the column mapping (--user-col, --time-col, --url-col/--site-col, "
            "--sep, --no-header/--columns, --time-unit, --min-time/--max-time), or raise "
            "--max-bad-fraction",
        )
    staged.rejected = found


def _cut(text: str, limit: int = 200) -> str:
    """At most ``limit`` characters of a value shown in a message (a 2 MB field stays out)."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _column_of(reason: str, mapping: LogMapping) -> str | None:
    return {
        "bad time": mapping.time_col,
        "time out of range": mapping.time_col,
        "missing user": mapping.user_col,
        "unparsable URL": mapping.site_source,
        "missing site": mapping.site_source,
    }.get(reason)


def _parquet_bad_rows(
    staged: Staged, sites: str, mapping: LogMapping, engine, first_only: bool
) -> list[RejectedRow]:
    stage = staged.stage
    reason = _reason_sql(stage, sites, mapping, jsonl=False)
    limit = " LIMIT 1" if first_only else ""
    reasons = {
        r["row"]: r["reason"]
        for r in engine.fetch_arrow(
            f"SELECT {stage}.ref AS row, {reason} AS reason "
            f"FROM {stage} LEFT JOIN {sites} ON {stage}.host = {sites}.host "
            f"WHERE {bad_condition(stage, sites)} ORDER BY row{limit}"
        ).to_pylist()
    }
    wanted = f"{stage}_bad"
    engine.register_arrow(wanted, pa.table({"row": pa.array(list(reasons), pa.int64())}))
    try:
        records = engine.fetch_arrow(
            "SELECT file_row_number + 1 AS row, * EXCLUDE (file_row_number) "
            f"FROM read_parquet({_lit(literal_path(staged.path))}, file_row_number = true) "
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
