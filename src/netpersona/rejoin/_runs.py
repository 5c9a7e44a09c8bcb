"""Step 5's kernel: greedy removal of the longest common contiguous runs of two item sequences.

The paper (§2 step 5): find the longest common contiguous run of the two sequences, add its
length to the score, delete it from both, repeat until no common run of ``min_run`` or more
items is left. A deleted run is a barrier: later runs never span it (deleting and
concatenating would invent adjacencies the user never produced).

Instead of re-running an O(n·m) longest-common-substring search after every deletion, all
maximal common diagonal runs are enumerated once from an index of the second sequence's
bigrams, and a max-heap hands out runs longest first; a run that overlaps an already deleted
part is split into its still-free pieces and pushed back. Every common run of the remaining
items is a piece of some original maximal run, so this is exactly the greedy procedure; ties
in length go to the run starting earliest in the first sequence, then in the second.
"""

from __future__ import annotations

import heapq

import numba
import numpy as np

from netpersona.rejoin._join import run_parallel


@numba.njit(cache=True, nogil=True)
def _maximal_runs(a, b, min_run):
    """Maximal common diagonal runs (length >= min_run) as a heap of (-length, i, j)."""
    n, m = len(a), len(b)
    heap = [(np.int64(0), np.int64(0), np.int64(0))]
    heap.pop()
    if n < min_run or m < min_run or n == 0 or m == 0:
        return heap
    g = 2 if min_run >= 2 else 1
    nb = m - g + 1
    keys = np.empty(nb, dtype=np.int64)
    for j in range(nb):
        keys[j] = (np.int64(b[j]) << 32) | np.int64(b[j + 1]) if g == 2 else np.int64(b[j])
    order = np.argsort(keys, kind="mergesort")
    sorted_keys = keys[order]
    for i in range(n - g + 1):
        key = (np.int64(a[i]) << 32) | np.int64(a[i + 1]) if g == 2 else np.int64(a[i])
        lo = np.searchsorted(sorted_keys, key, side="left")
        hi = np.searchsorted(sorted_keys, key, side="right")
        for t in range(lo, hi):
            j = order[t]
            if i > 0 and j > 0 and a[i - 1] == b[j - 1]:
                continue  # inside a longer run that starts earlier
            length = g
            while i + length < n and j + length < m and a[i + length] == b[j + length]:
                length += 1
            if length >= min_run:
                heap.append((np.int64(-length), np.int64(i), np.int64(j)))
    heapq.heapify(heap)
    return heap


@numba.njit(cache=True, nogil=True)
def greedy_common_runs(a, b, min_run):
    """Runs removed by the greedy procedure, in removal order, as an (k, 3) array of
    (start in a, start in b, length)."""
    heap = _maximal_runs(a, b, min_run)
    used_a = np.zeros(len(a), dtype=np.bool_)
    used_b = np.zeros(len(b), dtype=np.bool_)
    taken = np.empty((max(len(heap), 1), 3), dtype=np.int64)
    n_taken = 0
    while len(heap) > 0:
        neg, i, j = heapq.heappop(heap)
        length = -neg
        free = True
        for k in range(length):
            if used_a[i + k] or used_b[j + k]:
                free = False
                break
        if free:
            for k in range(length):
                used_a[i + k] = True
                used_b[j + k] = True
            if n_taken == len(taken):
                bigger = np.empty((2 * len(taken), 3), dtype=np.int64)
                bigger[:n_taken] = taken[:n_taken]
                taken = bigger
            taken[n_taken, 0] = i
            taken[n_taken, 1] = j
            taken[n_taken, 2] = length
            n_taken += 1
            continue
        start = -1
        for k in range(length + 1):
            ok = k < length and not used_a[i + k] and not used_b[j + k]
            if ok and start < 0:
                start = k
            elif not ok and start >= 0:
                if k - start >= min_run:
                    heapq.heappush(heap, (np.int64(start - k), i + start, j + start))
                start = -1
    return taken[:n_taken]


@numba.njit(cache=True, nogil=True)
def common_run_score(a, b, min_run):
    """SimiFour's raw score: total length of the greedily removed common runs."""
    runs = greedy_common_runs(a, b, min_run)
    total = 0
    for k in range(len(runs)):
        total += runs[k, 2]
    return total


@numba.njit(cache=True, nogil=True)
def _pair_scores(q_indptr, q_items, l_indptr, l_items, pq, pl, lo, hi, min_run):
    out = np.zeros(hi - lo, dtype=np.int64)
    for k in range(lo, hi):
        q, u = pq[k], pl[k]
        out[k - lo] = common_run_score(
            q_items[q_indptr[q] : q_indptr[q + 1]], l_items[l_indptr[u] : l_indptr[u + 1]], min_run
        )
    return out


def pair_run_scores(
    q_indptr: np.ndarray,
    q_items: np.ndarray,
    l_indptr: np.ndarray,
    l_items: np.ndarray,
    pair_query: np.ndarray,
    pair_library: np.ndarray,
    min_run: int,
    threads: int | None = None,
) -> np.ndarray:
    """SimiFour raw scores of (query, library) pairs over CSR item sequences."""
    n = len(pair_query)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    args = (
        np.ascontiguousarray(q_indptr, dtype=np.int64),
        np.ascontiguousarray(q_items, dtype=np.int32),
        np.ascontiguousarray(l_indptr, dtype=np.int64),
        np.ascontiguousarray(l_items, dtype=np.int32),
        np.ascontiguousarray(pair_query, dtype=np.int64),
        np.ascontiguousarray(pair_library, dtype=np.int64),
    )
    step = max(64, -(-n // 16))
    bounds = [(lo, min(lo + step, n)) for lo in range(0, n, step)]
    parts = run_parallel(lambda b: _pair_scores(*args, b[0], b[1], int(min_run)), bounds, threads)
    return np.concatenate(list(parts))
