"""MATCHES rows (the paper method's columns and semantics) from ranked candidate pairs."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from netpersona.rejoin._identify import MATCH_SCHEMA

#: decision codes per query
NEW, MATCH, AMBIGUOUS = 0, 1, 2
_LABELS = np.array(["new", "match", "ambiguous"], dtype=object)
SIMILARITIES = ("simi_one", "simi_two", "simi_three", "simi_four")


def group_starts(query: np.ndarray) -> np.ndarray:
    """Index of the first pair of each pair's query group (pairs grouped by query)."""
    if len(query) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, query[1:] != query[:-1]])
    return np.repeat(starts, np.diff(np.r_[starts, len(query)]))


def build_matches(
    query_ids: pa.Array,
    library_ids: pa.Array,
    decision: np.ndarray,
    query: np.ndarray,
    library: np.ndarray,
    score: np.ndarray,
    answer: np.ndarray,
    similarities: dict[str, np.ndarray] | None = None,
) -> pa.Table:
    """MATCHES for every query row: ``decision`` (one code per query row) and the shown pairs,
    grouped by query in rank order (rank 1..n); a query without pairs gets one rank-0 row."""
    n_q = len(decision)
    shown = np.zeros(n_q, dtype=bool)
    shown[query] = True
    lonely = np.flatnonzero(~shown)
    q = np.concatenate([query, lonely]).astype(np.int64)
    lib = np.concatenate([library, np.full(len(lonely), -1)]).astype(np.int64)
    nan = np.full(len(lonely), np.nan)
    sc = np.concatenate([score, nan])
    ans = np.concatenate([answer, np.zeros(len(lonely))]).astype(np.int8)
    sims = similarities or {}
    sim = {k: np.concatenate([sims.get(k, np.full(len(query), np.nan)), nan]) for k in SIMILARITIES}
    order = np.lexsort((np.arange(len(q)), q))
    q, lib, sc, ans = q[order], lib[order], sc[order], ans[order]
    sim = {k: v[order] for k, v in sim.items()}
    rank = (np.arange(len(q)) - group_starts(q) + 1).astype(np.int32)
    valid = lib >= 0
    rank[~valid] = 0
    lib_ids = library_ids.take(pa.array(np.where(valid, lib, 0))) if len(library_ids) else None
    if lib_ids is None:
        lib_col = pa.nulls(len(q), pa.string())
    else:
        lib_col = pc.if_else(pa.array(valid), lib_ids, pa.nulls(len(q), pa.string()))
    return pa.table(
        {
            "query_user": query_ids.take(pa.array(q)),
            "decision": pa.array(_LABELS[decision[q]].tolist(), pa.string()),
            "rank": pa.array(rank, pa.int32()),
            "library_user": lib_col,
            "score": pa.array(sc, pa.float64(), mask=~valid | np.isnan(sc)),
            "answer": pa.array(ans, pa.int8()),
            **{k: pa.array(v, pa.float64(), mask=np.isnan(v)) for k, v in sim.items()},
        },
        schema=MATCH_SCHEMA,
    )
