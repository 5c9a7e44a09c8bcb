"""Step 5's kernel: greedy removal of the longest common contiguous runs of two item sequences.

The paper (§2 step 5): find the longest common contiguous run of the two sequences, add its
length to the score, delete it from both, repeat until no common run of ``min_run`` or more
items is left. A deleted run is a barrier: later runs never span it (deleting and
concatenating would invent adjacencies the user never produced).

Instead of re-running an O(n·m) longest-common-substring search after every deletion, the
maximal common diagonal runs of 4 or more items are enumerated once from a hash index of the
second sequence's 4-grams, and buckets (one per run length) hand out runs longest first; a run
that overlaps an already deleted part is split into its still-free pieces, which go back into
the buckets. Every common run of the remaining items is a piece of some original maximal run,
so this is exactly the greedy procedure; ties in length go to the run starting earliest in the
first sequence, then in the second. Runs of 3, 2 (and 1) items, most of them, are then served
level by level without listing them (:func:`_short_level`).
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


_GOLDEN = 0x9E3779B97F4A7C15  # Fibonacci hashing multiplier


@numba.njit(cache=True, inline="always")
def _gram(x, i, g):
    """The g items from x[i] as one integer key: exact for g <= 3 (g = 3 needs codes below
    2**21); g = 4 mixes the fourth item in, so different 4-grams may share a key and matches
    found through it are verified item by item."""
    if g == 1:
        return np.int64(x[i])
    if g == 2:
        return (np.int64(x[i]) << 32) | np.int64(x[i + 1])
    three = (np.int64(x[i]) << 42) | (np.int64(x[i + 1]) << 21) | np.int64(x[i + 2])
    if g == 3:
        return three
    mixed = np.uint64(three) * np.uint64(_GOLDEN) + np.uint64(x[i + 3])
    return np.int64(mixed)


@numba.njit(cache=True, inline="always")
def _home(key, bits):
    return np.int64((np.uint64(key) * np.uint64(_GOLDEN)) >> np.uint64(64 - bits))


@numba.njit(cache=True, nogil=True)
def _gram_index(b, g):
    """An open-addressing hash index of b's g-gram keys: ``(slot_key, slot_head, next, bits)``.
    Slot ``h`` holds one key; ``slot_head[h]`` is its first position in b and ``next[j]`` the
    one after j, so each chain lists positions in ascending order (-1 ends it)."""
    nb = max(len(b) - g + 1, 0)
    bits = 4
    while (1 << bits) < 2 * nb:
        bits += 1
    mask = (1 << bits) - 1
    slot_key = np.empty(1 << bits, dtype=np.int64)
    slot_head = np.full(1 << bits, -1, dtype=np.int64)
    nxt = np.empty(nb, dtype=np.int64)
    for j in range(nb - 1, -1, -1):
        key = _gram(b, j, g)
        h = _home(key, bits)
        while slot_head[h] != -1 and slot_key[h] != key:
            h = (h + 1) & mask
        slot_key[h] = key
        nxt[j] = slot_head[h]
        slot_head[h] = j
    return slot_key, slot_head, nxt, bits


@numba.njit(cache=True, inline="always")
def _find(slot_key, slot_head, bits, key):
    """The slot holding ``key``, or -1."""
    mask = (1 << bits) - 1
    h = _home(key, bits)
    while slot_head[h] != -1:
        if slot_key[h] == key:
            return h
        h = (h + 1) & mask
    return -1


@numba.njit(cache=True, nogil=True)
def _maximal_runs(a, b, min_run, g):
    """Maximal common diagonal runs of length >= min_run (>= g), as arrays (start in a, start
    in b, length) in (i, j) order, found from a hash index of b's g-grams."""
    n, m = len(a), len(b)
    ri = np.empty(64, dtype=np.int64)
    rj = np.empty(64, dtype=np.int64)
    rl = np.empty(64, dtype=np.int64)
    count = 0
    if n < max(min_run, g) or m < max(min_run, g):
        return ri[:0], rj[:0], rl[:0]
    slot_key, slot_head, nxt, bits = _gram_index(b, g)
    for i in range(n - g + 1):
        h = _find(slot_key, slot_head, bits, _gram(a, i, g))
        if h < 0:
            continue
        j = slot_head[h]
        while j >= 0:
            if i > 0 and j > 0 and a[i - 1] == b[j - 1]:
                j = nxt[j]
                continue  # inside a longer run that starts earlier
            length = 0
            while i + length < n and j + length < m and a[i + length] == b[j + length]:
                length += 1
            if length >= min_run and length >= g:  # < g: a 4-gram key shared by chance
                if count == len(ri):
                    ri, rj, rl = _grown(ri, count + 1), _grown(rj, count + 1), _grown(rl, count + 1)
                ri[count], rj[count], rl[count] = i, j, length
                count += 1
            j = nxt[j]
    return ri[:count].copy(), rj[:count].copy(), rl[:count].copy()  # C layout, not "A"


