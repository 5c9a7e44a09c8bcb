"""Steps 2-6 of the paper, each a named function over integer-coded candidate pairs.

A :class:`Candidates` holds the (query, library user) pairs still alive, grouped by query, with
the similarities computed so far. Each step takes candidates and returns the survivors:

2. :func:`simi_one` — frequent-site Jaccard > ``jaccard_min`` (an exact join, never all pairs)
3. :func:`simi_two_trim` — top ``simitwo_keep`` share by Σ 1/V(d) over shared frequent sites
4. :func:`simi_three_trim` — 24-hour cosine > ``hour_cosine_min`` and mean per-site hour
   cosine > ``site_hour_cosine_min``
5. :func:`simi_four_trim` — top ``simifour_keep`` share by greedy common-run score
6. :func:`decide` — total similarity S and the output set (``tie_ratio``)

Top-share cuts keep at least one candidate, keep floor(share × n) otherwise, and keep every
candidate tied with the last one kept (scores equal within 1e-12 relative): never an arbitrary
tie-break.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, fields

import numba
import numpy as np

from netpersona.rejoin._join import JaccardIndex, JoinResult
from netpersona.rejoin._profiles import ProfileArrays
from netpersona.rejoin._runs import pair_run_scores

TIE_TOLERANCE = 1e-12


@dataclass
class Candidates:
    """Candidate pairs sorted by query row then library row; NaN = not computed yet."""

    query: np.ndarray
    library: np.ndarray
    simi_one: np.ndarray
    simi_two: np.ndarray
    simi_three: np.ndarray
    site_hour: np.ndarray
    simi_four_raw: np.ndarray
    simi_four: np.ndarray

    def __len__(self) -> int:
        return len(self.query)

    @classmethod
    def empty(cls) -> Candidates:
        return cls.from_arrays(np.zeros(0, np.int32), np.zeros(0, np.int32))

    @classmethod
    def from_arrays(
        cls,
        query: np.ndarray,
        library: np.ndarray,
        simi_one: np.ndarray | None = None,
        simi_two: np.ndarray | None = None,
    ) -> Candidates:
        n = len(query)
        nan = np.full(n, np.nan)
        return cls(
            query=np.asarray(query, dtype=np.int32),
            library=np.asarray(library, dtype=np.int32),
            simi_one=nan.copy() if simi_one is None else np.asarray(simi_one, np.float64),
            simi_two=nan.copy() if simi_two is None else np.asarray(simi_two, np.float64),
            simi_three=nan.copy(),
            site_hour=nan.copy(),
            simi_four_raw=nan.copy(),
            simi_four=nan,
        )

    @classmethod
    def from_join(cls, join: JoinResult, query_offset: int = 0) -> Candidates:
        return cls.from_arrays(
            join.query_of_pairs() + query_offset, join.library, join.jaccard, join.weighted_overlap
        )

    def take(self, selector: np.ndarray) -> Candidates:
        """The pairs picked by a boolean mask or an index array (order kept as given)."""
        return Candidates(**{f.name: getattr(self, f.name)[selector] for f in fields(self)})

    @classmethod
    def concat(cls, parts: list[Candidates]) -> Candidates:
        parts = [p for p in parts if len(p)] or [cls.empty()]
        return cls(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)}
        )

    def sorted(self) -> Candidates:
        return self.take(np.lexsort((self.library, self.query)))


# -- shared pieces -----------------------------------------------------------------------------
@numba.njit(cache=True)
def _top_share_mask(query, scores, keep):
    n = len(query)
    mask = np.zeros(n, dtype=np.bool_)
    start = 0
    while start < n:
        stop = start + 1
        while stop < n and query[stop] == query[start]:
            stop += 1
        size = stop - start
        k = max(1, math.floor(keep * size + 1e-9))
        ordered = np.sort(scores[start:stop])
        last_kept = ordered[size - k]
        cut = last_kept - TIE_TOLERANCE * abs(last_kept)
        for e in range(start, stop):
            mask[e] = scores[e] >= cut
        start = stop
    return mask


def top_share_mask(query: np.ndarray, scores: np.ndarray, keep: float) -> np.ndarray:
    """Per query (pairs grouped by query), keep the top ``keep`` share of scores, at least one,
    plus every score tied with the last kept."""
    if len(query) == 0:
        return np.zeros(0, dtype=bool)
    return _top_share_mask(
        np.ascontiguousarray(query), np.ascontiguousarray(scores, np.float64), float(keep)
    )


def cosine_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row-wise cosine of non-negative vectors, in [0, 1]; 0 when either row is all zero."""
    dot = np.einsum("ij,ij->i", x, y)
    norms = np.sqrt(np.einsum("ij,ij->i", x, x) * np.einsum("ij,ij->i", y, y))
    out = np.zeros(len(dot))
    np.divide(dot, norms, out=out, where=norms > 0)
    return np.clip(out, 0.0, 1.0)


