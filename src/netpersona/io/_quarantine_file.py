"""The quarantine file on disk: private (0600), appended per run, pseudonymised with a key.

Each run appends one block to ``*.rejected.csv``: a comment line ``# run <UTC time> pid <pid>:
<n> rows`` and its rows (``source_file, line, reason, raw``); the column header is written once,
when the file is created. A later run never overwrites an earlier run's rejects. Read it with
:func:`read_quarantine` (or any CSV reader told that ``#`` starts a comment).

The raw rows hold subscriber ids, so the file is created readable by its owner only; when the
read pseudonymises ids (a key file), the ids in ``raw`` are replaced by their pseudonyms too, and
a row whose user field cannot be told apart is withheld (only its place and reason are kept).
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

QUARANTINE_MODE = 0o600
#: what ``raw`` holds for a row whose subscriber id could not be isolated while a key is in use
WITHHELD = "(withheld: a pseudonymisation key is in use and the row's id could not be isolated)"


def append_quarantine(
    path: str | Path, rows: Iterable[Sequence[object]], columns: Sequence[str]
) -> Path:
    """Append ``rows`` as one run's block to the CSV at ``path`` (created 0600 with the
    ``columns`` header); the whole block is written at once.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / 'log.rejected.csv'
    >>> _ = append_quarantine(path, [('log.csv', 3, 'bad time', 'u1,never,x.cn')],
    ...                       ('source_file', 'line', 'reason', 'raw'))
    >>> _ = append_quarantine(path, [('log.csv', 9, 'missing user', ',2024-01-01,x.cn')],
    ...                       ('source_file', 'line', 'reason', 'raw'))
    >>> [(r['line'], r['reason']) for r in read_quarantine(path)]
    [('3', 'bad time'), ('9', 'missing user')]
    >>> oct(path.stat().st_mode & 0o777), path.read_text().count('# run ')
    ('0o600', 2)
    """
    path = Path(path)
    rows = list(rows)
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    fresh = not path.exists() or path.stat().st_size == 0
    if fresh:
        writer.writerow(columns)
    buffer.write(f"# run {stamp} pid {os.getpid()}: {len(rows)} rows\n")
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, QUARANTINE_MODE)
    try:
        os.fchmod(fd, QUARANTINE_MODE)  # a file from before this rule is made private too
        data = buffer.getvalue().encode("utf-8")
        while data:
            data = data[os.write(fd, data) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def read_quarantine(path: str | Path) -> list[dict[str, str]]:
    """The rows of a quarantine file, every run's, as dicts (comment lines skipped).

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / 'q.csv'
    >>> _ = append_quarantine(path, [('a.csv', 'bad time')], ('source_file', 'reason'))
    >>> read_quarantine(path)
    [{'source_file': 'a.csv', 'reason': 'bad time'}]
    """
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def raw_protector(
    kind: str, sep: str, columns: Sequence[str] | None, user_col: str, alias: Callable[[str], str]
) -> Callable[[str], str]:
    """A function turning a raw row of a file of format ``kind`` (``delimited``, ``jsonl``,
    ``parquet``) into the same row with its subscriber id replaced by ``alias(id)``.

    >>> protect = raw_protector('delimited', ',', ['user_id', 'ts', 'url'], 'user_id', str.upper)
    >>> protect('u1,never,x.cn'), protect('u1,never') == WITHHELD
    ('U1,never,x.cn', True)
    """

    def delimited(raw: str) -> str:
        if not columns or user_col not in columns:
            return WITHHELD
        try:
            (fields,) = list(csv.reader([raw], delimiter=sep or ","))
        except (csv.Error, ValueError):
            return WITHHELD
        if len(fields) != len(columns):
            return WITHHELD
        index = columns.index(user_col)
        if fields[index]:
            fields[index] = alias(fields[index])
        out = io.StringIO()
        csv.writer(out, delimiter=sep or ",", lineterminator="").writerow(fields)
        return out.getvalue()

    def jsonl(raw: str) -> str:
        try:
            record = json.loads(raw)
        except ValueError:
            return WITHHELD
        if not isinstance(record, dict):
            return WITHHELD
        if record.get(user_col) not in (None, ""):
            record[user_col] = alias(str(record[user_col]))
        return json.dumps(record, ensure_ascii=False)

    if kind == "jsonl":
        return jsonl
    if kind == "delimited":
        return delimited
    return lambda raw: delimited(raw) if sep == "," else WITHHELD
