"""Pair features of the learned matcher, vectorised over all (query, candidate) pairs.

Every feature is evidence a person would weigh (issue 8): the paper's similarities, with
density-adaptive variants that never collapse to zero on sparse logs; TF-IDF cosine; rare-site
overlap; time-of-day and day-of-week profiles; visit order; activity volume; the gap between the
candidate going quiet and the query appearing; and the candidate's standing among the query's
candidates (and the query's among the candidate's).
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from netpersona.rejoin._join import chunk_bounds, run_parallel
from netpersona.rejoin._learned._activity import Activity
from netpersona.rejoin._learned._candidates import (
    FROM_PAPER,
    FROM_QUIET,
    FROM_TFIDF,
    CandidatePairs,
)
from netpersona.rejoin._learned._change import change_features
from netpersona.rejoin._learned._feature_names import FEATURES, SYMMETRIC, UNIT_RANGE
from netpersona.rejoin._learned._matches import group_starts
from netpersona.rejoin._learned._side import Side
from netpersona.rejoin._profiles import ProfileArrays
from netpersona.rejoin._steps import (
    Candidates,
    join_weights,
    simi_four_scores,
    simi_one_two,
    simi_three_scores,
    site_hour_means,
)

__all__ = [
    "FEATURES",
    "SYMMETRIC",
    "UNIT_RANGE",
    "pair_features",
    "pair_row_cosines",
    "rank_features",
]

DAY = 86_400.0
#: ... and only for each query's this many best candidates by TF-IDF cosine (0 for the others)
SEQUENCE_CANDIDATES = 10
#: the gap feature is clipped to this many days either side
GAP_CLIP_DAYS = 60.0

#: multiplier of the Fibonacci hash of an id into a table slot (2**64 / golden ratio)
_HASH = np.uint64(0x9E3779B97F4A7C15)
#: table slots per id: a sparse table ends most look-ups at the first slot, which keeps the
#: look-up loop's branches predictable (2x faster than half-full tables on bigrams)
_TABLE_LOAD = 8
#: bits per id of the filter in front of the table (at most 2**16 bits, 8 KB, which stays in
#: the core's first-level cache): most ids a query looks up are not the candidate's, and the
#: filter answers those with one bit (1-3 % false positives) instead of a walk of the table
_FILTER_BITS_PER_ID, _FILTER_MAX_BITS = 32, 1 << 16


@numba.njit(cache=True, nogil=True)
def _overlap_chunk(
    lo, hi, order, pq, pl, q_indptr, q_ids, q_vals, l_indptr, l_ids, l_vals, weight,
    shared, w_shared, q_sum, l_sum,
):  # fmt: skip
    """:func:`_overlap` of the pairs ``order[lo:hi]`` (sorted by library row), written at the
    pairs' own positions. Each library user's ids go once into a small open-addressing hash
    table (id -> position); each of its pairs then looks the query's ids up in it. The query's
    ids are visited in ascending order, as a merge of the two sorted lists would meet them, so
    the sums add up in the same order."""
    weighted = len(weight) > 0
    keys = np.empty(0, dtype=np.int64)
    slots = np.empty(0, dtype=np.int64)
    seen = np.zeros(_FILTER_MAX_BITS // 64, dtype=np.uint64)
    shift = np.uint64(63)
    f_shift = np.uint64(63)
    current = -1
    for j in range(lo, hi):
        e = order[j]
        lib = pl[e]
        b, b_end = l_indptr[lib], l_indptr[lib + 1]
        if lib != current:  # a new library user: fill its table
            current = lib
            bits = 1
            while (1 << bits) < _TABLE_LOAD * (b_end - b):
                bits += 1
            size = 1 << bits
            if len(keys) < size:
                keys = np.empty(size, dtype=np.int64)
                slots = np.empty(size, dtype=np.int64)
            keys[:size] = -1
            shift = np.uint64(64 - bits)
            f_bits = 6
            while (1 << f_bits) < _FILTER_BITS_PER_ID * (b_end - b) and (
                (1 << f_bits) < _FILTER_MAX_BITS
            ):
                f_bits += 1
            f_shift = np.uint64(64 - f_bits)
            seen[: (1 << f_bits) // 64] = 0
            for i in range(b, b_end):
                mixed = np.uint64(l_ids[i]) * _HASH
                bit = mixed >> f_shift
                seen[bit >> np.uint64(6)] |= np.uint64(1) << (bit & np.uint64(63))
                h = np.int64(mixed >> shift)
                while keys[h] != -1:
                    h = (h + 1) & (size - 1)
                keys[h] = l_ids[i]
                slots[h] = i
        if b_end == b:
            continue
        mask = (1 << np.int64(64 - shift)) - 1
        for a in range(q_indptr[pq[e]], q_indptr[pq[e] + 1]):
            key = q_ids[a]
            mixed = np.uint64(key) * _HASH
            bit = mixed >> f_shift
            if not (seen[bit >> np.uint64(6)] >> (bit & np.uint64(63))) & np.uint64(1):
                continue  # surely not one of the candidate's ids
            h = np.int64(mixed >> shift)
            while keys[h] != -1 and keys[h] != key:
                h = (h + 1) & mask
            if keys[h] == key:
                i = slots[h]
                shared[e] += 1.0
                w_shared[e] += weight[key] if weighted else 1.0
                q_sum[e] += q_vals[a]
                l_sum[e] += l_vals[i]


def _overlap(pq, pl, q_indptr, q_ids, q_vals, l_indptr, l_ids, l_vals, weight, order=None):
    """Per pair over two CSR id sets (ids unique and sorted within each row): shared count,
    Σ weight over shared ids, and the Σ of each side's values over shared ids (``weight``
    indexed by id; empty = all ones). Pairs are taken grouped by library user (see
    :func:`_overlap_chunk`), in chunks on all cores (the loop releases the GIL); ``order``:
    the pairs by library row (``np.argsort(pl, kind="stable")``, computed when not given)."""
    n = len(pq)
    out = tuple(np.zeros(n) for _ in range(4))
    order = np.argsort(pl, kind="stable") if order is None else order
    args = (order, pq, pl, q_indptr, q_ids, q_vals, l_indptr, l_ids, l_vals, weight, *out)
    for _ in run_parallel(lambda b: _overlap_chunk(b[0], b[1], *args), chunk_bounds(n)):
        pass
    return out


@numba.njit(cache=True, nogil=True)
def _row_cosines_range(lo, hi, pq, pl, x, y, out):
    for e in range(lo, hi):
        dot = xx = yy = 0.0
        for j in range(x.shape[1]):
            a, b = x[pq[e], j], y[pl[e], j]
            dot += a * b
            xx += a * a
            yy += b * b
        norm = np.sqrt(xx * yy)
        out[e] = min(max(dot / norm, 0.0), 1.0) if norm > 0 else 0.0


def pair_row_cosines(pq: np.ndarray, pl: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cosine of row ``pq[e]`` of ``x`` and row ``pl[e]`` of ``y`` for every pair ``e`` (as
    :func:`netpersona.rejoin._steps.cosine_rows` without gathering the rows), on all cores."""
    n = len(pq)
    out = np.zeros(n)
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    work = lambda b: _row_cosines_range(b[0], b[1], pq, pl, x, y, out)  # noqa: E731
    for _ in run_parallel(work, chunk_bounds(n)):
        pass
    return out


