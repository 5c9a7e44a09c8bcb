"""Calibration: the search loop, its budget, the side-by-side figures and the settings file."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import pyarrow as pa
import pytest

from netpersona._core import ConfigError, OutputExistsError
from netpersona.engine import DuckDBEngine
from netpersona.rejoin._calibrate import calibrate, objective_value, write_settings
from netpersona.rejoin._evaluate import MethodRun, StepRun


def _exists(engine, name: str) -> bool:
    """Whether table ``name`` exists (read fully: leaves no open result on the connection)."""
    return bool(
        engine.fetch_scalar(
            f"SELECT count(*) FROM information_schema.tables WHERE table_name = '{name}'"
        )
    )


@dataclasses.dataclass(frozen=True)
class KnobSettings:
    """Stand-in settings: two knobs whose best values the fake matcher below hides."""

    frequent_ratio: float = 0.8  # a "profile" setting: changes what is built
    jaccard_min: float = 0.6
    tie_ratio: float = 0.05

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def to_toml(self) -> str:
        return "[rejoin]\n" + "".join(f"{k} = {v!r}\n" for k, v in dataclasses.asdict(self).items())


class KnobMethod:
    """Answers from the truth table, as right as its knobs allow: present users are found
    only when jaccard_min <= 0.2 and frequent_ratio <= 0.4; absent users are answered "new"
    unless tie_ratio is 0.2. Records which profile sets it built."""

    name = "knobs"

    def __init__(self):
        self.built: list[float] = []
        self._cached: float | None = None

    def run(self, engine, split, settings, *, top_k, progress):
        if self._cached != settings.frequent_ratio:
            self.built.append(settings.frequent_ratio)
            self._cached = settings.frequent_ratio
        truth = engine.fetch_arrow(f"SELECT * FROM {split.truth_table}").to_pylist()
        finds = settings.jaccard_min <= 0.2 and settings.frequent_ratio <= 0.4
        rows = []
        for r in truth:
            if r["in_library"] and finds:
                rows.append((r["query_user"], "match", 1, r["true_user"], 1))
            elif not r["in_library"] and settings.tie_ratio == 0.2:
                rows.append((r["query_user"], "match", 1, "someone", 1))
            else:
                rows.append((r["query_user"], "new", 0, None, 0))
        cols = list(zip(*rows, strict=True))
        matches = pa.table(
            {
                "query_user": pa.array(cols[0], pa.string()),
                "decision": pa.array(cols[1], pa.string()),
                "rank": pa.array(cols[2], pa.int64()),
                "library_user": pa.array(cols[3], pa.string()),
                "score": pa.array([None] * len(rows), pa.float64()),
                "answer": pa.array(cols[4], pa.int64()),
            }
        )
        return MethodRun(matches, [StepRun("6_decision", 0.0)], 0.01, settings)

    def release(self, engine):
        self._cached = None


SPACE = {
    "frequent_ratio": (0.8, 0.6, 0.4, 0.2),
    "jaccard_min": (0.6, 0.4, 0.2, 0.0),
    "tie_ratio": (0.05, 0.2),
}


@pytest.fixture
def log(tmp_path):
    engine = DuckDBEngine(threads=1)
    rows = []
    for i in range(40):
        first_day = 0 if i % 4 else 10  # every fourth user appears only at the end
        for day in range(first_day, 14):
            rows.append((f"u{i}", dt.datetime(2014, 1, 1, 10) + dt.timedelta(days=day), "s.com"))
    cols = list(zip(*rows, strict=True))
    engine.register_arrow(
        "rows",
        pa.table(
            {"user_id": cols[0], "ts": pa.array(cols[1], pa.timestamp("us")), "site": cols[2]}
        ),
    )
    engine.create_table("log", "SELECT * FROM rows")
    yield engine, "log"
    engine.close()


def test_search_finds_the_hidden_settings_and_keeps_the_defaults_beside_them(log):
    engine, table = log
    method = KnobMethod()
    cal = calibrate(
        engine,
        table,
        start=KnobSettings(),
        space=SPACE,
        method=method,
        random_trials=0,
        query_days=3,
        seed=4,
    )
    assert cal.settings.jaccard_min <= 0.2 and cal.settings.frequent_ratio <= 0.4
    assert cal.settings.tie_ratio == 0.05
    assert cal.calibrated_metrics["acc_overall"] == 1.0
    assert cal.default_metrics["acc_present"] == 0.0
    assert cal.default_metrics["acc_absent"] == 1.0
    assert cal.trials[0].stage == "paper defaults"
    assert cal.trials[0].settings == KnobSettings()
    assert cal.stopped == "converged"
    assert dict(cal.changed()) == {
        "frequent_ratio": (0.8, cal.settings.frequent_ratio),
        "jaccard_min": (0.6, cal.settings.jaccard_min),
    }
    rows = {name: (d, c) for name, d, c in cal.comparison()}
    assert rows["acc_overall"][1] == 1.0 > rows["acc_overall"][0]
    # no setting is tried twice
    tried = [t.settings for t in cal.trials]
    assert len(tried) == len(set(tried))
    # the split's tables are gone afterwards
    assert not _exists(engine, "calib_library_log")


def test_profile_settings_are_changed_last_so_profiles_are_reused(log):
    engine, table = log
    method = KnobMethod()
    cal = calibrate(
        engine,
        table,
        start=KnobSettings(),
        space=SPACE,
        method=method,
        random_trials=0,
        query_days=3,
    )
    # each step-threshold trial reuses the profile set in hand: far fewer builds than trials
    assert len(method.built) < len(cal.trials)
    assert method.built[0] == 0.8


def test_random_stage_groups_trials_by_profile_set(log):
    engine, table = log
    method = KnobMethod()
    cal = calibrate(
        engine,
        table,
        start=KnobSettings(),
        space=SPACE,
        method=method,
        random_trials=12,
        max_trials=13,
        query_days=3,
    )
    random_trials = [t for t in cal.trials if t.stage == "random"]
    keys = [t.settings.frequent_ratio for t in random_trials]
    # grouped: once the profile setting changes it never comes back within the random stage
    changes = sum(1 for a, b in itertools.pairwise(keys) if a != b)
    assert changes <= 3
    assert cal.stopped.startswith("trial budget")
    assert len(cal.trials) == 13


def test_time_budget_stops_the_search(log):
    engine, table = log
    cal = calibrate(
        engine,
        table,
        start=KnobSettings(),
        space=SPACE,
        method=KnobMethod(),
        max_seconds=0.0,
        query_days=3,
    )
    assert len(cal.trials) == 1  # the paper's defaults are always scored
    assert cal.stopped.startswith("time budget")
    assert cal.settings == KnobSettings()


def test_balanced_objective_and_settings_file(log, tmp_path):
    engine, table = log
    cal = calibrate(
        engine,
        table,
        objective="balanced",
        start=KnobSettings(),
        space=SPACE,
        method=KnobMethod(),
        random_trials=4,
        query_days=3,
    )
    assert cal.calibrated_metrics["balanced_accuracy"] == 1.0
    path = write_settings(cal, tmp_path / "settings.toml")
    text = path.read_text()
    assert text.splitlines()[0].startswith("# netpersona rejoin calibrate: objective balanced")
    assert f"jaccard_min = {cal.settings.jaccard_min!r}" in text
    import tomllib

    assert tomllib.loads(text)["rejoin"]["jaccard_min"] == cal.settings.jaccard_min
    with pytest.raises(OutputExistsError):
        write_settings(cal, path)
    doc = cal.to_json()
    assert doc["calibrated"]["balanced_accuracy"] == 1.0
    assert len(doc["trials"]) == len(cal.trials)


def test_bad_objective_or_space(log):
    engine, table = log
    with pytest.raises(ConfigError, match="objective"):
        calibrate(engine, table, objective="speed", start=KnobSettings(), method=KnobMethod())
    with pytest.raises(ConfigError, match="unknown setting"):
        calibrate(engine, table, start=KnobSettings(), space={"warp": (1,)}, method=KnobMethod())
    assert objective_value({"acc_overall": None, "balanced_accuracy": 0.5}, "overall") == 0.0
