"""Command-line flags shared by every command that reads access logs.

A command declares each flag as a parameter typed with the alias below and its default, then
builds the :class:`~netpersona.io.LogMapping` with :func:`mapping_from_options`::

    @logs_app.command("summary")
    def summary(
        logs: list[Path],
        user_col: UserColOpt = "user_id",
        time_col: TimeColOpt = "ts",
        url_col: UrlColOpt = "url",
        site_col: SiteColOpt = None,
        no_header: NoHeaderOpt = False,
        columns: ColumnsOpt = None,
        sep: SepOpt = None,
        time_unit: TimeUnitOpt = None,
        timezone: TimezoneOpt = "UTC",
        pseudonymize_key_file: PseudonymizeKeyOpt = None,
        max_bad_fraction: MaxBadFractionOpt = 0.01,
    ): ...
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from netpersona.cli._resources import RESOURCE_FLAGS
from netpersona.io import LogMapping

_MAPPING = "Log columns"


class TimeUnit(StrEnum):
    """Unit of epoch numbers in the time column."""

    s = "s"
    ms = "ms"


_PARSING = "Log parsing"

UserColOpt = Annotated[
    str,
    typer.Option("--user-col", help="Column holding the subscriber id.", rich_help_panel=_MAPPING),
]
TimeColOpt = Annotated[
    str,
    typer.Option(
        "--time-col",
        help="Column holding the request time (ISO-8601, or epoch numbers with --time-unit).",
        rich_help_panel=_MAPPING,
    ),
]
UrlColOpt = Annotated[
    str | None,
    typer.Option(
        "--url-col",
        help="Column holding the URL or host; the site is its registrable domain "
        "(Public Suffix List, offline).",
        rich_help_panel=_MAPPING,
    ),
]
SiteColOpt = Annotated[
    str | None,
    typer.Option(
        "--site-col",
        help="Column holding the site as is (used instead of --url-col).",
        rich_help_panel=_MAPPING,
    ),
]
NoHeaderOpt = Annotated[
    bool,
    typer.Option(
        "--no-header",
        help="The file has no header row; name its fields with --columns.",
        rich_help_panel=_MAPPING,
    ),
]
ColumnsOpt = Annotated[
    str | None,
    typer.Option(
        "--columns",
        help="Comma-separated names of the fields of a header-less file, in order "
        "(e.g. sender,recipient,ts); implies --no-header.",
        rich_help_panel=_MAPPING,
    ),
]
SepOpt = Annotated[
    str | None,
    typer.Option(
        "--sep",
        help="Field separator of delimited text: a character, or 'tab' / 'space' / 'comma'. "
        "Default from the extension: .csv ',', .tsv tab, .txt/.log/.ssv space.",
        rich_help_panel=_PARSING,
    ),
]
TimeUnitOpt = Annotated[
    TimeUnit | None,
    typer.Option(
        "--time-unit",
        help="The time column holds epoch numbers in seconds or milliseconds "
        "(default: ISO-8601 strings).",
        rich_help_panel=_PARSING,
    ),
]
TimezoneOpt = Annotated[
    str,
    typer.Option(
        "--timezone",
        help="IANA time zone of the subscribers' local calendar (days and hours), e.g. "
        "Asia/Shanghai. Epoch times and ISO times with an offset are converted to it; ISO "
        "times without an offset are taken as local already.",
        rich_help_panel=_PARSING,
    ),
]
PseudonymizeKeyOpt = Annotated[
    Path | None,
    typer.Option(
        "--pseudonymize-key-file",
        exists=True,
        dir_okay=False,
        help="Replace subscriber ids by HMAC-SHA256(key, id) as they are read.",
        rich_help_panel=_PARSING,
    ),
]
MaxBadFractionOpt = Annotated[
    float,
    typer.Option(
        "--max-bad-fraction",
        min=0.0,
        max=1.0,
        help="Stop with an error when more than this share of a file's rows cannot be parsed "
        "(bad rows go to a *.rejected.csv quarantine file).",
        rich_help_panel=_PARSING,
    ),
]
WorkspaceOpt = Annotated[
    Path,
    typer.Option(
        "--workspace", help="DuckDB workspace file holding netpersona's tables.", dir_okay=False
    ),
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite existing outputs.")]

_SEPARATOR_NAMES = {"tab": "\t", "\\t": "\t", "space": " ", "comma": ",", "semicolon": ";"}


def parse_separator(sep: str | None) -> str | None:
    """The separator character for a ``--sep`` value (names such as ``tab`` accepted)."""
    if sep is None:
        return None
    return _SEPARATOR_NAMES.get(sep.lower(), sep)


def parse_columns(columns: str | None) -> tuple[str, ...] | None:
    """The field names of a ``--columns sender,recipient,ts`` value."""
    if columns is None:
        return None
    return tuple(name.strip() for name in columns.split(","))


#: parameter names of :func:`mapping_from_options`, as the commands name their flags
MAPPING_OPTIONS = (
    "user_col",
    "time_col",
    "url_col",
    "site_col",
    "no_header",
    "columns",
    "sep",
    "time_unit",
    "timezone",
    "pseudonymize_key_file",
    "max_bad_fraction",
    "time_origin",
    "min_time",
    "max_time",
)


def mapping_from_params(params: dict) -> LogMapping:
    """The mapping from a command's parameters (``locals()``): the mapping flags it declares."""
    return mapping_from_options(**{k: params[k] for k in MAPPING_OPTIONS if k in params})


