"""Step 2 at cluster scale: the exact prefix-filter Jaccard join as Spark SQL.

The same method as :mod:`netpersona.rejoin._join` (which runs it in numba on one machine), on
the profile tables a :class:`~netpersona.engine.SparkEngine` built:

1. **Order.** Sites are ranked rarest-first by how many library users hold them as frequent
   (ties by site code); sites only queries hold rank first (count 0).
2. **Prefixes.** A set ``x`` keeps its first ``|x| - max(1, ceil(t·|x|)) + 1`` sites in that
   order. Any pair with Jaccard >= t shares a site in both prefixes, so joining prefixes on the
   site finds every such pair.
3. **Size filter.** ``t·|x| <= |y| <= |x|/t`` (as floats, with the same 1e-9 slack).
4. **Verification.** Overlap and Σ W(d) over the shared sites are computed exactly from the
   full sets (the overlap, hence SimiOne, equals the numba join's exactly; Σ W(d) is summed
   in ascending site order, equal to the numba join's grouped sums to rounding, < 1e-9);
   pairs with Jaccard > t (strictly, as the paper) are kept.

**Hot sites** (skew). Rarest-first ordering keeps portals out of most prefixes, but small sets
(one or two frequent sites) hold them in their prefix, and on a real log a single portal can
put millions of library rows under one join key. A site whose library prefix count exceeds
``hot_rows`` is *salted*: each of its library prefix rows gets one salt ``hash(uid) mod
salts`` and each query prefix row holding it is copied once per salt. Every library row is in
exactly one salt bucket and every query row is in all of them, so each (query, library) pair
that shares the site still meets exactly once: the candidate set is unchanged, only spread
over ``salts`` tasks. Nothing is capped or dropped, so the join stays exact.

**MinHash banding** (``candidates="minhash"``), for libraries beyond ~10M users: ``bands x
rows`` MinHash values per set, candidates = pairs agreeing on all values of some band, then
the same exact verification. Its result is a subset of the exact join (never a wrong pair);
:func:`minhash_recall` measures how much of the exact join it finds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from netpersona.engine import Engine, mark
from netpersona.rejoin._profiles import Profiles
from netpersona.rejoin._steps import Candidates

#: Mersenne prime 2^31 - 1: MinHash values are (a·site + b) mod P
_PRIME = 2_147_483_647
_EPS = 1e-9
#: these statements are written in Spark SQL (lambdas, explode, pmod): run as they are
SPARK = mark("spark")


@dataclass
class SparkJoin:
    """A step-2 result kept in the engine as table ``table``: ``query_uid, library_uid,
    simi_one, simi_two`` (SimiTwo = Σ W(d) over the shared frequent sites)."""

    engine: Engine
    table: str
    mode: str
    n_pairs: int
    n_candidates: int
    seconds: float

    def candidates(self) -> Candidates:
        """The pairs as core's :class:`Candidates` (sorted by query, then library user)."""
        pairs = self.engine.fetch_arrow(
            SPARK + f"SELECT query_uid, library_uid, simi_one, simi_two FROM {self.table}"
        )
        q = pairs.column("query_uid").to_numpy().astype(np.int32)
        u = pairs.column("library_uid").to_numpy().astype(np.int32)
        order = np.lexsort((u, q))
        return Candidates.from_arrays(
            q[order],
            u[order],
            pairs.column("simi_one").to_numpy()[order],
            pairs.column("simi_two").to_numpy()[order],
        )


def _double(value: float) -> str:
    return f"CAST({float(value)!r} AS DOUBLE)"


def _sets(engine: Engine, profiles: Profiles, library: Profiles, name: str) -> None:
    """Per user: frequent sites with their W(d) = 1 / max(V(d), 1) (V from the library, the
    same double division as numpy's; 1 for sites the library never saw), ascending by site,
    and the set's size."""
    engine.create_table(
        name,
        SPARK
        + f"""SELECT f.uid, count(*) AS n,
            array_sort(collect_list(struct(f.site_id AS site_id,
                coalesce(CAST(1 AS DOUBLE) / CAST(greatest(v.n_users, 1) AS DOUBLE),
                         CAST(1 AS DOUBLE)) AS w))) AS items
        FROM {profiles.table("frequent")} AS f
        LEFT JOIN {library.table("sites")} AS v ON v.site_id = f.site_id
        GROUP BY f.uid""",
    )


