"""The learned matcher end to end: training on the library alone, MATCHES, save and reload."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import pytest
from _core_data import habitual_log
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from netpersona._core import ConfigError, InputError, ModelFormatError, OutputExistsError
from netpersona.engine import DuckDBEngine
from netpersona.rejoin import MATCH_SCHEMA, RejoinSettings
from netpersona.rejoin._evaluate import evaluate_split, get_method
from netpersona.rejoin._learned import (
    FEATURES,
    LearnedMatcher,
    build_side,
    identify_learned,
    load_matcher,
    save_matcher,
)
from netpersona.rejoin._protocol import drop_tables, fetch_truth, split_log

SETTINGS = RejoinSettings()


@pytest.fixture(scope="module")
def world():
    """A habitual log cut by the protocol: the library log, the queries, the truth."""
    engine = DuckDBEngine(threads=1)
    engine.execute("SET preserve_insertion_order = true")
    engine.register_arrow("raw", habitual_log(n_users=36, days=18, seed=7, noise=0.3))
    engine.create_table("log", "SELECT * FROM raw")
    split = split_log(engine, "log", query_days=3, library_fraction=0.75, seed=2, prefix="ev")
    lib = build_side(engine, split.library_table, "L", SETTINGS)
    qry = build_side(engine, split.query_table, "Q", SETTINGS, lib)
    yield engine, split, lib, qry
    engine.close()


@pytest.fixture(scope="module")
def matcher(world):
    engine, split, _, _ = world
    return LearnedMatcher(objective="far:0.05", query_days=3, cuts=2, k=10).fit(
        engine, split.library_table, SETTINGS
    )


def test_far_objective_keeps_false_matches_on_the_simulation(matcher):
    for name in ("hgb", "bp"):
        sim = matcher.simulated_[name]
        assert sim["n_absent"] > 0
        assert sim["false_match_rate"] <= 0.05 + 1e-12
    assert matcher.model_name_ in ("hgb", "bp")
    assert matcher.threshold_ == matcher.simulated_[matcher.model_name_]["threshold"]


def test_matches_follow_the_paper_methods_semantics(world, matcher):
    engine, split, lib, qry = world
    result = identify_learned(matcher, lib, qry, top_k=3)
    m = result.matches
    assert m.schema == MATCH_SCHEMA
    assert set(m.column("query_user").to_pylist()) == set(qry.arrays.user_ids.to_pylist())
    rows = m.to_pylist()
    by_query: dict[str, list[dict]] = {}
    for row in rows:
        by_query.setdefault(row["query_user"], []).append(row)
    for query_rows in by_query.values():
        assert len({r["decision"] for r in query_rows}) == 1
        ranks = [r["rank"] for r in query_rows]
        assert ranks == list(range(1, len(ranks) + 1)) or ranks == [0]
        answered = [r for r in query_rows if r["answer"] == 1]
        decision = query_rows[0]["decision"]
        assert len(answered) == {"new": 0, "match": 1}.get(decision, len(answered))
        if decision == "ambiguous":
            assert len(answered) >= 2
        scores = [r["score"] for r in query_rows if r["score"] is not None]
        assert scores == sorted(scores, reverse=True)
        assert all(r["answer"] == 1 for r in query_rows[: len(answered)])
    # on habitual users the true user is found: most present queries right, few absent matched
    truth = fetch_truth(engine, split)
    from netpersona.rejoin._evaluate import score_matches

    scores = score_matches(m, truth)
    assert scores["rank1_present"] >= 0.8
    assert scores["acc_absent"] >= 0.7


def test_saved_and_reloaded_matcher_gives_identical_matches(world, matcher, tmp_path):
    _, _, lib, qry = world
    before = identify_learned(matcher, lib, qry, top_k=2).matches
    folder = save_matcher(matcher, tmp_path / "m")
    assert not list(folder.rglob("*.pkl")) and not list(folder.rglob("*.pickle"))
    again = load_matcher(folder)
    assert again.threshold_ == matcher.threshold_ and again.model_name_ == matcher.model_name_
    assert identify_learned(again, lib, qry, top_k=2).matches.equals(before)
    with pytest.raises(OutputExistsError):
        save_matcher(matcher, folder)


def test_bp_model_saved_by_its_own_format(world, tmp_path):
    engine, split, lib, qry = world
    bp = LearnedMatcher(query_days=3, cuts=1, k=8, models=("bp",)).fit(
        engine, split.library_table, SETTINGS
    )
    folder = save_matcher(bp, tmp_path / "bp")
    assert (folder / "bp").is_dir()
    again = load_matcher(folder)
    before = identify_learned(bp, lib, qry, top_k=1).matches
    assert identify_learned(again, lib, qry, top_k=1).matches.equals(before)


def test_tampered_training_pairs_are_refused(world, matcher, tmp_path):
    folder = save_matcher(matcher, tmp_path / "t")
    if matcher.model_name_ != "hgb":
        pytest.skip("the refit check concerns the gradient-boosted trees")
    data = dict(np.load(folder / "training.npz"))
    data["label"] = ~data["label"]
    np.savez(folder / "training.npz", **data)
    with pytest.raises(ModelFormatError, match="reproduce"):
        load_matcher(folder)


def test_one_to_one_gives_each_library_user_once(world, matcher):
    _, _, lib, qry = world
    m = identify_learned(matcher, lib, qry, top_k=1, one_to_one=True).matches
    out = m.filter(pc.equal(m.column("answer"), 1)).column("library_user").to_pylist()
    assert len(out) == len(set(out))


def test_methods_run_on_the_protocols_split(world):
    engine, split, _, _ = world
    truth = fetch_truth(engine, split)
    for name in ("tfidf", "learned"):
        method = get_method(name)
        ev = evaluate_split(engine, split, settings=SETTINGS, method=method, top_k=1, truth=truth)
        assert ev.metrics["n_queries"] == split.n_queries
        assert ev.metrics["rank1_present"] >= 0.6
        method.release(engine)
    drop_tables(engine, "learnsim")


def test_explain_shows_features_and_their_contributions(world, matcher):
    _, _, lib, qry = world
    m = identify_learned(matcher, lib, qry, top_k=2).matches
    matched = m.filter(pc.equal(m.column("decision"), "match")).column("query_user")[0].as_py()
    from netpersona.rejoin._learned import explain_learned

    why = explain_learned(matcher, lib, qry, matched, top_k=2)
    assert why.decision == "match" and why.candidates[0].answer == 1
    best = why.candidates[0]
    assert set(best.features) == set(best.contributions) == set(FEATURES)
    # the evidence for a confident match argues for it overall
    assert max(best.contributions.values()) > 0
    text = why.to_text()
    assert matched not in text and "P(same user)" in text
    with pytest.raises(InputError):
        explain_learned(matcher, lib, qry, "nobody")


def test_bad_parameters_are_refused():
    with pytest.raises(ConfigError, match="models"):
        LearnedMatcher(models=("svm",)).check()
    with pytest.raises(ConfigError, match="objective"):
        LearnedMatcher(objective="best").check()
    with pytest.raises(ConfigError, match="simulated_users"):
        LearnedMatcher(simulated_users=1).check()
    with pytest.raises(ConfigError, match="target_queries"):
        LearnedMatcher(target_queries=0).check()
    LearnedMatcher(simulated_users=None, target_queries=None).check()


@hyp_settings(max_examples=60, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(st.integers(0, 5), st.sampled_from([0.0, 0.1, 0.5, 0.5, 0.9, 1.0])),
        max_size=30,
    )
)
def test_decision_scores_are_each_querys_best_second_and_share(pairs):
    from netpersona.rejoin._learned._training import decision_scores

    group = np.array([g for g, _ in pairs], dtype=np.int64)
    prob = np.array([p for _, p in pairs])
    got = decision_scores(group, prob, 7)
    for g in range(7):
        mine = sorted((p for q, p in pairs if q == g), reverse=True)
        if not mine:
            assert got["probability"][g] == -np.inf and got["margin"][g] == -np.inf
            continue
        second = mine[1] if len(mine) > 1 else 0.0
        assert got["probability"][g] == mine[0]
        assert got["margin"][g] == mine[0] - second
        share = mine[0] / sum(mine) if sum(mine) > 0 else 0.0
        assert np.isclose(got["share"][g], mine[0] * share)
