"""Turning the survivors of steps 2-6 into MATCHES rows: the further candidates ``--top-k``
lists for a person to check (answer 0), the table itself, and its CSV."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from netpersona.rejoin._profiles import ProfileArrays
from netpersona.rejoin._settings import RejoinSettings
from netpersona.rejoin._steps import (
    Candidates,
    Decision,
    simi_four_scores,
    simi_three_scores,
    total_similarity,
)

#: the columns of MATCHES.csv
MATCH_SCHEMA = pa.schema(
    [
        ("query_user", pa.string()),
        ("decision", pa.string()),
        ("rank", pa.int32()),
        ("library_user", pa.string()),
        ("score", pa.float64()),
        ("answer", pa.int8()),
        ("simi_one", pa.float64()),
        ("simi_two", pa.float64()),
        ("simi_three", pa.float64()),
        ("simi_four", pa.float64()),
    ]
)


def _reserve(two: Candidates, three: Candidates, top_k: int) -> Candidates:
    """Per query, the ``top_k`` best step-2 candidates step 3 dropped (by SimiTwo, SimiOne)."""
    key2 = two.query.astype(np.int64) << 32 | two.library.astype(np.int64)
    key3 = three.query.astype(np.int64) << 32 | three.library.astype(np.int64)
    dropped = two.take(~np.isin(key2, key3))
    order = np.lexsort((dropped.library, -dropped.simi_one, -dropped.simi_two, dropped.query))
    dropped = dropped.take(order)
    return dropped.take(_first_k_per_group(dropped.query, top_k))


def _first_k_per_group(query: np.ndarray, k: int) -> np.ndarray:
    if len(query) == 0:
        return np.zeros(0, dtype=bool)
    starts = np.flatnonzero(np.r_[True, query[1:] != query[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(query)]))
    return (np.arange(len(query)) - group_start) < k


def _extras(
    decision: Decision,
    five: Candidates,
    four: Candidates,
    three: Candidates,
    reserve: Candidates,
    qry: ProfileArrays,
    lib: ProfileArrays,
    s: RejoinSettings,
    top_k: int,
) -> tuple[Candidates, np.ndarray]:
    """Up to ``top_k`` more candidates per query beyond the output set, best first.

    "Best" = furthest through the steps (step-5 survivors not output, then dropped at step 5,
    at step 4, at step 3), then by total similarity S within a stage.
    """
    if top_k <= 0:
        return Candidates.empty(), np.zeros(0)
    not_output = decision.candidates.take(~decision.output)

    def minus(a: Candidates, b: Candidates) -> Candidates:
        ka = a.query.astype(np.int64) << 32 | a.library.astype(np.int64)
        kb = b.query.astype(np.int64) << 32 | b.library.astype(np.int64)
        return a.take(~np.isin(ka, kb))

    stages = [
        (not_output, 4),
        (minus(four, five), 3),
        (minus(three, four), 2),
        (reserve, 1),
    ]
    pool = Candidates.concat([c for c, _ in stages])
    stage = np.concatenate([np.full(len(c), st) for c, st in stages])
    if len(pool) == 0:
        return pool, np.zeros(0)
    # stages rank first: a query's candidates in a stage below the one that fills its top_k
    # cannot be shown, so their similarities are never computed
    pool, stage = _reachable(pool, stage, top_k)
    missing3 = np.isnan(pool.simi_three)
    if missing3.any():
        part = simi_three_scores(pool.take(missing3), qry, lib)
        pool.simi_three[missing3], pool.site_hour[missing3] = part.simi_three, part.site_hour
    missing4 = np.isnan(pool.simi_four)
    if missing4.any():
        part = simi_four_scores(pool.take(missing4), qry, lib, s.min_run)
        pool.simi_four[missing4], pool.simi_four_raw[missing4] = part.simi_four, part.simi_four_raw
    score = total_similarity(pool, qry, lib)
    order = np.lexsort((pool.library, -score, -stage, pool.query))
    pool, score = pool.take(order), score[order]
    keep = _first_k_per_group(pool.query, top_k)
    return pool.take(keep), score[keep]


def _reachable(pool: Candidates, stage: np.ndarray, top_k: int) -> tuple[Candidates, np.ndarray]:
    """The candidates that may still be among a query's ``top_k`` extras: those of stages
    whose better stages hold fewer than ``top_k`` of the query's candidates."""
    order = np.lexsort((-stage, pool.query))
    query, st = pool.query[order], stage[order]
    # per (query, stage) group: how many of the query's candidates sit in better stages
    new_group = np.r_[True, (query[1:] != query[:-1]) | (st[1:] != st[:-1])]
    new_query = np.r_[True, query[1:] != query[:-1]]
    position = np.arange(len(query))
    query_start = np.maximum.accumulate(np.where(new_query, position, 0))
    group_start = np.maximum.accumulate(np.where(new_group, position, 0))
    keep = order[(group_start - query_start) < top_k]
    return pool.take(np.sort(keep)), stage[np.sort(keep)]


