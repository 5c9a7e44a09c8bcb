"""Progress with an estimate and ``--budget SECONDS`` for the long re-join steps (#17).

Time is a fake clock that only the work moves (each trial "takes" a fixed number of seconds),
so the budget's cuts and the estimates are exact and the tests take no real time waiting.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from cli_run import run
from netpersona._core import Budget, Progress, ProgressEvent, UsageError, check_budget
from netpersona.cli import app
from netpersona.rejoin import calibrate
from netpersona.rejoin._evaluate import PaperMethod
from netpersona.rejoin._examples import example_engine

runner = CliRunner()
#: a small search on the example log: defaults, 2 ladder rungs, 2 random, coordinate passes
SPACE = {"jaccard_min": (0.6, 0.4, 0.2), "frequent_ratio": (0.8, 0.6), "tie_ratio": (0.05, 0.2)}
SMALL = {"query_days": 3, "library_fraction": 0.5, "space": SPACE, "random_trials": 2}


class FakeClock:
    """Seconds that pass only when the work says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Timed:
    """The paper's method, each run taking ``seconds`` on ``clock``."""

    name = "paper"

    def __init__(self, clock: FakeClock, seconds: float) -> None:
        self.inner, self.clock, self.seconds = PaperMethod(), clock, seconds

    def run(self, *args, **kwargs):
        self.clock.now += self.seconds
        return self.inner.run(*args, **kwargs)

    def release(self, engine) -> None:
        self.inner.release(engine)


