"""``netpersona tokens create | list | revoke``: the service's access tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from netpersona.cli._apps import tokens_app

WorkspaceOpt = Annotated[
    Path,
    typer.Option(
        "--workspace", help="Workspace the service serves; tokens live in <W>.tokens.json."
    ),
]


@tokens_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="A name for the token (who or what uses it).")],
    workspace: WorkspaceOpt,
    scope: Annotated[
        list[str],
        typer.Option(
            "--scope",
            help="ingest (send device reports), identify (re-join), read (tiers, metrics); "
            "repeat for several.",
        ),
    ],
) -> None:
    """Make a new random token and print it once: only its hash is stored."""
    from netpersona.serve import create_token, tokens_path

    token = create_token(workspace, name, scope)
    typer.echo(token)
    typer.echo(
        f"token {name!r} ({', '.join(dict.fromkeys(scope))}) stored as a hash in "
        f"{tokens_path(workspace)}; copy it now, it cannot be shown again",
        err=True,
    )


@tokens_app.command("list")
def list_(workspace: WorkspaceOpt) -> None:
    """Names, scopes and creation times of the tokens (never the tokens)."""
    from rich.console import Console
    from rich.table import Table

    from netpersona.serve import list_tokens

    records = list_tokens(workspace)
    table = Table(title=f"tokens of {workspace}")
    for column in ("name", "scopes", "created"):
        table.add_column(column)
    for r in records:
        table.add_row(r.name, ", ".join(r.scopes), r.created)
    Console().print(table if records else f"no tokens for {workspace}")


@tokens_app.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument(help="The token's name.")], workspace: WorkspaceOpt
) -> None:
    """Remove a token; a running server refuses it within seconds."""
    from netpersona.serve import revoke_token

    revoke_token(workspace, name)
    typer.echo(f"token {name!r} revoked")
