"""The compiled kernels of step 2's similarity join (see :mod:`netpersona.rejoin._join`):
rarest-first ranks, prefix lengths, the hot-site bit masks and the probe that verifies each
candidate pair's overlap exactly and sums its W(d) (SimiTwo)."""

from __future__ import annotations

import math

import numba
import numpy as np

_EPS = 1e-9


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
