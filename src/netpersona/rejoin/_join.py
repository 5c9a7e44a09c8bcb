"""Step 2's similarity join: every (query, library user) pair with Jaccard above a threshold.

Exact, and never a loop over all pairs: prefix filtering (Chaudhuri et al. 2006; Bayardo et al.
2007). Sites are ordered rarest-first by how many library users hold them as frequent. A pair
with J(x, y) >= t shares at least ceil(t/(1+t)·(|x|+|y|)) sites, so when |y| <= |x| the first
|x| - ceil(t·|x|) + 1 sites of x and the first |y| - ceil(2t/(1+t)·|y|) + 1 sites of y in that
order must share one. Pass A indexes the library by those short prefixes and probes each query
with its longer one; pass B does the same the other way round for library users larger than the
query. Only pairs found so that also pass the size filter t·|x| <= |y| <= |x|/t are verified,
and verification counts the overlap exactly, so the result equals the all-pairs join; the test
suite checks this against brute force on random sets.

Verification is cheap even when frequent sets are dominated by a few popular sites (the paper's
14% of the library passing step 2): the 62 most common library sites are bits of one 64-bit
word per user, so their overlap is a popcount; only the rarer sites are compared one by one.
The same pass sums W(d) over each verified intersection (SimiTwo), since it touches every shared
site anyway.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numba
import numpy as np

T = TypeVar("T")
R = TypeVar("R")

_EPS = 1e-9


def chunk_bounds(n: int, smallest: int = 4096) -> list[tuple[int, int]]:
    """``[lo, hi)`` ranges splitting ``n`` items into about 4 chunks per core (none smaller
    than ``smallest`` items), for :func:`run_parallel`."""
    step = max(smallest, -(-n // (4 * (os.cpu_count() or 1))))
    return [(lo, min(lo + step, n)) for lo in range(0, n, step)]


def run_parallel(
    work: Callable[[T], R], items: Sequence[T], threads: int | None = None
) -> Iterable[R]:
    """Run a GIL-free (``nogil`` numba) ``work`` over ``items`` on a few threads, in order."""
    threads = threads or os.cpu_count() or 1
    if threads <= 1 or len(items) <= 1:
        yield from map(work, items)
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
        yield from pool.map(work, items)


@dataclass
class JoinResult:
    """Pairs grouped by query: query ``q``'s pairs are ``indptr[q]:indptr[q+1]``, library rows
    ascending; ``jaccard`` is SimiOne and ``weighted_overlap`` Σ W(d) over the shared sites."""

    indptr: np.ndarray
    library: np.ndarray
    jaccard: np.ndarray
    weighted_overlap: np.ndarray

    @property
    def n_pairs(self) -> int:
        return len(self.library)

    def query_of_pairs(self) -> np.ndarray:
        """The query row of every pair."""
        return np.repeat(np.arange(len(self.indptr) - 1), np.diff(self.indptr)).astype(np.int32)


@numba.njit(cache=True)
def _ranks_rarest_first(l_sites: np.ndarray, n_tokens: int) -> np.ndarray:
    df = np.zeros(n_tokens, dtype=np.int64)
    for s in l_sites:
        df[s] += 1
    order = np.argsort(df * n_tokens + np.arange(n_tokens))  # by (df, site code)
    rank = np.empty(n_tokens, dtype=np.int64)
    for r in range(n_tokens):
        rank[order[r]] = r
    return rank


@numba.njit(cache=True)
def _prefix_length(size: int, threshold: float) -> int:
    """Probing prefix: a partner with J >= t shares at least ceil(t·|x|) sites."""
    need = math.ceil(threshold * size - _EPS)
    if need < 1:
        need = 1
    return size - need + 1


@numba.njit(cache=True)
def _mid_prefix_length(size: int, threshold: float) -> int:
    """Indexing prefix, valid for partners at least as large: they share at least
    ceil(2t/(1+t)·|y|) sites (Bayardo et al.'s shorter index prefix)."""
    need = math.ceil(2.0 * threshold / (1.0 + threshold) * size - _EPS)
    if need < 1:
        need = 1
    return size - need + 1


@numba.njit(cache=True)
def _ranked_rows(indptr, sites, rank):
    """Each set's sites as ranks, rarest first."""
    out = np.empty(len(sites), dtype=np.int64)
    for u in range(len(indptr) - 1):
        a, b = indptr[u], indptr[u + 1]
        out[a:b] = np.sort(rank[sites[a:b]])
    return out


@numba.njit(cache=True, nogil=True)
def _mid_prefix_index(indptr, ranked, lo, hi, threshold, n_tokens):
    """CSR rank -> rows (lo..hi-1, as row - lo) of every row's indexing prefix."""
    counts = np.zeros(n_tokens + 1, dtype=np.int64)
    for u in range(lo, hi):
        a = indptr[u]
        size = indptr[u + 1] - a
        if size == 0:
            continue
        for k in range(_mid_prefix_length(size, threshold)):
            counts[ranked[a + k] + 1] += 1
    index_ptr = np.cumsum(counts)
    rows = np.empty(index_ptr[-1], dtype=np.int32)
    fill = index_ptr[:-1].copy()
    for u in range(lo, hi):
        a = indptr[u]
        size = indptr[u + 1] - a
        if size == 0:
            continue
        for k in range(_mid_prefix_length(size, threshold)):
            rows[fill[ranked[a + k]]] = u - lo
            fill[ranked[a + k]] += 1
    return index_ptr, rows


@numba.njit(cache=True)
def _grow(array, size):
    bigger = np.empty(max(2 * len(array), size), dtype=array.dtype)
    bigger[: len(array)] = array
    return bigger


#: how many of the most common sites are verified as bits of one 64-bit word
HOT_BITS = 62


@numba.njit(cache=True)
def _hot_split(l_indptr, l_sites, n_tokens):
    """Bit of each of the most common library sites (-1 for the rest), each library set's mask
    of common sites, and its remaining ("cold") sites in CSR."""
    df = np.zeros(n_tokens, dtype=np.int64)
    for s in l_sites:
        df[s] += 1
    order = np.argsort(-df * n_tokens + np.arange(n_tokens))  # by df descending, then code
    hot_bit = np.full(n_tokens, -1, dtype=np.int64)
    for b in range(min(HOT_BITS, n_tokens)):
        if df[order[b]] < 2:
            break
        hot_bit[order[b]] = b
    n = len(l_indptr) - 1
    masks = np.zeros(n, dtype=np.int64)
    cold_indptr = np.zeros(n + 1, dtype=np.int64)
    cold = np.empty(len(l_sites), dtype=np.int64)
    k = 0
    for u in range(n):
        for e in range(l_indptr[u], l_indptr[u + 1]):
            b = hot_bit[l_sites[e]]
            if b >= 0:
                masks[u] |= np.int64(1) << b
            else:
                cold[k] = l_sites[e]
                k += 1
        cold_indptr[u + 1] = k
    return hot_bit, masks, cold_indptr, cold[:k].copy()


@numba.njit(cache=True)
def _byte_tables(hot_bit, weights):
    """Per byte of a mask: how many bits it has, and the summed weight of their sites."""
    popcount = np.zeros(256, dtype=np.int64)
    for v in range(256):
        popcount[v] = popcount[v >> 1] + (v & 1)
    bit_weight = np.zeros(64)
    for s in range(len(hot_bit)):
        if hot_bit[s] >= 0:
            bit_weight[hot_bit[s]] = weights[s]
    weight = np.zeros((8, 256))
    for byte in range(8):
        for v in range(256):
            total = 0.0
            for bit in range(8):  # ascending bit order: a fixed order, so equal sets sum alike
                if v >> bit & 1:
                    total += bit_weight[8 * byte + bit]
            weight[byte, v] = total
    return popcount, weight


@numba.njit(cache=True, inline="always")
def _put(out_q, out_lib, out_j, out_w, n_out, x, u, jac, weight):
    """Store pair n_out (growing the output arrays when full)."""
    if n_out == len(out_lib):
        out_q, out_lib = _grow(out_q, n_out + 1), _grow(out_lib, n_out + 1)
        out_j, out_w = _grow(out_j, n_out + 1), _grow(out_w, n_out + 1)
    out_q[n_out], out_lib[n_out] = x, u
    out_j[n_out], out_w[n_out] = jac, weight
    return out_q, out_lib, out_j, out_w


@numba.njit(cache=True, inline="always")
def _overlap(mask_a, mask_b, cold_b_start, cold_b_end, cold_b, mark, stamp, weights, popcount,
             byte_weight):  # fmt: skip
    """|A ∩ B| and Σ W over it: common sites by popcount of the masks, the rest by B's cold
    sites against A's marks."""
    common = mask_a & mask_b
    overlap = 0
    weight = 0.0
    for byte in range(8):
        v = (common >> (8 * byte)) & 255
        overlap += popcount[v]
        weight += byte_weight[byte, v]
    for f in range(cold_b_start, cold_b_end):
        s = cold_b[f]
        if mark[s] == stamp:
            overlap += 1
            weight += weights[s]
    return overlap, weight


@numba.njit(cache=True, nogil=True)
def _probe(
    q_indptr, q_sites, q_lo, q_hi, rank, idx_indptr, idx_rows, l_indptr, l_ranked, threshold,
    weights, hot_bit, l_masks, cold_indptr, cold_sites, popcount, byte_weight,
):  # fmt: skip
    """Pairs of queries q_lo..q_hi-1 with Jaccard > threshold, sorted by (query, library).

    Pass A finds partners no larger than the query (library indexed by its short prefix, the
    query probes with its full prefix); pass B finds partners larger than the query (the chunk's
    queries indexed by their short prefix, every library user probes with its full prefix).
    """
    n_lib = len(l_indptr) - 1
    n_tokens = len(rank)
    n_q = q_hi - q_lo
    base = q_indptr[q_lo]
    # the chunk's queries: sizes, masks of common sites, cold sites, ranked sites
    q_size = np.zeros(n_q, dtype=np.int64)
    q_mask = np.zeros(n_q, dtype=np.int64)
    qc_indptr = np.zeros(n_q + 1, dtype=np.int64)
    qc_sites = np.empty(q_indptr[q_hi] - base, dtype=np.int64)
    qr_indptr = np.zeros(n_q + 1, dtype=np.int64)
    q_ranked = np.empty(q_indptr[q_hi] - base, dtype=np.int64)
    k = 0
    for x in range(n_q):
        a, b = q_indptr[q_lo + x], q_indptr[q_lo + x + 1]
        q_size[x] = b - a
        q_ranked[a - base : b - base] = np.sort(rank[q_sites[a:b]])
        qr_indptr[x + 1] = b - base
        for e in range(a, b):
            bit = hot_bit[q_sites[e]]
            if bit >= 0:
                q_mask[x] |= np.int64(1) << bit
            else:
                qc_sites[k] = q_sites[e]
                k += 1
        qc_indptr[x + 1] = k

    out_q = np.empty(1024, dtype=np.int64)
    out_lib = np.empty(1024, dtype=np.int32)
    out_j = np.empty(1024, dtype=np.float64)
    out_w = np.empty(1024, dtype=np.float64)
    n_out = 0
    mark = np.full(n_tokens, -1, dtype=np.int64)

    # pass A: library partners with |y| <= |x|
    seen = np.full(n_lib, -1, dtype=np.int64)
    for x in range(n_q):
        nx = q_size[x]
        if nx == 0:
            continue
        for e in range(qc_indptr[x], qc_indptr[x + 1]):
            mark[qc_sites[e]] = x
        smallest = threshold * nx - _EPS
        for k in range(_prefix_length(nx, threshold)):
            tk = q_ranked[qr_indptr[x] + k]
            for e in range(idx_indptr[tk], idx_indptr[tk + 1]):
                u = idx_rows[e]
                if seen[u] == x:
                    continue
                seen[u] = x
                ny = l_indptr[u + 1] - l_indptr[u]
                if ny > nx or ny < smallest:
                    continue
                overlap, weight = _overlap(
                    q_mask[x], l_masks[u], cold_indptr[u], cold_indptr[u + 1], cold_sites,
                    mark, x, weights, popcount, byte_weight,
                )  # fmt: skip
                jac = overlap / (nx + ny - overlap)
                if jac > threshold:
                    out_q, out_lib, out_j, out_w = _put(
                        out_q, out_lib, out_j, out_w, n_out, x, u, jac, weight
                    )
                    n_out += 1

    # pass B: library partners with |y| > |x|
    q_index_ptr, q_index_rows = _mid_prefix_index(qr_indptr, q_ranked, 0, n_q, threshold, n_tokens)
    seen_q = np.full(n_q, -1, dtype=np.int64)
    mark[:] = -1
    for u in range(n_lib):
        a = l_indptr[u]
        ny = l_indptr[u + 1] - a
        if ny == 0:
            continue
        marked = False
        smallest = threshold * ny - _EPS
        for k in range(_prefix_length(ny, threshold)):
            tk = l_ranked[a + k]
            for e in range(q_index_ptr[tk], q_index_ptr[tk + 1]):
                x = q_index_rows[e]
                if seen_q[x] == u:
                    continue
                seen_q[x] = u
                nx = q_size[x]
                if nx >= ny or nx < smallest:
                    continue
                if not marked:
                    for f in range(cold_indptr[u], cold_indptr[u + 1]):
                        mark[cold_sites[f]] = u
                    marked = True
                overlap, weight = _overlap(
                    l_masks[u], q_mask[x], qc_indptr[x], qc_indptr[x + 1], qc_sites,
                    mark, u, weights, popcount, byte_weight,
                )  # fmt: skip
                jac = overlap / (nx + ny - overlap)
                if jac > threshold:
                    out_q, out_lib, out_j, out_w = _put(
                        out_q, out_lib, out_j, out_w, n_out, x, u, jac, weight
                    )
                    n_out += 1

    order = np.argsort(out_q[:n_out] * n_lib + out_lib[:n_out])
    counts = np.zeros(n_q, dtype=np.int64)
    for c in range(n_out):
        counts[out_q[c]] += 1
    return counts, out_lib[:n_out][order], out_j[:n_out][order], out_w[:n_out][order]


class JaccardIndex:
    """The library side of the join, built once: frequent-site sets and their prefix index.

    ``threshold`` is the Jaccard threshold t; pairs with J > t are returned (strictly, as the
    paper keeps SimiOne > 0.6).
    """

    def __init__(
        self, l_indptr: np.ndarray, l_sites: np.ndarray, threshold: float, n_tokens: int
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"Jaccard threshold must be in [0, 1], got {threshold}")
        self.l_indptr = np.ascontiguousarray(l_indptr, dtype=np.int64)
        self.l_sites = np.ascontiguousarray(l_sites, dtype=np.int64)
        self.threshold = float(threshold)
        self.n_tokens = int(max(n_tokens, self.l_sites.max(initial=-1) + 1, 1))
        self.rank = _ranks_rarest_first(self.l_sites, self.n_tokens)
        self.l_ranked = _ranked_rows(self.l_indptr, self.l_sites, self.rank)
        self.idx_indptr, self.idx_rows = _mid_prefix_index(
            self.l_indptr, self.l_ranked, 0, len(self.l_indptr) - 1, self.threshold, self.n_tokens
        )
        self.hot_bit, self.l_masks, self.cold_indptr, self.cold_sites = _hot_split(
            self.l_indptr, self.l_sites, self.n_tokens
        )
        self._tables: tuple | None = None

    def probe(
        self,
        q_indptr: np.ndarray,
        q_sites: np.ndarray,
        weights: np.ndarray,
        q_lo: int = 0,
        q_hi: int | None = None,
    ) -> JoinResult:
        """Pairs for queries ``q_lo:q_hi`` (rows of the query CSR); ``indptr`` is relative."""
        q_hi = len(q_indptr) - 1 if q_hi is None else q_hi
        q_sites = np.ascontiguousarray(q_sites, dtype=np.int64)
        if len(q_sites) and q_sites.max() >= self.n_tokens:
            raise ValueError("query site codes beyond the index; build it with n_tokens")
        weights = np.ascontiguousarray(weights, dtype=np.float64)
        if self._tables is None or self._tables[0] is not weights:
            self._tables = (weights, *_byte_tables(self.hot_bit, weights))
        _, popcount, byte_weight = self._tables
        counts, lib, jac, w = _probe(
            np.ascontiguousarray(q_indptr, dtype=np.int64),
            q_sites,
            q_lo,
            q_hi,
            self.rank,
            self.idx_indptr,
            self.idx_rows,
            self.l_indptr,
            self.l_ranked,
            self.threshold,
            weights,
            self.hot_bit,
            self.l_masks,
            self.cold_indptr,
            self.cold_sites,
            popcount,
            byte_weight,
        )
        indptr = np.zeros(q_hi - q_lo + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return JoinResult(indptr, lib, jac, w)


def jaccard_join(
    q_indptr: np.ndarray,
    q_sites: np.ndarray,
    l_indptr: np.ndarray,
    l_sites: np.ndarray,
    threshold: float,
    weights: np.ndarray | None = None,
    *,
    chunk: int = 512,
    threads: int | None = None,
) -> JoinResult:
    """All (query, library) pairs of sets (CSR of site codes) with Jaccard > ``threshold``.

    ``weights[d]`` is summed over each pair's shared sites (default 1: the overlap size).
    """
    n_tokens = int(max(q_sites.max(initial=-1), l_sites.max(initial=-1)) + 1)
    if weights is None:
        weights = np.ones(max(n_tokens, 1))
    index = JaccardIndex(l_indptr, l_sites, threshold, n_tokens)
    n_q = len(q_indptr) - 1
    bounds = [(lo, min(lo + chunk, n_q)) for lo in range(0, n_q, chunk)]
    parts = list(
        run_parallel(lambda b: index.probe(q_indptr, q_sites, weights, *b), bounds, threads)
    )
    return concat_results(parts)


def concat_results(parts: list[JoinResult]) -> JoinResult:
    """Join results of consecutive query chunks, as one."""
    if not parts:
        return JoinResult(np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0), np.zeros(0))
    counts = np.concatenate([np.diff(p.indptr) for p in parts])
    indptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return JoinResult(
        indptr,
        np.concatenate([p.library for p in parts]),
        np.concatenate([p.jaccard for p in parts]),
        np.concatenate([p.weighted_overlap for p in parts]),
    )
