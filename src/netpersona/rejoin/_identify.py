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
import pyarrow.compute as pc

from netpersona._core import ConfigError, Progress
from netpersona.engine import Engine
from netpersona.rejoin._join import JaccardIndex, run_parallel
from netpersona.rejoin._profiles import ProfileArrays, Profiles, gather_rows
from netpersona.rejoin._settings import RejoinSettings
from netpersona.rejoin._steps import (
    Candidates,
    Decision,
    decide,
    join_weights,
    simi_four_scores,
    simi_four_trim,
    simi_one,
    simi_three_scores,
    simi_three_trim,
    simi_two_trim,
    top_share_mask,
    total_similarity,
)

STEP_NAMES = ("2_simione", "3_simitwo", "4_simithree", "5_simifour", "6_decision")

MATCH_SCHEMA = pa.schema(
    [
        ("query_user", pa.string()),
        ("decision", pa.string()),
        ("rank", pa.int32()),
        ("library_user", pa.string()),
        ("score", pa.float64()),
        ("answer", pa.int8()),
        ("simi_one", pa.float64()),
        ("simi_two", pa.float64()),
        ("simi_three", pa.float64()),
        ("simi_four", pa.float64()),
    ]
)


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
    """
    if queries.reference != library.name:
        raise ConfigError(
            f"the query profiles {queries.name!r} were not built against the library "
            f"{library.name!r}, so their site codes and V(d) do not match it; build them with "
            "build_profiles(..., reference=library)"
        )
    started = time.perf_counter()
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
    if getattr(library.engine, "dialect", "duckdb") != "spark":
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
        weights = join_weights(qry, lib)
        index = JaccardIndex(lib.frequent_indptr, lib.frequent_sites, s.jaccard_min, len(weights))
        step_two = None
    else:  # step 2 ran on the engine: each chunk takes its queries' pairs
        step_two = _by_row(hooks.simi_one(), rows, qry.n_users)
    index_seconds = time.perf_counter() - t0

    def run_chunk(bounds: tuple[int, int]):
        part = _select_rows(qry, rows[bounds[0] : bounds[1]])
        t = time.perf_counter()
        if step_two is None:
            two = simi_one(part.arrays, lib, s.jaccard_min, index=index)
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


def _reserve(two: Candidates, three: Candidates, top_k: int) -> Candidates:
    """Per query, the ``top_k`` best step-2 candidates step 3 dropped (by SimiTwo, SimiOne)."""
    key2 = two.query.astype(np.int64) << 32 | two.library.astype(np.int64)
    key3 = three.query.astype(np.int64) << 32 | three.library.astype(np.int64)
    dropped = two.take(~np.isin(key2, key3))
    order = np.lexsort((dropped.library, -dropped.simi_one, -dropped.simi_two, dropped.query))
    dropped = dropped.take(order)
    return dropped.take(_first_k_per_group(dropped.query, top_k))


def _first_k_per_group(query: np.ndarray, k: int) -> np.ndarray:
    if len(query) == 0:
        return np.zeros(0, dtype=bool)
    starts = np.flatnonzero(np.r_[True, query[1:] != query[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(query)]))
    return (np.arange(len(query)) - group_start) < k


def _extras(
    decision: Decision,
    five: Candidates,
    four: Candidates,
    three: Candidates,
    reserve: Candidates,
    qry: ProfileArrays,
    lib: ProfileArrays,
    s: RejoinSettings,
    top_k: int,
) -> tuple[Candidates, np.ndarray]:
    """Up to ``top_k`` more candidates per query beyond the output set, best first.

    "Best" = furthest through the steps (step-5 survivors not output, then dropped at step 5,
    at step 4, at step 3), then by total similarity S within a stage.
    """
    if top_k <= 0:
        return Candidates.empty(), np.zeros(0)
    not_output = decision.candidates.take(~decision.output)

    def minus(a: Candidates, b: Candidates) -> Candidates:
        ka = a.query.astype(np.int64) << 32 | a.library.astype(np.int64)
        kb = b.query.astype(np.int64) << 32 | b.library.astype(np.int64)
        return a.take(~np.isin(ka, kb))

    stages = [
        (not_output, 4),
        (minus(four, five), 3),
        (minus(three, four), 2),
        (reserve, 1),
    ]
    pool = Candidates.concat([c for c, _ in stages])
    stage = np.concatenate([np.full(len(c), st) for c, st in stages])
    if len(pool) == 0:
        return pool, np.zeros(0)
    # stages rank first: a query's candidates in a stage below the one that fills its top_k
    # cannot be shown, so their similarities are never computed
    pool, stage = _reachable(pool, stage, top_k)
    missing3 = np.isnan(pool.simi_three)
    if missing3.any():
        part = simi_three_scores(pool.take(missing3), qry, lib)
        pool.simi_three[missing3], pool.site_hour[missing3] = part.simi_three, part.site_hour
    missing4 = np.isnan(pool.simi_four)
    if missing4.any():
        part = simi_four_scores(pool.take(missing4), qry, lib, s.min_run)
        pool.simi_four[missing4], pool.simi_four_raw[missing4] = part.simi_four, part.simi_four_raw
    score = total_similarity(pool, qry, lib)
    order = np.lexsort((pool.library, -score, -stage, pool.query))
    pool, score = pool.take(order), score[order]
    keep = _first_k_per_group(pool.query, top_k)
    return pool.take(keep), score[keep]


def _reachable(pool: Candidates, stage: np.ndarray, top_k: int) -> tuple[Candidates, np.ndarray]:
    """The candidates that may still be among a query's ``top_k`` extras: those of stages
    whose better stages hold fewer than ``top_k`` of the query's candidates."""
    order = np.lexsort((-stage, pool.query))
    query, st = pool.query[order], stage[order]
    # per (query, stage) group: how many of the query's candidates sit in better stages
    new_group = np.r_[True, (query[1:] != query[:-1]) | (st[1:] != st[:-1])]
    new_query = np.r_[True, query[1:] != query[:-1]]
    position = np.arange(len(query))
    query_start = np.maximum.accumulate(np.where(new_query, position, 0))
    group_start = np.maximum.accumulate(np.where(new_group, position, 0))
    keep = order[(group_start - query_start) < top_k]
    return pool.take(np.sort(keep)), stage[np.sort(keep)]


