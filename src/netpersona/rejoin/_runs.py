"""Step 5's kernel: greedy removal of the longest common contiguous runs of two item sequences.

The paper (§2 step 5): find the longest common contiguous run of the two sequences, add its
length to the score, delete it from both, repeat until no common run of ``min_run`` or more
items is left. A deleted run is a barrier: later runs never span it (deleting and
concatenating would invent adjacencies the user never produced).

Instead of re-running an O(n·m) longest-common-substring search after every deletion, all
maximal common diagonal runs are enumerated once from an index of the second sequence's
bigrams, and buckets (one per run length) hand out runs longest first; a run that overlaps an
already deleted part is split into its still-free pieces, which go back into the buckets.
Every common run of the remaining items is a piece of some original maximal run, so this is
exactly the greedy procedure; ties in length go to the run starting earliest in the first
sequence, then in the second.
"""

from __future__ import annotations

import numba
import numpy as np

from netpersona.rejoin._join import run_parallel


@numba.njit(cache=True, nogil=True)
def _grown(array, size):
    if size <= len(array):
        return array
    bigger = np.empty(max(2 * len(array), size), dtype=array.dtype)
    bigger[: len(array)] = array
    return bigger


@numba.njit(cache=True, inline="always")
def _gram(x, i, g):
    """The g items from x[i] as one integer (g = 3 needs codes below 2**21)."""
    if g == 1:
        return np.int64(x[i])
    if g == 2:
        return (np.int64(x[i]) << 32) | np.int64(x[i + 1])
    return (np.int64(x[i]) << 42) | (np.int64(x[i + 1]) << 21) | np.int64(x[i + 2])


@numba.njit(cache=True, nogil=True)
def _maximal_runs(a, b, min_run, g):
    """Maximal common diagonal runs of length >= min_run (>= g), as arrays (start in a, start
    in b, length), found from an index of b's g-grams."""
    n, m = len(a), len(b)
    ri = np.empty(64, dtype=np.int64)
    rj = np.empty(64, dtype=np.int64)
    rl = np.empty(64, dtype=np.int64)
    count = 0
    if n < max(min_run, g) or m < max(min_run, g):
        return ri[:0], rj[:0], rl[:0]
    nb = m - g + 1
    keys = np.empty(nb, dtype=np.int64)
    for j in range(nb):
        keys[j] = _gram(b, j, g)
    order = np.argsort(keys, kind="mergesort")
    sorted_keys = keys[order]
    for i in range(n - g + 1):
        key = _gram(a, i, g)
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
                if count == len(ri):
                    ri, rj, rl = _grown(ri, count + 1), _grown(rj, count + 1), _grown(rl, count + 1)
                ri[count], rj[count], rl[count] = i, j, length
                count += 1
    return ri[:count].copy(), rj[:count].copy(), rl[:count].copy()  # C layout, not "A"