@numba.njit(cache=True)
def _site_hour_means(pq, pl, q_indptr, q_sites, q_hours, l_indptr, l_sites, l_hours):
    out = np.zeros(len(pq))
    for k in range(len(pq)):
        a, a_end = q_indptr[pq[k]], q_indptr[pq[k] + 1]
        b, b_end = l_indptr[pl[k]], l_indptr[pl[k] + 1]
        total = 0.0
        shared = 0
        while a < a_end and b < b_end:
            if q_sites[a] < l_sites[b]:
                a += 1
            elif q_sites[a] > l_sites[b]:
                b += 1
            else:
                dot = 0.0
                nx = 0.0
                ny = 0.0
                for h in range(q_hours.shape[1]):
                    dot += q_hours[a, h] * l_hours[b, h]
                    nx += q_hours[a, h] * q_hours[a, h]
                    ny += l_hours[b, h] * l_hours[b, h]
                if nx > 0 and ny > 0:
                    total += min(1.0, max(0.0, dot / math.sqrt(nx * ny)))
                shared += 1
                a += 1
                b += 1
        out[k] = total / shared if shared else 0.0
    return out


#: per pair, the mean cosine of the hour vectors of the sites both users' CSR site sets share
site_hour_means = _site_hour_means


# -- step 2 ------------------------------------------------------------------------------------
def simi_one(
    query: ProfileArrays,
    library: ProfileArrays,
    jaccard_min: float,
    index: JaccardIndex | None = None,
    rows: tuple[int, int] | None = None,
) -> Candidates:
    """Step 2, SimiOne: library users whose frequent-site Jaccard with the query is > jaccard_min.

    Also fills SimiTwo (Σ W(d) over the shared frequent sites), computed in the same pass.
    ``rows`` restricts to a range of query rows; ``index`` reuses a built library index.
    """
    if index is None:
        index, weights = library.join_index(jaccard_min, len(query.site_weight))
    else:
        weights = join_weights(query, library)
        if len(weights) < index.n_tokens:
            weights = np.concatenate([weights, np.ones(index.n_tokens - len(weights))])
    lo, hi = rows if rows is not None else (0, query.n_users)
    join = index.probe(query.frequent_indptr, query.frequent_sites, weights, lo, hi)
    return Candidates.from_join(join, lo)


def join_weights(query: ProfileArrays, library: ProfileArrays) -> np.ndarray:
    """W(d) over every site code either side uses: library V, and V = 1 for unseen sites."""
    weights = np.ones(max(len(query.site_weight), len(library.site_weight), 1))
    weights[: len(library.site_weight)] = library.site_weight
    return weights


# -- step 3 ------------------------------------------------------------------------------------
def simi_two_trim(candidates: Candidates, simitwo_keep: float) -> Candidates:
    """Step 3: keep the top ``simitwo_keep`` share by SimiTwo per query (ties kept)."""
    return candidates.take(top_share_mask(candidates.query, candidates.simi_two, simitwo_keep))


# -- step 4 ------------------------------------------------------------------------------------
def simi_three_scores(
    candidates: Candidates, query: ProfileArrays, library: ProfileArrays
) -> Candidates:
    """Fill SimiThree (24-hour cosine) and the mean per-shared-frequent-site hour cosine."""
    c = candidates
    c.simi_three = cosine_rows(query.hours[c.query], library.hours[c.library])
    c.site_hour = _site_hour_means(
        c.query.astype(np.int64),
        c.library.astype(np.int64),
        query.frequent_indptr,
        query.frequent_sites,
        query.site_hours,
        library.frequent_indptr,
        library.frequent_sites,
        library.site_hours,
    )
    return c


def simi_three_trim(
    candidates: Candidates,
    query: ProfileArrays,
    library: ProfileArrays,
    hour_cosine_min: float,
    site_hour_cosine_min: float,
) -> Candidates:
    """Step 4: drop candidates with hour cosine <= hour_cosine_min or mean per-site hour
    cosine <= site_hour_cosine_min."""
    c = simi_three_scores(candidates, query, library)
    return c.take((c.simi_three > hour_cosine_min) & (c.site_hour > site_hour_cosine_min))


# -- step 5 ------------------------------------------------------------------------------------
#: the most library sequence items step 5 holds at once: the candidate pairs are scored in
#: chunks of library users whose sequences add up to about this many items (128 MB of int32),
#: so a large library's sequences are never all in memory together (the chunks give the same
#: scores as one pass: each pair is scored alone)
STEP5_ITEMS = 32_000_000


