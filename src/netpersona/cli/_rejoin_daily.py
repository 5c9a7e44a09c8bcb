"""``netpersona rejoin add-day | status``: the daily cycle of a workspace's library."""

from __future__ import annotations

from typing import Annotated

import typer

from netpersona._core import RichProgress
from netpersona.cli._apps import rejoin_app
from netpersona.cli._config import rejoin_settings
from netpersona.cli._engines import EngineChoice, log_input
from netpersona.cli._json import json_summary
from netpersona.cli._options import mapping_flags
from netpersona.cli._rejoin import LogsArg, SettingsFileOpt, profile_flags
from netpersona.cli._rejoin_print import print_reads
from netpersona.io import LogMapping

WorkspaceArg = Annotated[
    str, typer.Option("--workspace", help="Workspace file (created if missing).")
]


@rejoin_app.command("add-day")
@json_summary
@profile_flags
@mapping_flags
def add_day(
    logs: LogsArg = None,
    workspace: WorkspaceArg = ...,
    window_days: Annotated[
        int | None,
        typer.Option(
            "--window-days",
            min=1,
            help="Days the library holds, ending on the latest day held (stored in the "
            "workspace; default: the workspace's, else 60 as in the paper).",
        ),
    ] = None,
    keep_days: Annotated[
        int | None,
        typer.Option(
            "--keep-days",
            min=1,
            help="Days of raw rows and per-day partials kept (late rows of those days are "
            "still folded in exactly); default: the window.",
        ),
    ] = None,
    settings: SettingsFileOpt = None,
    overrides: dict | None = None,
    mapping: LogMapping | None = None,
) -> dict:
    """Add one or more days of log (LOGS) to the workspace's library: the partial profiles of
    the (user, day) pairs they touch are derived again, days past the window leave the
    library, and its profiles are aggregated again. Files already added are skipped; without
    LOGS, only identity links recorded since the last run are applied."""
    from netpersona.rejoin import Library

    source = log_input(logs, EngineChoice()) if logs else []
    chosen = rejoin_settings(settings, overrides, optional=True)  # None: the workspace's
    summary = Library.add_day(workspace, source, mapping, chosen,
                              window_days=window_days, keep_days=keep_days,
                              progress=RichProgress())  # fmt: skip
    print_reads([summary.read])
    typer.echo(summary.describe())
    read = summary.read
    return {**summary.to_dict(), "rows_read": read.rows, "rejected": read.rejected,
            "files_skipped": len(read.skipped)}  # fmt: skip


@rejoin_app.command("status")
@json_summary
def status(workspace: WorkspaceArg = ...) -> dict:
    """What the workspace's library holds: days (first, last, gaps in the calendar), window,
    users, sites, rows, last day added, version."""
    from netpersona.rejoin import Library

    current = Library.status(workspace)
    typer.echo(current.describe())
    return current.to_dict()
