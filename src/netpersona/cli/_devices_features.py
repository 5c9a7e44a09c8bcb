"""``netpersona devices features``: device reports (+ purchases) -> monthly features, on DuckDB
or Spark; the flags name the report fields, the purchases and the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from netpersona._core import RichProgress
from netpersona.cli._apps import devices_app
from netpersona.cli._engines import EngineChoice
from netpersona.cli._json import json_summary
from netpersona.cli._options import EngineKind, EngineOpt, SparkConfOpt, SparkMasterOpt, TableOpt

_READ = "Report fields"
_BUY = "Purchases"


def _console():
    from rich.console import Console

    return Console()


def _progress():
    from rich.console import Console

    return RichProgress(console=Console(stderr=True), transient=True)


@devices_app.command("features")
@json_summary
def features(
    month: Annotated[str, typer.Option("--month", help="Month to describe, YYYY-MM.")],
    out: Annotated[
        str,
        typer.Option(
            "--out",
            help="Features file, .parquet or .csv (on Spark .parquet is a Parquet directory, "
            "any path Spark writes).",
        ),
    ],
    reports: Annotated[
        list[Path] | None,
        typer.Option(
            "--reports",
            help="Report files: JSON Lines (.jsonl[.gz]) or session "
            "exports (.csv[.gz]); repeat the flag, or give a pattern with --glob. Or --table.",
        ),
    ] = None,
    glob: Annotated[
        bool,
        typer.Option(
            "--glob", help="Expand glob patterns in --reports (otherwise paths are literal)."
        ),
    ] = False,
    purchases: Annotated[
        str | None,
        typer.Option(
            "--purchases",
            help="Purchases: a .csv / .parquet file or a database URL "
            "(sqlite:///x.db, postgresql://user:pw@host/db, duckdb:///x.duckdb).",
            rich_help_panel=_BUY,
        ),
    ] = None,
    purchases_table: Annotated[
        str,
        typer.Option(
            "--purchases-table", help="Table to read in the database.", rich_help_panel=_BUY
        ),
    ] = "purchases",
    purchases_query: Annotated[
        str | None,
        typer.Option(
            "--purchases-query",
            help="SELECT to run instead of reading a table.",
            rich_help_panel=_BUY,
        ),
    ] = None,
    purchases_user_col: Annotated[
        str,
        typer.Option("--purchases-user-col", help="Purchases' user column.", rich_help_panel=_BUY),
    ] = "username",
    purchases_time_col: Annotated[
        str,
        typer.Option("--purchases-time-col", help="Purchases' time column.", rich_help_panel=_BUY),
    ] = "buytime",
    user_field: Annotated[
        str,
        typer.Option(
            "--user-field", help="Field path of the user (a.b for nested).", rich_help_panel=_READ
        ),
    ] = "username",
    logon_field: Annotated[
        str, typer.Option("--logon-field", help="Field of the logon time.", rich_help_panel=_READ)
    ] = "logontime",
    logoff_field: Annotated[
        str,
        typer.Option(
            "--logoff-field", help="Field of the logoff time ('' if none).", rich_help_panel=_READ
        ),
    ] = "logofftime",
    duration_field: Annotated[
        str | None,
        typer.Option(
            "--duration-field",
            help="Field of the session length "
            "(DD:HH:MM:SS, HH:MM:SS or seconds), used where there is no "
            "logoff time.",
            rich_help_panel=_READ,
        ),
    ] = None,
    up_field: Annotated[
        str, typer.Option("--up-field", help="Field of the upload flow.", rich_help_panel=_READ)
    ] = "upflow",
    down_field: Annotated[
        str, typer.Option("--down-field", help="Field of the download flow.", rich_help_panel=_READ)
    ] = "downflow",
    report_time_field: Annotated[
        str,
        typer.Option(
            "--report-time-field",
            help="Field of the time the report was sent ('' if none).",
            rich_help_panel=_READ,
        ),
    ] = "reporttime",
    flow_unit: Annotated[
        str,
        typer.Option(
            "--flow-unit",
            help="Unit of bare flow numbers: B, KB, MB or GB (values like '240B' carry their own).",
            rich_help_panel=_READ,
        ),
    ] = "B",
    time_unit: Annotated[
        str,
        typer.Option("--time-unit", help="Epoch numbers in s, ms, or auto.", rich_help_panel=_READ),
    ] = "auto",
    timezone: Annotated[
        str,
        typer.Option(
            "--timezone", help="IANA zone in which days are counted.", rich_help_panel=_READ
        ),
    ] = "UTC",
    radius: Annotated[
        bool,
        typer.Option(
            "--radius-export",
            help="Preset for RADIUS session exports "
            "(name, start_time, usage_time, upload, download in KB).",
            rich_help_panel=_READ,
        ),
    ] = False,
    max_bad_fraction: Annotated[
        float,
        typer.Option(
            "--max-bad-fraction", help="Stop when more than this share of reports is bad."
        ),
    ] = 0.01,
    quarantine: Annotated[
        Path | None,
        typer.Option(
            "--quarantine", help="Where unusable reports go [default: <out>.rejected.csv]."
        ),
    ] = None,
    threads: Annotated[int | None, typer.Option("--threads", help="DuckDB threads.")] = None,
    memory_limit: Annotated[
        str | None, typer.Option("--memory-limit", help="DuckDB memory limit, e.g. 2GB.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing outputs.")] = False,
    engine: EngineOpt = EngineKind.duckdb,
    spark_master: SparkMasterOpt = "local[*]",
    spark_conf: SparkConfOpt = None,
    table: TableOpt = None,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            dir_okay=False,
            help="With --table on DuckDB: the workspace file holding the sessions table.",
            rich_help_panel="Engine (DuckDB on this machine, or Apache Spark)",
        ),
    ] = None,
) -> dict:
    """Device reports (+ purchases) -> avgontime, avguseflow, buycounts per user for a month.

    With --table, the sessions come from a table (user_id, logon, logoff, up, down: local
    times, bytes) instead of report files. On Spark, report files and purchases are read and
    checked on this machine and the features computed on Spark."""
    from contextlib import nullcontext
    from dataclasses import replace

    from netpersona.devices import (
        RADIUS_EXPORT,
        PurchaseFields,
        ReportFields,
        default_quarantine_path,
        extract_features,
    )

    fields = RADIUS_EXPORT if radius else ReportFields(
        user=user_field, logon=logon_field, logoff=logoff_field or None,
        duration=duration_field, upflow=up_field, downflow=down_field,
        report_time=report_time_field or None, flow_unit=flow_unit, time_unit=time_unit,
    )  # fmt: skip
    fields = replace(fields, timezone=timezone, max_bad_fraction=max_bad_fraction, glob=glob)
    purchase_fields = PurchaseFields(
        user=purchases_user_col, time=purchases_time_col, table=purchases_table,
        query=purchases_query,
    )  # fmt: skip
    choice = EngineChoice.from_options(
        engine=engine, spark_master=spark_master, spark_conf=spark_conf, table=table
    )
    # Spark is opened here from its flags; without it the library opens DuckDB itself
    spark = choice.open_spark() if choice.spark else None
    with spark or nullcontext():
        result = extract_features(
            [str(p) for p in reports or []], month, purchases=purchases, fields=fields,
            purchase_fields=purchase_fields, out=out,
            quarantine=quarantine or default_quarantine_path(Path(out)), force=force,
            engine=spark, sessions_table=choice.table, workspace=workspace, threads=threads,
            memory_limit=memory_limit, progress=_progress(),
        )  # fmt: skip
    return _print_features(result, month)


def _print_features(result, month: str) -> dict:
    from rich.table import Table

    from netpersona.io import mask_id

    console = _console()
    summary = result.reports
    table = Table(title=f"Device features, {month}", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("reports read", f"{summary.reports:,}")
    table.add_row("reports quarantined", f"{summary.rejected:,}")
    table.add_row("repeated reports of a session", f"{summary.duplicates:,}")
    table.add_row("sessions", f"{summary.sessions:,}")
    table.add_row("users online in the month", f"{len(result.features):,}")
    if result.purchases:
        table.add_row("purchases read", f"{result.purchases.rows:,}")
    console.print(table)
    if summary.quarantine:
        console.print(f"quarantined reports and reasons: {summary.quarantine}")
    for a, b, share in summary.near_duplicate_users:
        console.print(
            f"[yellow]warning:[/] users {mask_id(a)} and {mask_id(b)} share {share:.1%} of their "
            "sessions: probably one subscriber exported twice"
        )
    console.print(f"features: {result.output}")
    return {
        "month": month, "out": result.output, "reports": summary.reports,
        "quarantined": summary.rejected, "duplicates": summary.duplicates,
        "sessions": summary.sessions, "users": len(result.features),
        "purchases": result.purchases.rows if result.purchases else None,
        "quarantine": summary.quarantine,
        "near_duplicate_users": len(summary.near_duplicate_users),
    }  # fmt: skip