def pair_chunks(library_users: np.ndarray, lengths: np.ndarray, items: int) -> list[np.ndarray]:
    """Positions of the pairs whose library user is ``library_users[i]``, cut into chunks of
    library users whose sequence ``lengths`` add up to at most about ``items`` (a user whose
    sequence alone is longer is a chunk of its own); every pair of one user in one chunk.

    >>> [c.tolist() for c in pair_chunks(np.array([2, 0, 2, 1]), np.array([5, 5, 5]), 10)]
    [[1, 3], [0, 2]]
    """
    library_users = np.asarray(library_users, dtype=np.int64)
    if not len(library_users):
        return []
    order = np.argsort(library_users, kind="stable")
    ranked = library_users[order]
    first = np.r_[True, ranked[1:] != ranked[:-1]]
    user_items = np.where(first, np.asarray(lengths, dtype=np.int64)[ranked], 0)
    chunk = np.empty(len(ranked), dtype=np.int64)
    held, users, current = 0, 0, 0
    for i in np.flatnonzero(first):  # one step per distinct library user
        if users and held + user_items[i] > items:
            current, held, users = current + 1, 0, 0
        held += user_items[i]
        users += 1
        chunk[i] = current
    chunk = np.maximum.accumulate(np.where(first, chunk, -1))  # a user's pairs: its chunk
    bounds = np.flatnonzero(np.r_[True, chunk[1:] != chunk[:-1], True])
    return [order[a:b] for a, b in itertools.pairwise(bounds)]


def simi_four_scores(
    candidates: Candidates, query: ProfileArrays, library: ProfileArrays, min_run: int
) -> Candidates:
    """Fill SimiFour: the raw common-run score and it divided by the shorter sequence length.

    Only the sequences of the pairs' users are fetched (from the engine if not loaded), a
    chunk of at most :data:`STEP5_ITEMS` library items at a time."""
    c = candidates
    raw = np.zeros(len(c), dtype=np.float64)
    for part in pair_chunks(c.library, library.sequence_lengths, STEP5_ITEMS):
        q_users, q_row = np.unique(c.query[part], return_inverse=True)
        l_users, l_row = np.unique(c.library[part], return_inverse=True)
        q_indptr, q_items = query.sequences_of(q_users)
        l_indptr, l_items = library.sequences_of(l_users)
        raw[part] = pair_run_scores(q_indptr, q_items, l_indptr, l_items, q_row, l_row, min_run)
        del q_indptr, q_items, l_indptr, l_items
    q_len = query.sequence_lengths[c.query]
    l_len = library.sequence_lengths[c.library]
    shorter = np.minimum(q_len, l_len).astype(np.float64)
    c.simi_four_raw = raw
    c.simi_four = np.divide(raw, shorter, out=np.zeros(len(raw)), where=shorter > 0)
    return c


def simi_four_trim(
    candidates: Candidates,
    query: ProfileArrays,
    library: ProfileArrays,
    min_run: int,
    simifour_keep: float,
) -> Candidates:
    """Step 5: keep the top ``simifour_keep`` share by raw SimiFour per query (ties kept)."""
    c = simi_four_scores(candidates, query, library, min_run)
    return c.take(top_share_mask(c.query, c.simi_four_raw, simifour_keep))


# -- step 6 ------------------------------------------------------------------------------------
def simi_one_two(candidates: Candidates, query: ProfileArrays, library: ProfileArrays):
    """SimiOneTwo = Σ W over shared frequent sites / Σ W over the union."""
    c = candidates
    union = query.frequent_weight[c.query] + library.frequent_weight[c.library] - c.simi_two
    return np.divide(c.simi_two, union, out=np.zeros(len(c)), where=union > 0)


def total_similarity(candidates: Candidates, query: ProfileArrays, library: ProfileArrays):
    """S = mean(SimiOneTwo, SimiThree, normalised SimiFour)."""
    c = candidates
    return (simi_one_two(c, query, library) + c.simi_three + c.simi_four) / 3.0


@dataclass
class Decision:
    """Step 6's output: candidates ordered by query then S descending, with the output flag."""

    candidates: Candidates
    score: np.ndarray
    output: np.ndarray


@numba.njit(cache=True)
def _output_flags(query, score, tie_ratio):
    out = np.zeros(len(query), dtype=np.bool_)
    for e in range(len(query)):
        if e == 0 or query[e] != query[e - 1]:
            out[e] = True
        else:
            out[e] = out[e - 1] and score[e] > (1.0 - tie_ratio) * score[e - 1]
    return out


def decide(
    candidates: Candidates, query: ProfileArrays, library: ProfileArrays, tie_ratio: float
) -> Decision:
    """Step 6: sort each query's candidates by S (ties by library user id) and output the first,
    then each next one while its S > (1 - tie_ratio) × the previous output's S."""
    score = total_similarity(candidates, query, library)
    order = np.lexsort((candidates.library, -score, candidates.query))
    c, s = candidates.take(order), score[order]
    return Decision(c, s, _output_flags(c.query, s, float(tie_ratio)))
