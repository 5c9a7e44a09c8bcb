"""Where SQL runs: DuckDB (embedded default) and Apache Spark behind one :class:`Engine`
interface; the :class:`Workspace` is a DuckDB file that keeps netpersona's tables between
commands. ``SparkEngine`` is imported on first use, so ``import netpersona.engine`` never
imports pyspark."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from netpersona.engine._base import Engine
from netpersona.engine._dialect import mark, translate
from netpersona.engine._duckdb import DuckDBEngine
from netpersona.engine._workspace import Workspace, WorkspaceState

if TYPE_CHECKING:
    from netpersona.engine._spark import SparkEngine

__all__ = [
    "DuckDBEngine",
    "Engine",
    "SparkEngine",
    "Workspace",
    "WorkspaceState",
    "make_engine",
    "mark",
    "parse_spark_conf",
    "spark_available",
    "translate",
]

#: the engines ``make_engine`` (and the CLI's ``--engine``) knows
ENGINE_KINDS = ("duckdb", "spark")


def __getattr__(name: str) -> Any:
    if name == "SparkEngine":
        from netpersona.engine._spark import SparkEngine

        return SparkEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def spark_available() -> str | None:
    """None when pyspark and a Java runtime are usable here, else the reason they are not
    (without importing pyspark).

    >>> reason = spark_available()
    >>> reason is None or "pyspark" in reason or "Java" in reason
    True
    """
    from netpersona.engine._spark import spark_available as available

    return available()


def make_engine(
    kind: str = "duckdb",
    spark_master: str = "local[*]",
    spark_conf: Mapping[str, str] | None = None,
    **options: Any,
) -> Engine:
    """The engine the CLI's ``--engine duckdb|spark`` names.

    ``spark_master`` and ``spark_conf`` (``--spark-master``, ``--spark-conf k=v``) only apply to
    Spark; ``options`` go to the engine's constructor (e.g. ``path=`` for DuckDB,
    ``database=`` for Spark).

    >>> with make_engine("duckdb") as engine:
    ...     engine.fetch_scalar("SELECT 40 + 2")
    42
    """
    from netpersona._core import ConfigError

    kind = kind.lower().strip()
    if kind == "duckdb":
        return DuckDBEngine(**options)
    if kind == "spark":
        from netpersona.engine._spark import SparkEngine

        return SparkEngine(master=spark_master, conf=dict(spark_conf or {}), **options)
    raise ConfigError(f"unknown engine {kind!r}; use one of: {', '.join(ENGINE_KINDS)}")


def parse_spark_conf(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["spark.executor.memory=4g", ...]`` (repeated ``--spark-conf k=v``) as a dict.

    >>> parse_spark_conf(["spark.executor.memory=4g", "spark.sql.shuffle.partitions = 8"])
    {'spark.executor.memory': '4g', 'spark.sql.shuffle.partitions': '8'}
    """
    from netpersona._core import ConfigError

    conf: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"--spark-conf {pair!r} is not of the form key=value "
                "(e.g. --spark-conf spark.executor.memory=4g)"
            )
        conf[key.strip()] = value.strip()
    return conf
