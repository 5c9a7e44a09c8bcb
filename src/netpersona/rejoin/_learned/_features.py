"""Pair features of the learned matcher, vectorised over all (query, candidate) pairs.

Every feature is evidence a person would weigh (issue 8): the paper's similarities, with
density-adaptive variants that never collapse to zero on sparse logs; TF-IDF cosine; rare-site
overlap; time-of-day and day-of-week profiles; visit order; activity volume; the gap between the
candidate going quiet and the query appearing; and the candidate's standing among the query's
candidates (and the query's among the candidate's).
"""

from __future__ import annotations

import dataclasses
import os

import numba
import numpy as np

from netpersona.rejoin._join import run_parallel
from netpersona.rejoin._learned._activity import Activity
from netpersona.rejoin._learned._candidates import (
    FROM_PAPER,
    FROM_QUIET,
    FROM_TFIDF,
    CandidatePairs,
)
from netpersona.rejoin._learned._matches import group_starts
from netpersona.rejoin._learned._side import Side
from netpersona.rejoin._profiles import ProfileArrays
from netpersona.rejoin._steps import (
    Candidates,
    cosine_rows,
    join_weights,
    simi_four_scores,
    simi_one_two,
    simi_three_scores,
    site_hour_means,
)

DAY = 86_400.0
#: visit order (SimiFour) is compared over each user's last this many items: the cost of the
#: common-run search grows with the sequences, dense logs have thousands per user
SEQUENCE_ITEMS = 100
#: ... and only for each query's this many best candidates by TF-IDF cosine (0 for the others)
SEQUENCE_CANDIDATES = 10
#: the gap feature is clipped to this many days either side
GAP_CLIP_DAYS = 60.0

#: feature names, in column order; see :func:`pair_features`
FEATURES = (
    "tfidf_cosine",
    "tfidf_rank",
    "tfidf_rank_reverse",
    "tfidf_z",
    "tfidf_margin_next",
    "tfidf_gap_best",
    "site_jaccard",
    "rare_overlap",
    "rare_jaccard",
    "query_share_on_candidate_sites",
    "candidate_share_on_query_sites",
    "core_jaccard",
    "core_rare_jaccard",
    "simi_one",
    "simi_two",
    "simi_one_two",
    "simi_three",
    "paper_site_hour",
    "simi_four",
    "hour_cosine",
    "dow_cosine",
    "core_site_hour",
    "bigram_jaccard",
    "bigram_shared",
    "events_per_day_ratio",
    "log_query_events",
    "log_candidate_events",
    "gap_days",
    "from_tfidf",
    "from_paper",
    "from_quiet",
    "n_candidates",
)
#: features that do not change when the two users swap sides
SYMMETRIC = (
    "site_jaccard",
    "rare_overlap",
    "rare_jaccard",
    "core_jaccard",
    "core_rare_jaccard",
    "simi_one",
    "simi_two",
    "simi_one_two",
    "simi_three",
    "hour_cosine",
    "dow_cosine",
    "core_site_hour",
    "bigram_jaccard",
    "bigram_shared",
    "events_per_day_ratio",
)
#: features that lie in [0, 1]
UNIT_RANGE = (
    "tfidf_cosine",
    "site_jaccard",
    "rare_jaccard",
    "query_share_on_candidate_sites",
    "candidate_share_on_query_sites",
    "core_jaccard",
    "core_rare_jaccard",
    "simi_one",
    "simi_one_two",
    "simi_three",
    "paper_site_hour",
    "simi_four",
    "hour_cosine",
    "dow_cosine",
    "core_site_hour",
    "bigram_jaccard",
    "events_per_day_ratio",
)


@numba.njit(cache=True, nogil=True)
def _overlap_range(lo, hi, pq, pl, q_indptr, q_ids, q_vals, l_indptr, l_ids, l_vals, weight):
    """:func:`_overlap` of the pairs ``lo:hi``."""
    n = hi - lo
    shared = np.zeros(n)
    w_shared = np.zeros(n)
    q_sum = np.zeros(n)
    l_sum = np.zeros(n)
    for k in range(n):
        a, a_end = q_indptr[pq[lo + k]], q_indptr[pq[lo + k] + 1]
        b, b_end = l_indptr[pl[lo + k]], l_indptr[pl[lo + k] + 1]
        while a < a_end and b < b_end:
            if q_ids[a] < l_ids[b]:
                a += 1
            elif q_ids[a] > l_ids[b]:
                b += 1
            else:
                shared[k] += 1.0
                w_shared[k] += weight[q_ids[a]] if len(weight) else 1.0
                q_sum[k] += q_vals[a]
                l_sum[k] += l_vals[b]
                a += 1
                b += 1
    return shared, w_shared, q_sum, l_sum


