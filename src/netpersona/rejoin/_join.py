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

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from netpersona.rejoin._join_kernels import (
    _byte_tables,
    _hot_split,
    _mid_prefix_index,
    _probe,
    _ranked_rows,
    _ranks_rarest_first,
)

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


#: spare token codes a cached library index leaves for sites only queries have seen
_SPARE_TOKENS = 4096


def library_index(
    l_indptr: np.ndarray,
    l_sites: np.ndarray,
    l_weights: np.ndarray,
    threshold: float,
    n_tokens: int,
    cache: dict | None = None,
) -> tuple[JaccardIndex, np.ndarray]:
    """The library's :class:`JaccardIndex` for ``threshold`` covering ``n_tokens`` site codes,
    and W(d) over them (``l_weights``, then 1 for codes only queries use), kept in ``cache``.

    A query's unseen sites get codes after the library's, so their number varies per call; the
    index is built with spare codes and rebuilt only when a query needs more. Which codes the
    spares have changes no result: they are never frequent in the library, and the join is
    exact for any site order.

    >>> indptr, sites = np.array([0, 2, 4]), np.array([0, 1, 1, 2])
    >>> cache = {}
    >>> a, w = library_index(indptr, sites, np.ones(3), 0.5, 5, cache)
    >>> b, _ = library_index(indptr, sites, np.ones(3), 0.5, 9, cache)
    >>> a is b, a.n_tokens > 9, w.shape == (a.n_tokens,)
    (True, True, True)
    """
    cache = {} if cache is None else cache
    held = cache.get(float(threshold))
    if held is None or held[0].n_tokens < n_tokens:
        size = max(int(n_tokens), len(l_weights)) + _SPARE_TOKENS
        index = JaccardIndex(l_indptr, l_sites, threshold, size)
        weights = np.ones(index.n_tokens)
        weights[: len(l_weights)] = l_weights
        held = cache[float(threshold)] = (index, weights)
    return held


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
