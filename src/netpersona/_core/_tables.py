"""Table outputs (``--out``): a file by its extension (``.csv``, ``.parquet``, ``.jsonl``) or a
database table by its URL (``duckdb:///f.db?table=t``, ``sqlite:///f.db?table=t``,
``postgresql://user:pw@host:port/db?table=t``; see :mod:`netpersona._core._table_urls`).

Anything else is refused before any work is done, with the forms that are accepted, so
``--out x.xlsx`` never silently writes CSV and ``--out mysql://...`` never makes a folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from netpersona._core._exceptions import UsageError
from netpersona._core._output import atomic_output, check_writable
from netpersona._core._table_urls import TABLE_OUTPUTS, is_table_url, parse_table_url, url_scheme

#: the extensions a table output may have, and the format each writes
TABLE_FORMATS = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl"}


def table_format(path: str | Path, flag: str = "--out") -> str:
    """The format an output table at ``path`` is written in: from a file's extension, or the
    database a URL names (checked, not connected to); a :class:`UsageError` listing the
    accepted forms for anything else.

    >>> table_format("tiers.parquet"), table_format("matches.CSV")
    ('parquet', 'csv')
    >>> table_format("sqlite:///f.db?table=tiers"), table_format("postgresql://h/db?table=s.t")
    ('sqlite', 'postgresql')
    >>> table_format("mysql://h/db?table=t")
    Traceback (most recent call last):
    ...
    netpersona._core._exceptions.UsageError: --out 'mysql://h/db?table=t': a table output is one of .csv, .parquet, .jsonl, duckdb:///f.db?table=t, sqlite:///f.db?table=t or postgresql://user:pw@host:port/db?table=t
    """  # noqa: E501
    text = str(path)
    if url_scheme(text) is not None:
        return parse_table_url(text, flag).kind
    suffix = Path(text).suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise UsageError(f"{flag} {text!r}: a table output is one of {TABLE_OUTPUTS}")
    return TABLE_FORMATS[suffix]


def write_table_file(table: Any, path: str | Path, force: bool = False) -> Path | str:
    """Write ``table`` (a pyarrow Table or a pandas DataFrame) to ``path`` in the format of its
    extension (:func:`table_format`), atomically; an existing file only with ``force``. A
    database URL gets a table, replaced in one transaction (``_table_db.write_table_url``);
    the URL is returned then, as a string.

    >>> import tempfile, pyarrow as pa, pyarrow.parquet as pq
    >>> folder = Path(tempfile.mkdtemp())
    >>> table = pa.table({"user": ["177****3461"], "tier": ["vip"]})
    >>> out = write_table_file(table, folder / "tiers.parquet")
    >>> pq.read_table(out).to_pylist()
    [{'user': '177****3461', 'tier': 'vip'}]
    >>> write_table_file(table, folder / "tiers.jsonl").read_text()
    '{"user":"177****3461","tier":"vip"}\\n'
    """
    import pyarrow as pa

    fmt = table_format(path)
    if is_table_url(path):
        from netpersona._core._table_db import write_table_url

        write_table_url(table, parse_table_url(path), force=force)
        return str(path)
    check_writable(path, force)
    with atomic_output(path, force=force) as tmp:
        if fmt == "csv" and not isinstance(table, pa.Table):  # pandas' own CSV, as before
            table.to_csv(tmp, index=False)
            return Path(path)
        if not isinstance(table, pa.Table):
            table = pa.Table.from_pandas(table, preserve_index=False)
        if fmt == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(table, tmp)
        elif fmt == "jsonl":
            import json

            with open(tmp, "w", encoding="utf-8") as f:
                for row in table.to_pylist():
                    f.write(json.dumps(row, ensure_ascii=False, default=str, separators=(",", ":")))
                    f.write("\n")
        else:
            import pyarrow.csv as pacsv

            pacsv.write_csv(table, tmp, write_options=pacsv.WriteOptions(quoting_style="needed"))
    return Path(path)