@numba.njit(cache=True, nogil=True)
def _short_level(a, b, k, used_a, used_b):
    """One of the greedy procedure's short levels, runs of exactly k <= 3 items, served once
    every longer level is done, without listing them: every still-free common k-gram is such
    a run (a longer free one would have been taken at its own level), and they are served in
    (i, j) order, so each free position i of a takes the first free matching j of b. A j
    found unusable stays unusable, so one cursor per k-gram of b moves only forward."""
    n, m = len(a), len(b)
    taken = np.empty((max(min(n, m) // k + 1, 1), 3), dtype=np.int64)
    n_taken = 0
    if n < k or m < k:
        return taken[:0]
    slot_key, slot_head, nxt, bits = _gram_index(b, k)
    cursor = slot_head.copy()
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
        h = _find(slot_key, slot_head, bits, _gram(a, i, k))
        if h < 0:
            i += 1
            continue
        j = cursor[h]
        while j >= 0:
            usable = True
            for x in range(k):
                if used_b[j + x]:
                    usable = False
                    break
            if usable:
                break
            j = nxt[j]
        if j >= 0:
            for x in range(k):
                used_a[i + x] = True
                used_b[j + x] = True
            taken[n_taken, 0], taken[n_taken, 1], taken[n_taken, 2] = i, j, k
            n_taken += 1
            cursor[h] = nxt[j]
            i += k
        else:
            cursor[h] = -1
            i += 1
    return taken[:n_taken]


@numba.njit(cache=True, nogil=True)
def greedy_common_runs(a, b, min_run):
    """Runs removed by the greedy procedure, in removal order, as an (k, 3) array of
    (start in a, start in b, length).

    Runs wait in one bucket per length; buckets are served longest first, each in (start in
    a, start in b) order, so the longest run is always taken first and ties go to the earliest.
    A run that overlaps removed items is split into its free pieces, which join the buckets of
    their (shorter) lengths. When codes fit 21 bits, runs of 3 or fewer items (most of them)
    are served without listing them (see :func:`_short_level`), and the longer ones are found
    from an index of 4-grams.
    """
    n, m = len(a), len(b)
    if n < min_run or m < min_run or n == 0 or m == 0:
        return np.empty((0, 3), dtype=np.int64)
    top = max(a.max(), b.max())
    fast = min_run <= 3 and top < (1 << 21)
    floor = 4 if fast else min_run  # shortest length served by the buckets
    g = 4 if fast else (2 if min_run >= 2 else 1)
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
    parts = [taken]
    total = len(taken)
    for k in range(3, max(min_run, 1) - 1, -1):
        rest = _short_level(a, b, k, used_a, used_b)
        parts.append(rest)
        total += len(rest)
    out = np.empty((total, 3), dtype=np.int64)
    at = 0
    for part in parts:
        out[at : at + len(part)] = part
        at += len(part)
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
        # a level is worked through even when fewer than ``length`` items are free: its runs
        # are not taken then, but their free pieces must still reach the shorter levels
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
