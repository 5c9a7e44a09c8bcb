"""Scoring MATCHES against the truth, the per-step funnel, and the protocol end to end."""

from __future__ import annotations

import datetime as dt
import json
import time

import pyarrow as pa
import pytest

from netpersona._core import ConfigError
from netpersona.engine import DuckDBEngine
from netpersona.rejoin._evaluate import (
    MethodRun,
    StepRun,
    candidate_recall,
    evaluate,
    get_method,
    method_names,
    parse_days,
    register_method,
    score_matches,
    sweep_days,
)

COLUMNS = ("query_user", "decision", "rank", "library_user", "score", "answer")


def _exists(engine, name: str) -> bool:
    """Whether table ``name`` exists (read fully: leaves no open result on the connection)."""
    return bool(
        engine.fetch_scalar(
            f"SELECT count(*) FROM information_schema.tables WHERE table_name = '{name}'"
        )
    )


def matches(*rows) -> pa.Table:
    """A MATCHES table from (query, decision, rank, library_user, answer) rows."""
    cols = list(zip(*rows, strict=True))
    return pa.table(
        {
            "query_user": pa.array(cols[0], pa.string()),
            "decision": pa.array(cols[1], pa.string()),
            "rank": pa.array(cols[2], pa.int64()),
            "library_user": pa.array(cols[3], pa.string()),
            "score": pa.array([None if u is None else 0.5 for u in cols[3]], pa.float64()),
            "answer": pa.array(cols[4], pa.int64()),
        }
    )


def truth(*rows) -> pa.Table:
    """A truth table from (query, true_user, in_library) rows."""
    cols = list(zip(*rows, strict=True))
    return pa.table(
        {
            "query_user": pa.array(cols[0], pa.string()),
            "true_user": pa.array(cols[1], pa.string()),
            "in_library": pa.array(cols[2], pa.bool_()),
        }
    )


TRUTH = truth(("q1", "a", True), ("q2", "b", True), ("q3", "c", False), ("q4", "d", False))


def test_all_right():
    m = matches(
        ("q1", "match", 1, "a", 1),
        ("q2", "match", 1, "b", 1),
        ("q3", "new", 0, None, 0),
        ("q4", "new", 1, "x", 0),  # a "new" verdict with a top-k candidate to inspect
    )
    got = score_matches(m, TRUTH)
    for key in ("acc_absent", "acc_present", "acc_present_any", "acc_overall", "rank1_present"):
        assert got[key] == 1.0, key
    assert got["balanced_accuracy"] == 1.0
    assert got["decisions"] == {"match": 2, "ambiguous": 0, "new": 2}
    assert (got["n_queries"], got["n_present"], got["n_absent"]) == (4, 2, 2)


def test_ambiguous_counts_only_the_first_output_but_any_counts_all():
    m = matches(
        ("q1", "ambiguous", 1, "z", 1),
        ("q1", "ambiguous", 2, "a", 1),  # true user second in the output
        ("q2", "ambiguous", 1, "b", 1),
        ("q2", "ambiguous", 2, "y", 1),
        ("q3", "new", 0, None, 0),
        ("q4", "new", 0, None, 0),
    )
    got = score_matches(m, TRUTH)
    assert got["acc_present"] == 0.5
    assert got["acc_present_any"] == 1.0
    assert got["rank1_present"] == 0.5
    assert got["acc_overall"] == 3 / 4
    assert got["decisions"]["ambiguous"] == 2


def test_true_user_below_the_output_or_behind_a_new_verdict():
    m = matches(
        ("q1", "match", 1, "z", 1),
        ("q1", "match", 2, "a", 0),  # top-k extra: not an output
        ("q2", "new", 1, "b", 0),  # right user ranked first, but answered "new"
        ("q3", "match", 1, "a", 1),  # absent user wrongly matched
        ("q4", "new", 0, None, 0),
    )
    got = score_matches(m, TRUTH)
    assert got["acc_present"] == 0.0
    assert got["acc_present_any"] == 0.0
    assert got["rank1_present"] == 0.5
    assert got["acc_absent"] == 0.5
    assert got["acc_overall"] == 1 / 4
    assert got["balanced_accuracy"] == 0.25


def test_no_absent_queries():
    t = truth(("q1", "a", True), ("q2", "b", True))
    m = matches(("q1", "match", 1, "a", 1), ("q2", "new", 0, None, 0))
    got = score_matches(m, t)
    assert got["acc_absent"] is None
    assert got["n_absent"] == 0
    assert got["acc_present"] == 0.5
    assert got["balanced_accuracy"] == 0.5  # only the present accuracy exists
    assert got["acc_overall"] == 0.5


