"""``netpersona forget`` and ``netpersona rejoin links``: a subscriber leaves every table and
file of a workspace; the identity links a workspace remembers (ids masked)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from netpersona.cli._apps import app, rejoin_app
from netpersona.cli._json import json_summary

WorkspaceArg = Annotated[
    Path,
    typer.Option(
        "--workspace", dir_okay=False, help="The workspace file (DuckDB).", show_default=False
    ),
]


@app.command("forget")
@json_summary
def forget(
    user_id: Annotated[
        str,
        typer.Argument(
            help="The subscriber's id: raw with --key (pseudonymised as the logs were read) or "
            "--raw (a workspace built without a key), else the stored pseudonym.",
            show_default=False,
        ),
    ],
    workspace: WorkspaceArg,
    reports_dir: Annotated[
        Path | None,
        typer.Option(
            "--reports-dir",
            file_okay=False,
            help="Device reports folder of `netpersona serve` (default: <W>.reports).",
        ),
    ] = None,
    tiers: Annotated[
        list[Path] | None,
        typer.Option(
            "--tiers",
            dir_okay=False,
            help="A tiers CSV (`devices predict`, `customers predict`) to remove the id from "
            "(repeatable); JSON Lines and CSV files in the <W>.* folders are always covered.",
        ),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option(
            "--key",
            exists=True,
            dir_okay=False,
            help="Pseudonymisation key file the logs were read with (--pseudonymize-key-file).",
        ),
    ] = None,
    raw: Annotated[
        bool,
        typer.Option("--raw", help="The workspace stores raw ids (it was built without a key)."),
    ] = False,
    retrain: Annotated[
        bool,
        typer.Option(
            "--retrain",
            help="Train the learned matcher again without the id (default: remove it, since "
            "its training rows cannot be told apart by user).",
        ),
    ] = False,
) -> dict:
    """Forget a subscriber: every row of the id (and of every id identity links connect to it)
    leaves the workspace's tables, file bytes included, its reports and tiers rows leave their
    files, and an audit line (id masked) goes to <W>.audit.jsonl (docs/forget.md)."""
    from rich.console import Console

    from netpersona._core import RichProgress
    from netpersona.rejoin import forget as forget_id

    summary = forget_id(
        workspace, user_id, key=key, raw=raw, reports_dir=reports_dir, tiers=tiers or (),
        retrain=retrain, progress=RichProgress(transient=True),
    )  # fmt: skip
    console = Console(highlight=False)
    for line in summary.describe():
        console.print(line, markup=False)
    if not summary.tables and not summary.files:
        console.print("no trace of the id was found (check the id, --key or --raw)", markup=False)
    if summary.leftovers:
        Console(stderr=True).print(
            "error: the id's bytes are still in the files listed above; run forget again, and "
            "report it if they stay",
            markup=False,
        )
        raise typer.Exit(1)
    done = {k: v for k, v in summary.audit().items() if k not in ("time", "action")}
    return {"workspace": workspace, **done, "seconds": summary.seconds}  # the id masked


@rejoin_app.command("links")
@json_summary
def links(workspace: WorkspaceArg) -> list[dict]:
    """List the identity links `rejoin identify --record` stored: old -> new number of one
    subscriber, from which day, with the match's score and method (ids masked)."""
    from rich.console import Console
    from rich.table import Table

    from netpersona.rejoin import links as read_links
    from netpersona.rejoin import masked_links

    rows = masked_links(read_links(workspace))
    table = Table("old", "new", "from day", "score", "method", "recorded", title="identity links")
    for row in rows:
        score = "" if row["score"] is None else f"{row['score']:.3f}"
        table.add_row(row["old_user"], row["new_user"], row["day"] or "", score,
                      row["method"] or "", row["recorded_at"] or "")  # fmt: skip
    console = Console(highlight=False)
    console.print(table)
    console.print(f"{len(rows):,} link(s) in {workspace}", markup=False)
    return rows  # a list, one object per link (as before)
