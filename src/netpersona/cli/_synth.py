"""``netpersona synth access-logs|device-reports|customers``: synthetic data of each kind,
written by :mod:`netpersona.synth`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from netpersona._core import ConfigError, RichProgress
from netpersona.cli._apps import synth_app
from netpersona.cli._json import json_summary
from netpersona.synth.devices import DeviceSynthSettings

#: the synthetic device month's defaults, declared once in its settings
_DEVICES = DeviceSynthSettings()


def _range(text: str, name: str) -> tuple[int, int]:
    lo, sep, hi = text.partition("-")
    try:
        low, high = int(lo), int(hi if sep else lo)
    except ValueError:
        raise ConfigError(
            f"{name} {text!r}: expected a whole number or a range LOW-HIGH such as 50-200"
        ) from None
    return low, high


@synth_app.command("access-logs")
@json_summary
def access_logs(
    out: Annotated[
        Path,
        typer.Option("--out", help="Output file: .parquet, .csv or .csv.gz (by its name)."),
    ],
    users: Annotated[int, typer.Option("--users", min=1, help="Number of subscribers.")] = 2000,
    days: Annotated[int, typer.Option("--days", min=1, help="Number of days.")] = 30,
    start: Annotated[
        str, typer.Option("--start", help="First day, YYYY-MM-DD (the paper's: 2013-11-04).")
    ] = "2013-11-04",
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same file.")] = 0,
    preset: Annotated[
        str,
        typer.Option(
            "--preset",
            help="paper: shaped like the paper's data (dense, regular habits and rhythms); "
            "sparse: like the shared real logs (a few events per active day); dense: the "
            "earlier benchmarks' logs. The flags below override the preset.",
        ),
    ] = "paper",
    page_loads: Annotated[
        str | None,
        typer.Option("--page-loads", help="Page loads per active day of a regular user, LOW-HIGH."),
    ] = None,
    requests_per_load: Annotated[
        str | None,
        typer.Option("--requests-per-load", help="HTTP requests per page load, LOW-HIGH."),
    ] = None,
    background_apps: Annotated[
        str | None,
        typer.Option(
            "--background-apps",
            help="Chatty installed apps per subscriber (heartbeats, polls), LOW-HIGH; 0: none.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> dict:
    """Synthesise a mobile operator's URL access log (user_id, ts, url).

    Habitual sites (some rare), daily rhythms, visit order, drift, days off, sparse users,
    and the background traffic of installed apps.

    About 200k sites of Zipf-like popularity. Same seed, same file. See docs/synthetic-data.md.
    """
    ranges = (page_loads, requests_per_load, background_apps)
    summary = _write(out, users, days, start, seed, ranges, force, preset)
    typer.echo(f"preset {preset}: {_PRESET_NOTE.get(preset, '')}")
    typer.echo(
        f"wrote {summary.rows:,} requests of {summary.users:,} subscribers over {summary.days} "
        f"days from {summary.start} to {summary.path} ({summary.format}) in "
        f"{summary.seconds:.1f} s ({summary.rows_per_second:,.0f} rows/s)"
    )
    return {"out": summary.path, "format": summary.format, "preset": preset,
            "rows": summary.rows, "users": summary.users, "days": summary.days,
            "start": summary.start, "seed": seed, "seconds": summary.seconds}  # fmt: skip


_PRESET_NOTE = {
    "paper": "dense, regular users; the paper's defaults re-identify nearly all (docs/rejoin.md)",
    "sparse": "a few events per active day, like the real logs; the paper's defaults fail there",
    "dense": "the generator's own defaults (earlier benchmarks)",
}


def _write(out, users, days, start, seed, ranges, force, preset="paper"):
    from netpersona.synth import preset_settings, write_access_logs

    page_loads, requests_per_load, background_apps = ranges
    extra = {}
    if background_apps is not None:
        extra["background_apps"] = _range(background_apps, "--background-apps")
    return write_access_logs(
        out,
        users,
        days,
        start,
        seed,
        force=force,
        progress=RichProgress(),
        settings=preset_settings(preset, **extra),
        page_loads_per_day=_range(page_loads, "--page-loads") if page_loads else None,
        requests_per_load=(
            _range(requests_per_load, "--requests-per-load") if requests_per_load else None
        ),
    )


@synth_app.command("device-reports")
@json_summary
def device_reports(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            file_okay=False,
            help="Folder to write reports.jsonl.gz, purchases.csv, labels.csv into.",
        ),
    ],
    users: Annotated[int, typer.Option("--users", min=1, help="Device users.")] = 130,
    month: Annotated[str, typer.Option("--month", help="Month, YYYY-MM.")] = "2024-05",
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same files.")] = 0,
    report_interval: Annotated[
        float,
        typer.Option(
            "--report-interval", min=1, help="Minutes between periodic reports of a session."
        ),
    ] = _DEVICES.report_interval_min,
    label_noise: Annotated[
        float,
        typer.Option(
            "--label-noise", min=0, max=1, help="Share of users given another tier at random."
        ),
    ] = _DEVICES.label_noise,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing folder.")] = False,
) -> dict:
    """A month of synthetic device reports, purchases and tier labels (paper B's shapes)."""
    from rich.console import Console

    from netpersona.synth.devices import write_device_reports

    settings = replace(_DEVICES, report_interval_min=report_interval, label_noise=label_noise)
    counts = write_device_reports(
        out, users=users, month=month, seed=seed, settings=settings, force=force,
        progress=RichProgress(console=Console(stderr=True), transient=True),
    )  # fmt: skip
    Console().print(
        f"{counts['users']:,} users, {counts['reports']:,} reports, "
        f"{counts['purchases']:,} purchases -> {out}/"
    )
    return {"out": out, "month": month, "seed": seed, **counts}


@synth_app.command("customers")
@json_summary
def customers(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output CSV of questionnaires.")],
    n: Annotated[int, typer.Option("--n", min=1, help="Customers (paper: 548).")] = 548,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing outputs.")] = False,
) -> dict:
    """Synthetic customer questionnaires with the paper's pre-class distribution.

    Columns follow the shipped 14-indicator system; ``true_pre_class``, ``true_K`` and
    ``true_tier`` are the generating truth.
    """
    from netpersona.synth.customers import write_customers

    frame = write_customers(out, n, seed, force=force)
    counts = frame["true_pre_class"].value_counts().sort_index()
    RichProgress().log(
        f"wrote {n:,} questionnaires to {out}; pre-classes "
        + " / ".join(f"{c:,}" for c in counts.to_numpy())
    )
    return {"out": out, "customers": n, "seed": seed,
            "pre_classes": {str(k): int(v) for k, v in counts.items()}}  # fmt: skip
