"""The command line: a thin layer over the Python API (``netpersona --help``)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from netpersona._core import NetpersonaError
from netpersona._version import __version__
from netpersona.cli._apps import app

__all__ = ["app", "main"]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"netpersona {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Know mobile-network subscribers from their own logs."""


def _load_commands() -> None:
    # Each module attaches its commands to the groups in _apps; a module that is not written
    # yet simply contributes nothing.
    import importlib

    for name in (
        "_logs",
        "_synth",
        "_rejoin",
        "_rejoin_eval",
        "_rejoin_learned",
        "_rejoin_daily",
        "_devices",
        "_devices_features",
        "_customers",
        "_demo",
        "_serve",
        "_tokens",
    ):
        try:
            importlib.import_module(f"netpersona.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"netpersona.cli.{name}":
                raise


_load_commands()


def main() -> None:
    """Console entry point: run the app, turning netpersona's errors into clear messages."""
    try:
        app()
    except NetpersonaError as exc:
        from rich.console import Console
        from rich.text import Text

        Console(stderr=True).print(Text("error: ", style="bold red") + Text(str(exc)))
        sys.exit(2)
