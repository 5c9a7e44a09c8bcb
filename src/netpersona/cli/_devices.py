"""``netpersona devices features|train|predict|report``: parse the flags, call the
:mod:`netpersona.devices` function, print what it found."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from netpersona._core import RichProgress
from netpersona.cli._apps import devices_app
from netpersona.cli._engines import EngineChoice
from netpersona.cli._options import EngineKind, EngineOpt, SparkConfOpt, SparkMasterOpt, TableOpt
from netpersona.devices import NetworkSettings

#: paper B's network and experiment: the defaults of the train flags, declared once
_PAPER = NetworkSettings()
_READ = "Report fields"
_BUY = "Purchases"
_NET = "Network (defaults: the paper's)"


def _console():
    from rich.console import Console

    return Console()


def _progress():
    from rich.console import Console

    return RichProgress(console=Console(stderr=True), transient=True)


@devices_app.command("features")
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
            "exports (.csv[.gz]); repeat the flag or use a glob. Or --table.",
        ),
    ] = None,
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
) -> None:
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
    fields = replace(fields, timezone=timezone, max_bad_fraction=max_bad_fraction)
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
    _print_features(result, month)


def _print_features(result, month: str) -> None:
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


@devices_app.command("train")
def train(
    features: Annotated[Path, typer.Option("--features", help="Features file (devices features).")],
    labels: Annotated[Path, typer.Option("--labels", help="Labels: user, tier (CSV/Parquet).")],
    model: Annotated[Path, typer.Option("--model", help="Folder to write the model into.")],
    label_user_col: Annotated[str, typer.Option(help="Labels' user column.")] = "user",
    label_tier_col: Annotated[str, typer.Option(help="Labels' tier column.")] = "tier",
    hidden: Annotated[
        list[int],
        typer.Option(
            "--hidden", help="Hidden layer size; repeat for more layers.", rich_help_panel=_NET
        ),
    ] = list(_PAPER.hidden),  # noqa: B006 - typer needs a list default
    transfer: Annotated[
        list[str],
        typer.Option(
            "--transfer",
            help="Transfer function per layer (hidden..., "
            "output): logsig, tansig, purelin, softmax.",
            rich_help_panel=_NET,
        ),
    ] = list(_PAPER.transfer),  # noqa: B006
    algorithm: Annotated[
        str, typer.Option(help="online, traingd, traingdm or traingdx.", rich_help_panel=_NET)
    ] = _PAPER.algorithm,
    lr: Annotated[float, typer.Option(help="Learning rate.", rich_help_panel=_NET)] = _PAPER.lr,
    goal: Annotated[
        float, typer.Option(help="Stop when the error is at most this.", rich_help_panel=_NET)
    ] = _PAPER.goal,
    epochs: Annotated[int, typer.Option(help="Most epochs.", rich_help_panel=_NET)] = _PAPER.epochs,
    performance: Annotated[
        str, typer.Option(help="sse (half the summed squared error) or mse.", rich_help_panel=_NET)
    ] = _PAPER.performance,
    init: Annotated[
        str, typer.Option(help="uniform (U[-1,1]) or nguyen-widrow.", rich_help_panel=_NET)
    ] = _PAPER.init,
    shuffle: Annotated[
        bool, typer.Option(help="Reshuffle training samples every epoch.", rich_help_panel=_NET)
    ] = _PAPER.shuffle,
    input_range: Annotated[
        str, typer.Option(help="Range inputs are scaled to: 0,1 or -1,1.", rich_help_panel=_NET)
    ] = ",".join(f"{v:g}" for v in _PAPER.input_range),
    test_fraction: Annotated[
        float, typer.Option(help="Share of labelled users held out to test.", rich_help_panel=_NET)
    ] = _PAPER.test_fraction,
    stratify: Annotated[
        bool,
        typer.Option(
            help="Keep tier shares equal in training and test sets.", rich_help_panel=_NET
        ),
    ] = _PAPER.stratify,
    seed: Annotated[
        int, typer.Option(help="Seed of the split and the weights.", rich_help_panel=_NET)
    ] = _PAPER.seed,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing model.")] = False,
) -> None:
    """Train the paper's 3-8-3 network on labelled users; print test accuracy and confusion."""
    from netpersona._core import ConfigError
    from netpersona.devices import train_model

    try:
        low, high = (float(v) for v in input_range.split(","))
    except ValueError as exc:
        raise ConfigError(f"--input-range {input_range!r}: expected two numbers, e.g. 0,1") from exc
    settings = NetworkSettings(
        hidden=tuple(hidden), transfer=tuple(transfer), algorithm=algorithm, lr=lr, goal=goal,
        epochs=epochs, performance=performance, init=init, shuffle=shuffle,
        input_range=(low, high), test_fraction=test_fraction, stratify=stratify, seed=seed,
    )  # fmt: skip
    result = train_model(
        features, labels, model, settings, label_user_col=label_user_col,
        label_tier_col=label_tier_col, force=force, progress=_progress(),
    )  # fmt: skip
    _print_training(result, goal, model)


def _print_training(result, goal: float, model: Path) -> None:
    from rich.table import Table

    console = _console()
    console.print(
        f"trained on {result.n_train} users, tested on {result.n_test}: "
        f"{result.epochs:,} epochs ({'reached' if result.converged else 'did not reach'} the "
        f"goal {goal:g}), {result.seconds:.2f} s"
    )
    if result.unlabelled or result.label_without_features:
        console.print(
            f"{result.unlabelled:,} users have features but no label; "
            f"{result.label_without_features:,} labels have no features"
        )
    tiers = result.model.tiers
    matrix = Table(title=f"Test accuracy {result.test_accuracy:.1%}: true (rows) vs predicted")
    matrix.add_column("true \\ predicted")
    for tier in tiers:
        matrix.add_column(tier, justify="right")
    for tier, row in zip(tiers, result.confusion, strict=True):
        matrix.add_row(tier, *(str(v) for v in row))
    console.print(matrix)
    console.print(f"model: {model}")


@devices_app.command("predict")
def predict(
    model: Annotated[Path, typer.Option("--model", help="Model folder (devices train).")],
    features: Annotated[Path, typer.Option("--features", help="Features file.")],
    out: Annotated[
        Path, typer.Option("--out", help="Tiers CSV: user, tier, p_<tier>..., out_of_range.")
    ],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Put every user of a features file in a tier; flag features outside the training range."""
    from netpersona.devices import predict_file

    prediction = predict_file(model, features, out, force=force)
    counts = prediction.counts()
    total = max(sum(counts.values()), 1)
    shares = ", ".join(f"{t} {n:,} ({n / total:.1%})" for t, n in counts.items())
    flagged = prediction.out_of_range()
    console = _console()
    console.print(f"{prediction.table.num_rows:,} users: {shares}")
    if flagged:
        console.print(
            f"[yellow]{flagged:,} users have features outside the training range[/] "
            "(column out_of_range): their tiers are extrapolations"
        )
    console.print(f"tiers: {out}")


@devices_app.command("report")
def report(
    model: Annotated[Path, typer.Option("--model", help="Model folder (devices train).")],
    features: Annotated[Path, typer.Option("--features", help="Features file.")],
    out: Annotated[Path, typer.Option("--out", help="HTML report; PNGs are written beside it.")],
    tiers: Annotated[
        Path | None,
        typer.Option(
            "--tiers", help="Predictions (devices predict); predicted now when not given."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Training error (Fig. 4), tier shares (Fig. 5), confusion matrix, tier profiles."""
    from netpersona.devices import report_file

    path = report_file(model, features, out, tiers=tiers, force=force)
    _console().print(f"report: {path}")
