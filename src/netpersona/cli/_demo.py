"""``netpersona demo``: the whole product on synthetic data, with progress bars."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from netpersona._core import RichProgress
from netpersona.cli._apps import app
from netpersona.cli._json import json_summary
from netpersona.demo import DEMO_DAYS, DEMO_EXPECTATION, DEMO_USERS, run_demo, warm_up


@app.command("demo")
@json_summary
def demo(
    out: Annotated[
        Path, typer.Option("--out", file_okay=False, help="Folder the demo writes into.")
    ] = Path("netpersona-demo"),
    users: Annotated[int, typer.Option(help="Synthetic subscribers in the access log.")] = (
        DEMO_USERS
    ),
    days: Annotated[int, typer.Option(help="Days of access log.")] = DEMO_DAYS,
    seed: Annotated[int, typer.Option(help="Seed for everything synthetic.")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Reuse an existing --out folder.")] = False,
) -> dict:
    """Synthesise data and run every capability on it: logs summary, re-join evaluation,
    device-user tiers, customer-value tiers; reports land in --out."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    results = run_demo(
        out,
        users=users,
        days=days,
        seed=seed,
        force=force,
        progress=RichProgress(console=Console(stderr=True), transient=True),
    )
    logs = results["logs"]
    table = Table(title="Synthetic access log", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for label, value in (
        ("rows read", f"{logs['rows']:,}"),
        ("rows rejected", f"{logs['rejected']:,}"),
        ("subscribers", f"{logs['users']:,}"),
        ("sites", f"{logs['sites']:,}"),
        ("days", f"{logs['first_day']} .. {logs['last_day']}"),
        ("median active days per subscriber", f"{logs['active_days']['median']:g}"),
        ("median requests per active day", f"{logs['requests_per_day']['median']:g}"),
    ):
        table.add_row(label, value)
    console.print(table)

    rejoin = results["rejoin"]
    table = Table(title="Re-join identification (paper's method, t = 5 days)")
    table.add_column("")
    table.add_column("netpersona", justify="right")
    table.add_column("paper", justify="right")
    for label, key, paper in (
        ("absent users answered 'new'", "acc_absent", "99.06%"),
        ("present users matched", "acc_present", "98.14%"),
        ("all queries", "acc_overall", "98.32%"),
    ):
        table.add_row(label, _pct(rejoin.get(key)), paper)
    console.print(table)
    console.print(
        f"library {rejoin['n_library']:,} subscribers, {rejoin['n_queries']:,} new numbers "
        f"({rejoin['n_absent']:,} truly new); identification {rejoin['seconds_total']:.2f} s"
    )
    console.print(DEMO_EXPECTATION, markup=False, highlight=False)
    for name in ("devices", "customers"):
        part = results.get(name)
        if part:
            shown = {k: v for k, v in part.items() if not isinstance(v, dict | list)}
            console.print(
                f"[bold]{name}[/]: " + ", ".join(f"{k} {_fmt(v)}" for k, v in shown.items())
            )
    console.print(
        f"\nReports and data in [bold]{out}/[/] (open {rejoin['report']}). "
        f"Done in {results['seconds']:.0f} s."
    )
    return results


@app.command("warmup")
def warmup() -> None:
    """Compile netpersona's numba code now (about 20-60 s once), into its on-disk cache, so
    the first real run does not pause for it; run after installing, or in a container build
    with the runs' NUMBA_CACHE_DIR."""
    from rich.console import Console

    console = Console(stderr=True)
    result = warm_up(progress=RichProgress(console=console, transient=True))
    parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result["seconds"].items())
    console.print(f"compiled code cached in {result['cache_dir']} ({parts})", markup=False)


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
