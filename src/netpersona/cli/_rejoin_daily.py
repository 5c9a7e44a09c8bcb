"""``netpersona rejoin add-day | status``: the daily cycle of a workspace's library."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from netpersona._core import RichProgress, write_text_atomic
from netpersona.cli._apps import rejoin_app
from netpersona.cli._engines import EngineChoice, log_input
from netpersona.cli._options import ForceOpt, mapping_flags
from netpersona.cli._rejoin import LogsArg, SettingsFileOpt, profile_flags
from netpersona.cli._rejoin_print import print_reads
from netpersona.io import LogMapping, check_writable
from netpersona.rejoin import RejoinSettings

WorkspaceArg = Annotated[
    str, typer.Option("--workspace", help="Workspace file (created if missing).")
]


@rejoin_app.command("add-day")
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
) -> None:
    """Add one or more days of log (LOGS) to the workspace's library: the partial profiles of
    the (user, day) pairs they touch are derived again, days past the window leave the
    library, and its profiles are aggregated again. Files already added are skipped; without
    LOGS, only identity links recorded since the last run are applied."""
    from netpersona.rejoin import Library

    source = log_input(logs, EngineChoice()) if logs else []
    given = settings is not None or any(v is not None for v in (overrides or {}).values())
    rejoin_settings = RejoinSettings.load(settings, **(overrides or {})) if given else None
    summary = Library.add_day(workspace, source, mapping, rejoin_settings,
                              window_days=window_days, keep_days=keep_days,
                              progress=RichProgress())  # fmt: skip
    print_reads([summary.read])
    typer.echo(summary.describe())


@rejoin_app.command("status")
def status(
    workspace: WorkspaceArg = ...,
    json_out: Annotated[
        Path | None,
        typer.Option("--json", dir_okay=False, help="Also write the status as JSON here."),
    ] = None,
    force: ForceOpt = False,
) -> None:
    """What the workspace's library holds: days (first, last, gaps in the calendar), window,
    users, sites, rows, last day added, version."""
    from netpersona.rejoin import Library

    if json_out is not None:
        check_writable(json_out, force)
    current = Library.status(workspace)
    typer.echo(current.describe())
    if json_out is not None:
        write_text_atomic(json_out, json.dumps(current.to_dict(), indent=2) + "\n", force=force)
        typer.echo(f"status: {json_out}")