def _matches_table(
    qry: ProfileArrays,
    lib: ProfileArrays,
    rows: np.ndarray,
    decision: Decision,
    extras: tuple[Candidates, np.ndarray],
) -> pa.Table:
    """MATCHES rows: per query its output set (answer 1), extras (answer 0), or a rank-0 row."""
    out = decision.candidates.take(decision.output)
    out_score = decision.score[decision.output]
    extra, extra_score = extras
    n_out = np.bincount(out.query, minlength=qry.n_users)
    all_c = Candidates.concat([out, extra])
    score = np.concatenate([out_score, extra_score])
    answer = np.concatenate([np.ones(len(out), np.int8), np.zeros(len(extra), np.int8)])
    # queries with no row at all get one rank-0 row
    has_row = np.zeros(qry.n_users, dtype=bool)
    has_row[all_c.query] = True
    lonely = rows[~has_row[rows]].astype(np.int32)
    query = np.concatenate([all_c.query, lonely])
    library = np.concatenate([all_c.library, np.full(len(lonely), -1, np.int32)])
    nan = np.full(len(lonely), np.nan)
    score = np.concatenate([score, nan])
    answer = np.concatenate([answer, np.zeros(len(lonely), np.int8)])
    sims = {
        name: np.concatenate([getattr(all_c, name), nan])
        for name in ("simi_one", "simi_two", "simi_three", "simi_four")
    }
    # order: query, then output set before extras, then the order they were ranked in
    position = np.arange(len(query))
    order = np.lexsort((position, query))
    query, library, score, answer = query[order], library[order], score[order], answer[order]
    sims = {k: v[order] for k, v in sims.items()}
    starts = np.flatnonzero(np.r_[True, query[1:] != query[:-1]]) if len(query) else []
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(query)])) if len(query) else []
    rank = (np.arange(len(query)) - group_start + 1).astype(np.int32)
    rank[library < 0] = 0
    count = n_out[query]
    labels = np.array(["new", "match", "ambiguous"], dtype=object)
    decision_text = labels[np.minimum(count, 2)]
    lib_ids = lib.user_ids.take(pa.array(np.where(library < 0, 0, library)))
    lib_ids = pc.if_else(pa.array(library < 0), pa.nulls(len(query), pa.string()), lib_ids)
    valid = library >= 0
    return pa.table(
        {
            "query_user": qry.user_ids.take(pa.array(query)),
            "decision": pa.array(decision_text.tolist(), pa.string()),
            "rank": pa.array(rank, pa.int32()),
            "library_user": lib_ids,
            "score": pa.array(score, pa.float64(), mask=~valid),
            "answer": pa.array(answer, pa.int8()),
            **{k: pa.array(v, pa.float64(), mask=~valid) for k, v in sims.items()},
        },
        schema=MATCH_SCHEMA,
    )


def _pair_table(qry: ProfileArrays, lib: ProfileArrays, q: np.ndarray, u: np.ndarray) -> pa.Table:
    """(query_user, library_user) as dictionary-encoded strings (cheap for millions of pairs)."""
    return pa.table(
        {
            "query_user": pa.DictionaryArray.from_arrays(pa.array(q, pa.int32()), qry.user_ids),
            "library_user": pa.DictionaryArray.from_arrays(pa.array(u, pa.int32()), lib.user_ids),
        }
    )


#: (query_user, library_user) of coded candidate pairs, for other matchers' funnels
pair_table = _pair_table


def write_matches_csv(matches: pa.Table, path, force: bool = False):
    """Write MATCHES rows to ``path`` as CSV, atomically, refusing to overwrite unless
    ``force``. Missing values (the rank-0 row of a query without candidates) are empty."""
    import pyarrow.csv as pacsv

    from netpersona.io import atomic_output

    with atomic_output(path, force=force) as tmp:
        pacsv.write_csv(
            matches.cast(MATCH_SCHEMA),
            tmp,
            write_options=pacsv.WriteOptions(quoting_style="needed"),
        )
    return path
