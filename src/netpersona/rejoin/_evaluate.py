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
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from netpersona._core import ConfigError, Progress
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
from netpersona.rejoin._protocol import Split, drop_tables, fetch_truth, split_log

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
#: the accuracy keys, in the order the JSON and the reports show them
ACCURACY_KEYS = (
    "acc_absent",
    "acc_present",
    "acc_present_any",
    "acc_overall",
    "balanced_accuracy",
    "rank1_present",
)
DECISIONS = ("match", "ambiguous", "new")


# --------------------------------------------------------------------------------------------
# scoring a MATCHES table against the truth


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _per_query(matches: pa.Table) -> dict[str, dict]:
    """Group MATCHES rows by query: its decision, its outputs in rank order, its top candidate."""
    queries: dict[str, dict] = defaultdict(lambda: {"decision": None, "outputs": [], "top": None})
    cols = [
        matches.column(name).to_pylist()
        for name in ("query_user", "decision", "rank", "library_user", "answer")
    ]
    rows = sorted(zip(*cols, strict=True), key=lambda r: (r[0], r[2] if r[2] is not None else 0))
    for query, decision, rank, library_user, answer in rows:
        entry = queries[query]
        if decision not in DECISIONS:
            raise ValueError(
                f"query {query!r} has decision {decision!r}; expected one of {DECISIONS}"
            )
        if entry["decision"] not in (None, decision):
            raise ValueError(
                f"query {query!r} has two decisions ({entry['decision']!r}, {decision!r}); "
                "a query's verdict must be the same on all its rows"
            )
        entry["decision"] = decision
        if library_user is None or rank is None or rank < 1:
            continue
        if rank == 1:
            entry["top"] = library_user
        if answer == 1:
            entry["outputs"].append(library_user)
    return dict(queries)


def score_matches(matches: pa.Table, truth: pa.Table) -> dict:
    """The accuracies of ``matches`` (MATCHES.csv columns) against ``truth``
    (``query_user, true_user, in_library``).

    A present query is right only when the true user is the *first* output of its verdict
    (SPEC A); ``acc_present_any`` also accepts it anywhere in an ambiguous output; an absent
    query is right when answered ``new``; ``rank1_present`` asks only whether the true user is
    the rank-1 candidate, whatever the verdict. An accuracy with nothing to count is ``None``;
    ``balanced_accuracy`` is the mean of the absent and present accuracies that exist.
    """
    per_query = _per_query(matches)
    truth_rows = truth.select(["query_user", "true_user", "in_library"]).to_pylist()
    stray = set(per_query) - {row["query_user"] for row in truth_rows}
    if stray:
        raise ValueError(f"{len(stray)} query user(s) in the matches are not in the truth table")
    right_absent = right_present = right_any = right_rank1 = n_absent = 0
    decisions = dict.fromkeys(DECISIONS, 0)
    for row in truth_rows:
        entry = per_query.get(row["query_user"])
        if entry is None:
            raise ValueError(
                f"query user {row['query_user']!r} is missing from the matches; every query "
                "must appear (a query with no candidate has one row with decision 'new')"
            )
        decisions[entry["decision"]] += 1
        if not row["in_library"]:
            n_absent += 1
            right_absent += entry["decision"] == "new"
            continue
        outputs = entry["outputs"] if entry["decision"] != "new" else []
        right_present += bool(outputs) and outputs[0] == row["true_user"]
        right_any += row["true_user"] in outputs
        right_rank1 += entry["top"] == row["true_user"]
    n_queries = len(truth_rows)
    n_present = n_queries - n_absent
    acc_absent = _ratio(right_absent, n_absent)
    acc_present = _ratio(right_present, n_present)
    defined = [a for a in (acc_absent, acc_present) if a is not None]
    return {
        "acc_absent": acc_absent,
        "acc_present": acc_present,
        "acc_present_any": _ratio(right_any, n_present),
        "acc_overall": _ratio(right_absent + right_present, n_queries),
        "balanced_accuracy": sum(defined) / len(defined) if defined else None,
        "rank1_present": _ratio(right_rank1, n_present),
        "n_queries": n_queries,
        "n_present": n_present,
        "n_absent": n_absent,
        "decisions": decisions,
    }


def output_candidates(matches: pa.Table) -> pa.Table:
    """The verdicts' output sets as ``query_user, library_user`` pairs: what survives step 6
    (rows with ``answer`` 1 of queries not answered "new")."""
    import pyarrow.compute as pc

    keep = pc.and_(
        pc.equal(matches.column("answer"), 1), pc.not_equal(matches.column("decision"), "new")
    )
    return matches.filter(keep).select(["query_user", "library_user"])


def candidate_recall(candidates: pa.Table, truth: pa.Table) -> tuple[float, float | None]:
    """Mean candidates per query, and the share of present queries whose true user is still a
    candidate (``candidates``: ``query_user, library_user`` pairs)."""
    present = truth.filter(truth.column("in_library")).select(["query_user", "true_user"])
    pairs = pa.table(
        {  # plain strings: a method may hand over dictionary-encoded columns
            name: candidates.column(name).cast(pa.string())
            for name in ("query_user", "library_user")
        }
    )
    found = pairs.join(
        present.rename_columns(["query_user", "library_user"]),
        keys=["query_user", "library_user"],
        join_type="inner",
    )
    n_found = len(set(found.column("query_user").to_pylist()))
    mean = pairs.num_rows / truth.num_rows if truth.num_rows else 0.0
    return mean, _ratio(n_found, present.num_rows)


# --------------------------------------------------------------------------------------------
# the evaluation


@dataclass
class Evaluation:
    """One run of the protocol: the metrics (the JSON keys), the split, and what was scored."""

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

    def to_json(self) -> dict:
        """The JSON document of ``evaluate --json``."""
        doc = dict(self.metrics)
        doc["method"] = self.method
        doc["protocol"] = self.split.describe()
        doc["settings"] = settings_dict(self.settings)
        if self.sweep:
            doc["sweep"] = self.sweep
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
) -> Evaluation:
    """The paper's protocol on ``log_table`` (canonical ``user_id, ts, site``).

    The last ``query_days`` days of ``window`` (default: the whole log) are the query period;
    a random ``library_fraction`` of the users active before it form the library; every user
    active in the query period is a query under a fresh id. ``top_k`` candidates are kept per
    query so that ``rank1_present`` is defined for "new" verdicts too. The split's tables
    (``<prefix>_*``) are dropped afterwards unless ``keep_tables``.
    """
    matcher = get_method(method)
    with progress.step(f"Cutting the log: last {query_days} day(s) are the queries"):
        split = split_log(
            engine,
            log_table,
            query_days=query_days,
            library_fraction=library_fraction,
            seed=seed,
            window=window,
            prefix=prefix,
        )
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
    **options: Any,
) -> list[dict]:
    """Accuracy vs t: :func:`evaluate` once per query-period length in ``days`` (the paper
    swept t and chose 5, where accuracy stops rising). ``known`` evaluations are reused for
    their t; ``options`` are :func:`evaluate`'s."""
    reuse = {ev.split.query_days: ev for ev in known}
    base = options.pop("prefix", "eval")
    rows = []
    for t in progress.track(list(days), "Sweeping the query period (days)"):
        if t in reuse:
            rows.append(sweep_row(reuse[t]))
        else:
            ev = evaluate(engine, log_table, query_days=t, prefix=f"{base}_t{t}", **options)
            rows.append(sweep_row(ev))
    return rows


def parse_days(text: str) -> list[int]:
    """Parse a sweep of query-period lengths: ``1-10``, ``3,5,7`` or ``5``."""
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
