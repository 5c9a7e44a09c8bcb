"""The Typer application and its command groups; command modules attach to these."""

from __future__ import annotations

import typer
from typer.core import TyperGroup


class _RootGroup(TyperGroup):
    """The root command: a bare ``--json`` means ``--json -`` (see :mod:`._json`)."""

    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]
        from netpersona.cli._json import bare_json_means_stdout

        return super().parse_args(ctx, bare_json_means_stdout(list(args)))


app = typer.Typer(
    cls=_RootGroup,
    name="netpersona",
    help="Know mobile-network subscribers from their own logs.",
    epilog=(
        "Exit status: 0 done, 1 bad input or data, 2 usage, 3 workspace busy or incomplete, "
        "4 environment (disk full, permission), 70 internal error (a bug: report it). "
        "--debug shows the traceback of an error."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
logs_app = typer.Typer(
    help="Read access logs and summarise them: what an analyst runs first.", no_args_is_help=True
)
synth_app = typer.Typer(
    help="Realistic synthetic data for demos, tests and benchmarks.", no_args_is_help=True
)
rejoin_app = typer.Typer(
    help="Re-join identification: match new numbers to known subscribers by their URL logs.",
    no_args_is_help=True,
)
devices_app = typer.Typer(
    help="Device-user tiers: portable / car Wi-Fi users -> vip / growth / ordinary.",
    no_args_is_help=True,
)
customers_app = typer.Typer(
    help="Customer-value tiers: indicator scores -> pre-classes -> network -> A/B/C/D.",
    no_args_is_help=True,
)
config_app = typer.Typer(
    help="The configuration file (netpersona.toml, or --config FILE): what applies, a template.",
    no_args_is_help=True,
)
tokens_app = typer.Typer(
    help="Access tokens of `netpersona serve`: create (shown once), list, revoke.",
    no_args_is_help=True,
)

app.add_typer(logs_app, name="logs")
app.add_typer(synth_app, name="synth")
app.add_typer(rejoin_app, name="rejoin")
app.add_typer(devices_app, name="devices")
app.add_typer(customers_app, name="customers")
app.add_typer(tokens_app, name="tokens")
app.add_typer(config_app, name="config")
