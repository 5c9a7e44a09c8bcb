"""``netpersona serve``: device reports in, identities and tiers out, over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from netpersona.cli._apps import app

_LIMITS = "Limits"


@app.command("serve")
def serve(
    workspace: Annotated[
        Path, typer.Option("--workspace", help="Workspace whose re-join library is served.")
    ],
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    reports_dir: Annotated[
        Path | None,
        typer.Option(
            "--reports-dir",
            help="Folder for received device reports, one JSON Lines file per UTC day "
            "[default: <W>.reports].",
        ),
    ] = None,
    device_tiers: Annotated[
        Path | None,
        typer.Option("--device-tiers", help="Tiers CSV of `devices predict`, served by user."),
    ] = None,
    customer_tiers: Annotated[
        Path | None,
        typer.Option("--customer-tiers", help="Tiers CSV of `customers predict`, served by id."),
    ] = None,
    settings: Annotated[
        Path | None,
        typer.Option("--settings", help="TOML with a [rejoin] table, as `rejoin identify`."),
    ] = None,
    timezone: Annotated[
        str, typer.Option("--timezone", help="IANA zone of local times in events and reports.")
    ] = "UTC",
    no_auth: Annotated[
        bool,
        typer.Option("--no-auth", help="Serve without tokens (binds to 127.0.0.1 only)."),
    ] = False,
    max_body_bytes: Annotated[
        int, typer.Option("--max-body-bytes", help="Largest request body.", rich_help_panel=_LIMITS)
    ] = 1024 * 1024,
    max_events: Annotated[
        int,
        typer.Option("--max-events", help="Most events per identify.", rich_help_panel=_LIMITS),
    ] = 100_000,
    queue_max_reports: Annotated[
        int,
        typer.Option(
            "--queue-max-reports",
            help="Reports waiting for the disk before requests get 503.",
            rich_help_panel=_LIMITS,
        ),
    ] = 50_000,
    reload_check_seconds: Annotated[
        float,
        typer.Option(
            "--reload-check-seconds",
            help="Seconds between looks at the workspace for a new version to load.",
        ),
    ] = 2.0,
    log_level: Annotated[str, typer.Option("--log-level", help="debug, info, warning.")] = "info",
) -> None:
    """Serve the workspace: POST /v1/device-reports, POST /v1/rejoin/identify, GET tiers,
    /healthz and /metrics (docs/serve.md). SIGTERM finishes what is in flight and exits 0."""
    from netpersona.serve import make_settings, run

    run(
        make_settings(
            workspace=workspace, host=host, port=port, reports_dir=reports_dir,
            device_tiers=device_tiers, customer_tiers=customer_tiers, rejoin_settings=settings,
            timezone=timezone, no_auth=no_auth, max_body_bytes=max_body_bytes,
            max_events=max_events, queue_max_reports=queue_max_reports,
            reload_check_seconds=reload_check_seconds,
        ),
        log_level=log_level,
    )  # fmt: skip