def _set_sums(indptr: np.ndarray, ids: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Σ weight over each user's set."""
    n = len(indptr) - 1
    rows = np.repeat(np.arange(n), np.diff(indptr))
    return np.bincount(rows, weights=weight[ids] if len(ids) else None, minlength=n)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros(len(num)), where=den > 0)


def _overlap_features(pq, pl, qa: Activity, la: Activity, weight: np.ndarray, order) -> dict:
    """Site-set features over all sites and over core sites (``order``: the pairs by library
    row)."""
    out = {}
    ones = np.ones(len(weight))
    shared, w_shared, q_events, l_events = _overlap(
        pq, pl, qa.site_indptr, qa.site_ids, qa.site_events,
        la.site_indptr, la.site_ids, la.site_events, weight, order,
    )  # fmt: skip
    q_n, l_n = np.diff(qa.site_indptr)[pq], np.diff(la.site_indptr)[pl]
    q_w = _set_sums(qa.site_indptr, qa.site_ids, weight)[pq]
    l_w = _set_sums(la.site_indptr, la.site_ids, weight)[pl]
    out["site_jaccard"] = _ratio(shared, q_n + l_n - shared)
    out["rare_overlap"] = w_shared
    out["rare_jaccard"] = np.clip(_ratio(w_shared, q_w + l_w - w_shared), 0.0, 1.0)
    out["query_share_on_candidate_sites"] = np.clip(_ratio(q_events, qa.n_events[pq]), 0, 1)
    out["candidate_share_on_query_sites"] = np.clip(_ratio(l_events, la.n_events[pl]), 0, 1)
    dummy_q, dummy_l = np.zeros(len(qa.core_ids)), np.zeros(len(la.core_ids))
    c_shared, c_w, _, _ = _overlap(
        pq, pl, qa.core_indptr, qa.core_ids, dummy_q, la.core_indptr, la.core_ids, dummy_l,
        weight, order,
    )  # fmt: skip
    cq_n, cl_n = np.diff(qa.core_indptr)[pq], np.diff(la.core_indptr)[pl]
    cq_w = _set_sums(qa.core_indptr, qa.core_ids, weight)[pq]
    cl_w = _set_sums(la.core_indptr, la.core_ids, weight)[pl]
    out["core_jaccard"] = _ratio(c_shared, cq_n + cl_n - c_shared)
    out["core_rare_jaccard"] = np.clip(_ratio(c_w, cq_w + cl_w - c_w), 0.0, 1.0)
    out["core_site_hour"] = site_hour_means(
        pq, pl, qa.core_indptr, qa.core_ids, qa.core_hours, la.core_indptr, la.core_ids,
        la.core_hours,
    )  # fmt: skip
    b_shared, _, _, _ = _overlap(
        pq, pl, qa.bigram_indptr, qa.bigram_ids, np.zeros(len(qa.bigram_ids)),
        la.bigram_indptr, la.bigram_ids, np.zeros(len(la.bigram_ids)), ones[:0], order,
    )  # fmt: skip
    bq_n, bl_n = np.diff(qa.bigram_indptr)[pq], np.diff(la.bigram_indptr)[pl]
    out["bigram_jaccard"] = _ratio(b_shared, bq_n + bl_n - b_shared)
    out["bigram_shared"] = np.log1p(b_shared)
    out["_shared"], out["_w_shared"] = shared, w_shared  # for the identity-change features
    return out


