"""Reading a customer table (CSV, TSV, Parquet, optionally gzip; Excel .xlsx) into memory.

Customer tables are small (thousands to a few million rows, tens of columns): they are read whole
with pandas. Row ``i`` (0-based) of the result is line ``i + 2`` of a delimited file (line 1 is the
header), which is how error messages point at a customer.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from netpersona._core import InputError


def line_of(row: int) -> int:
    """The 1-based file line of 0-based data row ``row`` (the header is line 1)."""
    return row + 2


def read_customers(path: str | Path, sep: str | None = None) -> pd.DataFrame:
    """Read a customer table; the separator follows the extension unless ``sep`` is given.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from netpersona.synth.customers import write_customers
    >>> work = Path(tempfile.mkdtemp())
    >>> _ = write_customers(work / 'answers.csv', 300, seed=4)
    >>> frame = read_customers(work / 'answers.csv')
    >>> frame.shape[0], frame.columns[0]
    (300, 'customer')
    """
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path=path, hint="check the --data path")
    name = path.name.lower().removesuffix(".gz")
    if path.is_dir():
        raise InputError("a folder, where a customer table was expected", path=path)
    try:
        if name.endswith(".parquet"):
            table = pd.read_parquet(path)
        elif name.endswith((".xlsx", ".xlsm")):
            table = _read_excel(path)
        else:
            if sep is None:
                sep = "\t" if name.endswith((".tsv", ".tab")) else ","
            table = pd.read_csv(path, sep=sep, low_memory=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(
            f"cannot read it as a table: {exc}",
            path=path,
            hint="customer tables are CSV (comma), TSV (tab), Parquet or Excel (.xlsx), with a "
            "header row",
        ) from None
    if table.empty:
        raise InputError("the table has no customer rows", path=path)
    if len(table.columns) == 1 and sep != "\t" and "\t" in str(table.columns[0]):
        raise InputError(
            "only one column was found and its name contains tabs",
            path=path,
            hint="the file is tab-separated: name it .tsv or pass the separator",
        )
    return table.reset_index(drop=True)


def _read_excel(path: Path) -> pd.DataFrame:
    """The first sheet of an Excel workbook (openpyxl), its first row the header."""
    import zipfile

    try:
        return pd.read_excel(path, sheet_name=0, engine="openpyxl")
    except ImportError:
        raise InputError(
            "reading Excel needs openpyxl", path=path, hint="pip install openpyxl, or save as CSV"
        ) from None
    except (zipfile.BadZipFile, KeyError) as exc:
        raise InputError(
            f"not a readable .xlsx workbook ({type(exc).__name__})",
            path=path,
            hint="save it again from Excel, or as CSV",
        ) from None
