"""Quarantine: rows that could not be read, with the exact line they came from.

A quarantine file (``*.rejected.csv``) has the columns ``source_file, line, reason, raw``:
``line`` is the 1-based physical line of the file (the header is line 1; for Parquet, the
1-based row number) and ``raw`` the row's text as it stands in the file.

DuckDB reports the rows its CSV parser rejects by *record* number (a quoted field spanning two
lines counts once) and cannot number the rows it accepted, so the exact physical lines of bad
rows are found by one streaming pass over the file (:func:`locate_delimited`,
:func:`locate_lines`). The pass runs only when a file has bad rows and stops as soon as it has
found them all.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from netpersona.io._formats import open_text
from netpersona.io._quarantine_file import append_quarantine

QUARANTINE_COLUMNS = ("source_file", "line", "reason", "raw")
_FIELD_LIMIT = 1 << 30

#: what a well-formed row needs, by reason of rejection (for error messages)
EXPECTED = {
    "bad time": "a time in the time column (ISO-8601 such as 2013-11-04 08:15:00, or an epoch "
    "number with --time-unit s|ms)",
    "time out of range": "a time inside --min-time .. --max-time (default 1970-01-01 .. now + 1 "
    "day)",
    "missing user": "a subscriber id in the user column",
    "unparsable URL": "a URL or host name in the URL column (e.g. http://m.news.sina.com.cn/x)",
    "missing site": "a site in the site column",
    "wrong field count": "the same number of fields as the header (or --columns)",
    "invalid UTF-8": "UTF-8 text",
    "invalid JSON": "one JSON object per line",
    "unreadable row": "a well-formed row",
}


@dataclass(frozen=True)
class RejectedRow:
    """One row that could not be read: where it is, why, and its text.

    ``detail`` is the offending value alone (a bad time, a URL, a field count): safe to show
    to people, where ``raw`` may hold a subscriber id.

    >>> row = RejectedRow('log.csv', 3, 'bad time', '1771234,yesterday,x.cn', 'yesterday')
    >>> row.line, row.reason, row.detail
    (3, 'bad time', 'yesterday')
    """

    source_file: str
    line: int
    reason: str
    raw: str
    detail: str = ""


def quarantine_path_for(path: Path) -> Path:
    """``logs.csv.gz`` -> ``logs.rejected.csv`` in the same folder."""
    name = path.name
    for suffix in (".gz", ".csv", ".tsv", ".tab", ".txt", ".log", ".jsonl", ".ndjson", ".json"):
        name = name.removesuffix(suffix)
    for suffix in (".parquet", ".pq", ".ssv", ".dat"):
        name = name.removesuffix(suffix)
    return path.with_name(f"{name}.rejected.csv")


def write_quarantine(
    path: Path, rows: list[RejectedRow], protect: Callable[[RejectedRow], str] | None = None
) -> Path:
    """Append this run's rejected rows to the quarantine file (created 0600; an earlier run's
    rows are kept). ``protect`` gives the ``raw`` text to store for a row (pseudonymised ids)."""
    ordered = sorted(rows, key=lambda r: (r.source_file, r.line))
    return append_quarantine(
        path,
        (
            (row.source_file, row.line, row.reason, protect(row) if protect else row.raw)
            for row in ordered
        ),
        QUARANTINE_COLUMNS,
    )


def _records(path: Path, compressed: bool, sep: str) -> Iterator[tuple[int, list[str], str]]:
    """(first physical line, fields, raw text) of each CSV record; blank lines are records
    with no fields, as DuckDB counts them."""
    buffer: list[str] = []

    with open_text(path, compressed) as text:

        def lines() -> Iterator[str]:
            for line in text:
                buffer.append(line)
                yield line

        # a field may be as large as DuckDB reads it (a 2 MB URL): lift csv's 128 KB default
        csv.field_size_limit(max(csv.field_size_limit(), _FIELD_LIMIT))
        reader = csv.reader(lines(), delimiter=sep, quotechar='"', doublequote=True, strict=False)
        end = 0
        for fields in reader:
            start, end = end + 1, reader.line_num
            raw = "".join(buffer).rstrip("\r\n")
            buffer.clear()
            yield start, fields, raw


def locate_delimited(
    path: Path,
    *,
    compressed: bool,
    sep: str,
    header: bool,
    n_fields: int,
    parser_rejects: dict[int, str],
    is_bad: Callable[[list[str]], tuple[str, str] | None],
    n_bad: int,
    first_only: bool = False,
) -> list[RejectedRow]:
    """Physical lines of the bad records of a delimited file.

    ``parser_rejects`` maps DuckDB's record numbers to reasons; ``is_bad`` gives the reason a
    parsed record is bad and the offending value (or None); ``n_bad`` is how many bad records
    there are in all, so the pass stops once it has found them (or at the first one with
    ``first_only``).
    """
    found: list[RejectedRow] = []
    for record, (line, fields, raw) in enumerate(_records(path, compressed, sep), start=1):
        reason = parser_rejects.get(record)
        detail = f"{len(fields)} fields" if reason == "wrong field count" else ""
        if reason is None and not (header and record == 1) and len(fields) == n_fields:
            reason, detail = is_bad(fields) or (None, "")
        if reason is not None:
            found.append(RejectedRow(str(path), line, reason, raw, detail))
            if first_only or len(found) >= n_bad:
                break
    return found


def locate_lines(
    path: Path,
    *,
    compressed: bool,
    bad_lines: dict[str, str],
    parser_rejects: dict[int, str],
    n_bad: int,
    first_only: bool = False,
) -> list[RejectedRow]:
    """Physical lines of a line-per-record file (JSON Lines) whose text is in ``bad_lines``
    (text -> reason) or whose number is in ``parser_rejects``."""
    found: list[RejectedRow] = []
    with open_text(path, compressed) as text:
        for number, line in enumerate(text, start=1):
            raw = line.rstrip("\r\n")
            reason = parser_rejects.get(number) or bad_lines.get(raw)
            if reason is not None:
                found.append(RejectedRow(str(path), number, reason, raw))
                if first_only or len(found) >= n_bad:
                    break
    return found
