"""``netpersona customers score|train|predict|report|run`` and ``netpersona synth customers``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from netpersona._core import RichProgress
from netpersona.cli._apps import customers_app, synth_app

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
TierOpt = Annotated[
    tuple[float, float, float],
    typer.Option("--tiers", help="Lower K bounds of tiers A, B, C (paper: 0.75 0.5 0.25)."),
]


def _settings(seed, sample_share, train_share, split, goal, epochs, label_column, tiers):
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
    from netpersona.customers._pipeline import summary_lines

    _print_pre_classes(progress, summary["pre_class_table"])
    for line in summary_lines(summary):
        progress.log(line)


def _train(data, system, weights, settings, progress):
    from netpersona.customers import run_customers

    return run_customers(data, system, weights, settings, progress=progress)


@customers_app.command("score")
def score(
    data: DataOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output CSV of scores.")],
    system: SystemOpt = None,
    weights: WeightsOpt = None,
    label_column: LabelOpt = None,
    force: ForceOpt = False,
) -> None:
    """Score customers 1–5 on each indicator and pre-classify them by current value C.

    Writes ``customer, <indicator scores>, C, pre_class, K_target`` (K_target: what the network
    would learn).
    """
    from netpersona.customers import pre_class_table, score_table
    from netpersona.io import atomic_output, check_writable

    check_writable(out, force)
    progress = RichProgress()
    table = score_table(data, system, weights, label_column=label_column, progress=progress)
    frame = table.frame()
    frame["K_target"] = table.target.round(6)
    with atomic_output(out, force=force) as tmp:
        frame.to_csv(tmp, index=False)
    _print_pre_classes(progress, [r.__dict__ for r in pre_class_table(table.pre_class)])
    for line in [*table.scored.summary_lines(), table.weights.note]:
        progress.log(line)
    progress.log(f"wrote {out}")


@customers_app.command("train")
def train(
    data: DataOpt,
    model: Annotated[Path, typer.Option("--model", "-m", help="Output model folder.")],
    system: SystemOpt = None,
    weights: WeightsOpt = None,
    seed: SeedOpt = 0,
    sample_share: SampleOpt = 0.5,
    train_share: TrainShareOpt = 229 / 274,
    split: SplitOpt = "order",
    goal: GoalOpt = 0.01,
    epochs: EpochsOpt = 1000,
    label_column: LabelOpt = None,
    tiers: TierOpt = (0.75, 0.5, 0.25),
    force: ForceOpt = False,
) -> None:
    """Train the customer-value network (pre-class sample, 14-29-1, traingdx) into a folder."""
    from netpersona.customers import save_run
    from netpersona.io import check_writable

    check_writable(model, force)
    settings = _settings(seed, sample_share, train_share, split, goal, epochs, label_column, tiers)
    progress = RichProgress()
    run = _train(data, system, weights, settings, progress)
    save_run(run, model, force=force)
    _print_summary(progress, run.summary())
    progress.log(f"wrote the model to {model}")


@customers_app.command("predict")
def predict(
    model: Annotated[Path, typer.Option("--model", "-m", help="Model folder from `train`.")],
    data: DataOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output CSV of tiers.")],
    force: ForceOpt = False,
) -> None:
    """Score new customers with a trained model: K and tier per customer."""
    from netpersona.customers import load_run
    from netpersona.customers._pipeline import tier_table
    from netpersona.io import atomic_output, check_writable

    check_writable(out, force)
    progress = RichProgress()
    trained = load_run(model)
    frame = trained.predict(data, progress=progress)
    with atomic_output(out, force=force) as tmp:
        frame.to_csv(tmp, index=False)
    for line in frame.attrs.get("scoring", []):
        progress.log(line)
    progress.log(
        "tiers: "
        + ", ".join(f"{t} {n:,} ({s:.1%})" for t, n, s in tier_table(frame["tier"].to_numpy()))
    )
    progress.log(f"wrote {out}")


@customers_app.command("report")
def report(
    model: Annotated[Path, typer.Option("--model", "-m", help="Model folder from `train`.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output HTML report.")],
    tiers_csv: Annotated[
        Path | None,
        typer.Option("--tiers", help="Tiers CSV from `predict`: report K and tiers of those."),
    ] = None,
    force: ForceOpt = False,
) -> None:
    """Write the report (HTML + PNG figures) of a trained model."""
    from netpersona.customers import load_run, read_customers, write_report
    from netpersona.customers._summary import tier_part

    trained = load_run(model)
    summary = dict(trained.summary)
    if tiers_csv is not None:
        from netpersona import InputError

        frame = read_customers(tiers_csv)
        lacking = [c for c in ("K", "tier") if c not in frame.columns]
        if lacking:
            raise InputError(
                f"a tiers file needs the columns K and tier; it lacks {lacking}",
                path=tiers_csv,
                hint="pass the output of `customers predict` or `customers run`",
            )
        summary.update(tier_part(frame["K"].to_numpy(), frame["tier"].to_numpy(),
                                 trained.thresholds))  # fmt: skip
    path = write_report(summary, out, force=force)
    RichProgress().log(f"wrote {path} and its PNG figures")


@customers_app.command("run")
def run(
    data: DataOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output CSV of tiers.")],
    system: SystemOpt = None,
    weights: WeightsOpt = None,
    model: Annotated[
        Path | None, typer.Option("--model", "-m", help="Also save the model to this folder.")
    ] = None,
    report_path: Annotated[
        Path | None, typer.Option("--report", help="Also write the HTML report here.")
    ] = None,
    seed: SeedOpt = 0,
    sample_share: SampleOpt = 0.5,
    train_share: TrainShareOpt = 229 / 274,
    split: SplitOpt = "order",
    goal: GoalOpt = 0.01,
    epochs: EpochsOpt = 1000,
    label_column: LabelOpt = None,
    tiers: TierOpt = (0.75, 0.5, 0.25),
    force: ForceOpt = False,
) -> None:
    """The whole pipeline: scores -> pre-classes -> sample -> network -> K -> tiers A/B/C/D.

    Writes ``customer, <indicator scores>, C, pre_class, K, tier`` per customer.
    """
    from netpersona.customers import save_run, write_report
    from netpersona.io import atomic_output, check_writable

    for target in (out, model, report_path):
        if target is not None:
            check_writable(target, force)
    settings = _settings(seed, sample_share, train_share, split, goal, epochs, label_column, tiers)
    progress = RichProgress()
    result = _train(data, system, weights, settings, progress)
    with atomic_output(out, force=force) as tmp:
        result.frame().to_csv(tmp, index=False)
    summary = result.summary()
    if model is not None:
        save_run(result, model, force=force)
    if report_path is not None:
        write_report(summary, report_path, force=force)
    _print_summary(progress, summary)
    progress.log(f"wrote {out}" + (f", {model}" if model else "") +
                 (f", {report_path}" if report_path else ""))  # fmt: skip


@synth_app.command("customers")
def synth_customers_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output CSV of questionnaires.")],
    n: Annotated[int, typer.Option("--n", help="Customers (paper: 548).")] = 548,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    force: ForceOpt = False,
) -> None:
    """Synthetic customer questionnaires with the paper's pre-class distribution.

    Columns follow the shipped 14-indicator system; ``true_pre_class``, ``true_K`` and
    ``true_tier`` are the generating truth.
    """
    from netpersona.io import atomic_output, check_writable
    from netpersona.synth.customers import synth_customers

    if n < 1:
        raise typer.BadParameter("at least 1 customer", param_hint="--n")
    check_writable(out, force)
    frame = synth_customers(n, seed)
    with atomic_output(out, force=force) as tmp:
        frame.to_csv(tmp, index=False)
    counts = frame["true_pre_class"].value_counts().sort_index()
    RichProgress().log(
        f"wrote {n:,} questionnaires to {out}; pre-classes "
        + " / ".join(f"{c:,}" for c in counts.to_numpy())
    )
