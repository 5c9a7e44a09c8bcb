"""Table outputs (``--out``) by the file's extension: ``.csv``, ``.parquet`` or ``.jsonl``.

Any other name is refused before any work is done, with the forms that are accepted, so
``--out x.xlsx`` never silently writes CSV and ``--out sqlite:///f.db`` never makes a folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from netpersona._core._exceptions import UsageError
from netpersona._core._output import atomic_output, check_writable

#: the extensions a table output may have, and the format each writes
TABLE_FORMATS = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl"}


def table_format(path: str | Path, flag: str = "--out") -> str:
    """The format an output table at ``path`` is written in, from its extension; a
    :class:`UsageError` for a URL or any other extension.

    >>> table_format("tiers.parquet"), table_format("matches.CSV")
    ('parquet', 'csv')
    >>> table_format("sqlite:///f.db")
    Traceback (most recent call last):
    ...
    netpersona._core._exceptions.UsageError: --out 'sqlite:///f.db': a table output is a file ending in .csv, .parquet or .jsonl (database URLs are not written here)
    """  # noqa: E501
    text = str(path)
    suffix = Path(text).suffix.lower()
    if "://" in text or suffix not in TABLE_FORMATS:
        raise UsageError(
            f"{flag} {text!r}: a table output is a file ending in .csv, .parquet or .jsonl"
            + (" (database URLs are not written here)" if "://" in text else "")
        )
    return TABLE_FORMATS[suffix]


def write_table_file(table: Any, path: str | Path, force: bool = False) -> Path:
    """Write ``table`` (a pyarrow Table or a pandas DataFrame) to ``path`` in the format of its
    extension (:func:`table_format`), atomically; an existing file only with ``force``.

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