def _prefix_length(size: str, threshold: float) -> str:
    need = f"greatest(1, CAST(ceil({_double(threshold)} * {size} - {_EPS!r}) AS INT))"
    return f"({size} - {need} + 1)"


def _size_filter(nx: str, ny: str, threshold: float) -> str:
    low = f"{ny} >= {_double(threshold)} * {nx} - {_EPS!r}"
    if threshold <= 0:
        return low
    return f"{low} AND {ny} <= {nx} / {_double(threshold)} + {_EPS!r}"


def _verify(engine: Engine, pairs: str, q_sets: str, l_sets: str, threshold: float, out: str):
    """Exact SimiOne and SimiTwo of candidate pairs; keep Jaccard > threshold."""
    engine.create_table(
        out,
        SPARK
        + f"""WITH scored AS (
            SELECT p.query_uid, p.library_uid, q.n AS nx, l.n AS ny,
                array_sort(array_intersect(l.items, q.items)) AS shared
            FROM {pairs} AS p
            JOIN {q_sets} AS q ON q.uid = p.query_uid
            JOIN {l_sets} AS l ON l.uid = p.library_uid),
        counted AS (
            SELECT query_uid, library_uid,
                size(shared) / CAST(nx + ny - size(shared) AS DOUBLE) AS simi_one,
                aggregate(shared, CAST(0 AS DOUBLE), (acc, s) -> acc + s.w) AS simi_two
            FROM scored)
        SELECT query_uid, library_uid, simi_one, simi_two FROM counted
        WHERE simi_one > {_double(threshold)}""",
    )


def spark_simi_one(
    engine: Engine,
    library: Profiles,
    queries: Profiles,
    jaccard_min: float,
    *,
    candidates: str = "exact",
    hot_rows: int = 100_000,
    salts: int = 16,
    bands: int = 32,
    rows: int = 4,
    seed: int = 0,
    out: str | None = None,
) -> SparkJoin:
    """Step 2 on the engine: pairs with frequent-site Jaccard > ``jaccard_min``.

    ``candidates="exact"`` (prefix filter, salted hot sites: equals the all-pairs join) or
    ``"minhash"`` (``bands`` x ``rows`` banding, verified exactly: a subset, see
    :func:`minhash_recall`). ``out`` names the result table (default ``<queries>_simi_one``).
    """
    if not engine.distributed:  # the engine says what it is; no name compared
        raise ValueError("spark_simi_one runs on Spark; DuckDB uses jaccard_join")
    if candidates not in ("exact", "minhash"):
        raise ValueError(f"candidates must be 'exact' or 'minhash', not {candidates!r}")
    started = time.perf_counter()
    t = float(jaccard_min)
    base = f"{queries.name}_sj"
    out = out or f"{queries.name}_simi_one"
    q_sets, l_sets, pairs = (f"{base}_{p}" for p in ("qsets", "lsets", "pairs"))
    _sets(engine, library, library, l_sets)
    _sets(engine, queries, library, q_sets)
    if candidates == "exact":
        _prefix_pairs(engine, library, queries, t, hot_rows, salts, pairs)
    else:
        _minhash_pairs(engine, q_sets, l_sets, t, bands, rows, seed, pairs)
    n_candidates = int(engine.fetch_scalar(f"SELECT count(*) FROM {pairs}"))
    _verify(engine, pairs, q_sets, l_sets, t, out)
    n_pairs = int(engine.fetch_scalar(f"SELECT count(*) FROM {out}"))
    for scratch in (q_sets, l_sets, pairs):
        engine.execute(f"DROP TABLE IF EXISTS {scratch}")
    return SparkJoin(engine, out, candidates, n_pairs, n_candidates, time.perf_counter() - started)


