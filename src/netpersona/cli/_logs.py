"""``netpersona logs``: read access logs, summarise them, ingest them into a workspace."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from netpersona._core import RichProgress
from netpersona.cli._apps import logs_app
from netpersona.cli._json import json_summary
from netpersona.cli._options import WorkspaceOpt, mapping_flags
from netpersona.io import LogMapping

LogsArg = Annotated[
    list[Path],
    typer.Argument(
        exists=True, dir_okay=False, help="Access-log files (CSV/TSV/space/JSONL/Parquet, .gz)."
    ),
]
QuarantineOpt = Annotated[
    Path | None,
    typer.Option(
        "--quarantine",
        dir_okay=False,
        help="Where rows that cannot be read go (default: <log>.rejected.csv next to the log).",
    ),
]


@logs_app.command("summary")
@json_summary
@mapping_flags
def summary(
    logs: Annotated[
        list[Path] | None,
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="Access-log files (CSV/TSV/space/JSONL/Parquet, .gz). Leave out to summarise "
            "a table already ingested into --workspace.",
        ),
    ] = None,
    quarantine: QuarantineOpt = None,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            dir_okay=False,
            help="Summarise a table of this workspace instead of reading LOGS.",
        ),
    ] = None,
    table: Annotated[str, typer.Option("--table", help="Workspace table to summarise.")] = (
        "access_log"
    ),
    mapping: LogMapping | None = None,
) -> dict:
    """Read a log and summarise it: rows, users, sites, days, activity per user."""
    from netpersona._core import InputError
    from netpersona.engine import Workspace, make_engine
    from netpersona.io import summarise_files, summarise_ingested

    if logs:
        with make_engine("duckdb") as engine:
            progress = RichProgress(transient=True)
            result, read = summarise_files(
                logs, mapping, engine, quarantine=quarantine, progress=progress
            )
        where = read.quarantine
    elif workspace is not None and workspace.exists():
        with Workspace(workspace, read_only=True) as ws:
            result = summarise_ingested(ws, table)
        where = None
    else:
        raise InputError(
            "nothing to summarise: give log files, or --workspace FILE (and --table) of an "
            "existing workspace",
            path=workspace,
        )
    _print_summary(result, where)
    return result.to_dict()  # the documented keys (docs/input-formats.md)


def _print_summary(result, quarantine: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Access log summary", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    table.add_row("rows read", f"{result.rows:,}")
    table.add_row("rows rejected", f"{result.rejected:,}")
    table.add_row("users", f"{result.users:,}")
    table.add_row("sites", f"{result.sites:,}")
    table.add_row("days", f"{result.first_day} .. {result.last_day}")
    dist = Table(title="Per user", show_lines=False)
    dist.add_column("")
    for key in result.active_days:
        dist.add_column(key, justify="right")
    for name, values in (
        ("active days", result.active_days),
        ("requests per active day", result.requests_per_day),
    ):
        dist.add_row(name, *(f"{v:,.1f}" if v is not None else "-" for v in values.values()))
    console = Console()
    console.print(table)
    console.print(dist)
    if quarantine:
        console.print(f"rejected rows, with their line numbers: {quarantine}")


@logs_app.command("ingest")
@json_summary
@mapping_flags
def ingest(
    logs: LogsArg,
    workspace: WorkspaceOpt = Path("netpersona.duckdb"),
    table: Annotated[
        str, typer.Option("--table", help="Workspace table the rows are appended to.")
    ] = "access_log",
    quarantine: QuarantineOpt = None,
    mapping: LogMapping | None = None,
) -> dict:
    """Append logs to a workspace table; a file ingested before (same content) is skipped."""
    from rich.console import Console

    from netpersona.engine import Workspace
    from netpersona.io import table_rows

    started = time.perf_counter()
    with Workspace(workspace) as ws:
        read = ws.ingest(logs, mapping, table=table, quarantine=quarantine, progress=RichProgress())
        total = table_rows(ws, table)
    console = Console()
    console.print(
        f"{read.rows:,} rows added to table {table} of {workspace} ({total:,} in all); "
        f"{read.rejected:,} rejected; {len(read.skipped)} file(s) skipped as already ingested"
    )
    if read.quarantine:
        console.print(f"rejected rows, with their line numbers: {read.quarantine}")
    return {
        "workspace": workspace, "table": table, "rows_added": read.rows, "rows_in_table": total,
        "rejected": read.rejected, "rejected_by_reason": read.reasons,
        "files_skipped": len(read.skipped), "quarantine": read.quarantine,
        "seconds": round(time.perf_counter() - started, 3),
    }  # fmt: skip
