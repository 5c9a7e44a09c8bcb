"""Training the learned matcher on a workspace's library, and the paper's protocol (evaluate,
calibrate) on a log: the library-side work of ``rejoin train | evaluate | calibrate``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from netpersona._core import Budget, InputError, Progress, check_writable
from netpersona.engine import DuckDBEngine, Engine, Workspace
from netpersona.io import LogMapping, LogSource, LogTable, read_log
from netpersona.rejoin._profiles import Profiles
from netpersona.rejoin._settings import RejoinSettings

LIBRARY_LOG = Workspace.LIBRARY_LOG
LIBRARY = Workspace.LIBRARY


def train(
    workspace: str | Path,
    logs: Sequence[str | Path] | None = None,
    mapping: LogMapping | None = None,
    *,
    force: bool = False,
    progress: Progress | None = None,
    queries: LogSource | None = None,
    budget: Budget | float | None = None,
    **matcher_options: Any,
):
    """Fit the learned matcher on the workspace's library alone (no truth needed) and save it
    beside the workspace (``W.learned/``); ``logs`` are added to the library first (files
    already there skipped). ``matcher_options`` go to ``LearnedMatcher`` (objective, k, quiet,
    query_days, cuts, simulated_users, target_queries, seed); with ``queries`` (real query logs)
    ``query_days`` is the span of a typical query's log instead; ``budget`` (seconds, adding
    the logs included) sizes the fit (``matcher.budget_`` says what it left out). Returns
    (matcher, folder)."""
    from netpersona.rejoin._learned import LearnedMatcher, save_matcher

    progress, budget = progress or Progress(), Budget.of(budget)
    workspace = Path(workspace)
    matcher = LearnedMatcher(**matcher_options)
    if queries is not None:  # simulated queries as long as the real ones (issue 16)
        from netpersona.rejoin._splits import query_days_of

        with _log_engine(queries, mapping, None, None, progress)[0] as q_engine:
            matcher.query_days = query_days_of(q_engine, "access_log")
    matcher.check()
    target = check_writable(Workspace.matcher_dir(workspace), force)
    if logs:  # the one way a library is built: the daily path (every day given held)
        from netpersona.rejoin._daily_run import add_day

        add_day(workspace, [Path(p) for p in logs], mapping, default_window=None,
                what="rejoin train", progress=progress)  # fmt: skip
    no_library = InputError(
        "the workspace holds no library",
        path=workspace,
        hint="give the library's log files: `netpersona rejoin train LOGS --workspace W`",
    )
    if not workspace.exists():
        raise no_library
    with Workspace.reader(workspace) as ws:
        if not ws.has_table(f"{LIBRARY}_meta"):
            raise no_library
        profiles = Profiles.open(ws, LIBRARY)
        # the rows the library stands for (its window, identity links applied): in the daily
        # store beside the workspace, read under the writer lock
        log = profiles.log_table or LIBRARY_LOG
        with Workspace.store_reading(ws, workspace, log):
            matcher.fit(ws, log, profiles.settings, progress=progress, budget=budget)
    save_matcher(matcher, target, force=force)
    return matcher, target


def _log_engine(
    source: LogSource,
    mapping: LogMapping | None,
    engine: Engine | None,
    workspace: str | Path | None,
    progress: Progress,
) -> tuple[Engine, bool]:
    """The log in table ``access_log`` of an engine: ``engine`` if given (not closed here),
    else an in-memory DuckDB; a ``LogTable`` on DuckDB is a table of ``workspace``, attached
    read-only."""
    from netpersona._core import ConfigError

    own = engine is None
    if engine is None:
        if isinstance(source, LogTable):
            if workspace is None:
                raise ConfigError(
                    "--table on DuckDB reads a table of a workspace: give --workspace FILE"
                )
            engine = Workspace.reader(workspace, require_complete=False)
        else:
            engine = DuckDBEngine()
    try:
        read = read_log(source, mapping, engine, "access_log", progress=progress,
                        where=str(workspace), in_place=True)  # fmt: skip
    except BaseException:
        if own:
            engine.close()
        raise
    if read.rejected and read.quarantine is not None:
        progress.log(f"{read.rejected:,} unreadable row(s) set aside in {read.quarantine}")
    engine.reads = [read]  # type: ignore[attr-defined]
    return engine, own


def evaluate_log(
    source: LogSource,
    mapping: LogMapping | None = None,
    *,
    engine: Engine | None = None,
    workspace: str | Path | None = None,
    settings: RejoinSettings | None = None,
    method: str = "paper",
    query_days: int = 5,
    library_fraction: float = 0.8,
    seed: int = 0,
    window: tuple[dt.date, dt.date] | None = None,
    sweep: Sequence[int] = (),
    progress: Progress | None = None,
    split: dict | None = None,
    budget: Budget | float | None = None,
):
    """The paper's protocol on a log (``split``: ``split_by``/``pairs``/``cut`` for another
    split, see :func:`netpersona.rejoin._splits.make_split`): its last ``query_days`` days
    are re-joining queries under fresh ids, a random ``library_fraction`` of the earlier users
    the library. ``sweep``: also accuracy vs t for those query periods
    (``evaluation.sweep``). The evaluation's ``notes`` say what a distributed step 2 did and
    where rejected rows went.

    ``budget`` (seconds from the call, reading included): the evaluation's figures are never
    partial, so when the budget runs out before they are complete it stops with
    :class:`~netpersona._core.BudgetExceededError`; the sweep's query periods are planned
    within what is left, and those left out are named (``evaluation.budget``, a note)."""
    from netpersona.rejoin._evaluate import evaluate, get_method, sweep_days

    progress, budget = progress or Progress(), Budget.of(budget)
    get_method(method)  # an unknown method fails before the log is read
    options = {
        "library_fraction": library_fraction,
        "seed": seed,
        "window": window,
        "settings": settings or RejoinSettings(),
        "method": method,
    }
    guarded = progress if budget is None else budget.guard(progress, "the evaluation")
    on, own = _log_engine(source, mapping, engine, workspace, guarded)
    try:
        began = budget.clock() if budget is not None else 0.0
        evaluation = evaluate(on, "access_log", query_days=query_days, progress=guarded,
                              **options, **(split or {}))  # fmt: skip
        if sweep:
            took = budget.clock() - began if budget is not None else 0.0
            evaluation.sweep = sweep_days(
                on, "access_log", list(sweep), known=[evaluation], progress=progress,
                budget=budget, estimate=took, **options,
            )  # fmt: skip
        notes = _budget_notes(evaluation, budget, sweep)
        evaluation.notes = [run.describe() for run in getattr(on, "step2_runs", [])] + notes
        evaluation.reads = list(getattr(on, "reads", []))
    finally:
        if own:
            on.close()
    return evaluation


def _budget_notes(evaluation, budget: Budget | None, sweep: Sequence[int]) -> list[str]:
    """Record what the budget did in ``evaluation.budget``; a line when it cut the sweep."""
    if budget is None:
        return []
    done = [row["query_days"] for row in evaluation.sweep]
    left_out = [t for t in sweep if t not in done]
    evaluation.budget = budget.report(bool(left_out), sweep_done=done, sweep_left_out=left_out)
    if not left_out:
        return []
    return [
        f"--budget {budget.seconds:g} s cut the sweep: t = {', '.join(map(str, left_out))} not "
        f"evaluated ({len(done)} of {len(sweep)} done); the main figures are whole"
    ]


def calibrate_log(
    source: LogSource,
    mapping: LogMapping | None = None,
    *,
    progress: Progress | None = None,
    budget: Budget | float | None = None,
    **options: Any,
):
    """:func:`~netpersona.rejoin.calibrate` on a log read into an in-memory DuckDB
    (``options``: objective, query_days, library_fraction, seed, window, start, method,
    max_seconds, max_trials); ``budget`` (seconds) counts reading the log too."""
    from netpersona.rejoin._calibrate import calibrate

    progress, budget = progress or Progress(), Budget.of(budget)
    engine, _ = _log_engine(source, mapping, None, None, progress)
    with engine:
        return calibrate(engine, "access_log", progress=progress, budget=budget, **options)
