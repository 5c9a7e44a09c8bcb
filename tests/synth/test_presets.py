"""Issue 16, item 1: the synthetic presets against what the paper publishes."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from netpersona import ConfigError
from netpersona.cli import app
from netpersona.engine import DuckDBEngine
from netpersona.io import LogMapping, read_access_log
from netpersona.rejoin import RejoinSettings
from netpersona.rejoin._evaluate import evaluate
from netpersona.synth import PAPER_TARGETS, PRESETS, preset_settings, write_access_logs

runner = CliRunner()


def test_paper_targets_are_the_papers_and_consistent():
    t = PAPER_TARGETS
    assert (t["users"], t["days"], t["query_days"], t["library_users"]) == (25_809, 60, 5, 20_809)
    assert t["users"] - t["library_users"] == t["absent_queries"]
    assert round(t["library_fraction"] * t["users"]) == t["library_users"]
    # Table 1 read as fractions agrees with the method's own cuts (5 % and 14.3 %)
    shares = t["table1_step_shares"]
    assert shares["3"] / shares["2"] == pytest.approx(0.05, rel=0.02)
    assert shares["5"] / shares["4"] == pytest.approx(0.143, rel=0.01)
    # Table 2: overall is the mix of the two by the protocol's counts
    present = t["users"] - t["absent_queries"]
    overall = (t["acc_absent"] * t["absent_queries"] + t["acc_present"] * present) / t["users"]
    assert overall == pytest.approx(t["acc_overall"], abs=0.0002)


def _load(tmp_path, preset, users, days, seed=0):
    path = tmp_path / f"{preset}.parquet"
    write_access_logs(path, users, days, seed=seed, settings=preset_settings(preset))
    engine = DuckDBEngine(threads=2)
    read_access_log(path, LogMapping(), engine, table="log")
    return engine


def _per_user_day(engine) -> float:
    return engine.fetch_scalar(
        "SELECT count(*) / count(DISTINCT (user_id, CAST(ts AS DATE))) FROM log"
    )


@pytest.fixture(scope="module")
def paper_log(tmp_path_factory):
    engine = _load(tmp_path_factory.mktemp("paper"), "paper", 120, PAPER_TARGETS["days"])
    yield engine
    engine.close()


def test_paper_preset_has_the_papers_activity(paper_log):
    lo, hi = PAPER_TARGETS["requests_per_user_day"]
    assert lo <= _per_user_day(paper_log) <= hi
    first, last = (
        paper_log.fetch_arrow(
            "SELECT min(CAST(ts AS DATE)) AS a, max(CAST(ts AS DATE)) AS b FROM log"
        )
        .to_pylist()[0]
        .values()
    )
    assert first == dt.date.fromisoformat(PAPER_TARGETS["start"])
    assert (last - first).days + 1 == PAPER_TARGETS["days"]


def test_paper_defaults_reach_95_percent_on_the_paper_preset(paper_log):
    ev = evaluate(
        paper_log, "log", query_days=PAPER_TARGETS["query_days"],
        library_fraction=PAPER_TARGETS["library_fraction"], seed=0,
        settings=RejoinSettings(), top_k=1,
    )  # fmt: skip
    m = ev.metrics
    assert m["acc_overall"] >= 0.95
    assert m["acc_absent"] >= PAPER_TARGETS["acc_absent"] - 0.01
    # step 4 (the paper's time trim) keeps the true user of nearly every returning query
    steps = {s["step"]: s for s in m["steps"]}
    assert steps["4_simithree"]["recall"] >= 0.95


def test_sparse_preset_is_like_the_real_logs_and_defeats_the_paper(tmp_path):
    engine = _load(tmp_path, "sparse", 150, 30)
    assert _per_user_day(engine) <= 8  # real logs: 2-4 events per active day
    ev = evaluate(engine, "log", query_days=5, library_fraction=0.8, seed=0, top_k=1)
    assert ev.metrics["balanced_accuracy"] <= 0.6
    engine.close()


def test_cli_preset_and_unknown_preset(tmp_path):
    out = tmp_path / "s.csv"
    r = runner.invoke(
        app, ["synth", "access-logs", "--out", str(out), "--users", "5", "--days", "3",
              "--preset", "sparse"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "preset sparse" in r.output and out.exists()
    r = runner.invoke(
        app, ["synth", "access-logs", "--out", str(tmp_path / "x.csv"), "--preset", "magic"]
    )
    assert isinstance(r.exception, ConfigError) and "paper, sparse, dense" in str(r.exception)
    assert set(PRESETS) == {"paper", "sparse", "dense"}
