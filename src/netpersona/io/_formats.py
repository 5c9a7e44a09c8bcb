"""Which kind of file a log is (delimited text, JSON Lines, Parquet; gzip or not) and what
columns it has, read from the header or first record without loading the file."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from netpersona._core import ColumnNotFoundError, InputError, mask_id
from netpersona.io._mapping import LogMapping

_SEPARATOR_BY_EXTENSION = {
    ".csv": ",",
    ".tsv": "\t",
    ".tab": "\t",
    ".txt": " ",
    ".log": " ",
    ".ssv": " ",
    ".dat": " ",
}
_JSONL = {".jsonl", ".ndjson", ".json"}
_PARQUET = {".parquet", ".pq"}


@dataclass(frozen=True)
class LogFormat:
    """How one log file is laid out: ``kind`` is ``delimited``, ``jsonl`` or ``parquet``."""

    kind: str
    gzip: bool = False
    sep: str | None = None


def detect_format(path: Path, mapping: LogMapping) -> LogFormat:
    """The layout of ``path`` from its extension (``.gz`` stripped) and the mapping's ``sep``."""
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    if compressed:
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    if ext in _PARQUET:
        return LogFormat("parquet")
    if ext in _JSONL and mapping.sep is None:
        return LogFormat("jsonl", compressed)
    sep = mapping.sep or _SEPARATOR_BY_EXTENSION.get(ext)
    if sep is None:
        sep = _sniff_separator(path, compressed)
    return LogFormat("delimited", compressed, sep)


def open_text(path: Path, compressed: bool) -> IO[str]:
    """Open a (possibly gzip) text file as UTF-8; undecodable bytes read as U+FFFD."""
    raw = gzip.open(path, "rb") if compressed else open(path, "rb")  # noqa: SIM115
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")


def _first_line(path: Path, compressed: bool) -> str:
    try:
        with open_text(path, compressed) as text:
            for line in text:
                line = line.removeprefix("\ufeff")  # a UTF-8 byte-order mark (Excel's CSV)
                if line.strip():
                    return line.rstrip("\r\n")
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read the file: {exc}", path=path) from exc
    raise InputError("the file is empty", path=path, hint="check the path")


def _sniff_separator(path: Path, compressed: bool) -> str:
    line = _first_line(path, compressed)
    for sep in (",", "\t", ";", "|", " "):
        if sep in line:
            return sep
    return ","


def file_columns(path: Path, fmt: LogFormat, mapping: LogMapping) -> tuple[str, ...]:
    """The column names the file offers: the header, the first JSON object's keys, the Parquet
    schema, or ``mapping.columns`` for a file without a header."""
    if fmt.kind == "parquet":
        import pyarrow.parquet as pq

        try:
            return tuple(pq.read_schema(path).names)
        except Exception as exc:
            raise InputError(
                f"not a readable Parquet file: {exc}", path=path, hint="check the file"
            ) from exc
    if mapping.no_header:
        return tuple(mapping.columns or ())
    line = _first_line(path, fmt.gzip)
    if fmt.kind == "jsonl":
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"the first record is not a JSON object: {exc}", path=path, line=1
            ) from exc
        if not isinstance(record, dict):
            raise InputError("the first record is not a JSON object", path=path, line=1)
        return tuple(record)
    return tuple(next(csv.reader([line], delimiter=fmt.sep or ",")))


_DATA = re.compile(r"\d{5,}|^\d[\d.:\- T]*$")


def _shown(name: str) -> str:
    """A column name as a message shows it: masked when it looks like an id (5+ digits), cut
    to 60 characters."""
    if re.search(r"\d{5,}", name):
        return mask_id(name)
    return name if len(name) <= 60 else name[:57] + "..."


def check_columns(path: Path, available: tuple[str, ...], mapping: LogMapping) -> None:
    """Raise :class:`ColumnNotFoundError` naming the missing mapped columns and those that exist."""
    flags = {
        mapping.user_col: "--user-col",
        mapping.time_col: "--time-col",
        mapping.site_source: "--site-col" if mapping.site_col else "--url-col",
    }
    missing = [name for name in mapping.mapped_columns if name not in available]
    if missing:
        # without a header the "names" are the first row's values: ids among them are masked
        looks_like_data = any(_DATA.search(name) for name in available)
        shown = ", ".join(repr(_shown(name)) for name in available[:50])
        if looks_like_data and not mapping.no_header:
            shown += " (these look like data: does the file lack a header row?)"
        hint = (
            "map the columns with "
            + ", ".join(f"{flags[m]} NAME" for m in missing)
            + (
                " (or, for a file without a header, --no-header --columns a,b,c)"
                if not mapping.no_header
                else ""
            )
        )
        raise ColumnNotFoundError(
            f"column {missing[0]!r} not found; the file has columns: {shown}",
            path=path,
            column=missing[0],
            hint=hint,
        )
