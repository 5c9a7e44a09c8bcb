"""Issue 16 (a): enough simulated queries, calibrated probabilities, and `--method auto`."""

from __future__ import annotations

import numpy as np
import pytest
from _core_data import habitual_log
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from netpersona.engine import DuckDBEngine
from netpersona.rejoin import RejoinSettings
from netpersona.rejoin._evaluate import evaluate_split, get_method
from netpersona.rejoin._learned import LearnedMatcher, load_matcher, save_matcher
from netpersona.rejoin._learned._auto import (
    ALWAYS_NEW,
    AUTO_CHOICES,
    assign_one_to_one,
    choose_method,
    objective_value,
)
from netpersona.rejoin._learned._reliability import (
    Calibrator,
    expected_calibration_error,
    simulation_size,
    wilson_interval,
)
from netpersona.rejoin._learned._threshold import Objective
from netpersona.rejoin._protocol import fetch_truth, split_log

SETTINGS = RejoinSettings()


@pytest.fixture(scope="module")
def library150():
    """A 150-user library log over 20 days (a small library, as the real logs give)."""
    engine = DuckDBEngine(threads=1)
    engine.execute("SET preserve_insertion_order = true")
    engine.register_arrow("raw", habitual_log(n_users=150, days=20, seed=11, noise=0.3))
    engine.create_table("lib_log", "SELECT * FROM raw")
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def fitted(library150):
    return LearnedMatcher(k=10, quiet=5, seed=3).fit(library150, "lib_log", SETTINGS)


def test_a_150_user_library_gives_at_least_300_simulated_queries(fitted):
    size = fitted.simulation_
    assert size["n_simulated_queries"] >= 300
    # several time cuts and several held-out draws of each
    assert size["time_cuts"] >= 2 and size["simulations"] >= 2 * size["time_cuts"]
    assert size["n_absent"] >= 50 and size["warning"] is None
    assert size["n_simulated_queries"] == fitted.training_.n_queries
    lo, hi = size["acc_absent_ci95"]
    assert lo <= fitted.simulated_[fitted.model_name_]["acc_absent"] <= hi


def test_one_cut_one_draw_is_too_small_and_says_so(library150):
    m = LearnedMatcher(k=10, quiet=5, cuts=1, draws=1, seed=3, models=("hgb",))
    m.fit(library150, "lib_log", SETTINGS)
    assert m.simulation_["n_simulated_queries"] < 300
    assert m.simulation_["n_absent"] < 50
    assert "95% interval" in m.simulation_["warning"]
    assert any(line.startswith("warning:") for line in m.report_lines())


def test_calibrated_probabilities_hold_on_a_held_back_simulated_fold(fitted):
    data = fitted.training_
    rng = np.random.default_rng(0)
    held = rng.random(data.n_queries) < 1 / 3
    m = LearnedMatcher(k=10, quiet=5, seed=3).fit_training(data.subset(~held), SETTINGS)
    rows = held[data.group]
    prob = m.probability(data.features[rows])
    label = data.label[rows]
    assert label.any()
    ece = expected_calibration_error(prob, label)
    assert ece <= 0.05
    # the figures train prints are the cross-fitted out-of-fold ones
    rel = m.simulated_[m.model_name_]["reliability"]
    assert 0.0 <= rel["ece"] <= 0.05 and 0.0 <= rel["brier"] < 0.25


def test_auto_choice_is_the_best_simulated_method(fitted):
    objective = Objective.parse(fitted.objective)
    sims = {m: fitted.simulated_[m] for m in ("paper", "tfidf", "tfidf_one_to_one")}
    sims["learned"] = fitted.simulated_[fitted.model_name_]
    assert fitted.auto_ in AUTO_CHOICES
    chosen = objective_value(sims[fitted.auto_], objective)
    assert all(
        chosen >= objective_value(v, objective)
        for v in sims.values()
        if v["balanced_accuracy"] > 0.5
    )
    assert fitted.auto_reason_ and fitted.auto_ in fitted.auto_reason_


def test_save_and_reload_keeps_calibration_and_auto(fitted, tmp_path):
    saved = save_matcher(fitted, tmp_path / "m")
    again = load_matcher(saved)
    x = fitted.training_.features[:300]
    assert np.array_equal(again.probability(x), fitted.probability(x))
    assert again.auto_ == fitted.auto_
    assert again.tfidf_one_to_one_threshold_ == fitted.tfidf_one_to_one_threshold_
    assert again.simulation_ == fitted.simulation_


