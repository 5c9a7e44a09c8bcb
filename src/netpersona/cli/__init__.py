"""The command line: a thin layer over the Python API (``netpersona --help``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from netpersona._version import __version__
from netpersona.cli._apps import app
from netpersona.cli._config import ConfigOpt
from netpersona.cli._markup import escape_help
from netpersona.cli._resources import (
    MaxTempSizeOpt,
    MemoryLimitOpt,
    TempDirOpt,
    apply_resource_flags,
)

__all__ = ["app", "main"]


#: whether this run shows tracebacks (--debug), set by the root callback
_DEBUG = [False]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"netpersona {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
    memory_limit: MemoryLimitOpt = None,
    temp_dir: TempDirOpt = None,
    max_temp_size: MaxTempSizeOpt = None,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help="On an error, show the traceback too (or set NETPERSONA_DEBUG=1).",
        ),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bars or progress messages.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Each step and its seconds on stderr.")
    ] = False,
    log_file: Annotated[
        Path | None,
        typer.Option("--log-file", dir_okay=False, help="Append a timed record of the run."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Know mobile-network subscribers from their own logs."""
    from netpersona.cli._logging import configure

    apply_resource_flags(memory_limit, temp_dir, max_temp_size, keep=False)
    _DEBUG[0] = debug
    configure(quiet=quiet, verbose=verbose, log_file=log_file)
    from netpersona.cli._config import activate

    activate(ctx, config)


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
        "_forget",
        "_config_cmd",
    ):
        try:
            importlib.import_module(f"netpersona.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"netpersona.cli.{name}":
                raise


_load_commands()
escape_help(app)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app; an error ends it with one message (and a hint) on
    stderr and the exit status of its kind (``netpersona --help`` lists them)."""
    _DEBUG[0] = False
    from netpersona.cli._logging import configure

    configure()  # a fresh run: no handlers, bars on, from an earlier in-process run
    try:
        app(args=argv, prog_name="netpersona")
    except Exception as exc:
        from rich.console import Console
        from rich.text import Text

        from netpersona.cli._errors import render, traceback_text

        code, label, message = render(exc)
        import logging

        # a record for --log-file; the console line below is what a person sees (not again)
        logging.getLogger("netpersona").error(
            "%s: %s", label, message, exc_info=code == 70, extra={"netpersona_final": True}
        )
        console = Console(stderr=True, highlight=False, soft_wrap=True)
        if _DEBUG[0] or os.environ.get("NETPERSONA_DEBUG"):
            console.print(Text(traceback_text(exc)))
        console.print(Text(f"{label}: ", style="bold red") + Text(message))
        sys.exit(code)
