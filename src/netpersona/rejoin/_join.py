"""Step 2's similarity join: every (query, library user) pair with Jaccard above a threshold.

Exact, and never a loop over all pairs: prefix filtering (Chaudhuri et al. 2006; Bayardo et al.
2007). Sites are ordered rarest-first by how many library users hold them as frequent; a pair with
J(x, y) >= t overlaps in at least ceil(t·|x|) sites, so the first |x| - ceil(t·|x|) + 1 sites
of x and of y in that order must share one. Only library users whose prefix shares a site with
the query's prefix, and whose size passes the size filter t·|x| <= |y| <= |x|/t, are verified;
verification counts the overlap exactly, so the result equals the all-pairs join. The test
suite checks this against brute force on random sets.

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
    need = math.ceil(threshold * size - _EPS)  # minimum overlap of any pair with J >= t
    if need < 1:
        need = 1
    return size - need + 1


@numba.njit(cache=True)
def _build_prefix_index(l_indptr, l_sites, rank, threshold, n_tokens):
    n = len(l_indptr) - 1
    counts = np.zeros(n_tokens + 1, dtype=np.int64)
    for u in range(n):
        a, b = l_indptr[u], l_indptr[u + 1]
        if b == a:
            continue
        r = np.sort(rank[l_sites[a:b]])
        for k in range(_prefix_length(b - a, threshold)):
            counts[r[k] + 1] += 1
    indptr = np.cumsum(counts)
    rows = np.empty(indptr[-1], dtype=np.int32)
    fill = indptr[:-1].copy()
    for u in range(n):
        a, b = l_indptr[u], l_indptr[u + 1]
        if b == a:
            continue
        r = np.sort(rank[l_sites[a:b]])
        for k in range(_prefix_length(b - a, threshold)):
            rows[fill[r[k]]] = u
            fill[r[k]] += 1
    return indptr, rows


@numba.njit(cache=True)
def _grow(array, size):
    bigger = np.empty(max(2 * len(array), size), dtype=array.dtype)
    bigger[: len(array)] = array
    return bigger


@numba.njit(cache=True, nogil=True)
def _probe(
    q_indptr, q_sites, q_lo, q_hi, rank, idx_indptr, idx_rows, l_indptr, l_sites, threshold,
    weights,
):  # fmt: skip
    n_lib = len(l_indptr) - 1
    n_tokens = len(rank)
    seen = np.full(n_lib, -1, dtype=np.int64)
    qmark = np.full(n_tokens, -1, dtype=np.int64)
    cand = np.empty(n_lib, dtype=np.int32)
    counts = np.zeros(q_hi - q_lo, dtype=np.int64)
    out_lib = np.empty(1024, dtype=np.int32)
    out_j = np.empty(1024, dtype=np.float64)
    out_w = np.empty(1024, dtype=np.float64)
    n_out = 0
    for q in range(q_lo, q_hi):
        a, b = q_indptr[q], q_indptr[q + 1]
        nx = b - a
        if nx == 0:
            continue
        for e in range(a, b):
            qmark[q_sites[e]] = q
        r = np.sort(rank[q_sites[a:b]])
        # size filter t·|x| <= |y| <= |x|/t, compared as floats (|x|/t may be huge)
        smallest = threshold * nx - _EPS
        largest = nx / threshold + _EPS if threshold > 0 else np.inf
        nc = 0
        for k in range(_prefix_length(nx, threshold)):
            tk = r[k]
            for e in range(idx_indptr[tk], idx_indptr[tk + 1]):
                u = idx_rows[e]
                if seen[u] == q:
                    continue
                seen[u] = q
                ny = l_indptr[u + 1] - l_indptr[u]
                if ny < smallest or ny > largest:
                    continue
                cand[nc] = u
                nc += 1
        chosen = np.sort(cand[:nc])
        for c in range(nc):
            u = chosen[c]
            ny = l_indptr[u + 1] - l_indptr[u]
            overlap = 0
            weight = 0.0
            for e in range(l_indptr[u], l_indptr[u + 1]):
                s = l_sites[e]
                if qmark[s] == q:
                    overlap += 1
                    weight += weights[s]
            jac = overlap / (nx + ny - overlap)
            if jac > threshold:
                if n_out == len(out_lib):
                    out_lib = _grow(out_lib, n_out + 1)
                    out_j = _grow(out_j, n_out + 1)
                    out_w = _grow(out_w, n_out + 1)
                out_lib[n_out] = u
                out_j[n_out] = jac
                out_w[n_out] = weight
                n_out += 1
                counts[q - q_lo] += 1
    return counts, out_lib[:n_out], out_j[:n_out], out_w[:n_out]


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
        self.idx_indptr, self.idx_rows = _build_prefix_index(
            self.l_indptr, self.l_sites, self.rank, self.threshold, self.n_tokens
        )

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
        counts, lib, jac, w = _probe(
            np.ascontiguousarray(q_indptr, dtype=np.int64),
            q_sites,
            q_lo,
            q_hi,
            self.rank,
            self.idx_indptr,
            self.idx_rows,
            self.l_indptr,
            self.l_sites,
            self.threshold,
            np.ascontiguousarray(weights, dtype=np.float64),
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
