"""The self-supervised split of the learned matcher, and its decision thresholds."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import pytest
from _core_data import habitual_log
from hypothesis import given, settings
from hypothesis import strategies as st

from netpersona._core import ConfigError
from netpersona.engine import DuckDBEngine
from netpersona.rejoin import RejoinSettings
from netpersona.rejoin._learned._selfsup import simulate
from netpersona.rejoin._learned._threshold import Objective, choose_threshold, simulated_metrics


@pytest.fixture(scope="module")
def engine():
    eng = DuckDBEngine(threads=1)
    eng.execute("SET preserve_insertion_order = true")
    eng.register_arrow("raw", habitual_log(n_users=30, days=16, seed=4))
    eng.create_table("lib_log", "SELECT * FROM raw")
    yield eng
    eng.close()


def test_simulated_queries_never_reach_their_library_profile(engine):
    cuts = simulate(engine, "lib_log", RejoinSettings(), query_days=3, cuts=2, seed=1)
    assert len(cuts) == 2
    for number, cut in enumerate(cuts):
        query_start = cut.split.query_period[0]
        lib_last = pc.max(cut.library.arrays.last_ts).as_py()
        q_first = pc.min(cut.queries.arrays.first_ts).as_py()
        # every library row is from before the query period, every query row from inside it
        assert lib_last.date() < query_start <= q_first.date()
        assert cut.split.query_period[1] == cut.split.window[1]
        # the later cut ends where the earlier one's query period starts: no row is shared
        if number:
            assert cut.split.window[1] < cuts[number - 1].split.query_period[0]
        # a present query's library row is its own user, with earlier rows only
        lib_ids = cut.library.arrays.user_ids.to_pylist()
        present = cut.present
        assert present.any() and (~present).any()
        q_first_s = cut.queries.activity.first_seconds
        l_last_s = cut.library.activity.last_seconds
        rows = np.flatnonzero(present)
        assert np.all(l_last_s[cut.true_library_row[rows]] < q_first_s[rows])
        # the true library row holds the same person: their earlier rows in the raw log
        for q in rows[:5]:
            user = lib_ids[cut.true_library_row[q]]
            raw_days = engine.fetch_scalar(
                f"SELECT count(DISTINCT CAST(ts AS DATE)) FROM lib_log WHERE user_id = '{user}' "
                f"AND ts < TIMESTAMP '{cut.split.library_period[1]} 23:59:59.999999' "
                f"AND CAST(ts AS DATE) >= DATE '{cut.split.window[0]}'"
            )
            assert cut.library.arrays.online_days[cut.true_library_row[q]] == raw_days


def test_dropped_users_are_new(engine):
    cut = simulate(engine, "lib_log", RejoinSettings(), query_days=3, cuts=1, drop_fraction=0.3)[0]
    n_active = cut.split.n_library_active
    assert cut.library.n_users == round(0.7 * n_active)
    assert int((~cut.present).sum()) == cut.split.n_absent


def test_too_short_a_library_is_refused(engine):
    with pytest.raises(ConfigError, match="too short"):
        simulate(engine, "lib_log", RejoinSettings(), query_days=8, cuts=1)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 80),
    far=st.sampled_from([0.0, 0.05, 0.1, 0.3]),
)
def test_far_threshold_bounds_false_matches(seed, n, far):
    rng = np.random.default_rng(seed)
    present = rng.random(n) < 0.6
    correct = present & (rng.random(n) < 0.7)
    best = np.where(present, rng.random(n) + 0.3, rng.random(n)).round(2)
    best[rng.random(n) < 0.1] = -np.inf
    threshold, metrics = choose_threshold(best, correct, present, Objective.parse(f"far:{far}"))
    wrongly = int(((best >= threshold) & ~present).sum())
    assert wrongly <= far * max(int((~present).sum()), 1) + 1e-9
    assert metrics == simulated_metrics(best, correct, present, threshold)
    # no lower threshold keeps the bound and gets more present users right
    for other in np.unique(best[np.isfinite(best)]):
        m = simulated_metrics(best, correct, present, other)
        if (m["false_match_rate"] or 0.0) <= far + 1e-9 and m["acc_present"] is not None:
            assert m["acc_present"] <= metrics["acc_present"] + 1e-12


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), objective=st.sampled_from(["overall", "balanced"]))
def test_threshold_is_optimal_for_its_objective(seed, objective):
    rng = np.random.default_rng(seed)
    n = 50
    present = rng.random(n) < 0.5
    correct = present & (rng.random(n) < 0.8)
    best = rng.random(n).round(2)
    key = "acc_overall" if objective == "overall" else "balanced_accuracy"
    _, chosen = choose_threshold(best, correct, present, Objective.parse(objective))
    for t in [-1.0, *np.unique(best), 2.0]:
        assert (simulated_metrics(best, correct, present, t)[key] or 0) <= chosen[key] + 1e-12


def test_objective_parsing():
    assert str(Objective.parse("far:0.05")) == "far:0.05"
    assert Objective.parse(" Balanced ").kind == "balanced"
    with pytest.raises(ConfigError, match="far:X"):
        Objective.parse("far:2")
    with pytest.raises(ConfigError, match="unknown objective"):
        Objective.parse("accuracy")


def test_a_large_library_is_simulated_on_a_sample_of_its_users(engine):
    everyone = engine.fetch_scalar("SELECT count(DISTINCT user_id) FROM lib_log")
    cuts = simulate(engine, "lib_log", RejoinSettings(), query_days=3, cuts=2, max_users=12)
    for cut in cuts:
        library = set(cut.library.arrays.user_ids.to_pylist())
        assert cut.split.n_library_active <= 12 < everyone
        assert cut.queries.n_users <= 12 and len(library) == cut.split.n_library
        # the sample keeps each drawn user's whole history: profiles equal the unsampled ones
        row = cut.library.arrays.user_index[sorted(library)[0]]
        days = engine.fetch_scalar(
            f"SELECT count(DISTINCT CAST(ts AS DATE)) FROM lib_log WHERE user_id = "
            f"'{sorted(library)[0]}' AND CAST(ts AS DATE) BETWEEN DATE "
            f"'{cut.split.library_period[0]}' AND DATE '{cut.split.library_period[1]}'"
        )
        assert cut.library.arrays.online_days[row] == days
    # the same seed draws the same users; the sample's tables are gone afterwards
    again = simulate(engine, "lib_log", RejoinSettings(), query_days=3, cuts=2, max_users=12)
    assert [c.library.arrays.user_ids.to_pylist() for c in again] == [
        c.library.arrays.user_ids.to_pylist() for c in cuts
    ]
    left = engine.fetch_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'selfsup%'"
    )
    assert left == 0


def test_cutting_stops_once_enough_queries_are_simulated(engine):
    one = simulate(engine, "lib_log", RejoinSettings(), query_days=3, cuts=3, target_queries=1)
    three = simulate(engine, "lib_log", RejoinSettings(), query_days=3, cuts=3)
    assert len(one) == 1 and len(three) == 3
    assert one[0].queries.n_users == three[0].queries.n_users


def test_last_days_simulation_cuts_each_user_at_its_own_end(engine):
    cuts = simulate(
        engine, "lib_log", RejoinSettings(), query_days=3, cuts=2, draws=2, seed=1,
        split_by="last-days",
    )  # fmt: skip
    assert len(cuts) == 4 and sorted({c.cut for c in cuts}) == [0, 1]
    for cut in cuts:
        rows = np.flatnonzero(cut.present)
        assert len(rows) and (~cut.present).any()
        q_first = cut.queries.activity.first_seconds[rows]
        l_last = cut.library.activity.last_seconds[cut.true_library_row[rows]]
        assert np.all(l_last < q_first)
        # each query spans at most its query_days calendar days
        span = cut.queries.activity.last_seconds - cut.queries.activity.first_seconds
        assert np.all(span < 3 * 86_400)
    # the second time cut ends each user 3 days earlier: its queries end earlier
    late = max(c.queries.activity.last_seconds.max() for c in cuts if c.cut == 0)
    early = max(c.queries.activity.last_seconds.max() for c in cuts if c.cut == 1)
    assert early <= late - 2 * 86_400
    # draws of one cut leave different users out
    d0, d1 = (c for c in cuts if c.cut == 0)
    assert set(d0.library.arrays.user_ids.to_pylist()) != set(
        d1.library.arrays.user_ids.to_pylist()
    )


def test_first_seen_simulation_cuts_inside_the_library(engine):
    cuts = simulate(
        engine, "lib_log", RejoinSettings(), query_days=3, cuts=2, draws=1, seed=1,
        split_by="first-seen",
    )  # fmt: skip
    assert len(cuts) == 2
    for cut in cuts:
        rows = np.flatnonzero(cut.present)
        assert len(rows) and (~cut.present).any()
        q_first = cut.queries.activity.first_seconds[rows]
        l_last = cut.library.activity.last_seconds[cut.true_library_row[rows]]
        assert np.all(l_last < q_first)
    # the second cut is earlier than the first
    assert cuts[1].split.query_period[0] < cuts[0].split.query_period[0]
