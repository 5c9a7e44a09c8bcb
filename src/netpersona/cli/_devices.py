"""``netpersona devices train|predict|report`` (``features``: :mod:`._devices_features`):
parse the flags, call the :mod:`netpersona.devices` function, print what it found."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from netpersona._core import TABLE_OUTPUTS, RichProgress, mask_url
from netpersona.cli import _devices_features  # noqa: F401 - `features` first in --help
from netpersona.cli._apps import devices_app
from netpersona.cli._json import json_summary
from netpersona.devices import NetworkSettings

#: paper B's network and experiment: the defaults of the train flags, declared once
_PAPER = NetworkSettings()
_NET = "Network (defaults: the paper's)"


def _console():
    from rich.console import Console

    return Console()


def _progress():
    from rich.console import Console

    return RichProgress(console=Console(stderr=True), transient=True)


@devices_app.command("train")
@json_summary
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
) -> dict:
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
    return {
        "model": model, "n_train": result.n_train, "n_test": result.n_test,
        "epochs": result.epochs, "converged": result.converged, "goal": goal,
        "test_accuracy": result.test_accuracy, "tiers": list(result.model.tiers),
        "confusion": [[int(v) for v in row] for row in result.confusion],
        "unlabelled": result.unlabelled, "labels_without_features": result.label_without_features,
        "seconds": result.seconds,
    }  # fmt: skip


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
@json_summary
def predict(
    model: Annotated[Path, typer.Option("--model", help="Model folder (devices train).")],
    features: Annotated[Path, typer.Option("--features", help="Features file.")],
    out: Annotated[
        str,
        typer.Option(
            "--out", help=f"Tiers: user, tier, p_<tier>..., out_of_range; {TABLE_OUTPUTS}."
        ),
    ],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> dict:
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
    console.print(f"tiers: {mask_url(out)}")
    return {"out": mask_url(out), "users": prediction.table.num_rows, "tiers": counts,
            "out_of_range": flagged}  # fmt: skip


@devices_app.command("report")
@json_summary
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
) -> dict:
    """Training error (Fig. 4), tier shares (Fig. 5), confusion matrix, tier profiles."""
    from netpersona.devices import report_file

    path = report_file(model, features, out, tiers=tiers, force=force)
    _console().print(f"report: {path}")
    return {"report": path}
