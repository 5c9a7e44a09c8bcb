"""The feature step end to end: report files (+ purchases) -> a features table / file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from netpersona._exceptions import ColumnNotFoundError, InputError
from netpersona._progress import Progress
from netpersona.devices._features import FEATURES_TABLE, monthly_features
from netpersona.devices._fields import PurchaseFields, ReportFields
from netpersona.devices._parse import sql_str
from netpersona.devices._purchases import PURCHASES_TABLE, PurchaseSummary, load_purchases
from netpersona.devices._reports import ReadSummary, load_sessions
from netpersona.engine import DuckDBEngine
from netpersona.io import atomic_output, check_writable


@dataclass
class FeatureResult:
    """Monthly features of every user online in the month, and what reading found."""

    features: pa.Table
    reports: ReadSummary
    purchases: PurchaseSummary | None
    month: str
    output: Path | None = None


def extract_features(
    reports: str | Path | list[str | Path],
    month: str,
    *,
    purchases: str | Path | None = None,
    fields: ReportFields = ReportFields(),
    purchase_fields: PurchaseFields = PurchaseFields(),
    out: str | Path | None = None,
    quarantine: str | Path | None = None,
    force: bool = False,
    engine: DuckDBEngine | None = None,
    progress: Progress = Progress(),
) -> FeatureResult:
    """Read device reports (and purchases) and compute ``avgontime, avguseflow, buycounts``.

    ``out`` (``.parquet`` or ``.csv``) receives the features; ``quarantine`` (CSV) the reports
    that could not be used. Pass an ``engine`` to control DuckDB's threads and memory.
    """
    if out is not None:
        check_writable(out, force)
        _format(out)
    own = engine is None
    engine = engine or DuckDBEngine()
    try:
        summary = load_sessions(
            engine, reports, fields, quarantine=quarantine, force=force, progress=progress
        )
        bought = None
        if purchases is not None:
            with progress.step("reading purchases"):
                bought = load_purchases(
                    engine,
                    purchases,
                    purchase_fields,
                    max_bad_fraction=fields.max_bad_fraction,
                )
        with progress.step(f"features for {month}"):
            monthly_features(engine, month, PURCHASES_TABLE if bought else None)
        table = engine.con.sql(f"SELECT * FROM {FEATURES_TABLE} ORDER BY user").to_arrow_table()
        written = None
        if out is not None:
            written = write_features(engine, out, force=force)
        return FeatureResult(table, summary, bought, month, written)
    finally:
        if own:
            engine.close()


def _format(path: str | Path) -> str:
    name = str(path).lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".csv"):
        return "csv"
    raise InputError(
        "features are written as .parquet or .csv", path=path, hint="end --out with one of those"
    )


def write_features(engine, out: str | Path, force: bool = False) -> Path:
    """Write the engine's features table to ``out`` (Parquet or CSV), atomically."""
    fmt = _format(out)
    options = "FORMAT parquet" if fmt == "parquet" else "FORMAT csv, HEADER true"
    with atomic_output(out, force=force) as tmp:
        engine.con.execute(
            f"COPY (SELECT * FROM {FEATURES_TABLE} ORDER BY user) TO '{sql_str(str(tmp))}' "
            f"({options})"
        )
    return Path(out)


def read_features(path: str | Path) -> pa.Table:
    """A features file (Parquet or CSV) written by :func:`extract_features` or by hand.

    It needs a ``user`` column and the feature columns the model was trained on.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path=path, hint="write it with `devices features`")
    fmt = _format(path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
    else:
        import pyarrow.csv as pacsv

        table = pacsv.read_csv(
            path, convert_options=pacsv.ConvertOptions(column_types={"user": pa.string()})
        )
    if "user" not in table.column_names:
        raise ColumnNotFoundError(
            f"no 'user' column; the file has {', '.join(table.column_names)}",
            path=path,
            column="user",
        )
    return table
