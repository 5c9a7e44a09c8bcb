"""Tier files given at start (``devices predict`` / ``customers predict`` outputs), by id."""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow.csv as pacsv

from netpersona._core import InputError

#: columns taken as the id, first found wins
ID_COLUMNS = ("user", "user_id", "username", "customer_id", "id")


def load_tiers(path: str | Path) -> dict[str, dict]:
    """``id -> row`` of a tiers CSV with a ``tier`` column and one of :data:`ID_COLUMNS`."""
    path = Path(path)
    try:
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the tiers file: {exc}", path=path) from None
    names = table.column_names
    id_col = next((c for c in ID_COLUMNS if c in names), None)
    if id_col is None or "tier" not in names:
        raise InputError(
            f"a tiers file needs an id column ({', '.join(ID_COLUMNS)}) and a tier column; "
            f"it has {', '.join(names)}",
            path=path,
            hint="give the output of `netpersona devices predict` or `customers predict`",
        )
    out: dict[str, dict] = {}
    ids = table.column(id_col).cast("string").to_pylist()
    for key, row in zip(ids, table.to_pylist(), strict=True):
        if key is None:
            continue
        row = {k: _plain(v) for k, v in row.items() if k != id_col}
        out[key] = row
    return out


def _plain(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
