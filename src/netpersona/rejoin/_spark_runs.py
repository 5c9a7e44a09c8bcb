"""Step 5 at cluster scale: SimiFour on the surviving pairs, in Spark's Python workers.

The pairs that reach step 5 are few (a handful per query), but their item sequences are long;
on a cluster they stay where they are. Each pair is joined to its two sequences and the
executors score them with :func:`netpersona.rejoin._runs.pair_run_scores` through
``mapInPandas``: the very compiled (numba) function DuckDB runs use, so the scores are equal
by construction, not by a second implementation.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa

from netpersona.engine import Engine, mark
from netpersona.rejoin._profiles import Profiles
from netpersona.rejoin._runs import pair_run_scores
from netpersona.rejoin._steps import Candidates

SPARK = mark("spark")
#: what the executors return per pair
RUN_SCHEMA = "query_uid INT, library_uid INT, simi_four_raw BIGINT, shorter BIGINT"


def _csr(sequences: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A column of item lists as (indptr, items)."""
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    items = (
        np.concatenate([np.asarray(s, dtype=np.int32) for s in sequences])
        if indptr[-1]
        else np.zeros(0, dtype=np.int32)
    )
    return indptr, items


def score_batches(batches: Iterator[pd.DataFrame], min_run: int) -> Iterator[pd.DataFrame]:
    """Executor side: per batch of (pair, query items, library items), the raw SimiFour."""
    for batch in batches:
        q_indptr, q_items = _csr(batch["q_items"])
        l_indptr, l_items = _csr(batch["l_items"])
        rows = np.arange(len(batch), dtype=np.int64)
        raw = pair_run_scores(q_indptr, q_items, l_indptr, l_items, rows, rows, min_run, 1)
        yield pd.DataFrame(
            {
                "query_uid": batch["query_uid"].astype("int32"),
                "library_uid": batch["library_uid"].astype("int32"),
                "simi_four_raw": raw.astype("int64"),
                "shorter": np.minimum(np.diff(q_indptr), np.diff(l_indptr)),
            }
        )


def spark_run_scores(
    engine: Engine,
    pairs: str,
    library: Profiles,
    queries: Profiles,
    min_run: int,
    out: str | None = None,
) -> str:
    """Score the (``query_uid``, ``library_uid``) pairs of table ``pairs`` on the executors.

    Returns the name of the table written: ``query_uid, library_uid, simi_four_raw,
    shorter`` (the shorter sequence's length, SimiFour's denominator).
    """
    if not engine.distributed:  # the engine says what it is; no name compared
        raise ValueError("spark_run_scores runs on Spark; DuckDB uses pair_run_scores")
    out = out or f"{queries.name}_simi_four"
    joined = engine.spark.sql(
        f"""SELECT p.query_uid, p.library_uid,
            coalesce(q.items, CAST(array() AS ARRAY<INT>)) AS q_items,
            coalesce(l.items, CAST(array() AS ARRAY<INT>)) AS l_items
        FROM {pairs} AS p
        LEFT JOIN {queries.table("sequences")} AS q ON q.uid = p.query_uid
        LEFT JOIN {library.table("sequences")} AS l ON l.uid = p.library_uid"""
    )
    run = int(min_run)
    scored = joined.mapInPandas(lambda batches: score_batches(batches, run), RUN_SCHEMA)
    engine.save(out, scored)
    return out


def spark_simi_four_scores(
    engine: Engine,
    candidates: Candidates,
    library: Profiles,
    queries: Profiles,
    min_run: int,
) -> Candidates:
    """Core's :func:`~netpersona.rejoin._steps.simi_four_scores`, scored on the executors:
    fills ``simi_four_raw`` and ``simi_four`` (raw / the shorter sequence's length)."""
    name = f"{queries.name}_s5_pairs"
    engine.register_arrow(
        name,
        pa.table(
            {
                "query_uid": pa.array(candidates.query, pa.int32()),
                "library_uid": pa.array(candidates.library, pa.int32()),
            }
        ),
    )
    table = spark_run_scores(engine, name, library, queries, min_run)
    scores = engine.fetch_arrow(SPARK + f"SELECT * FROM {table}")
    engine.execute(f"DROP VIEW IF EXISTS {name}")
    engine.execute(f"DROP TABLE IF EXISTS {table}")
    key = _pair_key(candidates.query, candidates.library)
    got = _pair_key(scores["query_uid"].to_numpy(), scores["library_uid"].to_numpy())
    order = np.argsort(got, kind="stable")
    where = order[np.searchsorted(got[order], key)]
    raw = scores["simi_four_raw"].to_numpy()[where].astype(np.float64)
    shorter = scores["shorter"].to_numpy()[where].astype(np.float64)
    c = candidates
    c.simi_four_raw = raw
    c.simi_four = np.divide(raw, shorter, out=np.zeros(len(raw)), where=shorter > 0)
    return c


def _pair_key(query: np.ndarray, library: np.ndarray) -> np.ndarray:
    return query.astype(np.int64) << 32 | library.astype(np.int64)
