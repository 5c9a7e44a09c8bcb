"""The engine flags (``--engine``, ``--spark-master``, ``--spark-conf``, ``--table``,
``--candidates``) and the resource flags a command running SQL takes."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from netpersona.cli._flag_group import flag_group
from netpersona.cli._resources import RESOURCE_FLAGS

_ENGINE = "Engine (DuckDB on this machine, or Apache Spark)"


class EngineKind(StrEnum):
    """Where the SQL runs."""

    duckdb = "duckdb"
    spark = "spark"


class CandidateMode(StrEnum):
    """How step 2 finds candidate pairs on Spark."""

    exact = "exact"
    minhash = "minhash"


EngineOpt = Annotated[
    EngineKind,
    typer.Option(
        "--engine",
        help="duckdb: this machine (default). spark: Apache Spark (pip install "
        '"netpersona[spark]"); inputs may then be any path Spark reads (hdfs://, s3a://).',
        rich_help_panel=_ENGINE,
    ),
]
SparkMasterOpt = Annotated[
    str,
    typer.Option(
        "--spark-master",
        help="Spark master: local[*], yarn, spark://host:7077, k8s://... (ignored under "
        "spark-submit, whose --master wins).",
        rich_help_panel=_ENGINE,
    ),
]
SparkConfOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--spark-conf",
        help="A Spark setting key=value, passed through (repeatable), e.g. "
        "--spark-conf spark.executor.memory=8g.",
        rich_help_panel=_ENGINE,
    ),
]
TableOpt = Annotated[
    str | None,
    typer.Option(
        "--table",
        help="Read the input from this table (db.name) instead of files: on Spark a table of "
        "the catalog, on DuckDB a table of the --workspace file. Columns as the mapping flags "
        "name them.",
        rich_help_panel=_ENGINE,
    ),
]
CandidatesOpt = Annotated[
    CandidateMode,
    typer.Option(
        "--candidates",
        help="Step 2 on Spark: exact (salted prefix-filter join, the same pairs as DuckDB) or "
        "minhash (MinHash banding verified exactly, for libraries beyond ~10M users; its "
        "recall against the exact join is measured and printed).",
        rich_help_panel=_ENGINE,
    ),
]

#: parameter names of :func:`engine_from_params`, as the commands name their flags
ENGINE_OPTIONS = ("engine", "spark_master", "spark_conf", "table", "candidates")


def engine_from_params(params: dict):
    """The engine choice from a command's parameters (``locals()``), validated."""
    from netpersona.cli._engines import EngineChoice

    return EngineChoice.from_options(**{k: params[k] for k in ENGINE_OPTIONS if k in params})


_ENGINE_FLAGS: dict[str, tuple[Any, Any]] = {
    "engine": (EngineOpt, EngineKind.duckdb),
    "spark_master": (SparkMasterOpt, "local[*]"),
    "spark_conf": (SparkConfOpt, None),
    "table": (TableOpt, None),
    "candidates": (CandidatesOpt, CandidateMode.exact),
    **RESOURCE_FLAGS,  # --memory-limit, --temp-dir, --max-temp-size
}


def engine_flags(*, candidates: bool = True, table: bool = True):
    """The engine flags (``--engine``, ``--spark-master``, ``--spark-conf``, ``--table``,
    ``--candidates``): the command receives ``choice`` (an ``EngineChoice``, validated)."""
    from netpersona.cli._engines import EngineChoice

    flags = {
        name: spec
        for name, spec in _ENGINE_FLAGS.items()
        if (candidates or name != "candidates") and (table or name != "table")
    }
    return flag_group("choice", flags, EngineChoice.from_options)
