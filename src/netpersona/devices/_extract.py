"""The feature step end to end: report files (+ purchases) -> a features table / file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from netpersona._core import ColumnNotFoundError, ConfigError, InputError, Progress
from netpersona.devices._features import FEATURES_TABLE, monthly_features
from netpersona.devices._fields import PurchaseFields, ReportFields
from netpersona.devices._parse import sql_str
from netpersona.devices._purchases import PURCHASES_TABLE, PurchaseSummary, load_purchases
from netpersona.devices._reports import SESSIONS_TABLE, ReadSummary, load_sessions
from netpersona.engine import DuckDBEngine, Engine
from netpersona.io import atomic_output, check_writable

#: the schema a workspace's sessions table is read from on DuckDB
_WORKSPACE = "ws"


@dataclass
class FeatureResult:
    """Monthly features of every user online in the month, and what reading found.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from netpersona.synth.devices import write_device_reports
    >>> folder = Path(tempfile.mkdtemp()) / 'may'
    >>> counts = write_device_reports(folder, users=40, month='2024-05', seed=1)
    >>> result = extract_features(folder / 'reports.jsonl.gz', '2024-05')
    >>> result.month, result.purchases, result.features.num_rows
    ('2024-05', None, 40)
    """

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
    engine: Engine | None = None,
    sessions_table: str | None = None,
    workspace: str | Path | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
    progress: Progress = Progress(),
) -> FeatureResult:
    """Read device reports (and purchases) and compute ``avgontime, avguseflow, buycounts``.

    ``out`` (``.parquet`` or ``.csv``) receives the features; ``quarantine`` (CSV) the reports
    that could not be used. Pass an ``engine`` to control DuckDB's threads and memory, or a
    Spark engine: report files and purchases are then read and checked here (the DuckDB
    reader, with its quarantine) and the features computed on Spark, written as a Parquet
    directory (``.parquet``) or the same CSV as DuckDB's. ``sessions_table``: a table of the
    engine holding the sessions already (``user_id, logon, logoff, up, down``: local times,
    bytes), used instead of ``reports``; without an ``engine`` it is a table of the DuckDB
    ``workspace`` file, opened read-only. ``threads`` and ``memory_limit`` set up the DuckDB
    engine opened when no ``engine`` is given.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from netpersona.synth.devices import write_device_reports
    >>> folder = Path(tempfile.mkdtemp()) / 'may'
    >>> counts = write_device_reports(folder, users=40, month='2024-05', seed=1)
    >>> reports, purchases = folder / 'reports.jsonl.gz', folder / 'purchases.csv'
    >>> result = extract_features(reports, '2024-05', purchases=purchases)
    >>> result.features.column_names
    ['user', 'month', 'online_days', 'online_hours', 'avgontime', 'avguseflow', 'buycounts']
    >>> result.features.num_rows, result.reports.rejected, result.purchases.rows > 0
    (40, 0, True)
    >>> result.reports.sessions + result.reports.duplicates == result.reports.reports
    True
    """
    if (sessions_table is None) == (not reports):
        raise ConfigError("give report files or a sessions table, one of them")
    if out is not None:
        _format(out)
        if not _is_url(out):  # Spark refuses an existing remote output itself
            check_writable(out, force)
    own = engine is None
    if engine is None:
        engine = _local_engine(sessions_table, workspace, threads, memory_limit)
        if sessions_table is not None and "." not in sessions_table:
            sessions_table = f"{_WORKSPACE}.{sessions_table}"
    # a distributed engine cannot read local files: they are read here and handed over
    local = DuckDBEngine() if engine.distributed else engine
    try:
        if sessions_table is not None:
            summary = _sessions_from_table(engine, sessions_table)
        else:
            summary = load_sessions(
                local, reports, fields, quarantine=quarantine, force=force, progress=progress
            )
            _hand_over(local, engine, SESSIONS_TABLE, "user_id, logon, logoff, up, down")
        bought = None
        if purchases is not None:
            with progress.step("reading purchases"):
                bought = load_purchases(
                    local,
                    purchases,
                    purchase_fields,
                    max_bad_fraction=fields.max_bad_fraction,
                )
            _hand_over(local, engine, PURCHASES_TABLE, "user_id, bought")
        with progress.step(f"features for {month}"):
            monthly_features(engine, month, PURCHASES_TABLE if bought else None)
        table = engine.fetch_arrow(f"SELECT * FROM {FEATURES_TABLE} ORDER BY user")
        written = None
        if out is not None:
            written = write_features(engine, out, force=force, table=table)
        return FeatureResult(table, summary, bought, month, written)
    finally:
        if local is not engine:
            local.close()
        if own:
            engine.close()


def _local_engine(
    sessions_table: str | None,
    workspace: str | Path | None,
    threads: int | None,
    memory_limit: str | None,
) -> Engine:
    """DuckDB on this machine, in memory; with ``sessions_table``, the workspace file holding
    it attached read-only as ``ws``."""
    if sessions_table is not None:
        if workspace is None:
            raise ConfigError("--table on DuckDB reads a table of a workspace: give --workspace")
        if not Path(workspace).exists():
            raise InputError("no such workspace", path=workspace, hint="check the path")
    engine = DuckDBEngine(threads=threads, memory_limit=memory_limit)
    if sessions_table is not None:
        engine.execute(f"ATTACH '{sql_str(str(workspace))}' AS {_WORKSPACE} (READ_ONLY)")
    return engine


def _is_url(path: str | Path) -> bool:
    return "://" in str(path)


def _hand_over(local: Engine, engine: Engine, table: str, columns: str) -> None:
    """Table ``table`` read here (DuckDB) made available to ``engine`` (Spark)."""
    if local is not engine:
        engine.register_arrow(table, local.fetch_arrow(f"SELECT {columns} FROM {table}"))


def _sessions_from_table(engine: Engine, name: str) -> ReadSummary:
    """``device_sessions`` from a table of the engine that holds sessions already."""
    try:
        have = engine.fetch_arrow(f"SELECT * FROM {name} LIMIT 0").column_names
    except Exception:  # each engine has its own "no such table" error
        raise InputError(
            f"no table {name!r} in the engine",
            hint="on Spark name a table of its catalog (db.name); on DuckDB a table of the "
            "--workspace file",
        ) from None
    columns = ("user_id", "logon", "logoff", "up", "down")
    missing = [c for c in columns if c not in have]
    if missing:
        raise ColumnNotFoundError(
            f"table {name} has no column(s) {', '.join(missing)}; it has {', '.join(have)}",
            column=missing[0],
        )
    engine.create_table(
        SESSIONS_TABLE,
        f"SELECT CAST(user_id AS VARCHAR) AS user_id, CAST(logon AS TIMESTAMP) AS logon, "
        f"CAST(logoff AS TIMESTAMP) AS logoff, CAST(up AS DOUBLE) AS up, "
        f"CAST(down AS DOUBLE) AS down FROM {name}",
    )
    sessions, users = (
        engine.fetch_arrow(
            f"SELECT count(*) AS n, count(DISTINCT user_id) AS u FROM {SESSIONS_TABLE}"
        )
        .to_pylist()[0]
        .values()
    )
    return ReadSummary(files=[name], reports=sessions, sessions=sessions, users=users)


def _format(path: str | Path) -> str:
    name = str(path).lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".csv"):
        return "csv"
    raise InputError(
        "features are written as .parquet or .csv", path=path, hint="end --out with one of those"
    )


def write_features(
    engine: Engine, out: str | Path, force: bool = False, table: pa.Table | None = None
) -> str | Path:
    """Write the engine's features table to ``out`` (Parquet or CSV), atomically.

    On Spark, ``.parquet`` is a Parquet directory written by Spark (any path it writes);
    ``.csv`` is the very CSV DuckDB writes (``table``, the features fetched, written here).
    """
    fmt = _format(out)
    if engine.distributed and fmt == "parquet":
        engine.write(FEATURES_TABLE, str(out), "parquet", force=force)
        return out
    if engine.distributed:
        with DuckDBEngine() as local:
            if table is None:
                table = engine.fetch_arrow(f"SELECT * FROM {FEATURES_TABLE} ORDER BY user")
            local.register_arrow(FEATURES_TABLE, table)
            return write_features(local, out, force)
    options = "FORMAT parquet" if fmt == "parquet" else "FORMAT csv, HEADER true"
    with atomic_output(out, force=force) as tmp:
        engine.execute(
            f"COPY (SELECT * FROM {FEATURES_TABLE} ORDER BY user) TO '{sql_str(str(tmp))}' "
            f"({options})"
        )
    return Path(out)


def read_features(path: str | Path) -> pa.Table:
    """A features file (Parquet or CSV) written by :func:`extract_features` or by hand.

    It needs a ``user`` column and the feature columns the model was trained on.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from netpersona.synth.devices import write_device_reports
    >>> folder = Path(tempfile.mkdtemp()) / 'may'
    >>> counts = write_device_reports(folder, users=40, month='2024-05', seed=1)
    >>> out = folder.parent / 'features.csv'
    >>> _ = extract_features(folder / 'reports.jsonl.gz', '2024-05', out=out)
    >>> read_features(out).column_names
    ['user', 'month', 'online_days', 'online_hours', 'avgontime', 'avguseflow', 'buycounts']
    """
    path = Path(path)
    fmt = _format(path)
    if fmt == "parquet" and path.is_dir():  # a Parquet directory (Spark's output)
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        return _with_user(table, path)
    if not path.is_file():
        raise InputError("no such file", path=path, hint="write it with `devices features`")
    if fmt == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
    else:
        import pyarrow.csv as pacsv

        table = pacsv.read_csv(
            path, convert_options=pacsv.ConvertOptions(column_types={"user": pa.string()})
        )
    return _with_user(table, path)


def _with_user(table: pa.Table, path: Path) -> pa.Table:
    if "user" not in table.column_names:
        raise ColumnNotFoundError(
            f"no 'user' column; the file has {', '.join(table.column_names)}",
            path=path,
            column="user",
        )
    return table
