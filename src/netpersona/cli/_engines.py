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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from netpersona._core import (
    ConfigError,
    InputError,
    ResourceError,
    UsageError,
    is_table_url,
    table_format,
)
from netpersona.engine import Engine, parse_spark_conf, spark_available
from netpersona.io import LogTable, check_writable, is_url, log_source

_DATABASE_NAME = re.compile(r"[A-Za-z_]\w*")


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
        memory_limit: str | None = None,
        temp_dir: Path | None = None,
        max_temp_size: str | None = None,
    ) -> EngineChoice:
        """Validate the flags (ConfigError naming the flag and what to do); the machine's
        (``--memory-limit``...) become the process's limits, which every DuckDB it opens
        reads."""
        if memory_limit or temp_dir or max_temp_size:
            from netpersona.cli._resources import apply_resource_flags

            apply_resource_flags(memory_limit, temp_dir, max_temp_size)
        kind = str(getattr(engine, "value", engine))
        mode = str(getattr(candidates, "value", candidates))
        conf = parse_spark_conf(list(spark_conf or []))
        if kind == "spark":
            reason = spark_available()
            if reason:
                raise ResourceError(f"--engine spark cannot run here: {reason}")
        else:
            if mode != "exact":
                raise UsageError(
                    f"--candidates {mode} is Spark's step 2: add --engine spark (DuckDB runs "
                    "the exact join, which is fast up to millions of users)"
                )
            if conf or spark_master != "local[*]":
                raise UsageError("--spark-master and --spark-conf need --engine spark")
        if table is not None:
            LogTable(table)  # a ConfigError unless a name or db.name
        return cls(kind, spark_master, conf, table, mode)

    @property
    def spark(self) -> bool:
        return self.kind == "spark"

    def open(self, workspace: str | Path | None = None) -> Engine | None:
        """The engine these flags name, for ``workspace`` (None: DuckDB, which the library
        opens itself over the workspace file)."""
        return self.open_spark(spark_database(workspace)) if self.spark else None

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


def log_input(paths: Sequence[str | Path] | None, choice: EngineChoice):
    """What a command reads: its files (local ones checked to exist; URLs only on Spark), or
    ``--table``."""
    source = log_source(paths, choice.table)
    if not choice.spark and isinstance(source, list):
        for path in source:
            if is_url(path):
                raise InputError(
                    "DuckDB reads local files only",
                    path=path,
                    hint="use --engine spark for hdfs://, s3a:// and other URLs",
                )
    return source


def check_output(out: str, force: bool, spark: bool = False) -> None:
    """Refuse, before any work, an output the run could not write: an existing local file or
    database table (Spark checks remote paths itself) or, on DuckDB, a name that is not one of
    the table outputs (``TABLE_OUTPUTS``)."""
    if not spark or is_table_url(out):
        table_format(out)
    if not is_url(out) or is_table_url(out):
        check_writable(out, force)


def is_csv(out: str | Path) -> bool:
    return str(out).lower().endswith(".csv")
