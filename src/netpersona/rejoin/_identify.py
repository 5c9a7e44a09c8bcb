"""Identification of all query users at once: steps 2-6 over the library, MATCHES rows.

Steps 2 and 3 run together per chunk of queries (the step-2 pairs of a chunk are trimmed by
step 3 before the next chunk, so memory stays bounded however many pairs step 2 yields); steps
4-6 run on the few survivors of all queries together.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from netpersona._core import ConfigError, Progress
from netpersona.engine import Engine
from netpersona.rejoin._join import run_parallel
from netpersona.rejoin._matches import (
    MATCH_SCHEMA,
    _extras,
    _matches_table,
    _pair_table,
    _reserve,
    pair_table,
    write_matches_csv,
)
from netpersona.rejoin._profiles import ProfileArrays, Profiles, gather_rows
from netpersona.rejoin._settings import RejoinSettings
from netpersona.rejoin._steps import (
    Candidates,
    Decision,
    decide,
    simi_four_trim,
    simi_one,
    simi_three_trim,
    simi_two_trim,
    top_share_mask,
)

__all__ = [
    "MATCH_SCHEMA",
    "STEP_NAMES",
    "IdentifyResult",
    "StepHooks",
    "identify",
    "identify_arrays",
    "pair_table",
    "write_matches_csv",
]

#: the share of its memory limit the engine keeps while identification holds the profile
#: arrays in this process (the rest goes back: an in-memory database's tables to its temporary
#: folder), so the engine and the arrays together stay within ``--memory-limit``
ENGINE_SHARE = 0.3
STEP_NAMES = ("2_simione", "3_simitwo", "4_simithree", "5_simifour", "6_decision")


@dataclass(frozen=True)
class StepHooks:
    """Where steps 2 and 5 compute their scores; everything else stays here, one implementation.

    ``None`` (the default) computes them here, in numba. An engine that runs them distributed
    (Spark: :func:`netpersona.rejoin._spark_steps.spark_step_hooks`) gives ``simi_one()``: every
    step-2 pair as :class:`Candidates` (row numbers of the loaded arrays, SimiOne and SimiTwo
    filled), and ``simi_four_scores(candidates)``: the same candidates with SimiFour filled.
    """

    simi_one: Callable[[], Candidates] | None = None
    simi_four_scores: Callable[[Candidates], Candidates] | None = None


@dataclass
class IdentifyResult:
    """All queries identified: MATCHES rows, the per-step funnel and timings.

    ``step_candidates`` (when asked for) maps each step name to the (query_user, library_user)
    pairs alive after it, as dictionary-encoded string columns.

    >>> from netpersona.rejoin import build_profiles, identify
    >>> from netpersona.rejoin._examples import example_engine
    >>> engine = example_engine()
    >>> library = build_profiles(engine, "library_log", "library")
    >>> queries = build_profiles(engine, "query_log", "q", reference=library)
    >>> result = identify(engine, library, queries)
    >>> result.n_queries, result.n_library, [s["step"] for s in result.steps][:2]
    (2, 6, ['2_simione', '3_simitwo'])
    """

    matches: pa.Table
    steps: list[dict]
    seconds: float
    settings: RejoinSettings
    n_queries: int
    n_library: int
    step_candidates: dict[str, pa.Table] | None = None
    decision: Decision | None = field(default=None, repr=False)
    #: why each query got its verdict (``Library.identify(..., explain=True)``), as text
    explanations: list[str] = field(default_factory=list, repr=False)
    #: the query profiles identified (set by :meth:`Library.identify`)
    queries: Profiles | None = field(default=None, repr=False)


def identify(
    engine: Engine | None,
    library: Profiles,
    queries: Profiles,
    settings: RejoinSettings = RejoinSettings(),
    top_k: int = 0,
    keep_step_candidates: bool = False,
    progress: Progress = Progress(),
    *,
    threads: int | None = None,
    chunk: int = 256,
    hooks: StepHooks | None = None,
) -> IdentifyResult:
    """Identify every user of ``queries`` against ``library`` with the paper's six steps.

    ``top_k`` adds, per query, up to that many further candidates (``answer`` 0) after the
    output set. ``engine`` is accepted for symmetry with the other calls; the profiles know
    theirs. ``hooks``: where steps 2 and 5 run (default: here; on a Spark engine, its
    distributed join and executors, see :class:`StepHooks`).

    >>> from netpersona.rejoin import build_profiles
    >>> from netpersona.rejoin._examples import example_engine
    >>> engine = example_engine()
    >>> library = build_profiles(engine, "library_log", "library")
    >>> queries = build_profiles(engine, "query_log", "queries", reference=library)
    >>> result = identify(engine, library, queries)
    >>> [(r["query_user"], r["decision"], r["library_user"]) for r in result.matches.to_pylist()]
    [('new_a', 'match', 'a'), ('new_z', 'new', None)]
    """
    if queries.reference != library.name:
        raise ConfigError(
            f"the query profiles {queries.name!r} were not built against the library "
            f"{library.name!r}, so their site codes and V(d) do not match it; build them with "
            "build_profiles(..., reference=library)"
        )
    started = time.perf_counter()
    # the profile arrays live in this process beside the engine: while they do, the engine
    # keeps a share of its memory limit, so that both stay within the limit the user set
    with library.engine.lend_memory(ENGINE_SHARE):
        with progress.step("loading profiles"):
            # item sequences stay in the engine: step 5 fetches the few it needs
            lib = library.arrays(sequences=False)
            qry = queries.arrays(sequences=False)
        return identify_arrays(
            lib,
            qry,
            settings,
            top_k=top_k,
            keep_step_candidates=keep_step_candidates,
            progress=progress,
            threads=threads,
            chunk=chunk,
            started=started,
            hooks=hooks if hooks is not None else _engine_hooks(library, queries, settings),
        )


def _engine_hooks(library: Profiles, queries: Profiles, settings: RejoinSettings) -> StepHooks:
    """The profiles' engine's own steps 2 and 5 (Spark: distributed), else the local ones."""
    if not getattr(library.engine, "distributed", False):
        return StepHooks()
    from netpersona.rejoin._spark_steps import spark_step_hooks

    return spark_step_hooks(library, queries, settings)


def identify_arrays(
    lib: ProfileArrays,
    qry: ProfileArrays,
    settings: RejoinSettings = RejoinSettings(),
    *,
    top_k: int = 0,
    keep_step_candidates: bool = False,
    progress: Progress = Progress(),
    threads: int | None = None,
    chunk: int = 256,
    rows: np.ndarray | None = None,
    started: float | None = None,
    hooks: StepHooks = StepHooks(),
) -> IdentifyResult:
    """:func:`identify` on loaded arrays; ``rows`` limits it to some query rows."""
    started = time.perf_counter() if started is None else started
    s = settings
    threads = threads or os.cpu_count() or 1
    t0 = time.perf_counter()
    rows = np.arange(qry.n_users) if rows is None else np.asarray(rows)
    n_q = len(rows)
    if hooks.simi_one is None:
        lib.join_index(s.jaccard_min, len(qry.site_weight))  # built once per library, kept
        step_two = None
    else:  # step 2 ran on the engine: each chunk takes its queries' pairs
        step_two = _by_row(hooks.simi_one(), rows, qry.n_users)
    index_seconds = time.perf_counter() - t0

    def run_chunk(bounds: tuple[int, int]):
        part = _select_rows(qry, rows[bounds[0] : bounds[1]])
        t = time.perf_counter()
        if step_two is None:
            two = simi_one(part.arrays, lib, s.jaccard_min)
        else:
            two = _chunk_pairs(step_two, bounds)
        t2 = time.perf_counter()
        three = simi_two_trim(two, s.simitwo_keep)
        reserve = _reserve(two, three, top_k) if top_k else Candidates.empty()
        t3 = time.perf_counter()
        for c in (two, three, reserve):
            c.query = part.rows[c.query]
        kept_two = (two.query, two.library) if keep_step_candidates else None
        return len(two), kept_two, three, reserve, t2 - t, t3 - t2

    bounds = [(lo, min(lo + chunk, n_q)) for lo in range(0, n_q, chunk)]
    t0 = time.perf_counter()
    n_two, kept_two, threes, reserves, cpu2, cpu3 = 0, [], [], [], 0.0, 0.0
    results = run_parallel(run_chunk, bounds, threads)
    for n, k2, three, reserve, c2, c3 in progress.track(
        results, "re-join steps 2-3 (SimiOne join, SimiTwo)", total=len(bounds)
    ):
        n_two += n
        threes.append(three)
        reserves.append(reserve)
        cpu2, cpu3 = cpu2 + c2, cpu3 + c3
        if k2 is not None:
            kept_two.append(k2)
    wall = time.perf_counter() - t0
    share2 = cpu2 / (cpu2 + cpu3) if cpu2 + cpu3 > 0 else 1.0
    three = Candidates.concat(threes)
    reserve = Candidates.concat(reserves)
    steps = [
        _step("2_simione", n_two, n_q, index_seconds + wall * share2),
        _step("3_simitwo", len(three), n_q, wall * (1 - share2)),
    ]

    with progress.step("re-join step 4 (SimiThree: hour profiles)"):
        t = time.perf_counter()
        four = simi_three_trim(three, qry, lib, s.hour_cosine_min, s.site_hour_cosine_min)
        steps.append(_step("4_simithree", len(four), n_q, time.perf_counter() - t))
    with progress.step("re-join step 5 (SimiFour: visit order)"):
        t = time.perf_counter()
        if hooks.simi_four_scores is None:
            five = simi_four_trim(four, qry, lib, s.min_run, s.simifour_keep)
        else:
            scored = hooks.simi_four_scores(four)
            five = scored.take(top_share_mask(scored.query, scored.simi_four_raw, s.simifour_keep))
        steps.append(_step("5_simifour", len(five), n_q, time.perf_counter() - t))
    with progress.step("re-join step 6 (decision)"):
        t = time.perf_counter()
        decision = decide(five, qry, lib, s.tie_ratio)
        steps.append(_step("6_decision", int(decision.output.sum()), n_q, time.perf_counter() - t))

    extras = _extras(decision, five, four, three, reserve, qry, lib, s, top_k)
    matches = _matches_table(qry, lib, rows, decision, extras)
    step_candidates = None
    if keep_step_candidates:
        two_q = np.concatenate([k[0] for k in kept_two]) if kept_two else np.zeros(0, np.int32)
        two_l = np.concatenate([k[1] for k in kept_two]) if kept_two else np.zeros(0, np.int32)
        survivors = {
            "2_simione": (two_q, two_l),
            "3_simitwo": (three.query, three.library),
            "4_simithree": (four.query, four.library),
            "5_simifour": (five.query, five.library),
            "6_decision": (
                decision.candidates.query[decision.output],
                decision.candidates.library[decision.output],
            ),
        }
        step_candidates = {name: _pair_table(qry, lib, q, u) for name, (q, u) in survivors.items()}
    return IdentifyResult(
        matches=matches,
        steps=steps,
        seconds=time.perf_counter() - started,
        settings=s,
        n_queries=n_q,
        n_library=lib.n_users,
        step_candidates=step_candidates,
        decision=decision,
    )


def _step(name: str, n: int, n_queries: int, seconds: float) -> dict:
    return {
        "step": name,
        "mean_candidates": n / n_queries if n_queries else 0.0,
        "seconds": float(seconds),
    }


def _by_row(pairs: Candidates, rows: np.ndarray, n_users: int) -> tuple[Candidates, np.ndarray]:
    """Step-2 pairs of the queries in ``rows``, ``query`` renumbered to positions in ``rows``
    and sorted by it (then library), with the start of each position's pairs."""
    position = np.full(n_users, -1, dtype=np.int64)
    position[rows] = np.arange(len(rows))
    at = position[pairs.query]
    pairs = pairs.take(at >= 0)
    at = at[at >= 0]
    order = np.lexsort((pairs.library, at))
    pairs = pairs.take(order)
    pairs.query = at[order].astype(np.int32)
    return pairs, np.searchsorted(pairs.query, np.arange(len(rows) + 1))