def _paper_features(
    pq, pl, queries: Side, library: Side, min_run: int, order_mask: np.ndarray, order=None
) -> dict:
    """The paper's SimiOne..SimiFour for every pair (however it would have fared in the
    paper's trimming), by the re-join core's own step functions; SimiFour over the last
    :data:`SEQUENCE_ITEMS` items of each sequence (kept with the sides' activity), for the
    pairs of ``order_mask`` only."""
    qp, lp = queries.arrays, library.arrays
    weight = join_weights(qp, lp)
    zeros_q, zeros_l = np.zeros(len(qp.frequent_sites)), np.zeros(len(lp.frequent_sites))
    shared, w_shared, _, _ = _overlap(
        pq, pl, qp.frequent_indptr, qp.frequent_sites, zeros_q,
        lp.frequent_indptr, lp.frequent_sites, zeros_l, weight, order,
    )  # fmt: skip
    q_n, l_n = np.diff(qp.frequent_indptr)[pq], np.diff(lp.frequent_indptr)[pl]
    c = Candidates.from_arrays(pq, pl, _ratio(shared, q_n + l_n - shared), w_shared)
    simi_three_scores(c, qp, lp)
    four = simi_four_scores(c.take(order_mask), _recent(queries), _recent(library), min_run)
    c.simi_four = np.zeros(len(c))
    c.simi_four[order_mask] = four.simi_four
    return {
        "simi_one": c.simi_one,
        "simi_two": c.simi_two,
        "simi_one_two": np.clip(simi_one_two(c, qp, lp), 0.0, 1.0),
        "simi_three": c.simi_three,
        "paper_site_hour": c.site_hour,
        "simi_four": np.clip(c.simi_four, 0.0, 1.0),
    }


def _recent(side: Side) -> ProfileArrays:
    """The side's profile arrays with the last :data:`SEQUENCE_ITEMS` items as sequences."""
    a = side.activity
    return dataclasses.replace(side.arrays, sequence_indptr=a.recent_indptr,
                               sequence_items=a.recent_items)  # fmt: skip