@numba.njit(cache=True, nogil=True)
def _shortest_level(a, b, k, used_a, used_b):
    """The greedy procedure's last level, runs of exactly k = min_run items, without listing
    them: every still-free common k-gram is such a run (a longer free one would have been
    taken at its own level), and they are served in (i, j) order, so each free position i of
    a takes the first free matching j of b. A j found unusable stays unusable, so one cursor
    per k-gram of b moves only forward."""
    n, m = len(a), len(b)
    taken = np.empty((max(min(n, m) // k + 1, 1), 3), dtype=np.int64)
    n_taken = 0
    if n < k or m < k:
        return taken[:0]
    nb = m - k + 1
    keys = np.empty(nb, dtype=np.int64)
    for j in range(nb):
        keys[j] = _gram(b, j, k)
    order = np.argsort(keys, kind="mergesort")  # within a k-gram: j ascending
    sorted_keys = keys[order]
    cursor = np.arange(nb)
    i = 0
    while i <= n - k:
        free = True
        for x in range(k):
            if used_a[i + x]:
                free = False
                break
        if not free:
            i += 1
            continue
        key = _gram(a, i, k)
        lo = np.searchsorted(sorted_keys, key, side="left")
        if lo == nb or sorted_keys[lo] != key:
            i += 1
            continue
        hi = np.searchsorted(sorted_keys, key, side="right")
        t = cursor[lo]
        while t < hi:
            j = order[t]
            usable = True
            for x in range(k):
                if used_b[j + x]:
                    usable = False
                    break
            if usable:
                break
            t += 1
        if t < hi:
            j = order[t]
            for x in range(k):
                used_a[i + x] = True
                used_b[j + x] = True
            taken[n_taken, 0], taken[n_taken, 1], taken[n_taken, 2] = i, j, k
            n_taken += 1
            cursor[lo] = t + 1
            i += k
        else:
            cursor[lo] = t
            i += 1
    return taken[:n_taken]


@numba.njit(cache=True, nogil=True)
def greedy_common_runs(a, b, min_run):
    """Runs removed by the greedy procedure, in removal order, as an (k, 3) array of
    (start in a, start in b, length).

    Runs wait in one bucket per length; buckets are served longest first, each in (start in
    a, start in b) order, so the longest run is always taken first and ties go to the earliest.
    A run that overlaps removed items is split into its free pieces, which join the buckets of
    their (shorter) lengths. The shortest level (min_run items, most of the runs) is served
    without listing its runs when min_run <= 2 (see _shortest_level).
    """
    n, m = len(a), len(b)
    if n < min_run or m < min_run or n == 0 or m == 0:
        return np.empty((0, 3), dtype=np.int64)
    top = max(a.max(), b.max())
    fast = min_run <= 2 and top < (1 << 21)
    floor = min_run + 1 if fast else min_run  # shortest length served by the buckets
    g = floor if fast else (2 if min_run >= 2 else 1)
    ri, rj, rl = _maximal_runs(a, b, floor, g)
    capacity = len(ri) // 4 + 64
    while True:
        used_a = np.zeros(n, dtype=np.bool_)
        used_b = np.zeros(m, dtype=np.bool_)
        taken, complete = _greedy(n, m, floor, ri, rj, rl, capacity, used_a, used_b)
        if complete:
            break
        capacity *= 4  # more split pieces than room for them: rare, start again with more
    if not fast:
        return taken
    rest = _shortest_level(a, b, min_run, used_a, used_b)
    out = np.empty((len(taken) + len(rest), 3), dtype=np.int64)
    out[: len(taken)] = taken
    out[len(taken) :] = rest
    return out


@numba.njit(cache=True, nogil=True, inline="always")
def _take_or_split(i, j, length, min_run, used_a, used_b, pi, pj, pnxt, phead, n_pieces):
    """Take run (i, j, length) if all its items are free (returns length); otherwise file its
    free pieces of >= min_run items as new runs (returns 0). -1: no room for the pieces."""
    for x in range(length):
        if used_a[i + x] or used_b[j + x]:
            break
    else:
        for x in range(length):
            used_a[i + x] = True
            used_b[j + x] = True
        return length, n_pieces
    start = -1
    for x in range(length + 1):
        ok = x < length and not used_a[i + x] and not used_b[j + x]
        if ok and start < 0:
            start = x
        elif not ok and start >= 0:
            piece = x - start
            if piece >= min_run:
                if n_pieces == len(pi):
                    return -1, n_pieces
                pi[n_pieces], pj[n_pieces] = i + start, j + start
                pnxt[n_pieces] = phead[piece]
                phead[piece] = n_pieces
                n_pieces += 1
            start = -1
    return 0, n_pieces


@numba.njit(cache=True, nogil=True)
def _greedy(n, m, min_run, ri, rj, rl, capacity, used_a, used_b):
    # runs come from _maximal_runs in (i, j) order; a stable counting sort by length keeps that
    # order within each length, so only the few split pieces ever need sorting
    taken = np.empty((max(min(n, m) // max(min_run, 1) + 1, 1), 3), dtype=np.int64)
    n_taken = 0
    if len(ri) == 0:
        return taken[:0], True
    longest = rl.max()
    offsets = np.zeros(longest + 2, dtype=np.int64)
    for k in range(len(rl)):
        offsets[rl[k] + 1] += 1
    offsets = np.cumsum(offsets)
    fill = offsets.copy()
    by_length = np.empty(len(rl), dtype=np.int64)
    for k in range(len(rl)):
        by_length[fill[rl[k]]] = k
        fill[rl[k]] += 1
    pi = np.empty(capacity, dtype=np.int64)
    pj = np.empty(capacity, dtype=np.int64)
    pnxt = np.empty(capacity, dtype=np.int64)
    phead = np.full(longest + 1, -1, dtype=np.int64)
    n_pieces = 0
    free_a, free_b = n, m
    for length in range(longest, min_run - 1, -1):
        if free_a < length or free_b < length:
            continue
        # this length's pieces, sorted by (i, j)
        count = 0
        k = phead[length]
        while k >= 0:
            count += 1
            k = pnxt[k]
        pieces = np.empty(count, dtype=np.int64)
        keys = np.empty(count, dtype=np.int64)
        k = phead[length]
        for c in range(count):
            pieces[c], keys[c] = k, pi[k] * (m + 1) + pj[k]
            k = pnxt[k]
        pieces = pieces[np.argsort(keys)]
        # merge them with the original runs of this length, already in (i, j) order
        o, o_end, p = offsets[length], offsets[length + 1], 0
        while o < o_end or p < count:
            if p < count and (
                o == o_end
                or pi[pieces[p]] * (m + 1) + pj[pieces[p]]
                < ri[by_length[o]] * (m + 1) + rj[by_length[o]]
            ):
                i, j = pi[pieces[p]], pj[pieces[p]]
                p += 1
            else:
                i, j = ri[by_length[o]], rj[by_length[o]]
                o += 1
            got, n_pieces = _take_or_split(
                i, j, length, min_run, used_a, used_b, pi, pj, pnxt, phead, n_pieces
            )
            if got < 0:
                return taken[:0], False
            if got > 0:
                taken[n_taken, 0], taken[n_taken, 1], taken[n_taken, 2] = i, j, length
                n_taken += 1
                free_a -= length
                free_b -= length
                if free_a < min_run or free_b < min_run:
                    return taken[:n_taken], True
    return taken[:n_taken], True


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
