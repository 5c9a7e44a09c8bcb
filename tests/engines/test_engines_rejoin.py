"""Identification on every engine: the same MATCHES from the same log, and Spark's own
distributed step 2 (prefix join, MinHash) and step 5 (mapInPandas) equal core's results."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from _engines_data import random_sets

from netpersona.rejoin import RejoinSettings, identify
from netpersona.rejoin._join import jaccard_join
from netpersona.rejoin._steps import simi_four_scores, simi_one, simi_three_trim, simi_two_trim

SETTINGS = RejoinSettings()
SCORES = ("score", "simi_one", "simi_two", "simi_three", "simi_four")


def _identify(built):
    return identify(built.engine, built.library, built.queries, SETTINGS, top_k=3)


def test_every_query_gets_a_verdict(built):
    matches = _identify(built).matches
    queries = set(built.queries.arrays().user_ids.to_pylist())
    assert set(matches["query_user"].to_pylist()) == queries
    library = set(built.library.arrays().user_ids.to_pylist())
    answered = matches.filter(pc.equal(matches["answer"], 1)).to_pylist()
    right = {r["query_user"] for r in answered if r["library_user"] == r["query_user"][1:]}
    returning = {q for q in queries if q[1:] in library}
    # the habitual users are easy: most returning users are matched to themselves
    assert len(right) >= 0.7 * len(returning) > 0


@pytest.mark.spark
def test_spark_matches_equal_duckdb_matches(duckdb_built, spark_built):
    duck, spark = _identify(duckdb_built), _identify(spark_built)
    assert spark.matches.schema == duck.matches.schema
    assert spark.matches.num_rows == duck.matches.num_rows
    for column in duck.matches.column_names:
        if column in SCORES:
            d = duck.matches[column].to_numpy(zero_copy_only=False)
            s = spark.matches[column].to_numpy(zero_copy_only=False)
            np.testing.assert_allclose(s, d, rtol=0, atol=1e-9, equal_nan=True, err_msg=column)
        else:
            assert spark.matches[column].to_pylist() == duck.matches[column].to_pylist(), column
    assert [s["mean_candidates"] for s in spark.steps] == [s["mean_candidates"] for s in duck.steps]


@pytest.mark.spark
def test_spark_prefix_join_equals_core_join_on_profiles(spark_built):
    from netpersona.rejoin._spark_join import spark_simi_one

    lib, qry = spark_built.library.arrays(), spark_built.queries.arrays()
    core = simi_one(qry, lib, SETTINGS.jaccard_min)
    # hot_rows=2: the portals are salted here, as they would be at scale
    joined = spark_simi_one(
        spark_built.engine,
        spark_built.library,
        spark_built.queries,
        SETTINGS.jaccard_min,
        hot_rows=2,
    )
    mine = joined.candidates()
    assert len(core) > len(qry.user_ids) / 2
    np.testing.assert_array_equal(mine.query, core.query)
    np.testing.assert_array_equal(mine.library, core.library)
    np.testing.assert_array_equal(mine.simi_one, core.simi_one)  # the same division
    # Σ W(d) in another grouping than core's popcount tables: equal to rounding
    np.testing.assert_allclose(mine.simi_two, core.simi_two, rtol=0, atol=1e-9)


def _csr(table: pa.Table, n: int):
    uid = table["uid"].to_numpy()
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(uid, minlength=n), out=indptr[1:])
    return indptr, table["site_id"].to_numpy().astype(np.int64)


def _brute_force(q_sets, l_sets, threshold):
    out = set()
    for q, x in enumerate(q_sets):
        for u, y in enumerate(l_sets):
            if x and y and len(x & y) / len(x | y) > threshold:
                out.add((q, u))
    return out


@pytest.mark.spark
def test_salted_join_and_minhash_on_skewed_random_sets(spark_engine):
    from netpersona.rejoin import Profiles
    from netpersona.rejoin._spark_join import minhash_recall, spark_simi_one

    n_q, n_l, n_sites, threshold = 60, 300, 40, 0.5
    q_freq, l_freq = random_sets(n_q, n_l, n_sites, seed=7, hot=3)
    sets = {}
    for name, freq, n in (("rq", q_freq, n_q), ("rl", l_freq, n_l)):
        spark_engine.register_arrow(f"{name}_frequent", freq)
        counts = np.bincount(l_freq["site_id"].to_numpy(), minlength=n_sites)
        spark_engine.register_arrow(
            f"{name}_sites",
            pa.table(
                {
                    "site_id": pa.array(np.arange(n_sites), pa.int32()),
                    "n_users": pa.array(counts, pa.int32()),
                }
            ),
        )
        uid, site = freq["uid"].to_numpy(), freq["site_id"].to_numpy()
        sets[name] = [set(site[uid == u].tolist()) for u in range(n)]
    profiles = {
        name: Profiles(spark_engine, name, SETTINGS, n, n_sites, 0.0)
        for name, n in (("rq", n_q), ("rl", n_l))
    }
    truth = _brute_force(sets["rq"], sets["rl"], threshold)
    exact = spark_simi_one(
        spark_engine, profiles["rl"], profiles["rq"], threshold, hot_rows=20, salts=4
    )
    got = exact.candidates()
    assert set(zip(got.query.tolist(), got.library.tolist(), strict=True)) == truth
    assert len(truth) > 50
    # the same pairs as core's numba join
    q_indptr, q_sites = _csr(q_freq, n_q)
    l_indptr, l_sites = _csr(l_freq, n_l)
    core = jaccard_join(q_indptr, q_sites, l_indptr, l_sites, threshold)
    assert core.n_pairs == exact.n_pairs
    minhash = spark_simi_one(
        spark_engine,
        profiles["rl"],
        profiles["rq"],
        threshold,
        candidates="minhash",
        bands=16,
        rows=2,
        out="rq_minhash",
    )
    found = minhash.candidates()
    found_pairs = set(zip(found.query.tolist(), found.library.tolist(), strict=True))
    assert found_pairs <= truth  # verified exactly: never a wrong pair
    recall = minhash_recall(exact, minhash)
    assert recall.found_pairs == len(found_pairs)
    assert 0.9 <= recall.recall <= 1.0  # 1 - (1 - 0.5^2)^16 = 0.99 at the threshold


@pytest.mark.spark
def test_step_five_on_executors_equals_core(spark_built):
    from netpersona.rejoin._spark_runs import spark_simi_four_scores

    lib, qry = spark_built.library.arrays(), spark_built.queries.arrays()
    three = simi_two_trim(simi_one(qry, lib, 0.3), 0.5)
    four = simi_three_trim(three, qry, lib, 0.0, -1.0)
    assert len(four) > 10
    core = simi_four_scores(four.take(np.arange(len(four))), qry, lib, SETTINGS.min_run)
    mine = spark_simi_four_scores(
        spark_built.engine,
        four.take(np.arange(len(four))),
        spark_built.library,
        spark_built.queries,
        SETTINGS.min_run,
    )
    np.testing.assert_array_equal(mine.simi_four_raw, core.simi_four_raw)
    np.testing.assert_array_equal(mine.simi_four, core.simi_four)
    assert core.simi_four_raw.max() > 0