def _matches_table(
    qry: ProfileArrays,
    lib: ProfileArrays,
    rows: np.ndarray,
    decision: Decision,
    extras: tuple[Candidates, np.ndarray],
) -> pa.Table:
    """MATCHES rows: per query its output set (answer 1), extras (answer 0), or a rank-0 row."""
    out = decision.candidates.take(decision.output)
    out_score = decision.score[decision.output]
    extra, extra_score = extras
    n_out = np.bincount(out.query, minlength=qry.n_users)
    all_c = Candidates.concat([out, extra])
    score = np.concatenate([out_score, extra_score])
    answer = np.concatenate([np.ones(len(out), np.int8), np.zeros(len(extra), np.int8)])
    # queries with no row at all get one rank-0 row
    has_row = np.zeros(qry.n_users, dtype=bool)
    has_row[all_c.query] = True
    lonely = rows[~has_row[rows]].astype(np.int32)
    query = np.concatenate([all_c.query, lonely])
    library = np.concatenate([all_c.library, np.full(len(lonely), -1, np.int32)])
    nan = np.full(len(lonely), np.nan)
    score = np.concatenate([score, nan])
    answer = np.concatenate([answer, np.zeros(len(lonely), np.int8)])
    sims = {
        name: np.concatenate([getattr(all_c, name), nan])
        for name in ("simi_one", "simi_two", "simi_three", "simi_four")
    }
    # order: query, then output set before extras, then the order they were ranked in
    position = np.arange(len(query))
    order = np.lexsort((position, query))
    query, library, score, answer = query[order], library[order], score[order], answer[order]
    sims = {k: v[order] for k, v in sims.items()}
    starts = np.flatnonzero(np.r_[True, query[1:] != query[:-1]]) if len(query) else []
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(query)])) if len(query) else []
    rank = (np.arange(len(query)) - group_start + 1).astype(np.int32)
    rank[library < 0] = 0
    count = n_out[query]
    labels = np.array(["new", "match", "ambiguous"], dtype=object)
    decision_text = labels[np.minimum(count, 2)]
    lib_ids = lib.user_ids.take(pa.array(np.where(library < 0, 0, library)))
    lib_ids = pc.if_else(pa.array(library < 0), pa.nulls(len(query), pa.string()), lib_ids)
    valid = library >= 0
    return pa.table(
        {
            "query_user": qry.user_ids.take(pa.array(query)),
            "decision": pa.array(decision_text.tolist(), pa.string()),
            "rank": pa.array(rank, pa.int32()),
            "library_user": lib_ids,
            "score": pa.array(score, pa.float64(), mask=~valid),
            "answer": pa.array(answer, pa.int8()),
            **{k: pa.array(v, pa.float64(), mask=~valid) for k, v in sims.items()},
        },
        schema=MATCH_SCHEMA,
    )


def _pair_table(qry: ProfileArrays, lib: ProfileArrays, q: np.ndarray, u: np.ndarray) -> pa.Table:
    """(query_user, library_user) as dictionary-encoded strings (cheap for millions of pairs)."""
    return pa.table(
        {
            "query_user": pa.DictionaryArray.from_arrays(pa.array(q, pa.int32()), qry.user_ids),
            "library_user": pa.DictionaryArray.from_arrays(pa.array(u, pa.int32()), lib.user_ids),
        }
    )


#: (query_user, library_user) of coded candidate pairs, for other matchers' funnels
pair_table = _pair_table


def write_matches_csv(matches: pa.Table, path, force: bool = False):
    """Write MATCHES rows to ``path`` (CSV, or Parquet / JSON Lines by its name), atomically,
    refusing to overwrite unless ``force``. Missing values (the rank-0 row of a query without
    candidates) are empty."""
    from netpersona._core import write_table_file

    # the format by the name (.csv as before, .parquet, .jsonl) or a database URL (a table)
    write_table_file(matches.cast(MATCH_SCHEMA), path, force=force)
    return path
