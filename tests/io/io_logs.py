"""Helpers for the io tests: writing small logs and reading the canonical table back."""

from __future__ import annotations

import gzip
from pathlib import Path


def write_log(path: Path, text: str | bytes) -> Path:
    """Write ``text`` to ``path``, gzip-compressed when the name ends in .gz."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    if path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def rows(engine, table: str = "access_log") -> list[tuple]:
    """The canonical table's rows as (user_id, ts ISO string, site), sorted."""
    return sorted(
        (r["user_id"], r["ts"].isoformat(sep=" "), r["site"])
        for r in engine.fetch_arrow(f"SELECT * FROM {table}").to_pylist()
    )