def mapping_from_options(
    *,
    user_col: str = "user_id",
    time_col: str = "ts",
    url_col: str | None = "url",
    site_col: str | None = None,
    no_header: bool = False,
    columns: str | None = None,
    sep: str | None = None,
    time_unit: TimeUnit | str | None = None,
    timezone: str = "UTC",
    pseudonymize_key_file: Path | None = None,
    max_bad_fraction: float = 0.01,
    time_origin: str | None = None,
    min_time: str | None = None,
    max_time: str | None = None,
) -> LogMapping:
    """Build the log mapping from the shared command-line flags (validated: ConfigError)."""
    names = parse_columns(columns)
    return LogMapping(
        user_col=user_col,
        time_col=time_col,
        url_col=None if site_col else url_col,
        site_col=site_col,
        no_header=no_header or names is not None,
        columns=names,
        sep=parse_separator(sep),
        time_unit=getattr(time_unit, "value", time_unit),
        timezone=timezone,
        pseudonymize_key_file=pseudonymize_key_file,
        max_bad_fraction=max_bad_fraction,
        time_origin=time_origin,
        min_time=min_time,
        max_time=max_time,
    )


TimeOriginOpt = Annotated[
    str | None,
    typer.Option(
        "--time-origin",
        help="Epoch numbers count from this UTC instant instead of 1970-01-01 (for logs whose "
        "times are seconds from the start of a study, e.g. 2004-04-15).",
        rich_help_panel=_PARSING,
    ),
]

_OUT_OF_RANGE = "local time (ISO-8601) are quarantined as out of range"
MinTimeOpt = Annotated[str | None, typer.Option(
    "--min-time", help=f"Rows before this {_OUT_OF_RANGE} (default 1970-01-01).",
    rich_help_panel=_PARSING)]  # fmt: skip
MaxTimeOpt = Annotated[str | None, typer.Option(
    "--max-time", help=f"Rows after this {_OUT_OF_RANGE} (default: now + 1 day).",
    rich_help_panel=_PARSING)]  # fmt: skip


# -- engines ------------------------------------------------------------------------------------

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


# -- flag groups: a command declares one parameter, the decorator adds the flags -----------------


def flag_group(into: str, flags: dict[str, tuple[Any, Any]], build: Callable[..., Any]):
    """A decorator adding ``flags`` (``name: (annotation, default)``) to a Typer command and
    passing ``build(**their values)`` as the command's parameter ``into`` instead (no
    ``locals()``: each flag is declared once, here)."""

    def decorate(func: Callable) -> Callable:
        signature = inspect.signature(func, eval_str=True)
        if into not in signature.parameters:
            raise TypeError(f"{func.__name__} must declare a parameter {into!r}")
        kept = [p for p in signature.parameters.values() if p.name != into]
        added = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=d, annotation=a)
            for name, (a, d) in flags.items()
        ]

        @functools.wraps(func)
        def command(*args: Any, **kwargs: Any) -> Any:
            kwargs[into] = build(**{name: kwargs.pop(name) for name in flags})
            return func(*args, **kwargs)

        del command.__wrapped__  # typer must see the new signature
        command.__signature__ = signature.replace(parameters=kept + added)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in kept + added}
        return command

    return decorate


#: the log-mapping flags of every command that reads logs: the command receives ``mapping``
MAPPING_FLAGS: dict[str, tuple[Any, Any]] = {
    "user_col": (UserColOpt, "user_id"),
    "time_col": (TimeColOpt, "ts"),
    "url_col": (UrlColOpt, "url"),
    "site_col": (SiteColOpt, None),
    "no_header": (NoHeaderOpt, False),
    "columns": (ColumnsOpt, None),
    "sep": (SepOpt, None),
    "time_unit": (TimeUnitOpt, None),
    "timezone": (TimezoneOpt, "UTC"),
    "time_origin": (TimeOriginOpt, None),
    "min_time": (MinTimeOpt, None),
    "max_time": (MaxTimeOpt, None),
    "pseudonymize_key_file": (PseudonymizeKeyOpt, None),
    "max_bad_fraction": (MaxBadFractionOpt, 0.01),
}
mapping_flags = flag_group("mapping", MAPPING_FLAGS, mapping_from_options)

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