def _chunk_pairs(step_two: tuple[Candidates, np.ndarray], bounds: tuple[int, int]) -> Candidates:
    """The pairs of chunk ``bounds`` (positions), ``query`` relative to the chunk's start."""
    pairs, starts = step_two
    part = pairs.take(np.arange(starts[bounds[0]], starts[bounds[1]]))
    part.query = part.query - np.int32(bounds[0])
    return part


@dataclass
class _Rows:
    rows: np.ndarray
    arrays: ProfileArrays


def _select_rows(qry: ProfileArrays, rows: np.ndarray) -> _Rows:
    """A view of some query rows as a small ProfileArrays holding only their frequent sets."""
    indptr, sites = gather_rows(qry.frequent_indptr, qry.frequent_sites, rows)
    view = ProfileArrays(
        user_ids=qry.user_ids,
        online_days=qry.online_days[rows],
        first_ts=qry.first_ts,
        last_ts=qry.last_ts,
        frequent_indptr=indptr,
        frequent_sites=sites,
        site_hours=qry.site_hours[:0],
        hours=qry.hours[:0],
        sequence_indptr=np.zeros(1, dtype=np.int64),
        sequence_items=np.zeros(0, dtype=np.int32),
        site_names=qry.site_names,
        site_weight=qry.site_weight,
    )
    return _Rows(rows.astype(np.int32), view)