def rank_features(pairs: CandidatePairs, n_library: int) -> dict:
    """The candidate's standing by cosine among the query's candidates and the query's among
    the pairs of the same library user (rank 1 = best; equal cosines are ranked by the other
    side's id, so every rank is distinct and the result does not depend on the pairs' order)."""
    q, lib, cos = pairs.query, pairs.library, pairs.cosine
    n = len(q)
    out = {}
    order = np.lexsort((lib, -cos, q))
    starts = group_starts(q[order])
    rank = np.empty(n)
    rank[order] = np.arange(n) - starts + 1
    out["tfidf_rank"] = np.log(rank)
    r_order = np.lexsort((q, -cos, lib))
    r_starts = group_starts(lib[r_order])
    reverse = np.empty(n)
    reverse[r_order] = np.arange(n) - r_starts + 1
    out["tfidf_rank_reverse"] = np.log(reverse)
    counts = np.bincount(q, minlength=q.max() + 1 if n else 0)
    sums = np.bincount(q, weights=cos, minlength=len(counts))
    squares = np.bincount(q, weights=cos**2, minlength=len(counts))
    mean = _ratio(sums, counts.astype(float))
    std = np.sqrt(np.maximum(_ratio(squares, counts.astype(float)) - mean**2, 0.0))
    out["tfidf_z"] = np.divide(cos - mean[q], std[q], out=np.zeros(n), where=std[q] > 1e-12)
    sorted_cos = cos[order]
    nxt = np.r_[sorted_cos[1:], 0.0]
    last = np.r_[q[order][1:] != q[order][:-1], True]
    nxt[last] = 0.0
    margin = np.empty(n)
    margin[order] = sorted_cos - nxt
    out["tfidf_margin_next"] = margin
    best = np.zeros(len(counts))
    first = np.flatnonzero(np.arange(n) == starts) if n else np.zeros(0, dtype=np.int64)
    best[q[order][first]] = sorted_cos[first]  # each query's first pair in cosine order
    out["tfidf_gap_best"] = best[q] - cos
    out["n_candidates"] = np.log(counts[q].astype(float))
    return out


def pair_features(
    pairs: CandidatePairs, queries: Side, library: Side, min_run: int = 2
) -> np.ndarray:
    """The feature matrix (pairs x :data:`FEATURES`), float64, no NaN."""
    pq, pl = pairs.query.astype(np.int64), pairs.library.astype(np.int64)
    qa, la = queries.activity, library.activity
    weight = join_weights(queries.arrays, library.arrays)
    cols: dict[str, np.ndarray] = {"tfidf_cosine": pairs.cosine}
    by_library = np.argsort(pl, kind="stable")  # every set overlap walks the pairs so

    def ranks_then_paper() -> dict:
        # rank features are sorts (one core); the paper's need the ranks for SimiFour's pairs
        out = rank_features(pairs, library.n_users)
        near = out["tfidf_rank"] <= np.log(SEQUENCE_CANDIDATES) + 1e-9
        out.update(_paper_features(pq, pl, queries, library, min_run, near, by_library))
        return out

    # the two groups run side by side: each is partly single-threaded NumPy (which releases
    # the GIL), partly compiled loops on all cores
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(ranks_then_paper)
        cols.update(_overlap_features(pq, pl, qa, la, weight, by_library))
        cols.update(first.result())
    cols["hour_cosine"] = pair_row_cosines(pq, pl, qa.hour_events, la.hour_events)
    cols["dow_cosine"] = pair_row_cosines(pq, pl, qa.dow_events, la.dow_events)
    q_rate = _ratio(qa.n_events, qa.online_days)[pq]
    l_rate = _ratio(la.n_events, la.online_days)[pl]
    cols["events_per_day_ratio"] = _ratio(np.minimum(q_rate, l_rate), np.maximum(q_rate, l_rate))
    cols["log_query_events"] = np.log1p(qa.n_events[pq])
    cols["log_candidate_events"] = np.log1p(la.n_events[pl])
    gap = (qa.first_seconds[pq] - la.last_seconds[pl]) / DAY
    cols["gap_days"] = np.clip(np.nan_to_num(gap, nan=GAP_CLIP_DAYS), -GAP_CLIP_DAYS, GAP_CLIP_DAYS)
    cols.update(change_features(pq, pl, qa, la, cols.pop("_shared"), cols.pop("_w_shared")))
    cols["from_tfidf"] = ((pairs.source & FROM_TFIDF) > 0).astype(float)
    cols["from_paper"] = ((pairs.source & FROM_PAPER) > 0).astype(float)
    cols["from_quiet"] = ((pairs.source & FROM_QUIET) > 0).astype(float)
    # filled a column at a time (contiguous in Fortran order: 20x faster than strided writes
    # into rows), cleaned (NaN and infinities are 0), then laid out by rows in one copy
    matrix = np.empty((len(pq), len(FEATURES)), order="F")
    for j, name in enumerate(FEATURES):
        matrix[:, j] = cols[name]
    matrix[~np.isfinite(matrix)] = 0.0
    return np.ascontiguousarray(matrix)
