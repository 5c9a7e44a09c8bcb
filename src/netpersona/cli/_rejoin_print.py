"""What the re-join commands print: the funnel and verdict counts, and where rejected rows
went."""

from __future__ import annotations

from collections.abc import Iterable

import typer


def print_reads(reads: Iterable) -> None:
    """Say where rows an engine's own reader left out are kept (never dropped silently)."""
    for read in reads:
        if getattr(read, "rejected_table", None):
            typer.echo(
                f"{read.rejected:,} rows without a user, a time or a site were left out; they "
                f"are kept with the reason in table {read.rejected_table}",
                err=True,
            )


def print_identify_summary(result, out) -> dict:
    """Print the per-step funnel and the verdict counts of an identification; return them."""
    import pyarrow.compute as pc
    from rich.console import Console
    from rich.table import Table

    first = result.matches.filter(pc.less_equal(result.matches["rank"], 1))
    verdicts = first["decision"].to_pylist()
    table = Table(title="Re-join funnel (mean candidates per query)")
    table.add_column("step")
    table.add_column("candidates", justify="right")
    table.add_column("seconds", justify="right")
    for step in result.steps:
        table.add_row(step["step"], f"{step['mean_candidates']:,.3f}", f"{step['seconds']:.3f}")
    console = Console()
    console.print(table)
    console.print(
        f"{result.n_queries:,} queries against {result.n_library:,} library users in "
        f"{result.seconds:.2f} s: {verdicts.count('match'):,} match, "
        f"{verdicts.count('ambiguous'):,} ambiguous, {verdicts.count('new'):,} new -> {out}"
    )
    counts = {v: verdicts.count(v) for v in ("match", "ambiguous", "new")}
    return {"out": str(out), "n_queries": result.n_queries, "n_library": result.n_library,
            "verdicts": counts, "steps": result.steps, "seconds": result.seconds}  # fmt: skip


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"