def _prefix_pairs(engine, library, queries, t, hot_rows, salts, pairs) -> None:
    """Candidate pairs: prefixes joined on a shared site (hot sites salted), size-filtered."""

    def prefix(profiles: Profiles) -> str:
        # rarest first: (library users holding the site as frequent, site code)
        return f"""SELECT uid, site_id, n FROM (
                SELECT f.uid, f.site_id,
                    row_number() OVER (PARTITION BY f.uid
                        ORDER BY coalesce(d.df, 0), f.site_id) AS position,
                    count(*) OVER (PARTITION BY f.uid) AS n
                FROM {profiles.table("frequent")} AS f LEFT JOIN df AS d
                    ON d.site_id = f.site_id) AS ranked
            WHERE position <= {_prefix_length("n", t)}"""

    engine.create_table(
        pairs,
        SPARK
        + f"""WITH df AS (
            SELECT site_id, count(*) AS df FROM {library.table("frequent")} GROUP BY site_id),
        lpre AS ({prefix(library)}),
        qpre AS ({prefix(queries)}),
        hot AS (  -- too many library prefix rows for one join key: salted
            SELECT site_id FROM lpre GROUP BY site_id HAVING count(*) > {int(hot_rows)}),
        l AS (
            SELECT p.uid, p.site_id, p.n,
                CASE WHEN h.site_id IS NULL THEN 0 ELSE pmod(hash(p.uid), {int(salts)}) END
                    AS salt
            FROM lpre AS p LEFT JOIN hot AS h ON h.site_id = p.site_id),
        q AS (
            SELECT p.uid, p.site_id, p.n, explode(CASE WHEN h.site_id IS NULL THEN array(0)
                ELSE sequence(0, {int(salts) - 1}) END) AS salt
            FROM qpre AS p LEFT JOIN hot AS h ON h.site_id = p.site_id)
        SELECT DISTINCT q.uid AS query_uid, l.uid AS library_uid
        FROM q JOIN l ON l.site_id = q.site_id AND l.salt = q.salt
        WHERE {_size_filter("q.n", "l.n", t)}""",
    )


def _minhash_pairs(engine, q_sets, l_sets, t, bands, rows, seed, pairs) -> None:
    """Candidate pairs: equal MinHash values on all ``rows`` of some band, size-filtered.

    Value i of a set is min over its sites of (a_i·site + b_i) mod P: two sets agree on it
    with probability J, so on a whole band with J^rows, on some band 1 - (1 - J^rows)^bands.
    """
    rng = np.random.default_rng(seed)
    k = int(bands) * int(rows)
    a = ", ".join(str(int(x)) for x in rng.integers(1, _PRIME, k))
    b = ", ".join(str(int(x)) for x in rng.integers(0, _PRIME, k))
    signature = (
        f"transform(sequence(0, {k - 1}), i -> array_min(transform(items, x -> "
        f"pmod(element_at(array({a}), i + 1) * CAST(x.site_id AS BIGINT) "
        f"+ element_at(array({b}), i + 1), {_PRIME}))))"
    )

    def banded(sets: str) -> str:
        return f"""SELECT uid, n, band,
                xxhash64(slice(sig, band * {int(rows)} + 1, {int(rows)})) AS bucket
            FROM (SELECT uid, n, sig, explode(sequence(0, {int(bands) - 1})) AS band
                  FROM (SELECT uid, n, {signature} AS sig FROM {sets}) AS signed) AS b"""

    engine.create_table(
        pairs,
        SPARK
        + f"""WITH l AS ({banded(l_sets)}), q AS ({banded(q_sets)})
        SELECT DISTINCT q.uid AS query_uid, l.uid AS library_uid
        FROM q JOIN l ON l.band = q.band AND l.bucket = q.bucket
        WHERE {_size_filter("q.n", "l.n", t)}""",
    )


@dataclass
class Recall:
    """How much of the exact join a MinHash run found (its pairs are always correct)."""

    exact_pairs: int
    found_pairs: int
    recall: float
    exact_seconds: float
    minhash_seconds: float
    minhash_candidates: int


def minhash_recall(exact: SparkJoin, minhash: SparkJoin) -> Recall:
    """Recall of ``minhash`` against ``exact`` (same library and queries), measured."""
    engine = exact.engine
    found = int(
        engine.fetch_scalar(
            f"""SELECT count(*) FROM {minhash.table} AS m JOIN {exact.table} AS e
            ON e.query_uid = m.query_uid AND e.library_uid = m.library_uid"""
        )
    )
    return Recall(
        exact_pairs=exact.n_pairs,
        found_pairs=found,
        recall=found / exact.n_pairs if exact.n_pairs else 1.0,
        exact_seconds=exact.seconds,
        minhash_seconds=minhash.seconds,
        minhash_candidates=minhash.n_candidates,
    )
