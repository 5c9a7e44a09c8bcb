"""``netpersona rejoin train``: fit the learned re-join matcher on the workspace's library.

(``--method learned`` and ``--method tfidf`` of ``rejoin evaluate`` and ``rejoin calibrate`` are
registered by the re-join package itself, on first use.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from netpersona._core import Budget, RichProgress
from netpersona.cli._apps import rejoin_app
from netpersona.cli._json import json_summary
from netpersona.cli._options import ForceOpt, WorkspaceOpt, mapping_flags
from netpersona.cli._rejoin_eval import BudgetOpt
from netpersona.cli._rejoin_print import pct as _pct
from netpersona.io import LogMapping

_MATCHER = "Learned matcher"


@rejoin_app.command("train")
@json_summary
@mapping_flags
def train(
    logs: Annotated[
        list[Path] | None,
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="Library log files; added to the workspace's library first (files already "
            "there are skipped). Omit to train on the library indexed before.",
        ),
    ] = None,
    workspace: WorkspaceOpt = Path("netpersona.duckdb"),
    objective: Annotated[
        str,
        typer.Option(
            "--objective",
            help="What the decision threshold maximises on the simulation: overall, balanced, "
            "or far:X (at most a share X of new users wrongly matched, e.g. far:0.05).",
            rich_help_panel=_MATCHER,
        ),
    ] = "balanced",
    k: Annotated[
        int,
        typer.Option(
            "--top-k-candidates",
            min=1,
            help="TF-IDF candidates per query.",
            rich_help_panel=_MATCHER,
        ),
    ] = 50,
    quiet: Annotated[
        int,
        typer.Option(
            "--quiet-candidates",
            min=0,
            help="Library users who went quiet latest before the query appeared, per query.",
            rich_help_panel=_MATCHER,
        ),
    ] = 10,
    query_days: Annotated[
        int,
        typer.Option(
            "--query-days",
            min=1,
            help="Days of a simulated query period (as long as your real queries' logs).",
            rich_help_panel=_MATCHER,
        ),
    ] = 5,
    cuts: Annotated[
        int,
        typer.Option(
            "--cuts",
            min=1,
            help="Simulated cuts of the library, each t days earlier.",
            rich_help_panel=_MATCHER,
        ),
    ] = 6,
    draws: Annotated[
        int,
        typer.Option(
            "--draws",
            min=1,
            help="Draws of the users left out ('new') per simulated cut.",
            rich_help_panel=_MATCHER,
        ),
    ] = 3,
    simulated_users: Annotated[
        int,
        typer.Option(
            "--simulated-users",
            min=0,
            help="Simulate on a seeded sample of this many library users (0: all of them).",
            rich_help_panel=_MATCHER,
        ),
    ] = 4_000,
    target_queries: Annotated[
        int,
        typer.Option(
            "--target-queries",
            min=0,
            help="Stop cutting once this many simulated queries are collected (0: all cuts).",
            rich_help_panel=_MATCHER,
        ),
    ] = 3_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulation and models.")] = 0,
    queries: Annotated[
        list[Path] | None,
        typer.Option(
            "--queries",
            exists=True,
            dir_okay=False,
            help="Real query logs (optional): simulated queries are made as long as a typical "
            "one of them (instead of --query-days).",
            rich_help_panel=_MATCHER,
        ),
    ] = None,
    force: ForceOpt = False,
    mapping: LogMapping | None = None,
    budget: BudgetOpt = None,
) -> dict:
    """Fit the learned matcher on the library alone (no truth needed) and save it next to the
    workspace (W.learned/: JSON + arrays). Use it with `rejoin identify --method learned`."""
    from rich.console import Console
    from rich.table import Table

    from netpersona.rejoin import Library

    allowance = Budget.of(budget)  # counts from here; a bad --budget stops before any work
    matcher, target = Library.train(
        workspace,
        logs,
        mapping,
        force=force,
        progress=RichProgress(),
        queries=[str(q) for q in queries] if queries else None,
        objective=objective,
        k=k,
        quiet=quiet,
        query_days=query_days,
        cuts=cuts,
        draws=draws,
        simulated_users=simulated_users or None,
        target_queries=target_queries or None,
        seed=seed,
        budget=allowance,
    )
    table = Table(title=f"Simulated re-joins inside the library (objective {objective})")
    for name in ("", "balanced", "absent right", "present right", "rank-1", "threshold"):
        table.add_column(name, justify="left" if not name else "right")
    for name, m in matcher.simulated_.items():
        label = f"{name} (kept)" if name == matcher.model_name_ else name
        table.add_row(
            label, _pct(m["balanced_accuracy"]), _pct(m["acc_absent"]), _pct(m["acc_present"]),
            _pct(m["rank1_present"]), f"{m['threshold']:.4g}",
        )  # fmt: skip
    console = Console()
    console.print(table)
    data = matcher.training_
    console.print(
        f"{data.n_queries:,} simulated queries, {len(data.label):,} candidate pairs; true user "
        f"among the candidates for {_pct(data.recall)} of returning ones; "
        f"trained in {matcher.fit_seconds_:.0f} s"
    )
    for line in matcher.report_lines():
        console.print(line)
    typer.echo(f"matcher: {target}")
    return {
        "matcher": target, "kept": matcher.model_name_, "objective": objective,
        "simulated": matcher.simulated_, "n_queries": data.n_queries,
        "candidate_pairs": len(data.label), "recall": data.recall,
        "seconds": matcher.fit_seconds_,
    }  # fmt: skip
