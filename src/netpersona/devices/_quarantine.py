"""The quarantine file: reports that could not be used, each with where it came from and why.

Same layout as the access-log reader's ``*.rejected.csv``: ``source_file, line, reason, raw``.
It is written by DuckDB straight from the reports table (no Python loop over the rows), and by
default beside the output rather than the input, whose folder may be read-only.
"""

from __future__ import annotations

from pathlib import Path

from netpersona._core import TooManyBadRowsError
from netpersona.devices._parse import column_names
from netpersona.io import QUARANTINE_COLUMNS, append_quarantine


def default_quarantine_path(output: str | Path) -> Path:
    """``features.parquet`` -> ``features.rejected.csv`` beside it.

    >>> default_quarantine_path('out/features.parquet').as_posix()
    'out/features.rejected.csv'
    """
    output = Path(output)
    return output.with_name(f"{output.name.split('.')[0]}.rejected.csv")


def write_quarantine(engine, select_sql: str, path: str | Path, force: bool = False) -> Path:
    """Append the rows of ``select_sql`` (source_file, line, reason, raw) to the CSV quarantine
    file ``path`` as one run's block (created 0600; earlier runs' rows kept, so ``force`` is
    not needed: nothing is overwritten)."""
    names = column_names(engine, select_sql)
    if tuple(names) != QUARANTINE_COLUMNS:
        raise ValueError(f"quarantine columns {names}, expected {QUARANTINE_COLUMNS}")
    rows = engine.fetch_arrow(select_sql).to_pylist()
    return append_quarantine(path, ([r[c] for c in QUARANTINE_COLUMNS] for r in rows), names)


def check_bad_fraction(
    *,
    what: str,
    total: int,
    bad: int,
    limit: float,
    first_bad: tuple | None,
    quarantine: Path | None,
) -> None:
    """Raise :class:`TooManyBadRowsError` when more than ``limit`` of ``total`` rows are bad."""
    if total == 0 or bad / total <= limit:
        return
    source, line, reason = first_bad if first_bad else (None, None, "")
    where = f"; all of them are in {quarantine}" if quarantine else ""
    raise TooManyBadRowsError(
        f"{bad:,} of {total:,} {what} ({bad / total:.1%}) could not be used, more than the "
        f"allowed {limit:.1%}; the first: {reason}{where}",
        path=source,
        line=line,
        hint="check the field mapping (--user-field, --logon-field, ...), --flow-unit and "
        "--time-unit, or raise --max-bad-fraction to accept the loss",
    )