def test_auto_evaluates_on_a_split():
    engine = DuckDBEngine(threads=1)
    engine.register_arrow("raw", habitual_log(n_users=40, days=18, seed=5, noise=0.3))
    engine.create_table("log", "SELECT * FROM raw")
    split = split_log(engine, "log", query_days=3, library_fraction=0.75, seed=1, prefix="ev")
    truth = fetch_truth(engine, split)
    method = get_method("auto")
    method.params.update(k=10, quiet=5, cuts=3, draws=2)
    ev = evaluate_split(engine, split, settings=SETTINGS, method=method, top_k=1, truth=truth)
    assert ev.metrics["balanced_accuracy"] > 0.8
    one = get_method("tfidf_one_to_one")
    one.params.update(cuts=3, draws=2)
    ev1 = evaluate_split(engine, split, settings=SETTINGS, method=one, top_k=1, truth=truth)
    # one-to-one never gives a library user to two queries
    m = ev1.matches.to_pylist()
    given_users = [r["library_user"] for r in m if r["answer"] == 1]
    assert len(given_users) == len(set(given_users))
    engine.close()


figure = st.floats(0.0, 1.0, allow_nan=False)
metrics = st.fixed_dictionaries(
    {"balanced_accuracy": figure, "acc_overall": figure, "acc_present": figure}
)


@hyp_settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from(AUTO_CHOICES), metrics, min_size=1),
    st.sampled_from(["balanced", "overall", "far:0.05"]),
)
def test_auto_never_picks_a_method_below_another(sims, objective_text):
    objective = Objective.parse(objective_text)
    chosen, reason = choose_method(sims, objective)
    eligible = {m: v for m, v in sims.items() if v["balanced_accuracy"] > 0.5}
    if not eligible:
        assert chosen == ALWAYS_NEW and "50%" in reason
        return
    assert chosen in eligible
    best = max(objective_value(v, objective) for v in eligible.values())
    assert objective_value(sims[chosen], objective) == best


@hyp_settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), figure), max_size=40))
def test_one_to_one_matches_a_plain_greedy(pairs):
    seen = set()
    pairs = [p for p in pairs if (p[0], p[1]) not in seen and not seen.add((p[0], p[1]))]
    q = np.array([p[0] for p in pairs], dtype=np.int64)
    lib = np.array([p[1] for p in pairs], dtype=np.int64)
    score = np.array([p[2] for p in pairs], dtype=float)
    given_, assigned = assign_one_to_one(q, lib, score, 7)
    expect, taken = {}, set()
    for s, qq, ll in sorted(zip(-score, q, lib, strict=True)):
        if qq not in expect and ll not in taken:
            expect[qq] = (ll, -s)
            taken.add(ll)
    for qq in range(7):
        if qq in expect:
            assert given_[qq] == expect[qq][0] and assigned[qq] == expect[qq][1]
        else:
            assert given_[qq] == -1 and assigned[qq] == -np.inf


@given(st.integers(0, 200), st.integers(1, 200))
def test_wilson_interval_holds_the_share(k, n):
    k = min(k, n)
    lo, hi = wilson_interval(k, n)
    assert 0.0 <= lo <= k / n + 1e-12 and k / n - 1e-12 <= hi <= 1.0


def test_wilson_known_value_and_warning():
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-3) and hi == pytest.approx(0.9433, abs=1e-3)
    present = np.array([True] * 30 + [False] * 8)
    size = simulation_size(present, {"acc_absent": 0.5, "acc_present": 0.9})
    assert size["n_absent"] == 8 and "8 simulated new user(s)" in size["warning"]


def test_calibrator_is_monotone_and_round_trips():
    rng = np.random.default_rng(1)
    raw = rng.random(2000)
    label = rng.random(2000) < raw**2  # overconfident raw probabilities
    cal = Calibrator.fit(raw, label)
    grid = np.linspace(0, 1, 101)
    out = cal(grid)
    assert np.all(np.diff(out) >= -1e-12)
    assert expected_calibration_error(cal(raw), label) < expected_calibration_error(raw, label)
    again = Calibrator.from_json(cal.to_json())
    assert np.array_equal(again(grid), out)
