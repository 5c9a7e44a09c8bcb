"""Self-supervised training data from the library alone (no truth needed).

The library's own log is cut like the real queries are cut from it: its last ``query_days``
days become simulated queries (under fresh ids), the days before them a simulated library, and
a random ``drop_fraction`` of users is left out of the simulated library so that some simulated
queries are "new". The cut is the evaluation protocol itself
(:func:`netpersona.rejoin._protocol.split_log`), so a simulated query's library profile holds
only rows from before its query period. ``cuts`` > 1 repeats the cut ending ``query_days``
earlier each time, for more training queries, until ``target_queries`` simulated queries are
collected. ``draws`` > 1 repeats every cut with another seeded draw of the users left out, so
that a small library still yields hundreds of simulated queries, with different users "new"
in each draw (issue 16: 7-38 simulated queries left the "new" threshold to a handful of points).

A large library is simulated on a seeded sample of ``max_users`` of its users (whole histories,
cut the same way): building the simulated profiles re-reads those users' rows, and a few
thousand simulated re-joins are plenty to fit a matcher of 32 features. The simulated library
is then smaller than the real one (fewer impostors per query); the gap between simulated and
real figures in docs/benchmarks.md shows what that costs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from netpersona._core import ConfigError, InputError, Progress
from netpersona.engine import Engine
from netpersona.rejoin._learned._budget import FitBudget
from netpersona.rejoin._learned._side import Side, build_side
from netpersona.rejoin._protocol import (
    Split,
    drop_tables,
    fetch_truth,
    split_log,
    user_rank_key,
)
from netpersona.rejoin._settings import RejoinSettings


@dataclass
class SimulatedCut:
    """One simulated re-join: library and query sides, and for every query row the library
    row of its true user (-1: the user was dropped, the right answer is "new")."""

    split: Split
    library: Side
    queries: Side
    true_library_row: np.ndarray
    #: which time cut (0: the latest) this simulated re-join is a draw of
    cut: int = 0

    @property
    def present(self) -> np.ndarray:
        return self.true_library_row >= 0


def log_days(engine: Engine, log_table: str) -> tuple[dt.date, dt.date]:
    """First and last calendar day of a canonical log table."""
    row = engine.fetch_arrow(
        f"SELECT min(CAST(ts AS DATE)) AS a, max(CAST(ts AS DATE)) AS b FROM {log_table}"
    ).to_pylist()[0]
    if row["a"] is None:
        raise InputError(f"the log table {log_table!r} has no rows")
    return row["a"], row["b"]


def simulate(
    engine: Engine,
    library_log: str,
    settings: RejoinSettings = RejoinSettings(),
    *,
    query_days: int = 5,
    drop_fraction: float = 0.2,
    cuts: int = 2,
    seed: int = 0,
    max_users: int | None = None,
    target_queries: int | None = None,
    prefix: str = "selfsup",
    progress: Progress = Progress(),
    draws: int = 1,
    visit: Callable[[SimulatedCut], None] | None = None,
    split_by: str = "time",
    plan: FitBudget | None = None,
) -> list[SimulatedCut]:
    """Cut ``library_log`` into at most ``cuts`` simulated re-joins (see the module docstring):
    over a sample of ``max_users`` users when it has more (``None``: all), stopping once
    ``target_queries`` simulated queries are collected (``None``: all cuts). Each cut is made
    ``draws`` times, each with its own seeded draw of the users left out of the library.

    ``split_by`` ``last-days`` cuts like :func:`netpersona.rejoin._splits.split_last_days`
    (each user's own last ``query_days`` days are their simulated query; cut ``i`` first drops
    each user's last ``i * query_days`` days), for real queries cut that way.

    ``visit(cut)`` is called for every cut while its profile tables still exist (e.g. to run
    the paper's method on it); each cut's tables are dropped once its sides are in memory.
    ``plan`` (a budget) stops the cuts before one that would overrun the simulation's share.
    """
    if draws < 1:
        raise ConfigError(f"draws must be at least 1, got {draws}")
    if split_by not in ("time", "last-days", "first-seen"):
        raise ConfigError(f"split_by must be time, last-days or first-seen, got {split_by!r}")
    if not 0.0 <= drop_fraction < 1.0:
        raise ConfigError(f"drop_fraction must be in [0, 1), got {drop_fraction}")
    if max_users is not None and max_users < 2:
        raise ConfigError(f"max_users must be at least 2, got {max_users}")
    first, last = log_days(engine, library_log)
    try:
        source = sample_users(engine, library_log, max_users, seed, f"{prefix}_sample_log")
        return _cuts(
            engine, source, settings, first, last, query_days, drop_fraction, cuts, seed,
            target_queries, prefix, progress, draws, visit, split_by, plan,
        )  # fmt: skip
    finally:
        drop_tables(engine, f"{prefix}_sample")


def sample_users(
    engine: Engine, log_table: str, max_users: int | None, seed: int, name: str
) -> str:
    """``log_table`` itself, or when it has more than ``max_users`` users a table ``name`` of
    the rows of a seeded sample of them (drawn by the protocol's keyed hash)."""
    if max_users is None:
        return log_table
    users = engine.fetch_arrow(f"SELECT DISTINCT user_id FROM {log_table}")
    ids = users.column("user_id").to_pylist()
    if len(ids) <= max_users:
        return log_table
    picked = sorted(ids, key=lambda u: user_rank_key(seed, "simulation", u))[:max_users]
    view = f"{name}__users"
    engine.register_arrow(view, pa.table({"user_id": pa.array(picked, pa.string())}))
    engine.create_table(
        name,
        f"SELECT user_id, ts, site FROM {log_table} WHERE user_id IN (SELECT user_id FROM {view})",
    )
    engine.execute(f"DROP VIEW IF EXISTS {view}")
    return name


def _cuts(
    engine: Engine,
    library_log: str,
    settings: RejoinSettings,
    first: dt.date,
    last: dt.date,
    query_days: int,
    drop_fraction: float,
    cuts: int,
    seed: int,
    target_queries: int | None,
    prefix: str,
    progress: Progress,
    draws: int = 1,
    visit: Callable[[SimulatedCut], None] | None = None,
    split_by: str = "time",
    budget: FitBudget | None = None,
) -> list[SimulatedCut]:
    out: list[SimulatedCut] = []
    plan = [(i, j) for j in range(draws) for i in range(cuts)]  # every cut once, then again
    for n, (i, j) in enumerate(progress.track(plan, "simulated re-joins", total=len(plan))):
        if target_queries is not None and sum(c.queries.n_users for c in out) >= target_queries:
            break
        if budget is not None and out and not budget.next_cut():
            budget.cuts_left_out = len(plan) - n
            break
        began = budget.clock() if budget is not None else 0.0
        end = last - dt.timedelta(days=i * query_days)
        if split_by == "time" and (end - first).days + 1 <= 2 * query_days:
            continue  # the simulated library would be shorter than the query period
        name = f"{prefix}_c{i}d{j}"
        try:
            if split_by == "last-days":
                split = _last_days_cut(engine, library_log, i, query_days, drop_fraction,
                                       seed + i + 1_000 * j, name)  # fmt: skip
            elif split_by == "first-seen":
                split = _after_cut(engine, library_log, first, last, i, cuts, query_days,
                                   drop_fraction, seed + i + 1_000 * j, name)  # fmt: skip
            else:
                split = split_log(
                    engine,
                    library_log,
                    query_days=query_days,
                    library_fraction=1.0 - drop_fraction,
                    seed=seed + i + 1_000 * j,
                    window=(first, end),
                    prefix=name,
                )
        except InputError:
            drop_tables(engine, name)
            continue  # nobody active in this query period
        try:
            # the cut's tables are dropped below while its sides live on: sequences loaded
            lib = build_side(engine, split.library_table, f"{name}_lib", settings, None,
                             progress, sequences=True)  # fmt: skip
            qry = build_side(engine, split.query_table, f"{name}_qry", settings, lib,
                             progress, sequences=True)  # fmt: skip
            truth = fetch_truth(engine, split)
            cut = _cut(split, lib, qry, truth, i)
            if visit is not None:
                visit(cut)
        finally:
            drop_tables(engine, name)
        out.append(cut)
        if budget is not None:
            budget.cut_seconds.append(budget.clock() - began)
    if not out:
        raise ConfigError(
            f"the library log spans {first}..{last}: too short to simulate re-joins with "
            f"query_days={query_days} (needs more than {2 * query_days} days)",
        )
    return out


def _last_days_cut(
    engine: Engine, log: str, i: int, query_days: int, drop: float, seed: int, name: str
) -> Split:
    """A ``last-days`` simulated split of ``log`` with each user's last ``i * query_days``
    days dropped first."""
    from netpersona.rejoin._splits import split_last_days

    source = log
    if i:
        source = f"{name}_trimmed"
        engine.create_table(
            source,
            f"SELECT l.user_id, l.ts, l.site FROM {log} AS l JOIN (SELECT user_id, "
            f"max(CAST(ts AS DATE)) AS last_day FROM {log} GROUP BY user_id) AS m "
            f"ON m.user_id = l.user_id "
            f"WHERE CAST(l.ts AS DATE) <= m.last_day - INTERVAL '{i * query_days}' DAY",
        )
    return split_last_days(
        engine, source, query_days=query_days, library_fraction=1.0 - drop, seed=seed,
        prefix=name,
    )  # fmt: skip


def _after_cut(
    engine: Engine, log: str, first: dt.date, last: dt.date, i: int, cuts: int,
    query_days: int, drop: float, seed: int, name: str,
) -> Split:  # fmt: skip
    """A ``first-seen``-like simulated split: cut ``i`` of ``cuts`` spread over the second half
    of the library's span (the latest first), every user active after it a query starting at
    its own first row after the cut (:func:`netpersona.rejoin._splits.split_after_cut`)."""
    from netpersona.rejoin._splits import split_after_cut

    span = (last - first).days
    cut = first + dt.timedelta(days=round(span * (0.9 - 0.4 * i / max(cuts, 1))))
    if not first < cut <= last:
        raise InputError("the library is too short for this cut")
    return split_after_cut(
        engine, log, cut, query_days=query_days, library_fraction=1.0 - drop, seed=seed,
        prefix=name,
    )  # fmt: skip


def _cut(split: Split, lib: Side, qry: Side, truth: pa.Table, cut: int = 0) -> SimulatedCut:
    """A simulated cut with each query's true library row (-1: "new")."""
    q_index = qry.arrays.user_index
    l_index = lib.arrays.user_index
    true_row = np.full(qry.n_users, -1, dtype=np.int64)
    for query_user, true_user, in_library in zip(
        truth.column("query_user").to_pylist(),
        truth.column("true_user").to_pylist(),
        truth.column("in_library").to_pylist(),
        strict=True,
    ):
        if in_library and query_user in q_index:
            true_row[q_index[query_user]] = l_index.get(true_user, -1)
    return SimulatedCut(split, lib, qry, true_row, cut)
