"""What ``--engine duckdb|spark`` changes in a command: which engine opens, how inputs are read
(files or ``--table``), where the library lives, and how outputs are written.

DuckDB (the default) keeps every command exactly as it was: local files through the reader,
the library in a workspace file, CSV outputs. Spark reads any path Spark reads (local,
``hdfs://``, ``s3a://``, untouched) or a catalog table, keeps the library as Parquet tables of
a database of its catalog (``--workspace NAME``), and writes Parquet directories, or the same
CSV as DuckDB when the output ends in ``.csv``.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import typer

from netpersona._core import ConfigError, InputError, Progress
from netpersona.engine import Engine, parse_spark_conf
from netpersona.io import LogMapping, check_writable

_TABLE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)?")
_DATABASE_NAME = re.compile(r"[A-Za-z_]\w*")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class EngineChoice:
    """The engine flags of one command: ``--engine``, ``--spark-master``, ``--spark-conf``,
    ``--table`` and ``--candidates``."""

    kind: str = "duckdb"
    spark_master: str = "local[*]"
    spark_conf: dict[str, str] = field(default_factory=dict)
    table: str | None = None
    candidates: str = "exact"

    @classmethod
    def from_options(
        cls,
        engine: object = "duckdb",
        spark_master: str = "local[*]",
        spark_conf: Sequence[str] | None = None,
        table: str | None = None,
        candidates: object = "exact",
    ) -> EngineChoice:
        """Validate the flags (ConfigError naming the flag and what to do)."""
        from netpersona.engine._spark import spark_available

        kind = str(getattr(engine, "value", engine))
        mode = str(getattr(candidates, "value", candidates))
        conf = parse_spark_conf(list(spark_conf or []))
        if kind == "spark":
            reason = spark_available()
            if reason:
                raise ConfigError(f"--engine spark cannot run here: {reason}")
        else:
            if mode != "exact":
                raise ConfigError(
                    f"--candidates {mode} is Spark's step 2: add --engine spark (DuckDB runs "
                    "the exact join, which is fast up to millions of users)"
                )
            if conf or spark_master != "local[*]":
                raise ConfigError("--spark-master and --spark-conf need --engine spark")
        if table is not None and not _TABLE_NAME.fullmatch(table):
            raise ConfigError(f"--table {table!r} is not a table name; expected name or db.name")
        return cls(kind, spark_master, conf, table, mode)

    @property
    def spark(self) -> bool:
        return self.kind == "spark"

    def open_spark(self, database: str | None = None) -> Engine:
        """A Spark engine for these flags (the library's database, if any)."""
        from netpersona.engine import make_engine

        return make_engine(
            "spark",
            self.spark_master,
            self.spark_conf,
            database=database,
            candidates=self.candidates,
        )


def spark_database(workspace: str | Path | None) -> str | None:
    """``--workspace`` on Spark: the name of a database of the Spark catalog."""
    if workspace is None:
        return None
    name = str(workspace)
    if not _DATABASE_NAME.fullmatch(name):
        raise ConfigError(
            f"--workspace {name!r}: on Spark the workspace is a database of the Spark catalog "
            "(letters, digits, _), e.g. --workspace np_library; its tables live in the "
            "warehouse (spark.sql.warehouse.dir) or the metastore"
        )
    return name


def input_sources(paths: Sequence[str | Path] | None, choice: EngineChoice) -> list[str]:
    """The input files as given, local ones checked to exist (URLs go to Spark untouched)."""
    paths = [str(p) for p in paths or []]
    if paths and choice.table:
        raise ConfigError("give input files or --table, not both")
    if not paths and not choice.table:
        raise ConfigError("no input: give log files or --table db.name")
    for path in paths:
        if _SCHEME.match(path):
            if not choice.spark:
                raise InputError(
                    "DuckDB reads local files only",
                    path=path,
                    hint="use --engine spark for hdfs://, s3a:// and other URLs",
                )
        elif not Path(path).exists():
            raise InputError("no such file", path=path, hint="check the path")
    return paths


def check_output(out: str, force: bool) -> None:
    """Refuse an existing local output before any work (Spark checks remote ones itself)."""
    if not _SCHEME.match(str(out)):
        check_writable(out, force)


def is_csv(out: str | Path) -> bool:
    return str(out).lower().endswith(".csv")


# -- reading logs ------------------------------------------------------------------------------


def load_log(
    engine: Engine,
    choice: EngineChoice,
    sources: Sequence[str],
    mapping: LogMapping,
    table: str,
    progress: Progress,
    *,
    where: str = "the workspace",
) -> int:
    """Read the log (files, or ``choice.table``) into the canonical table ``table``
    (``user_id, ts, site``) of ``engine``; returns its row count."""
    if engine.dialect == "spark":
        return _spark_log(engine, list(sources), choice.table, mapping, table)
    from netpersona.io import read_access_log

    if choice.table:
        return _duckdb_table_log(engine, choice.table, mapping, table, progress, where)
    summary = read_access_log([Path(s) for s in sources], mapping, engine, table, progress=progress)
    return summary.rows


def _duckdb_table_log(engine, name, mapping, table, progress, where) -> int:
    """A table of the DuckDB database read as a log: the reader's own checks apply, through a
    temporary Parquet copy."""
    import duckdb

    from netpersona.io import read_access_log

    try:
        engine.fetch_arrow(f"SELECT * FROM {name} LIMIT 0")
    except duckdb.CatalogException:
        raise InputError(
            f"no table {name!r} in {where}",
            hint="--table on DuckDB reads a table of the --workspace file; "
            "use --engine spark for a table of the Spark catalog",
        ) from None
    with tempfile.TemporaryDirectory(prefix="netpersona-table-") as folder:
        copy = Path(folder) / f"{name}.parquet"
        engine.execute(f"COPY (SELECT * FROM {name}) TO '{copy}' (FORMAT parquet)")
        return read_access_log(copy, mapping, engine, table, progress=progress).rows


def _spark_format(path: str, mapping: LogMapping) -> tuple[str, dict[str, str]]:
    name = path.lower().removesuffix(".gz").removesuffix(".bz2")
    if name.endswith((".jsonl", ".json", ".ndjson")):
        return "json", {}
    if name.endswith((".csv", ".tsv", ".txt", ".log", ".ssv")):
        default = {".tsv": "\t", ".csv": ","}.get(name[-4:], " ")
        return "csv", {"header": "true", "sep": mapping.sep or default}
    return "parquet", {}


def _spark_log(engine, sources: list[str], table_in: str | None, mapping, table: str) -> int:
    from netpersona.engine._spark import read_canonical_log

    unsupported = {
        "--columns/--no-header": mapping.no_header,
        "--pseudonymize-key-file": mapping.pseudonymize_key_file is not None,
        "--time-origin": mapping.time_origin is not None,
    }
    used = [flag for flag, on in unsupported.items() if on]
    if used:
        raise ConfigError(
            f"{', '.join(used)} are not supported with --engine spark; prepare the table "
            "with those columns in Spark, or read the files with --engine duckdb"
        )
    if table_in and not engine.spark.catalog.tableExists(table_in):
        raise InputError(
            f"no table {table_in!r} in the Spark catalog",
            hint="name it as database.table (see SHOW TABLES IN database)",
        )
    columns = {
        "user_col": mapping.user_col,
        "time_col": mapping.time_col,
        "url_col": None if mapping.site_col else mapping.url_col,
        "site_col": mapping.site_col,
        "time_unit": mapping.time_unit,
        "timezone": mapping.timezone,
    }
    parts = []
    for i, source in enumerate([table_in] if table_in else sources):
        fmt, options = (None, {}) if table_in else _spark_format(source, mapping)
        part = f"{table}__part{i}"
        read_canonical_log(engine, source, part, fmt=fmt, options=options, **columns)
        parts.append(part)
    engine.create_table(table, " UNION ALL ".join(f"SELECT * FROM {p}" for p in parts))
    rejected = [f"{p}_rejected" for p in parts if engine.has_table(f"{p}_rejected")]
    engine.execute(f"DROP TABLE IF EXISTS {table}_rejected")
    if rejected:  # never dropped silently: counted, said, and kept with the reason
        engine.create_table(
            f"{table}_rejected", " UNION ALL ".join(f"SELECT * FROM {r}" for r in rejected)
        )
        count = int(engine.fetch_scalar(f"SELECT count(*) FROM {table}_rejected"))
        typer.echo(
            f"{count:,} rows without a user, a time or a site were left out; they are kept "
            f"with the reason in table {table}_rejected",
            err=True,
        )
    for part in parts + rejected:
        engine.execute(f"DROP TABLE IF EXISTS {part}")
    return int(engine.fetch_scalar(f"SELECT count(*) FROM {table}"))


# -- writing results -----------------------------------------------------------------------------


def write_arrow_output(
    engine: Engine, table: pa.Table, out: str, force: bool, write_csv, name: str
) -> str:
    """``table`` to ``out``: on Spark a Parquet directory unless ``out`` ends in ``.csv``;
    otherwise (and on DuckDB, as before) ``write_csv(table, path, force)``."""
    if engine.dialect == "spark" and not is_csv(out):
        engine.register_arrow(name, table)
        try:
            engine.write(name, out, "parquet", force=force)
        finally:
            engine.execute(f"DROP VIEW IF EXISTS {name}")
        return out
    write_csv(table, Path(out), force=force)
    return out


def print_step2_runs(engine: Engine, echo) -> None:
    """What Spark's step 2 did (candidates, pairs, MinHash recall), one line per run."""
    for run in getattr(engine, "step2_runs", []):
        echo(run.describe())
