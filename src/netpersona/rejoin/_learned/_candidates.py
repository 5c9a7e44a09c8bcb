"""Candidates for the learned matcher: who in the library could a query user be?

Three sources, united per query:

- **TF-IDF top-k**: the ``k`` library users with the highest cosine between TF-IDF vectors of
  site counts (sublinear tf = 1 + ln(count), idf over the library), exact, as blocked sparse
  matrix products over all queries at once. Ties at the k-th place go to the lower library row.
- **the paper's step 2**: library users whose frequent-site Jaccard passes ``jaccard_min``
  (the exact join of :func:`netpersona.rejoin._steps.simi_one`), the best ``k`` by SimiTwo.
- **quiet users**: the ``quiet`` library users whose last activity is the latest before the
  query user's first (a re-joiner's old number goes quiet when the new one starts).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numba
import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from netpersona.rejoin._join import chunk_bounds, run_parallel
from netpersona.rejoin._learned._activity import Activity
from netpersona.rejoin._profiles import ProfileArrays
from netpersona.rejoin._settings import RejoinSettings
from netpersona.rejoin._steps import simi_one

#: dense score cells per block of the blocked product (bounds memory: 8 bytes each)
BLOCK_CELLS = 4_000_000
#: sites visited by at least this share of the library (at most DENSE_MAX of them, the most
#: visited) are multiplied as dense matrices (BLAS) and the rest as sparse ones: a sparse
#: product pays per pair of users sharing a site, which for the few sites nearly everyone
#: visits is every pair; the sum is the same cosine
DENSE_SHARE, DENSE_MAX = 0.4, 2_048
#: bit flags in :attr:`CandidatePairs.source`
FROM_TFIDF, FROM_PAPER, FROM_QUIET = 1, 2, 4


def idf_weights(library: Activity, n_codes: int) -> np.ndarray:
    """idf(d) = ln((1 + N) / (1 + df(d))) + 1, df over the library (smooth, never zero)."""
    df = np.bincount(library.site_ids, minlength=n_codes)[:n_codes].astype(np.float64)
    return np.log((1.0 + library.n_users) / (1.0 + df)) + 1.0


def tfidf_matrix(activity: Activity, idf: np.ndarray) -> sp.csr_matrix:
    """Users x site codes, sublinear tf times idf, rows L2-normalised (empty rows stay zero)."""
    values = (1.0 + np.log(np.maximum(activity.site_events, 1.0))) * idf[activity.site_ids]
    rows = np.repeat(np.arange(activity.n_users), np.diff(activity.site_indptr))
    norms = np.sqrt(np.bincount(rows, weights=values**2, minlength=activity.n_users))
    values = values / np.where(norms > 0, norms, 1.0)[rows]
    return sp.csr_matrix(
        (values, activity.site_ids, activity.site_indptr), shape=(activity.n_users, len(idf))
    )


@dataclass
class TopK:
    """Per query (grouped, rank order) its best library rows by cosine; only cosine > 0."""

    query: np.ndarray
    library: np.ndarray
    cosine: np.ndarray
    rank: np.ndarray


#: cosines closer than this are a tie (the dense part is a BLAS product, which can round two
#: identical library users' columns differently in the last bit)
TIE = 1e-12


@numba.njit(cache=True, nogil=True, inline="always")
def _worse(v1, c1, v2, c2):
    """Cell (v1, c1) ranks below (v2, c2): a lower value, or a tie and the higher column."""
    return v1 < v2 - TIE or (abs(v1 - v2) <= TIE and c1 > c2)


@numba.njit(cache=True, nogil=True, inline="always")
def _sift_down(heap_v, heap_c, size, i):
    """Restore the min-heap below ``i``: the root is the worst kept cell (lowest value, and of
    tied values the higher column)."""
    while True:
        worst, left, right = i, 2 * i + 1, 2 * i + 2
        for child in (left, right):
            if child < size and _worse(heap_v[child], heap_c[child], heap_v[worst], heap_c[worst]):
                worst = child
        if worst == i:
            return
        heap_v[i], heap_v[worst] = heap_v[worst], heap_v[i]
        heap_c[i], heap_c[worst] = heap_c[worst], heap_c[i]
        i = worst


@numba.njit(cache=True, nogil=True)
def _add_tail_and_top_k(scores, lo, q_indptr, q_ids, q_vals, postings_ptr, postings_user,
                        postings_val, k, out_cols, out_vals, out_n):  # fmt: skip
    """For each row ``r`` of the block (query ``lo + r``): add the sparse part of its cosines
    into ``scores[r]`` (for each of the query's sites, the library users who visited it), then
    keep its top ``k`` positive cells, best first, ties (within :data:`TIE`) to the lower
    column.

    A min-heap of the ``k`` best so far is filled scanning columns in ascending order, so a
    later cell equal to the worst kept one never displaces it: ties go to the lower column."""
    heap_v = np.empty(k)
    heap_c = np.empty(k, dtype=np.int64)
    for r in range(scores.shape[0]):
        row = scores[r]
        for a in range(q_indptr[lo + r], q_indptr[lo + r + 1]):
            site, w = q_ids[a], q_vals[a]
            for b in range(postings_ptr[site], postings_ptr[site + 1]):
                row[postings_user[b]] += w * postings_val[b]
        size = 0
        for c in range(row.shape[0]):
            v = row[c]
            if v <= 0.0:
                continue
            if size < k:
                i = size
                size += 1
                heap_v[i], heap_c[i] = v, c
                while i > 0:  # sift up
                    parent = (i - 1) // 2
                    if _worse(heap_v[i], heap_c[i], heap_v[parent], heap_c[parent]):
                        heap_v[i], heap_v[parent] = heap_v[parent], heap_v[i]
                        heap_c[i], heap_c[parent] = heap_c[parent], heap_c[i]
                        i = parent
                    else:
                        break
            elif v > heap_v[0] + TIE:  # columns ascend: a tie never displaces the kept one
                heap_v[0], heap_c[0] = v, c
                _sift_down(heap_v, heap_c, size, 0)
        # pop worst-first into the output from the back: best first, ties by lower column
        out_n[r] = size
        for j in range(size - 1, -1, -1):
            out_vals[r, j], out_cols[r, j] = heap_v[0], heap_c[0]
            size -= 1
            heap_v[0], heap_c[0] = heap_v[size], heap_c[size]
            _sift_down(heap_v, heap_c, size, 0)


def top_k_cosine(
    queries: sp.csr_matrix, library: sp.csr_matrix, k: int, block_cells: int = BLOCK_CELLS
) -> TopK:
    """Exact top-``k`` cosine neighbours of every query row among the library rows.

    Queries go in blocks of rows, each block's cosines with every library user as one dense
    score block: the few sites most of the library visits as a dense product (BLAS), every
    other site by walking its postings (the library users who visited it) in a compiled loop
    that then keeps each row's top ``k``. Blocks run on all cores."""
    n_q, n_l = queries.shape[0], library.shape[0]
    width = max(queries.shape[1], library.shape[1])
    queries = _widen(queries, width).tocsr()
    postings = _widen(library, width).T.tocsr()  # sites x users: who visited each site
    head = _dense_columns(postings)
    l_head = np.ascontiguousarray(postings[head].toarray())  # dense sites x users
    q_head = queries[:, head].tocsr()
    # the dense sites' postings emptied: the compiled loop walks the other sites only
    lengths = np.diff(postings.indptr)
    tail = np.repeat(~np.isin(np.arange(width), head), lengths)
    lengths[head] = 0
    arrays = (
        queries.indptr.astype(np.int64), queries.indices.astype(np.int64),
        queries.data.astype(np.float64), np.r_[0, np.cumsum(lengths)].astype(np.int64),
        postings.indices[tail].astype(np.int64), postings.data[tail].astype(np.float64),
    )  # fmt: skip
    k = min(k, n_l)
    block = max(1, block_cells // max(n_l, 1))

    def one_block(lo: int) -> tuple[np.ndarray, ...]:
        hi = min(lo + block, n_q)
        scores = q_head[lo:hi].toarray() @ l_head if len(head) else np.zeros((hi - lo, n_l))
        cols = np.empty((hi - lo, k), dtype=np.int64)
        vals = np.empty((hi - lo, k))
        counts = np.empty(hi - lo, dtype=np.int64)
        _add_tail_and_top_k(scores, lo, *arrays, k, cols, vals, counts)
        keep = np.arange(k)[None, :] < counts[:, None]
        rows = np.repeat(np.arange(lo, hi), counts)
        rank = np.broadcast_to(np.arange(1, k + 1), (hi - lo, k))[keep]
        return rows, cols[keep], vals[keep], rank

    # blocks run on all cores (the products and the compiled loop release the GIL), BLAS on one
    with threadpool_limits(1):
        todo = range(0, n_q, block) if n_l and k > 0 else range(0)
        parts = list(run_parallel(one_block, todo))
    if not parts:
        z = np.zeros(0, dtype=np.int64)
        return TopK(z, z, np.zeros(0), z)
    q, lib, cos, rank = (np.concatenate(p) for p in zip(*parts, strict=True))
    return TopK(q.astype(np.int64), lib.astype(np.int64), np.minimum(cos, 1.0), rank)


def _dense_columns(postings: sp.csr_matrix) -> np.ndarray:
    """Sites (rows of ``postings``, sites x users) multiplied densely: see :data:`DENSE_SHARE`."""
    df = np.diff(postings.indptr)
    heavy = np.flatnonzero(df >= max(DENSE_SHARE * postings.shape[1], 1.0))
    if len(heavy) > DENSE_MAX:
        heavy = np.sort(heavy[np.argsort(-df[heavy], kind="stable")[:DENSE_MAX]])
    return heavy


def _widen(matrix: sp.csr_matrix, width: int) -> sp.csr_matrix:
    if matrix.shape[1] == width:
        return matrix
    return sp.csr_matrix(
        (matrix.data, matrix.indices, matrix.indptr), shape=(matrix.shape[0], width)
    )


@numba.njit(cache=True, nogil=True)
def _pair_dots(lo, hi, pq, pl, q_indptr, q_ids, q_vals, l_indptr, l_ids, l_vals):
    """Dot products of the CSR rows of pairs ``lo:hi`` (ids sorted within each row)."""
    out = np.zeros(hi - lo)
    for k in range(hi - lo):
        a, a_end = q_indptr[pq[lo + k]], q_indptr[pq[lo + k] + 1]
        b, b_end = l_indptr[pl[lo + k]], l_indptr[pl[lo + k] + 1]
        total = 0.0
        while a < a_end and b < b_end:
            if q_ids[a] < l_ids[b]:
                a += 1
            elif q_ids[a] > l_ids[b]:
                b += 1
            else:
                total += q_vals[a] * l_vals[b]
                a += 1
                b += 1
        out[k] = total
    return out


def pair_cosine(
    queries: sp.csr_matrix, library: sp.csr_matrix, query: np.ndarray, lib: np.ndarray
) -> np.ndarray:
    """Cosine of given (query row, library row) pairs (rows already normalised), by merging
    the two sparse rows of each pair (no pair-sized sparse matrices), on all cores."""
    n = len(query)
    if n == 0:
        return np.zeros(0)
    q, lb = queries.tocsr(), library.tocsr()
    q.sort_indices()
    lb.sort_indices()
    args = (
        np.ascontiguousarray(query, dtype=np.int64),
        np.ascontiguousarray(lib, dtype=np.int64),
        q.indptr.astype(np.int64), q.indices, q.data.astype(np.float64),
        lb.indptr.astype(np.int64), lb.indices, lb.data.astype(np.float64),
    )  # fmt: skip
    parts = run_parallel(lambda b: _pair_dots(b[0], b[1], *args), chunk_bounds(n))
    return np.clip(np.concatenate(list(parts)), 0.0, 1.0)


def quiet_candidates(
    query_first: np.ndarray, library_last: np.ndarray, quiet: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per query, the ``quiet`` library users whose last activity is the latest at or before
    the query's first activity (ties by library row)."""
    if quiet <= 0 or len(library_last) == 0 or len(query_first) == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z
    order = np.lexsort((np.arange(len(library_last)), library_last))
    last_sorted = library_last[order]
    stop = np.searchsorted(last_sorted, query_first, side="right")
    start = np.maximum(stop - quiet, 0)
    counts = stop - start
    q = np.repeat(np.arange(len(query_first)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return q, order[np.repeat(start, counts) + offsets]


def paper_candidates(
    queries: ProfileArrays, library: ProfileArrays, settings: RejoinSettings, cap: int
) -> tuple[np.ndarray, np.ndarray]:
    """The paper's step-2 candidates (frequent-site Jaccard > jaccard_min), at most ``cap``
    per query, best SimiTwo then SimiOne first."""
    c = simi_one(queries, library, settings.jaccard_min)
    if len(c) == 0 or cap <= 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z
    order = np.lexsort((c.library, -c.simi_one, -c.simi_two, c.query))
    q, lib = c.query[order].astype(np.int64), c.library[order].astype(np.int64)
    starts = np.flatnonzero(np.r_[True, q[1:] != q[:-1]])
    position = np.arange(len(q)) - np.repeat(starts, np.diff(np.r_[starts, len(q)]))
    keep = position < cap
    return q[keep], lib[keep]


@dataclass
class CandidatePairs:
    """(query row, library row) candidate pairs sorted by query then library row.

    ``cosine`` is the TF-IDF cosine; ``source`` ORs FROM_TFIDF / FROM_PAPER / FROM_QUIET.
    """

    query: np.ndarray
    library: np.ndarray
    cosine: np.ndarray
    source: np.ndarray

    def __len__(self) -> int:
        return len(self.query)

    def take(self, selector: np.ndarray) -> CandidatePairs:
        return CandidatePairs(**{f.name: getattr(self, f.name)[selector] for f in fields(self)})


def candidate_pairs(
    q_tfidf: sp.csr_matrix,
    l_tfidf: sp.csr_matrix,
    q_profiles: ProfileArrays,
    l_profiles: ProfileArrays,
    q_activity: Activity,
    l_activity: Activity,
    settings: RejoinSettings,
    *,
    k: int = 50,
    quiet: int = 10,
    paper: bool = True,
) -> CandidatePairs:
    """The union of the three candidate sources (see the module docstring)."""
    top = top_k_cosine(q_tfidf, l_tfidf, k)
    sources = [(top.query, top.library, FROM_TFIDF)]
    if paper:
        sources.append((*paper_candidates(q_profiles, l_profiles, settings, k), FROM_PAPER))
    sources.append(
        (*quiet_candidates(q_activity.first_seconds, l_activity.last_seconds, quiet), FROM_QUIET)
    )
    query = np.concatenate([s[0] for s in sources]).astype(np.int64)
    library = np.concatenate([s[1] for s in sources]).astype(np.int64)
    flags = np.concatenate([np.full(len(s[0]), s[2], dtype=np.int8) for s in sources])
    key = query * (l_activity.n_users + 1) + library
    unique, inverse = np.unique(key, return_inverse=True)
    source = np.zeros(len(unique), dtype=np.int8)
    np.bitwise_or.at(source, inverse, flags)
    query = unique // (l_activity.n_users + 1)
    library = unique % (l_activity.n_users + 1)
    # the top-k pairs carry their cosine already; compute it for the other sources' pairs only
    cosine = np.zeros(len(unique))
    known = np.searchsorted(unique, top.query * (l_activity.n_users + 1) + top.library)
    cosine[known] = top.cosine
    missing = (source & FROM_TFIDF) == 0
    cosine[missing] = pair_cosine(q_tfidf, l_tfidf, query[missing], library[missing])
    return CandidatePairs(query, library, cosine, source)