def test_no_present_queries():
    t = truth(("q1", "a", False))
    got = score_matches(matches(("q1", "new", 0, None, 0)), t)
    assert got["acc_present"] is None and got["rank1_present"] is None
    assert got["acc_absent"] == 1.0 and got["balanced_accuracy"] == 1.0


def test_row_order_does_not_matter():
    rows = [
        ("q1", "ambiguous", 2, "a", 1),
        ("q1", "ambiguous", 1, "z", 1),
        ("q2", "match", 1, "b", 1),
        ("q3", "new", 0, None, 0),
        ("q4", "new", 0, None, 0),
    ]
    assert score_matches(matches(*rows), TRUTH) == score_matches(matches(*rows[::-1]), TRUTH)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("q1", "match", 1, "a", 1)], "missing from the matches"),
        (
            [("q1", "match", 1, "a", 1), ("q1", "new", 2, "b", 0), ("q2", "new", 0, None, 0)],
            "two decisions",
        ),
        ([("q9", "new", 0, None, 0), ("q1", "new", 0, None, 0)], "not in the truth"),
        ([("q1", "maybe", 1, "a", 1)], "decision"),
    ],
)
def test_malformed_matches_are_refused(rows, message):
    t = truth(("q1", "a", True), ("q2", "b", False))
    with pytest.raises(ValueError, match=message):
        score_matches(matches(*rows), t)


def test_candidate_recall():
    candidates = pa.table(
        {
            "query_user": ["q1", "q1", "q1", "q2", "q3"],
            "library_user": ["a", "x", "y", "z", "c"],
        }
    )
    mean, recall = candidate_recall(candidates, TRUTH)
    assert mean == 5 / 4
    assert recall == 0.5  # q1 keeps its true user, q2 lost it; q3's "c" is not in the library


def test_parse_days():
    assert parse_days("1-4") == [1, 2, 3, 4]
    assert parse_days("5,3,3") == [3, 5]
    assert parse_days("7") == [7]
    for bad in ("0-3", "x", "5-2", ""):
        with pytest.raises(ConfigError):
            parse_days(bad)


def test_unknown_method():
    assert "paper" in method_names()
    with pytest.raises(ConfigError, match="unknown method"):
        get_method("telepathy")


# --------------------------------------------------------------------------------------------
# the protocol end to end with a plug-in matcher (independent of the paper's steps)


class OwnSiteMethod:
    """Matches a query to the library user sharing its rarest site; "new" when none is shared
    except the portal everyone visits. Enough to check the protocol's plumbing."""

    name = "own-site"

    def run(self, engine, split, settings, *, top_k, progress):
        start = time.perf_counter()
        candidates = engine.fetch_arrow(
            f"SELECT DISTINCT q.user_id AS query_user, l.user_id AS library_user "
            f"FROM {split.query_table} q JOIN {split.library_table} l ON q.site = l.site "
            f"WHERE q.site <> 'portal.com'"
        )
        found = dict(
            zip(
                candidates.column("query_user").to_pylist(),
                candidates.column("library_user").to_pylist(),
                strict=True,
            )
        )
        queries = engine.fetch_arrow(
            f"SELECT DISTINCT user_id FROM {split.query_table} ORDER BY 1"
        ).column("user_id")
        rows = [
            (q, "match", 1, found[q], 1) if q in found else (q, "new", 0, None, 0)
            for q in queries.to_pylist()
        ]
        seconds = time.perf_counter() - start
        return MethodRun(
            matches(*rows),
            [StepRun("1_candidates", seconds, candidates), StepRun("6_decision", 0.0)],
            seconds,
        )

    def release(self, engine):
        pass


def own_site_log(engine: DuckDBEngine, n_users: int = 30, days: int = 12) -> str:
    rows = []
    start = dt.datetime(2014, 1, 1)
    for i in range(n_users):
        for day in range(days):
            if i % 5 == 0 and day < days - 3:
                continue  # every fifth user joins only in the query period: "new"
            ts = start + dt.timedelta(days=day, hours=9, minutes=i)
            rows += [(f"u{i}", ts, f"own{i}.com"), (f"u{i}", ts, "portal.com")]
    cols = list(zip(*rows, strict=True))
    engine.register_arrow(
        "own_rows",
        pa.table(
            {"user_id": cols[0], "ts": pa.array(cols[1], pa.timestamp("us")), "site": cols[2]}
        ),
    )
    engine.create_table("own_log", "SELECT * FROM own_rows")
    return "own_log"


@pytest.fixture
def engine():
    eng = DuckDBEngine(threads=1)
    yield eng
    eng.close()