def _overlap(pq, pl, q_indptr, q_ids, q_vals, l_indptr, l_ids, l_vals, weight):
    """Per pair over two sorted CSR id sets: shared count, Σ weight over shared ids, and the
    Σ of each side's values over shared ids (``weight`` indexed by id; empty = all ones).
    Chunks of pairs run on all cores (the merge loop releases the GIL)."""
    n = len(pq)
    step = max(4096, -(-n // (4 * (os.cpu_count() or 1))))
    args = (pq, pl, q_indptr, q_ids, q_vals, l_indptr, l_ids, l_vals, weight)
    bounds = [(lo, min(lo + step, n)) for lo in range(0, n, step)] or [(0, 0)]
    parts = list(run_parallel(lambda b: _overlap_range(b[0], b[1], *args), bounds))
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(4))


def _set_sums(indptr: np.ndarray, ids: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Σ weight over each user's set."""
    n = len(indptr) - 1
    rows = np.repeat(np.arange(n), np.diff(indptr))
    return np.bincount(rows, weights=weight[ids] if len(ids) else None, minlength=n)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros(len(num)), where=den > 0)


def _overlap_features(pq, pl, qa: Activity, la: Activity, weight: np.ndarray) -> dict:
    """Site-set features over all sites and over core sites."""
    out = {}
    ones = np.ones(len(weight))
    shared, w_shared, q_events, l_events = _overlap(
        pq, pl, qa.site_indptr, qa.site_ids, qa.site_events,
        la.site_indptr, la.site_ids, la.site_events, weight,
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
        pq, pl, qa.core_indptr, qa.core_ids, dummy_q, la.core_indptr, la.core_ids, dummy_l, weight
    )
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
        la.bigram_indptr, la.bigram_ids, np.zeros(len(la.bigram_ids)), ones[:0],
    )  # fmt: skip
    bq_n, bl_n = np.diff(qa.bigram_indptr)[pq], np.diff(la.bigram_indptr)[pl]
    out["bigram_jaccard"] = _ratio(b_shared, bq_n + bl_n - b_shared)
    out["bigram_shared"] = np.log1p(b_shared)
    return out


def _paper_features(
    pq, pl, qp: ProfileArrays, lp: ProfileArrays, min_run: int, order_mask: np.ndarray
) -> dict:
    """The paper's SimiOne..SimiFour for every pair (however it would have fared in the
    paper's trimming), by the re-join core's own step functions; SimiFour over the last
    :data:`SEQUENCE_ITEMS` items of each sequence, for the pairs of ``order_mask`` only."""
    weight = join_weights(qp, lp)
    zeros_q, zeros_l = np.zeros(len(qp.frequent_sites)), np.zeros(len(lp.frequent_sites))
    shared, w_shared, _, _ = _overlap(
        pq, pl, qp.frequent_indptr, qp.frequent_sites, zeros_q,
        lp.frequent_indptr, lp.frequent_sites, zeros_l, weight,
    )  # fmt: skip
    q_n, l_n = np.diff(qp.frequent_indptr)[pq], np.diff(lp.frequent_indptr)[pl]
    c = Candidates.from_arrays(pq, pl, _ratio(shared, q_n + l_n - shared), w_shared)
    simi_three_scores(c, qp, lp)
    four = simi_four_scores(c.take(order_mask), recent_items(qp), recent_items(lp), min_run)
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


def recent_items(arrays: ProfileArrays, keep: int = SEQUENCE_ITEMS) -> ProfileArrays:
    """The profile set with each item sequence cut to its last ``keep`` items."""
    lengths = np.diff(arrays.sequence_indptr)
    kept = np.minimum(lengths, keep)
    if np.array_equal(kept, lengths):
        return arrays
    indptr = np.zeros(len(kept) + 1, dtype=np.int64)
    np.cumsum(kept, out=indptr[1:])
    stop = np.repeat(arrays.sequence_indptr[1:], kept)
    offset = np.arange(indptr[-1]) - np.repeat(indptr[:-1], kept)
    items = arrays.sequence_items[stop - np.repeat(kept, kept) + offset]
    return dataclasses.replace(arrays, sequence_indptr=indptr, sequence_items=items)


def rank_features(pairs: CandidatePairs, n_library: int) -> dict:
    """The candidate's standing by cosine among the query's candidates and the query's among
    the pairs of the same library user (rank 1 = best; ties share the better rank)."""
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
    np.maximum.at(best, q, cos)
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
    cols.update(rank_features(pairs, library.n_users))
    cols.update(_overlap_features(pq, pl, qa, la, weight))
    near = cols["tfidf_rank"] <= np.log(SEQUENCE_CANDIDATES) + 1e-9
    cols.update(_paper_features(pq, pl, queries.arrays, library.arrays, min_run, near))
    cols["hour_cosine"] = cosine_rows(qa.hour_events[pq], la.hour_events[pl])
    cols["dow_cosine"] = cosine_rows(qa.dow_events[pq], la.dow_events[pl])
    q_rate = _ratio(qa.n_events, qa.online_days)[pq]
    l_rate = _ratio(la.n_events, la.online_days)[pl]
    cols["events_per_day_ratio"] = _ratio(np.minimum(q_rate, l_rate), np.maximum(q_rate, l_rate))
    cols["log_query_events"] = np.log1p(qa.n_events[pq])
    cols["log_candidate_events"] = np.log1p(la.n_events[pl])
    gap = (qa.first_seconds[pq] - la.last_seconds[pl]) / DAY
    cols["gap_days"] = np.clip(np.nan_to_num(gap, nan=GAP_CLIP_DAYS), -GAP_CLIP_DAYS, GAP_CLIP_DAYS)
    cols["from_tfidf"] = ((pairs.source & FROM_TFIDF) > 0).astype(float)
    cols["from_paper"] = ((pairs.source & FROM_PAPER) > 0).astype(float)
    cols["from_quiet"] = ((pairs.source & FROM_QUIET) > 0).astype(float)
    matrix = np.column_stack([np.asarray(cols[name], dtype=np.float64) for name in FEATURES])
    return np.nan_to_num(matrix, nan=0.0, posinf=0.0, neginf=0.0)
