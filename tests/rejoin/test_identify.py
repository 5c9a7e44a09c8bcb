"""identify(): all queries at once, MATCHES rows, funnel, step candidates (the contract)."""

from __future__ import annotations

import itertools

import pyarrow as pa
import pytest
from _core_data import habitual_log, split_log
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpersona import ConfigError
from netpersona.engine import DuckDBEngine
from netpersona.rejoin import (
    MATCH_SCHEMA,
    STEP_NAMES,
    RejoinSettings,
    build_profiles,
    identify,
)


def _profiles(library: pa.Table, queries: pa.Table, s: RejoinSettings = RejoinSettings()):
    engine = DuckDBEngine(threads=1)
    engine.register_arrow("lib_src", library)
    engine.create_table("lib_log", "SELECT * FROM lib_src")
    engine.register_arrow("qry_src", queries)
    engine.create_table("qry_log", "SELECT * FROM qry_src")
    lib = build_profiles(engine, "lib_log", "lib", s)
    qry = build_profiles(engine, "qry_log", "qry", s, reference=lib)
    return engine, lib, qry


@pytest.fixture(scope="module")
def habitual():
    library, queries, absent = split_log(habitual_log(60, 20, seed=1), query_days=5)
    engine, lib, qry = _profiles(library, queries)
    result = identify(engine, lib, qry, top_k=2, keep_step_candidates=True)
    return result, absent, set(queries["user_id"].to_pylist())


def test_matches_have_the_contract_columns_and_every_query(habitual):
    result, _, query_users = habitual
    assert result.matches.schema == MATCH_SCHEMA
    assert set(result.matches["query_user"].to_pylist()) == query_users
    assert [s["step"] for s in result.steps] == list(STEP_NAMES)
    assert result.n_queries == len(query_users)


def test_habitual_users_are_found_and_absent_ones_are_new(habitual):
    result, absent, query_users = habitual
    rows = result.matches.to_pylist()
    first = {r["query_user"]: r for r in rows if r["rank"] <= 1}
    for user in query_users:
        row = first[user]
        if user in absent:
            assert row["decision"] == "new", user
        else:
            assert row["decision"] == "match" and row["answer"] == 1
            assert row["library_user"] == user[1:]


def test_rows_per_query_are_consistent(habitual):
    result, _, _ = habitual
    by_query: dict[str, list[dict]] = {}
    for r in result.matches.to_pylist():
        by_query.setdefault(r["query_user"], []).append(r)
    for rows in by_query.values():
        assert len({r["decision"] for r in rows}) == 1
        ranks = [r["rank"] for r in rows]
        if ranks == [0]:
            assert rows[0]["library_user"] is None and rows[0]["decision"] == "new"
            continue
        assert ranks == list(range(1, len(rows) + 1))
        answers = [r["answer"] for r in rows]
        assert answers == sorted(answers, reverse=True)  # output set first
        n_out = sum(answers)
        assert rows[0]["decision"] == {0: "new", 1: "match"}.get(n_out, "ambiguous")
        assert len(rows) - n_out <= 2  # top_k extras
        for r in rows:
            for key in ("simi_one", "simi_two", "simi_three", "simi_four", "score"):
                assert r[key] is not None and r[key] >= 0
            assert 0.6 < r["simi_one"] <= 1 and r["simi_three"] <= 1 and r["simi_four"] <= 1
            assert r["score"] <= 1  # S is a mean of three similarities in [0, 1]


def test_funnel_shrinks_and_step_candidates_nest(habitual):
    result, _, _ = habitual
    means = [s["mean_candidates"] for s in result.steps]
    assert means == sorted(means, reverse=True)
    pairs = {
        name: set(zip(t["query_user"].to_pylist(), t["library_user"].to_pylist(), strict=True))
        for name, t in result.step_candidates.items()
    }
    names = list(STEP_NAMES)
    for before, after in itertools.pairwise(names):
        assert pairs[after] <= pairs[before]
    for name, step in zip(names, result.steps, strict=True):
        assert len(pairs[name]) == pytest.approx(step["mean_candidates"] * result.n_queries)


def test_a_query_without_frequent_sites_gets_one_rank_zero_row():
    library, queries, _ = split_log(habitual_log(10, 12, seed=2), query_days=3)
    stray = pa.table(
        {
            "user_id": ["qstray"],
            "ts": pa.array([queries["ts"][0].as_py()], pa.timestamp("us")),
            "site": ["nowhere.example"],
        }
    )
    engine, lib, qry = _profiles(library, pa.concat_tables([queries, stray]))
    rows = [r for r in identify(engine, lib, qry, top_k=3).matches.to_pylist()]
    stray_rows = [r for r in rows if r["query_user"] == "qstray"]
    assert stray_rows == [
        {
            "query_user": "qstray",
            "decision": "new",
            "rank": 0,
            "library_user": None,
            "score": None,
            "answer": 0,
            "simi_one": None,
            "simi_two": None,
            "simi_three": None,
            "simi_four": None,
        }
    ]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_users=st.integers(3, 25), personal=st.integers(2, 6))
def test_a_user_ranks_itself_first_against_its_own_earlier_days(seed, n_users, personal):
    log = habitual_log(n_users, 12, seed=seed, n_personal=personal)
    library, queries, _ = split_log(log, query_days=4, library_fraction=1.0, seed=seed)
    engine, lib, qry = _profiles(library, queries)
    rows = identify(engine, lib, qry, top_k=1).matches.to_pylist()
    for r in rows:
        if r["rank"] == 1:
            assert r["library_user"] == r["query_user"][1:]


def test_query_profiles_must_be_built_against_the_library():
    library, queries, _ = split_log(habitual_log(6, 8, seed=4), query_days=2)
    engine, lib, _ = _profiles(library, queries)
    alone = build_profiles(engine, "qry_log", "alone")  # no reference: its own site codes
    with pytest.raises(ConfigError, match="reference=library"):
        identify(engine, lib, alone)


@pytest.mark.parametrize("top_k", [1, 2, 4])
def test_extras_skip_only_candidates_that_could_not_be_shown(monkeypatch, top_k):
    # similarities are computed only for candidates that may reach a query's top_k; the rows
    # must equal those of scoring every candidate
    import netpersona.rejoin._matches as identify_module

    # no personal sites: users share portals, so candidates fall at every step
    library, queries, _ = split_log(habitual_log(40, 14, seed=7, n_personal=0), query_days=4)
    engine, lib, qry = _profiles(library, queries)
    pruned = identify(engine, lib, qry, top_k=top_k).matches
    monkeypatch.setattr(identify_module, "_reachable", lambda pool, stage, k: (pool, stage))
    assert identify(engine, lib, qry, top_k=top_k).matches.equals(pruned)
    extras = pa.compute.and_(
        pa.compute.equal(pruned["answer"], 0), pa.compute.is_valid(pruned["library_user"])
    )
    assert pruned.filter(extras).num_rows > len(pruned["query_user"].unique()) // 2