def test_evaluate_with_a_plugged_in_method(engine):
    register_method("own-site", OwnSiteMethod)
    log = own_site_log(engine)
    ev = evaluate(engine, log, query_days=3, library_fraction=0.75, seed=2, method="own-site")
    m = ev.metrics
    assert ev.method == "own-site"
    # 24 users are active in the library period; 18 are drawn; all 30 are queries
    assert (m["n_library"], m["n_queries"], m["n_absent"]) == (18, 30, 12)
    assert m["acc_absent"] == m["acc_present"] == m["acc_overall"] == 1.0
    assert [s["step"] for s in m["steps"]] == ["1_candidates", "6_decision"]
    assert m["steps"][0]["recall"] == 1.0
    assert m["steps"][0]["mean_candidates"] == 18 / 30
    assert m["steps"][1]["recall"] == 1.0
    json.dumps(ev.to_json())  # serialisable as is
    assert ev.to_json()["protocol"]["n_library_active"] == 24
    assert not _exists(engine, "eval_library_log")  # the split's tables are gone


def test_sweep_days_reuses_a_known_t(engine):
    register_method("own-site", OwnSiteMethod)
    log = own_site_log(engine)
    main = evaluate(engine, log, query_days=3, method="own-site", seed=1)
    rows = sweep_days(engine, log, [1, 2, 3], known=[main], method="own-site", seed=1)
    assert [r["query_days"] for r in rows] == [1, 2, 3]
    assert rows[2]["acc_overall"] == main.metrics["acc_overall"]
    assert all(r["n_queries"] == 30 for r in rows)


# --------------------------------------------------------------------------------------------
# the paper's method through the protocol


@pytest.fixture(scope="module")
def habitual_engine():
    from _core_data import habitual_log

    eng = DuckDBEngine(threads=1)
    eng.register_arrow("habitual_rows", habitual_log(30, 14, seed=3))
    eng.create_table("habitual", "SELECT * FROM habitual_rows")
    yield eng
    eng.close()


def test_paper_method_through_the_protocol(habitual_engine):
    from netpersona.rejoin import RejoinSettings
    from netpersona.rejoin._evaluate import STEP_NAMES

    ev = evaluate(habitual_engine, "habitual", query_days=4, library_fraction=0.8, seed=5)
    m = ev.metrics
    assert (m["n_library"], m["n_queries"], m["n_absent"]) == (24, 30, 6)
    assert [s["step"] for s in m["steps"]] == list(STEP_NAMES)
    recalls = [s["recall"] for s in m["steps"]]
    assert recalls == sorted(recalls, reverse=True)  # a step never brings a user back
    means = [s["mean_candidates"] for s in m["steps"][:-1]]
    assert means == sorted(means, reverse=True)
    # habitual users with personal rare sites and peak hours: the paper's method finds them
    assert m["acc_absent"] == 1.0 and m["acc_present"] == 1.0
    assert m["steps"][-1]["recall"] == m["acc_present_any"]
    assert m["seconds_total"] > 0
    assert ev.settings == RejoinSettings()
    assert json.loads(json.dumps(ev.to_json()))["settings"]["jaccard_min"] == 0.6
    # every verdict came back under a fresh id: none of the original ids is a query id
    originals = set(
        habitual_engine.fetch_arrow("SELECT DISTINCT user_id FROM habitual")
        .column("user_id")
        .to_pylist()
    )
    assert not originals & set(ev.matches.column("query_user").to_pylist())


def test_whole_library_means_no_absent_query(habitual_engine):
    ev = evaluate(habitual_engine, "habitual", query_days=4, library_fraction=1.0)
    assert ev.metrics["n_absent"] == 0
    assert ev.metrics["acc_absent"] is None
    assert ev.metrics["balanced_accuracy"] == ev.metrics["acc_present"]


def test_paper_method_reuses_profiles_when_only_step_settings_change(habitual_engine, monkeypatch):
    import netpersona.rejoin as rejoin
    from netpersona.rejoin import RejoinSettings
    from netpersona.rejoin._evaluate import PaperMethod, evaluate_split
    from netpersona.rejoin._protocol import split_log

    built = []
    real = rejoin.build_profiles

    def counting(*args, **kwargs):
        built.append(kwargs["name"])
        return real(*args, **kwargs)

    monkeypatch.setattr(rejoin, "build_profiles", counting)
    split = split_log(habitual_engine, "habitual", query_days=4, prefix="reuse")
    method = PaperMethod()
    for s in (
        RejoinSettings(),
        RejoinSettings(jaccard_min=0.3, tie_ratio=0.1),
        RejoinSettings(hour_cosine_min=0.2),
    ):
        evaluate_split(habitual_engine, split, settings=s, method=method)
    assert len(built) == 2  # one library and one query profile set for all three
    evaluate_split(habitual_engine, split, settings=RejoinSettings(active_minutes=5), method=method)
    assert len(built) == 4
    assert _exists(habitual_engine, f"{built[-1]}_users")
    method.release(habitual_engine)
    assert not _exists(habitual_engine, f"{built[0]}_users")
