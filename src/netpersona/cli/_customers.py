"""``netpersona customers score|train|predict|report|run``: parse the flags, call the
:mod:`netpersona.customers` function, print what it found."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from netpersona._core import TABLE_OUTPUTS, RichProgress, mask_url
from netpersona.cli._apps import customers_app
from netpersona.cli._json import json_summary
from netpersona.customers import CustomerSettings

#: paper C's method: the defaults of the flags, declared once (in the settings dataclasses)
_PAPER = CustomerSettings()

DataOpt = Annotated[
    Path, typer.Option("--data", "-d", help="Customer table: CSV, TSV (.tsv) or Parquet.")
]
SystemOpt = Annotated[
    Path | None,
    typer.Option(
        "--system", "-s", help="Indicator system TOML (default: the paper's 14 indicators)."
    ),
]
WeightsOpt = Annotated[
    Path | None,
    typer.Option(
        "--weights",
        "-w",
        help="Expert weights: CSV (experts x indicators) or TOML (AHP matrices). "
        "Default: equal weights.",
    ),
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite existing outputs.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the sample, split and network.")]
SampleOpt = Annotated[
    float, typer.Option("--sample-share", help="Share of each pre-class sampled (paper: 0.5).")
]
TrainShareOpt = Annotated[
    float,
    typer.Option("--train-share", help="Share of the sample that trains (paper: 229/274)."),
]
SplitOpt = Annotated[
    str, typer.Option("--split", help="'order' (paper: first customers train) or 'random'.")
]
GoalOpt = Annotated[float, typer.Option("--goal", help="Training goal on mse (paper: 0.01).")]
EpochsOpt = Annotated[int, typer.Option("--epochs", help="Most training epochs (MATLAB: 1000).")]
LabelOpt = Annotated[
    str | None,
    typer.Option(
        "--label-column", help="Column with a known value K (0..1) or tier (A-D) to train on."
    ),
]
EnsembleOpt = Annotated[
    int,
    typer.Option(
        "--ensemble",
        min=1,
        help="Networks whose mean K is used (default 320, at which seeds agreed on 95% of a "
        "real table's customers; 1 is the paper's single network, whose tiers move with the "
        "seed). `customers stability` measures it on your table.",
    ),
]
TierOpt = Annotated[
    tuple[float, float, float],
    typer.Option("--tiers", help="Lower K bounds of tiers A, B, C (paper: 0.75 0.5 0.25)."),
]


def _settings(
    seed, sample_share, train_share, split, goal, epochs, label_column, tiers, ensemble=1
):
    from netpersona.customers import CustomerSettings, NetworkSettings, TierThresholds

    if split not in ("order", "random"):
        raise typer.BadParameter("use 'order' or 'random'", param_hint="--split")
    return CustomerSettings(
        sample_share=sample_share,
        train_share=train_share,
        split=split,
        seed=seed,
        network=NetworkSettings(goal=goal, epochs=epochs),
        tiers=TierThresholds(*tiers),
        label_column=label_column,
        ensemble=ensemble,
    )


def _print_pre_classes(progress: RichProgress, rows: list[dict]) -> None:
    from rich.table import Table

    table = Table(title="Pre-classes by current value (paper Table 2)")
    for col in ("Number", "Current value", "Customers", "Proportion"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(str(r["number"]), r["interval"], f"{r['count']:,}", f"{r['proportion']:.2%}")
    progress.console.print(table)


def _print_summary(progress: RichProgress, summary: dict) -> None:
    from netpersona.customers import summary_lines

    _print_pre_classes(progress, summary["pre_class_table"])
    for line in summary_lines(summary):
        progress.log(line)


@customers_app.command("score")
@json_summary
def score(
    data: DataOpt,
    out: Annotated[str, typer.Option("--out", "-o", help=f"Scores table: {TABLE_OUTPUTS}.")],
    system: SystemOpt = None,
    weights: WeightsOpt = None,
    label_column: LabelOpt = None,
    force: ForceOpt = False,
) -> dict:
    """Score customers 1–5 on each indicator and pre-classify them by current value C.

    Writes ``customer, <indicator scores>, C, pre_class, K_target`` (K_target: what the network
    would learn).
    """
    from netpersona.customers import pre_class_table, score_file

    progress = RichProgress()
    table = score_file(
        data, out, system, weights, label_column=label_column, force=force, progress=progress
    )
    rows = [r.__dict__ for r in pre_class_table(table.pre_class)]
    _print_pre_classes(progress, rows)
    for line in [*table.scored.summary_lines(), table.weights.note]:
        progress.log(line)
    progress.log(f"wrote {mask_url(out)}")
    return {"out": mask_url(out), "customers": len(table.pre_class), "pre_classes": rows,
            "weights": table.weights.note}  # fmt: skip


@customers_app.command("train")
@json_summary
def train(
    data: DataOpt,
    model: Annotated[Path, typer.Option("--model", "-m", help="Output model folder.")],
    system: SystemOpt = None,
    weights: WeightsOpt = None,
    seed: SeedOpt = _PAPER.seed,
    sample_share: SampleOpt = _PAPER.sample_share,
    train_share: TrainShareOpt = _PAPER.train_share,
    split: SplitOpt = _PAPER.split,
    goal: GoalOpt = _PAPER.network.goal,
    epochs: EpochsOpt = _PAPER.network.epochs,
    label_column: LabelOpt = None,
    tiers: TierOpt = (_PAPER.tiers.a, _PAPER.tiers.b, _PAPER.tiers.c),
    ensemble: EnsembleOpt = _PAPER.ensemble,
    force: ForceOpt = False,
) -> dict:
    """Train the customer-value network (pre-class sample, 14-29-1, traingdx) into a folder."""
    from netpersona.customers import run_files

    settings = _settings(
        seed, sample_share, train_share, split, goal, epochs, label_column, tiers, ensemble
    )
    progress = RichProgress()
    run = run_files(data, None, system, weights, settings, model=model, force=force,
                    progress=progress)  # fmt: skip
    summary = run.summary()
    _print_summary(progress, summary)
    progress.log(f"wrote the model to {model}")
    return {**summary, "model": model}


@customers_app.command("predict")
@json_summary
def predict(
    model: Annotated[Path, typer.Option("--model", "-m", help="Model folder from `train`.")],
    data: DataOpt,
    out: Annotated[str, typer.Option("--out", "-o", help=f"Tiers table: {TABLE_OUTPUTS}.")],
    force: ForceOpt = False,
) -> dict:
    """Score new customers with a trained model: K and tier per customer."""
    from netpersona.customers import predict_file, tier_table

    progress = RichProgress()
    frame = predict_file(model, data, out, force=force, progress=progress)
    for line in frame.attrs.get("scoring", []):
        progress.log(line)
    tiers = tier_table(frame["tier"].to_numpy())
    progress.log("tiers: " + ", ".join(f"{t} {n:,} ({s:.1%})" for t, n, s in tiers))
    progress.log(f"wrote {mask_url(out)}")
    return {"out": mask_url(out), "customers": len(frame),
            "tiers": {t: {"count": n, "share": s} for t, n, s in tiers}}  # fmt: skip


@customers_app.command("report")
@json_summary
def report(
    model: Annotated[Path, typer.Option("--model", "-m", help="Model folder from `train`.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output HTML report.")],
    tiers_csv: Annotated[
        Path | None,
        typer.Option("--tiers", help="Tiers CSV from `predict`: report K and tiers of those."),
    ] = None,
    force: ForceOpt = False,
) -> dict:
    """Write the report (HTML + PNG figures) of a trained model."""
    from netpersona.customers import report_file

    path = report_file(model, out, tiers=tiers_csv, force=force)
    RichProgress().log(f"wrote {path} and its PNG figures")
    return {"report": path}


@customers_app.command("run")
@json_summary
def run(
    data: DataOpt,
    out: Annotated[str, typer.Option("--out", "-o", help=f"Tiers table: {TABLE_OUTPUTS}.")],
    system: SystemOpt = None,
    weights: WeightsOpt = None,
    model: Annotated[
        Path | None, typer.Option("--model", "-m", help="Also save the model to this folder.")
    ] = None,
    report_path: Annotated[
        Path | None, typer.Option("--report", help="Also write the HTML report here.")
    ] = None,
    seed: SeedOpt = _PAPER.seed,
    sample_share: SampleOpt = _PAPER.sample_share,
    train_share: TrainShareOpt = _PAPER.train_share,
    split: SplitOpt = _PAPER.split,
    goal: GoalOpt = _PAPER.network.goal,
    epochs: EpochsOpt = _PAPER.network.epochs,
    label_column: LabelOpt = None,
    tiers: TierOpt = (_PAPER.tiers.a, _PAPER.tiers.b, _PAPER.tiers.c),
    ensemble: EnsembleOpt = _PAPER.ensemble,
    force: ForceOpt = False,
) -> dict:
    """The whole pipeline: scores -> pre-classes -> sample -> network -> K -> tiers A/B/C/D.

    Writes ``customer, <indicator scores>, C, pre_class, K, tier`` per customer.
    """
    from netpersona.customers import run_files

    settings = _settings(
        seed, sample_share, train_share, split, goal, epochs, label_column, tiers, ensemble
    )
    progress = RichProgress()
    result = run_files(data, out, system, weights, settings, model=model, report=report_path,
                       force=force, progress=progress)  # fmt: skip
    summary = result.summary()
    _print_summary(progress, summary)
    progress.log(f"wrote {mask_url(out)}" + (f", {model}" if model else "") +
                 (f", {report_path}" if report_path else ""))  # fmt: skip
    return {**summary, "out": out, "model": model, "report": report_path}


@customers_app.command("stability")
@json_summary
def stability(
    data: DataOpt,
    system: SystemOpt = None,
    weights: WeightsOpt = None,
    seeds: Annotated[
        int, typer.Option("--seeds", min=2, help="Compare runs with seeds 0 .. N-1.")
    ] = 5,
    ensemble: EnsembleOpt = _PAPER.ensemble,
    sample_share: SampleOpt = _PAPER.sample_share,
    train_share: TrainShareOpt = _PAPER.train_share,
    split: SplitOpt = _PAPER.split,
    goal: GoalOpt = _PAPER.network.goal,
    epochs: EpochsOpt = _PAPER.network.epochs,
    label_column: LabelOpt = None,
    tiers: TierOpt = (_PAPER.tiers.a, _PAPER.tiers.b, _PAPER.tiers.c),
) -> dict:
    """How far the tiers move with the seed: train one run per seed and compare the tiers."""
    from netpersona.customers import seed_agreement_of

    settings = _settings(
        0, sample_share, train_share, split, goal, epochs, label_column, tiers, ensemble
    )
    progress = RichProgress()
    agreement = seed_agreement_of(data, system, weights, settings, range(seeds), progress=progress)
    for line in agreement.lines():
        progress.log(line)
    return dataclasses.asdict(agreement)