class Recorder(Progress):
    """Keeps every progress event and message."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.events: list[ProgressEvent] = []
        self.messages: list[str] = []

    def update(self, event: ProgressEvent) -> None:
        self.events.append(event)

    def log(self, message: str) -> None:
        self.messages.append(message)


def _search(budget: float | None, progress: Progress | None = None, clock=None):
    clock = clock or FakeClock()
    return calibrate(
        example_engine(), "log", method=Timed(clock, 2.0), progress=progress or Progress(),
        budget=None if budget is None else Budget(budget, clock=clock), **SMALL,
    )  # fmt: skip


def _tried(result) -> list[tuple]:
    return [(t.stage, t.settings, t.metrics["acc_overall"]) for t in result.trials]


@pytest.fixture(scope="module")
def unbudgeted():
    return _search(None)


def test_a_budget_cuts_calibrate_before_the_trial_that_would_overrun_it(unbudgeted):
    # 2 s a trial, 7 s: the defaults and the 2 rungs of the ladder end at 2, 4, 6 s; the first
    # random trial would end at 8 s
    cut = _search(7.0)
    assert len(cut.trials) == 3 < len(unbudgeted.trials)
    assert _tried(cut) == _tried(unbudgeted)[:3]  # the same trials up to the cut
    assert cut.budget == {
        "seconds": 7.0, "used_seconds": 6.0, "cut": True, "trials": 3, "max_trials": 150,
        "stopped_in": "random", "not_run": ["coordinate"], "next_trial_seconds": 2.0,
    }  # fmt: skip
    assert cut.stopped == "--budget 7 s: the next trial (about 2.0 s) would overrun it"
    assert cut.budget_note == (
        "--budget 7 s cut the search: 3 trials of at most 150, stopped in the random stage "
        "(stages not run: coordinate)"
    )
    assert cut.to_json()["budget"]["cut"] is True
    assert f"# {cut.budget_note}" in cut.to_toml()


def test_a_generous_budget_gives_exactly_the_unbudgeted_result(unbudgeted):
    generous = _search(10_000.0)
    assert _tried(generous) == _tried(unbudgeted) and len(unbudgeted.trials) > 6
    assert generous.settings == unbudgeted.settings and generous.stopped == "converged"
    assert generous.budget == {"seconds": 10_000.0, "used_seconds": 2.0 * len(generous.trials),
                               "cut": False, "trials": len(generous.trials)}  # fmt: skip
    assert generous.budget_note is None and unbudgeted.budget is None
    assert "budget" not in unbudgeted.to_json()


def test_search_progress_carries_the_total_and_an_eta_from_the_observed_rate():
    clock = FakeClock()
    recorder = Recorder(clock)
    result = _search(None, recorder, clock)
    search = [e for e in recorder.events if e.description == "Searching the settings"]
    planned = 1 + 2 + 2 + 4  # defaults, ladder rungs, random trials, one coordinate pass
    assert (search[0].done, search[0].total, search[0].eta) == (0, planned, None)
    first = search[1]  # one trial done, 2 s each: 2 s for each of the others
    assert (first.done, first.total, first.elapsed, first.eta) == (1, planned, 2.0, 16.0)
    assert all(e.total is not None and e.total >= e.done for e in search)
    assert search[-1].done == search[-1].total == len(result.trials)
    assert recorder.messages[2] == (
        f"about {2 * planned} s for up to {planned} trials (2.0 s a trial, measured on the first 2)"
    )


def test_a_budget_bounds_the_eta_and_the_estimate_says_what_it_allows():
    clock = FakeClock()
    recorder = Recorder(clock)
    _search(7.0, recorder, clock)
    first = [e for e in recorder.events if e.description == "Searching the settings"][1]
    assert (first.deadline, first.eta) == (7.0, 5.0)  # 8 trials at 2 s, but 5 s left
    assert recorder.messages[2].endswith("; --budget 7 s allows about 3")


@pytest.mark.parametrize("bad", [0, -5, math.nan, math.inf, "soon"])
def test_invalid_budgets_are_usage_errors(bad):
    with pytest.raises(UsageError, match="--budget must be a positive number of seconds"):
        check_budget(bad)
    with pytest.raises(UsageError):
        calibrate(example_engine(), "log", budget=bad, **SMALL)


@pytest.fixture(scope="module")
def log_csv(tmp_path_factory):
    import pyarrow.csv as pv

    from netpersona.rejoin._examples import example_log

    path = tmp_path_factory.mktemp("budget") / "log.csv"
    pv.write_csv(example_log(), path)
    return path


@pytest.mark.parametrize("command", ["calibrate", "evaluate", "train"])
@pytest.mark.parametrize("bad", ["0", "-1", "nan"])
def test_cli_refuses_an_invalid_budget_with_exit_2_before_any_work(command, bad, log_csv,
                                                                   tmp_path, capsys):  # fmt: skip
    out = {"calibrate": ["--out", tmp_path / "s.toml"], "evaluate": ["--json", tmp_path / "m.json"],
           "train": ["--workspace", tmp_path / "w.duckdb"]}[command]  # fmt: skip
    args = ["rejoin", command, log_csv, "--site-col", "site", *out, "--budget", bad]
    code, _, err = run(capsys, *map(str, args))
    assert code == 2, err
    assert "--budget must be a positive number of seconds" in err
    assert not any(tmp_path.iterdir())  # nothing read, nothing written


def test_cli_calibrate_says_when_the_budget_cut_the_search(log_csv, tmp_path):
    # a budget spent by reading the log: the paper's defaults are tried, nothing more
    args = ["rejoin", "calibrate", log_csv, "--site-col", "site", "--query-days", "3",
            "--library-fraction", "0.5", "--out", tmp_path / "s.toml", "--json",
            tmp_path / "c.json", "--budget", "0.001"]  # fmt: skip
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "c.json").read_text())
    assert doc["budget"]["cut"] is True and doc["budget"]["trials"] == len(doc["trials"]) == 1
    assert doc["budget"]["not_run"] == ["random", "coordinate"]
    assert "--budget 0.001 s cut the search: 1 trials of at most 150" in result.output
    assert "# --budget 0.001 s cut the search" in (tmp_path / "s.toml").read_text()


# -- evaluate: figures whole or an error; the sweep planned within the budget -------------------

ACCURACIES = ("acc_overall", "acc_absent", "acc_present", "rank1_present", "decisions")


def _evaluate(log_csv, budget: float | None, seconds: float = 2.0, clock=None):
    from netpersona.io import LogMapping
    from netpersona.rejoin._library_train import evaluate_log

    clock = clock or FakeClock()
    return evaluate_log(
        log_csv, LogMapping(site_col="site"), method=Timed(clock, seconds), query_days=3,
        library_fraction=0.5, sweep=[2, 3, 4], budget=None if budget is None else
        Budget(budget, clock=clock),
    )  # fmt: skip


def _figures(evaluation) -> tuple:
    rows = [{k: v for k, v in r.items() if k != "seconds_total"} for r in evaluation.sweep]
    return tuple(evaluation.metrics[k] for k in ACCURACIES), rows


def test_a_budget_cuts_the_sweep_between_whole_evaluations_and_says_so(log_csv):
    whole = _evaluate(log_csv, None)
    # 2 s an evaluation: t = 3 ends at 2 s, the sweep's t = 2 at 4 s; t = 4 would end at 6 s
    cut = _evaluate(log_csv, 5.0)
    assert _figures(cut)[0] == _figures(whole)[0]  # the main figures are whole
    assert _figures(cut)[1] == _figures(whole)[1][:2]  # t = 2 and 3, as without a budget
    assert cut.budget == {"seconds": 5.0, "used_seconds": 4.0, "cut": True,
                          "sweep_done": [2, 3], "sweep_left_out": [4]}  # fmt: skip
    assert cut.to_json()["budget"]["sweep_left_out"] == [4]
    assert cut.notes[-1] == (
        "--budget 5 s cut the sweep: t = 4 not evaluated (2 of 3 done); the main figures are whole"
    )
    generous = _evaluate(log_csv, 1_000.0)
    assert _figures(generous) == _figures(whole) and generous.budget["cut"] is False
    assert whole.budget is None and "budget" not in whole.to_json()


def test_an_evaluation_that_cannot_fit_stops_with_a_declared_error(log_csv):
    from netpersona._core import BudgetExceededError

    with pytest.raises(BudgetExceededError, match="the evaluation did not fit the budget of 5 s"):
        _evaluate(log_csv, 5.0, seconds=10.0)


def test_cli_evaluate_out_of_budget_exits_4_and_writes_no_figures(log_csv, tmp_path, capsys):
    out = tmp_path / "m.json"
    code, _, err = run(capsys, "rejoin", "evaluate", str(log_csv), "--site-col", "site",
                       "--json", str(out), "--budget", "0.0001")  # fmt: skip
    assert code == 4 and "did not fit the budget of 0.0001 s" in err
    assert "nothing partial was reported" in err and not out.exists()


# -- train: the simulation and the classifiers sized to the budget ----------------------------


@pytest.fixture(scope="module")
def library():
    from _core_data import habitual_log

    from netpersona.engine import DuckDBEngine

    with DuckDBEngine(threads=1) as engine:  # the log as a view of the Arrow table
        engine.register_arrow("log", habitual_log(n_users=16, days=14, seed=7, noise=0.3))
        yield engine


def _fit(library, monkeypatch, budget: float | None):
    """A fit where each side of a simulated cut takes 1 s and each classifier fit 1 s."""
    from netpersona.rejoin._learned import LearnedMatcher, _matcher, _selfsup

    clock = FakeClock()

    def slow(real):
        def run(*args, **kwargs):
            clock.now += 1.0
            return real(*args, **kwargs)

        return run

    monkeypatch.setattr(_selfsup, "build_side", slow(_selfsup.build_side))
    monkeypatch.setattr(_matcher, "fit_model", slow(_matcher.fit_model))
    matcher = LearnedMatcher(query_days=3, cuts=3, draws=2, target_queries=None, k=10)
    matcher.fit(library, "log", budget=None if budget is None else Budget(budget, clock=clock))
    return matcher


def test_a_budget_limits_the_simulation_and_the_classifiers_and_says_so(library, monkeypatch):
    whole = _fit(library, monkeypatch, None)
    assert whole.training_.simulations == 6 and set(whole.simulated_) >= {"hgb", "bp"}
    # 12 s: the simulation may use 6 s: 3 cuts of 2 s (a fourth would end at 8 s); hgb's 3
    # folds end at 9 s; bp (3 s, and 1 s to refit the winner) would end at 13 s; the refit: 10 s
    cut = _fit(library, monkeypatch, 12.0)
    assert cut.training_.simulations == 3 and cut.training_.n_queries < whole.training_.n_queries
    assert "bp" not in cut.simulated_ and cut.model_name_ == "hgb"
    assert cut.budget_ == {
        "seconds": 12.0, "used_seconds": 10.0, "cut": True, "simulated_cuts": 3,
        "simulated_cuts_left_out": 3, "models": 1, "models_left_out": ["bp"],
    }  # fmt: skip
    assert cut.summary()["budget"]["cut"] is True
    assert cut.report_lines()[-1] == (
        "--budget 12 s cut the training: 3 simulated re-joins (at most 6 planned); "
        "classifiers not tried: bp"
    )
    generous = _fit(library, monkeypatch, 1_000.0)
    untimed = [{m: {k: v for k, v in f.items() if k != "seconds"} for m, f in x.simulated_.items()}
               for x in (generous, whole)]  # fmt: skip
    assert json.dumps(untimed[0]) == json.dumps(untimed[1])  # (the paper's threshold is NaN)
    assert generous.threshold_ == whole.threshold_
    features = whole.training_.features
    assert np.array_equal(generous.probability(features), whole.probability(features))
    assert generous.budget_["cut"] is False and whole.budget_ is None


def test_cli_train_prints_and_saves_what_the_budget_left_out(tmp_path):
    import pyarrow.csv as pv
    from _core_data import habitual_log

    from netpersona.rejoin._learned import workspace_matcher_dir

    pv.write_csv(habitual_log(16, 14, seed=7, noise=0.3), tmp_path / "library.csv")
    ws = tmp_path / "ws.duckdb"
    # a budget spent by indexing the library: one simulated re-join, the first classifier
    args = ["rejoin", "train", tmp_path / "library.csv", "--site-col", "site", "--workspace", ws,
            "--query-days", "3", "--cuts", "2", "--draws", "2", "--budget", "0.001"]  # fmt: skip
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert "--budget 0.001 s cut the training: 1 simulated re-joins (at most 4 planned); " \
        "classifiers not tried: bp" in " ".join(result.output.split())  # fmt: skip
    saved = json.loads((workspace_matcher_dir(ws) / "matcher.json").read_text())
    assert saved["budget"]["cut"] is True and saved["budget"]["models_left_out"] == ["bp"]
    assert saved["model"] == "hgb" and set(saved["simulated"]) & {"hgb", "bp"} == {"hgb"}


def test_off_a_terminal_progress_is_a_plain_line_every_interval_with_the_time_left():
    import io

    from rich.console import Console

    from netpersona._core import RichProgress

    clock, out = FakeClock(), io.StringIO()
    progress = RichProgress(console=Console(file=out, force_terminal=False), interval=10.0)
    progress.clock = clock
    with progress.task("Searching the settings", 20, unit="trials", deadline=100.0) as task:
        for _ in range(12):
            clock.now += 3.0
            task.advance()
        task.set_total(12)  # the search converged early
    assert out.getvalue().splitlines() == [
        "Searching the settings: 4/20 trials (20%), 12 s elapsed, about 48 s left",
        "Searching the settings: 8/20 trials (40%), 24 s elapsed, about 36 s left",
        "Searching the settings: 12/20 trials (60%), 36 s elapsed, about 24 s left",
        "Searching the settings: 12/12 trials (100%), 36 s elapsed",
    ]
