"""Command-line flags shared by every command that reads access logs.

A command takes them all with :data:`mapping_flags` and receives the
:class:`~netpersona.io.LogMapping` they describe (``--mapping NAME`` picks a named mapping of
the configuration file, ``[mappings.default]`` when none is named; a flag typed on the command
line wins over the file)::

    @logs_app.command("summary")
    @mapping_flags
    def summary(logs: list[Path], mapping: LogMapping | None = None): ...
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from netpersona.cli._engine_options import (  # noqa: F401 - the engine flags, imported from here
    CandidateMode,
    EngineKind,
    EngineOpt,
    SparkConfOpt,
    SparkMasterOpt,
    TableOpt,
    engine_flags,
    engine_from_params,
)
from netpersona.cli._flag_group import flag_group
from netpersona.io import LogMapping, parse_separator

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
MappingNameOpt = Annotated[
    str | None,
    typer.Option(
        "--mapping",
        help="A named mapping of the configuration file ([mappings.NAME] of netpersona.toml or "
        "--config); default: its [mappings.default], if any. Flags given here win over it.",
        rich_help_panel=_MAPPING,
    ),
]

#: a mapping field is given on the command line when any of these flags is
_GIVEN_BY = {"url_col": ("url_col", "site_col"), "site_col": ("url_col", "site_col"),
             "no_header": ("no_header", "columns")}  # fmt: skip


def _typed(ctx: Any, name: str) -> bool:
    """Whether flag ``name`` was typed on the command line (or set by its environment)."""
    source = ctx.get_parameter_source(name) if ctx is not None else None
    return source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT", "PROMPT")


def mapping_from_config(ctx: Any, mapping_name: str | None = None, **flags: Any) -> LogMapping:
    """The mapping of a command: each field from its flag when typed, else from the named (or
    default) mapping of the configuration file, else the flag's default."""
    from netpersona.cli._config import current

    named = current().mapping_fields(mapping_name)
    from_flags = mapping_from_options(**flags)
    if not named:
        return from_flags
    values = {}
    for name in LogMapping.__dataclass_fields__:
        given = any(_typed(ctx, flag) for flag in _GIVEN_BY.get(name, (name,)))
        values[name] = named[name] if name in named and not given else getattr(from_flags, name)
    return LogMapping(**values)


MAPPING_FLAGS["mapping_name"] = (MappingNameOpt, None)
mapping_flags = flag_group("mapping", MAPPING_FLAGS, mapping_from_config, context=True)
