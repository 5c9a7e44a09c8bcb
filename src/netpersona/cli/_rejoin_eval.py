"""``netpersona rejoin evaluate`` and ``netpersona rejoin calibrate``: the paper's protocol on
the user's own log, and the settings that suit it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from netpersona._core import Budget, RichProgress
from netpersona.cli._apps import rejoin_app
from netpersona.cli._config import rejoin_settings
from netpersona.cli._engines import EngineChoice, log_input
from netpersona.cli._json import json_summary
from netpersona.cli._options import ForceOpt, engine_flags, mapping_flags
from netpersona.cli._rejoin_print import pct as _pct
from netpersona.cli._rejoin_print import print_reads
from netpersona.io import LogMapping, check_writable

_PROTOCOL = "Protocol"

LogsArg = Annotated[
    list[Path],
    typer.Argument(
        exists=True,
        dir_okay=False,
        help="Access-log files (CSV/TSV/space/JSONL/Parquet, .gz) holding the whole period.",
    ),
]
EvalLogsArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Access-log files (CSV/TSV/space/JSONL/Parquet, .gz) holding the whole period; "
        "with --engine spark any path Spark reads (hdfs://, s3a://). Or --table.",
        show_default=False,
    ),
]
QueryDaysOpt = Annotated[
    int,
    typer.Option(
        "--query-days",
        min=1,
        help="t: the last t days of the window are the query period (the paper: 5).",
        rich_help_panel=_PROTOCOL,
    ),
]
LibraryFractionOpt = Annotated[
    float,
    typer.Option(
        "--library-fraction",
        min=0.0,
        max=1.0,
        help="Share of the library period's users drawn into the library; the others' "
        "queries must be answered 'new' (the paper: 20,809 of 25,809).",
        rich_help_panel=_PROTOCOL,
    ),
]
SeedOpt = Annotated[
    int, typer.Option("--seed", help="Seed of the library draw and the fresh query ids.")
]
WindowOpt = Annotated[
    str | None,
    typer.Option(
        "--window",
        help="START..END (ISO dates, both included) to evaluate on; default the whole log.",
        rich_help_panel=_PROTOCOL,
    ),
]
SettingsOpt = Annotated[
    Path | None,
    typer.Option(
        "--settings",
        exists=True,
        dir_okay=False,
        help="TOML file with a [rejoin] table (e.g. written by `rejoin calibrate`); "
        "default: the configuration file's [rejoin], else the paper's values.",
    ),
]
MethodOpt = Annotated[
    str,
    typer.Option(
        "--method",
        help="Matcher to evaluate: paper (the paper's six steps), learned (the matcher of "
        "`rejoin train`, fitted on the split's library alone), tfidf (TF-IDF nearest "
        "neighbour), tfidf_one_to_one or learned_one_to_one (one library user per query, "
        "assigned once), or auto (the best of them on the library's own simulation).",
    ),
]
BudgetOpt = Annotated[
    float | None,
    typer.Option(
        "--budget",
        metavar="SECONDS",
        help="Plan the work to end within this many seconds (from the start, reading "
        "included); what it leaves out is said in the summary and the JSON. See "
        "docs/rejoin-evaluation.md (Progress and --budget).",
        show_default=False,
    ),
]


@rejoin_app.command("evaluate")
@json_summary
@mapping_flags
@engine_flags()
def evaluate_command(
    logs: EvalLogsArg = None,
    query_days: QueryDaysOpt = 5,
    library_fraction: LibraryFractionOpt = 0.8,
    seed: SeedOpt = 0,
    window: WindowOpt = None,
    settings: SettingsOpt = None,
    sweep: Annotated[
        str | None,
        typer.Option(
            "--sweep-days",
            help="Also evaluate each t in this range (1-10, or 3,5,7) and draw accuracy vs t.",
            rich_help_panel=_PROTOCOL,
        ),
    ] = None,
    method: MethodOpt = "paper",
    split_by: Annotated[
        str,
        typer.Option(
            "--split-by",
            help="time: the paper's protocol (last --query-days days of the window); "
            "first-seen: identities first seen on or after --cut are the queries (their first "
            "--query-days days), matched by --truth (old_user,new_user pairs); last-days: each "
            "user's own last --query-days days.",
            rich_help_panel=_PROTOCOL,
        ),
    ] = "time",
    truth: Annotated[
        Path | None,
        typer.Option(
            "--truth",
            dir_okay=False,
            help="With --split-by first-seen: CSV of old_user,new_user identity pairs.",
            rich_help_panel=_PROTOCOL,
        ),
    ] = None,
    cut: Annotated[
        str | None,
        typer.Option(
            "--cut",
            help="With --split-by first-seen: the cut day (YYYY-MM-DD; default: the day by "
            "which half of the identities were first seen).",
            rich_help_panel=_PROTOCOL,
        ),
    ] = None,
    report_dir: Annotated[
        Path | None,
        typer.Option(
            "--report-dir",
            file_okay=False,
            help="Write evaluation.html and its PNG figures here.",
        ),
    ] = None,
    force: ForceOpt = False,
    workspace: Annotated[
        str | None,
        typer.Option(
            "--workspace",
            help="With --table on DuckDB: the workspace file holding the table.",
            rich_help_panel="Engine (DuckDB on this machine, or Apache Spark)",
        ),
    ] = None,
    mapping: LogMapping | None = None,
    choice: EngineChoice | None = None,
    budget: BudgetOpt = None,
) -> dict:
    """The paper's protocol on LOGS: the last --query-days days are re-joining queries under
    fresh ids, a random --library-fraction of the earlier users the library; prints (and with
    --json writes) the three accuracies, the per-step funnel and (with --sweep-days) accuracy
    vs t."""
    from netpersona.rejoin import (
        Library,
        parse_days,
        parse_window,
        split_options_from,
        write_evaluation_report,
    )

    allowance = Budget.of(budget)  # counts from here; a bad --budget stops before any work
    if report_dir is not None:
        check_writable(report_dir / "evaluation.html", force)
    split = split_options_from(split_by, truth, cut, sweep)
    source = log_input(logs, choice)
    engine = choice.open(None)
    try:
        evaluation = Library.evaluate(
            source,
            mapping,
            engine=engine,
            workspace=workspace,
            settings=rejoin_settings(settings),
            method=method,
            query_days=query_days,
            library_fraction=library_fraction,
            seed=seed,
            window=parse_window(window),
            sweep=parse_days(sweep) if sweep else (),
            progress=RichProgress(transient=True),
            split=split,
            budget=allowance,
        )
    finally:
        if engine is not None:
            engine.close()
    print_reads(evaluation.reads)
    for line in evaluation.notes:
        typer.echo(line)
    _print_evaluation(evaluation.to_json())
    if report_dir is not None:
        typer.echo(f"report: {write_evaluation_report(evaluation, report_dir, force=force)}")
    return evaluation.to_json()


def _print_evaluation(doc: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    from netpersona.rejoin import ACCURACY_LABELS, PAPER_ACCURACY

    p = doc["protocol"]
    console = Console()
    console.print(
        f"window {p['window'][0]}..{p['window'][1]}, t = {p['query_days']}: library "
        f"{doc['n_library']:,} users, {doc['n_queries']:,} queries "
        f"({doc['n_queries'] - doc['n_absent']:,} present, {doc['n_absent']:,} absent)"
    )
    table = Table(title=f"Accuracy ({doc['method']})")
    for name in ("", "this run", "paper"):
        table.add_column(name, justify="left" if not name else "right")
    for key, label in ACCURACY_LABELS.items():
        table.add_row(label, _pct(doc[key]), _pct(PAPER_ACCURACY.get(key)))
    console.print(table)
    funnel = Table(title="Per-step funnel")
    for name in ("step", "mean candidates", "recall", "seconds"):
        funnel.add_column(name, justify="left" if name == "step" else "right")
    for s in doc["steps"]:
        mean = s["mean_candidates"]
        funnel.add_row(
            s["step"],
            "n/a" if mean is None else f"{mean:,.2f}",
            _pct(s["recall"]),
            f"{s['seconds']:.3f}",
        )
    console.print(funnel)
    for row in doc.get("sweep", []):
        console.print(
            f"t = {row['query_days']:>2}: overall {_pct(row['acc_overall'])}, present "
            f"{_pct(row['acc_present'])}, absent {_pct(row['acc_absent'])}"
        )


@rejoin_app.command("calibrate")
@json_summary
@mapping_flags
def calibrate_command(
    logs: LogsArg,
    out: Annotated[
        Path, typer.Option("--out", dir_okay=False, help="Where to write the settings (TOML).")
    ],
    objective: Annotated[
        str,
        typer.Option(
            "--objective",
            help="What to maximise: overall (acc_overall) or balanced (mean of the absent and "
            "present accuracies).",
        ),
    ] = "overall",
    query_days: QueryDaysOpt = 5,
    library_fraction: LibraryFractionOpt = 0.8,
    seed: SeedOpt = 0,
    window: WindowOpt = None,
    settings: SettingsOpt = None,
    method: MethodOpt = "paper",
    max_minutes: Annotated[
        float, typer.Option("--max-minutes", min=0.0, help="Stop searching after this long.")
    ] = 10.0,
    max_trials: Annotated[
        int, typer.Option("--max-trials", min=1, help="Stop after this many settings tried.")
    ] = 150,
    force: ForceOpt = False,
    mapping: LogMapping | None = None,
    budget: BudgetOpt = None,
) -> dict:
    """Find the settings that suit LOGS (your library) by running the protocol inside it:
    its last --query-days days become simulated queries. No query data or truth needed.
    Prints the paper's defaults and the calibrated settings side by side."""
    from netpersona.rejoin import (
        Library,
        objective_value,
        parse_window,
        write_settings,
    )

    allowance = Budget.of(budget)  # counts from here; a bad --budget stops before any work
    check_writable(out, force)
    objective_value({"acc_overall": 0.0, "balanced_accuracy": 0.0}, objective)
    result = Library.calibrate(
        logs,
        mapping,
        objective=objective,
        query_days=query_days,
        library_fraction=library_fraction,
        seed=seed,
        window=parse_window(window),
        start=rejoin_settings(settings),
        method=method,
        max_seconds=60.0 * max_minutes,
        max_trials=max_trials,
        progress=RichProgress(transient=True),
        budget=allowance,
    )
    write_settings(result, out, force=force)
    _print_calibration(result)
    typer.echo(f"settings: {out} (use with --settings)")
    return {**result.to_json(), "settings_file": out}  # every trial too


def _print_calibration(result) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    split = result.split
    console.print(
        f"simulated split of the log: last {split.query_days} day(s) as queries; "
        f"{split.n_library:,} library users, {split.n_queries:,} queries "
        f"({split.n_absent:,} absent); {len(result.trials)} settings tried in "
        f"{result.seconds:.0f} s ({result.stopped})"
    )
    table = Table(title=f"Paper defaults vs calibrated (objective: {result.objective})")
    for name in ("", "paper defaults", "calibrated"):
        table.add_column(name, justify="left" if not name else "right")
    for name, default, calibrated in result.comparison():
        table.add_row(name, _pct(default), _pct(calibrated))
    for name, (default, calibrated) in result.changed().items():
        table.add_row(f"[dim]{name}[/dim]", str(default), str(calibrated))
    console.print(table)
    if result.budget_note:
        console.print(result.budget_note, markup=False)
