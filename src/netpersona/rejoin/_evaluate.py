"""Evaluating a re-join matcher by the paper's protocol: accuracies, per-step funnel, sweep over t.

:func:`evaluate` cuts a log by :func:`~netpersona.rejoin._protocol.split_log`, runs a matcher
(a *method*: the paper's six steps by default) on the library and the queries, and scores its
MATCHES table against the truth. A method is any object with ``name`` and ``run(...)`` returning
a :class:`MethodRun`; :func:`register_method` makes one available by name (``--method``), so
other matchers are compared on exactly the same split.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from netpersona._core import Budget, BudgetExceededError, ConfigError, Progress
from netpersona.rejoin._methods import (
    PROFILE_SETTINGS,
    MatchMethod,
    MethodRun,
    PaperMethod,
    StepRun,
    get_method,
    method_names,
    register_method,
)
from netpersona.rejoin._protocol import Split, drop_tables, fetch_truth
from netpersona.rejoin._scoring import (
    ACCURACY_KEYS,
    DECISIONS,
    candidate_recall,
    output_candidates,
    score_matches,
)

__all__ = [
    "ACCURACY_KEYS",
    "DECISIONS",
    "PROFILE_SETTINGS",
    "STEP_NAMES",
    "Evaluation",
    "MatchMethod",
    "MethodRun",
    "PaperMethod",
    "StepRun",
    "candidate_recall",
    "evaluate",
    "evaluate_split",
    "get_method",
    "method_names",
    "output_candidates",
    "parse_days",
    "register_method",
    "score_matches",
    "settings_dict",
    "sweep_days",
    "sweep_row",
]

if TYPE_CHECKING:
    import datetime as dt

    from netpersona.engine import Engine

#: the paper's steps, in order (Table 1 covers 2..5; 1 is preprocessing, 6 the decision)
STEP_NAMES = ("1_profiles", "2_simione", "3_simitwo", "4_simithree", "5_simifour", "6_decision")
# --------------------------------------------------------------------------------------------
# the evaluation


@dataclass
class Evaluation:
    """One run of the protocol: the metrics (the JSON keys), the split, and what was scored.

    >>> from netpersona.rejoin import evaluate
    >>> from netpersona.rejoin._examples import example_engine
    >>> doc = evaluate(example_engine(), "log", query_days=3, library_fraction=0.5).to_json()
    >>> doc["method"], doc["protocol"]["query_days"], doc["settings"]["jaccard_min"]
    ('paper', 3, 0.6)
    """

    metrics: dict
    split: Split
    settings: Any
    method: str
    matches: pa.Table
    truth: pa.Table
    #: one metrics row per t when swept (``query_days`` plus the accuracies)
    sweep: list[dict] = field(default_factory=list)
    #: lines for a person: what a distributed step 2 did (Spark)
    notes: list[str] = field(default_factory=list)
    #: what reading the log did (rows, rejects and where they went)
    reads: list = field(default_factory=list)
    #: what ``budget`` did (None without one): the sweep's query periods run and left out
    budget: dict | None = None

    def to_json(self) -> dict:
        """The JSON document of ``evaluate --json``."""
        doc = dict(self.metrics)
        doc["method"] = self.method
        doc["protocol"] = self.split.describe()
        doc["settings"] = settings_dict(self.settings)
        if self.sweep:
            doc["sweep"] = self.sweep
        if self.budget is not None:
            doc["budget"] = self.budget
        return doc


def settings_dict(settings: Any) -> dict:
    """A settings object as a plain dict (a dataclass's fields, else its ``__dict__``)."""
    if settings is None:
        return {}
    if dataclasses.is_dataclass(settings):
        return dataclasses.asdict(settings)
    return dict(vars(settings))


def _funnel(run: MethodRun, truth: pa.Table, n_library: int) -> list[dict]:
    """The per-step funnel: mean candidates per query, recall of the true user, seconds."""
    present = int(sum(truth.column("in_library").to_pylist()))
    rows = []
    for step in run.steps:
        candidates = step.candidates
        if step.step == "6_decision":
            candidates = output_candidates(run.matches)
        if candidates is not None:
            mean, recall = candidate_recall(candidates, truth)
        elif step.step == "1_profiles":
            mean, recall = float(n_library), (1.0 if present else None)
        else:
            mean, recall = step.mean_candidates, None
        rows.append(
            {
                "step": step.step,
                "mean_candidates": mean,
                "recall": recall,
                "seconds": step.seconds,
            }
        )
    return rows


def evaluate_split(
    engine: Engine,
    split: Split,
    *,
    settings: Any,
    method: MatchMethod,
    top_k: int = 1,
    truth: pa.Table | None = None,
    progress: Progress = Progress(),
) -> Evaluation:
    """Run ``method`` on an existing split and score it."""
    truth = truth if truth is not None else fetch_truth(engine, split)
    start = time.perf_counter()
    run = method.run(engine, split, settings, top_k=top_k, progress=progress)
    wall = time.perf_counter() - start
    metrics = score_matches(run.matches, truth)
    ordered = {key: metrics[key] for key in ACCURACY_KEYS}
    ordered.update(
        n_library=split.n_library,
        n_queries=metrics["n_queries"],
        n_absent=metrics["n_absent"],
        n_present=metrics["n_present"],
        decisions=metrics["decisions"],
        steps=_funnel(run, truth, split.n_library),
        seconds_total=run.seconds_total if run.seconds_total else wall,
    )
    if (report := getattr(method, "report", None)) is not None:  # a self-trained method
        ordered["training"] = report()
    used = run.settings if run.settings is not None else settings
    return Evaluation(ordered, split, used, method.name, run.matches, truth)


def evaluate(
    engine: Engine,
    log_table: str,
    *,
    query_days: int = 5,
    library_fraction: float = 0.8,
    seed: int = 0,
    window: tuple[dt.date, dt.date] | None = None,
    settings: Any = None,
    method: str | MatchMethod = "paper",
    top_k: int = 1,
    prefix: str = "eval",
    keep_tables: bool = False,
    progress: Progress = Progress(),
    split_by: str = "time",
    pairs: list[tuple[str, str]] | None = None,
    cut: dt.date | None = None,
) -> Evaluation:
    """The paper's protocol on ``log_table`` (canonical ``user_id, ts, site``).

    The last ``query_days`` days of ``window`` (default: the whole log) are the query period;
    a random ``library_fraction`` of the users active before it form the library; every user
    active in the query period is a query under a fresh id. ``top_k`` candidates are kept per
    query so that ``rank1_present`` is defined for "new" verdicts too. The split's tables
    (``<prefix>_*``) are dropped afterwards unless ``keep_tables``.

    >>> from netpersona.rejoin._examples import example_engine
    >>> evaluation = evaluate(example_engine(), "log", query_days=3, library_fraction=0.5)
    >>> m = evaluation.metrics
    >>> m["n_library"], m["n_queries"], m["n_absent"], m["acc_overall"]
    (3, 6, 3, 1.0)
    """
    from netpersona.rejoin._splits import make_split  # split_by/pairs/cut: see _splits

    matcher = get_method(method)
    with progress.step(f"Cutting the log ({split_by}): {query_days} day(s) of queries"):
        split = make_split(
            engine, log_table, split_by, query_days=query_days,
            library_fraction=library_fraction, seed=seed, window=window, prefix=prefix,
            pairs=pairs, cut=cut,
        )  # fmt: skip
    try:
        return evaluate_split(
            engine, split, settings=settings, method=matcher, top_k=top_k, progress=progress
        )
    finally:
        if not keep_tables:
            matcher.release(engine)
            drop_tables(engine, prefix)


def sweep_row(evaluation: Evaluation) -> dict:
    """One row of the accuracy-vs-t curve."""
    row = {"query_days": evaluation.split.query_days}
    row.update({key: evaluation.metrics[key] for key in ACCURACY_KEYS})
    row.update(
        n_library=evaluation.metrics["n_library"],
        n_queries=evaluation.metrics["n_queries"],
        n_absent=evaluation.metrics["n_absent"],
        seconds_total=evaluation.metrics["seconds_total"],
    )
    return row


def sweep_days(
    engine: Engine,
    log_table: str,
    days: Iterable[int],
    *,
    known: Iterable[Evaluation] = (),
    progress: Progress = Progress(),
    budget: Budget | None = None,
    estimate: float = 0.0,
    **options: Any,
) -> list[dict]:
    """Accuracy vs t: :func:`evaluate` once per query-period length in ``days`` (the paper
    swept t and chose 5, where accuracy stops rising). ``known`` evaluations are reused for
    their t; ``options`` are :func:`evaluate`'s.

    With a ``budget`` the sweep stops before a t whose evaluation (``estimate`` seconds at
    first, then the mean of those run) would overrun it, or when one runs past it; each row is a
    whole evaluation, and the t left out have no row.

    >>> from netpersona.rejoin._examples import example_engine
    >>> rows = sweep_days(example_engine(), "log", [2, 3], library_fraction=0.5)
    >>> [(r["query_days"], r["acc_overall"]) for r in rows]
    [(2, 1.0), (3, 1.0)]
    """
    reuse = {ev.split.query_days: ev for ev in known}
    base = options.pop("prefix", "eval")
    rows: list[dict] = []
    seconds: list[float] = []
    for t in progress.track(list(days), "Sweeping the query period (days)"):
        if t in reuse:
            rows.append(sweep_row(reuse[t]))
            continue
        guarded, began = Progress(), 0.0
        if budget is not None:
            if not budget.fits(sum(seconds) / len(seconds) if seconds else estimate):
                break
            guarded, began = budget.guard(Progress(), f"the sweep's t = {t}"), budget.clock()
        try:
            ev = evaluate(engine, log_table, query_days=t, prefix=f"{base}_t{t}",
                          progress=guarded, **options)  # fmt: skip
        except BudgetExceededError:
            break
        if budget is not None:
            seconds.append(budget.clock() - began)
        rows.append(sweep_row(ev))
    return rows


def parse_days(text: str) -> list[int]:
    """Parse a sweep of query-period lengths: ``1-10``, ``3,5,7`` or ``5``.

    >>> parse_days("1-3"), parse_days("3,5,7")
    ([1, 2, 3], [3, 5, 7])
    """
    days: list[int] = []
    try:
        for part in text.split(","):
            if "-" in part:
                low, high = (int(p) for p in part.split("-", 1))
                if high < low:
                    raise ValueError
                days.extend(range(low, high + 1))
            else:
                days.append(int(part))
    except ValueError:
        raise ConfigError(
            f"--sweep-days {text!r} is not a list of days; expected e.g. 1-10 or 3,5,7"
        ) from None
    if not days or min(days) < 1:
        raise ConfigError(f"--sweep-days {text!r}: every t must be at least 1 day")
    return sorted(set(days))
