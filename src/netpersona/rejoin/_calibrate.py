"""Calibrating the paper's thresholds on the user's own log, without any truth.

The paper tuned its thresholds "by experiment" on one operator's dense logs; other logs need
other values (sparse logs leave frequent-site sets empty and hour vectors at zero under the
paper's 80 % / 20-minute rules). :func:`calibrate` runs the protocol *inside* the given log: its
last ``query_days`` days become simulated queries and the days before them a simulated library
(a time-faithful cut, as the real queries are cut from the real library), and searches the
settings for the best objective:

1. the paper's defaults;
2. a relaxation ladder: every threshold moved together one value further from the paper's at
   each rung (sparse logs sit on a plateau where relaxing one threshold alone changes nothing);
3. ``random_trials`` random settings, grouped by the settings that change the profiles
   (``frequent_ratio``, ``active_minutes``) so each profile set is built once;
4. coordinate ascent from the best so far: one setting at a time over its candidate values,
   step thresholds first (the profiles are reused), until a full pass improves nothing.

The search stops at ``max_trials`` trials or ``max_seconds``, whichever comes first, and keeps
the best settings found; ties keep the earlier (the paper's defaults first).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netpersona._core import ConfigError, Progress, search_space
from netpersona.io import write_text_atomic
from netpersona.rejoin._evaluate import (
    PROFILE_SETTINGS,
    MatchMethod,
    evaluate_split,
    get_method,
    settings_dict,
)
from netpersona.rejoin._protocol import Split, drop_tables, fetch_truth, split_log
from netpersona.rejoin._settings import RejoinSettings

if TYPE_CHECKING:
    import datetime as dt

    from netpersona.engine import Engine

#: the values tried for each setting, declared with the setting (``RejoinSettings``): the paper's
#: value first, then (except for the settings in ``NOT_ON_LADDER``) ever more permissive values
SEARCH_SPACE: dict[str, tuple] = search_space(RejoinSettings)
#: settings whose values do not run from strict to permissive: left out of the ladder
NOT_ON_LADDER = ("min_run", "tie_ratio")
#: the figures compared side by side (paper defaults vs calibrated)
COMPARED = (
    "acc_overall",
    "balanced_accuracy",
    "acc_absent",
    "acc_present",
    "acc_present_any",
    "rank1_present",
)
OBJECTIVES: dict[str, Callable[[dict], float]] = {
    "overall": lambda m: m["acc_overall"] or 0.0,
    "balanced": lambda m: m["balanced_accuracy"] or 0.0,
}


def objective_value(metrics: dict, objective: str) -> float:
    """The figure ``objective`` maximises (``overall``: acc_overall, ``balanced``:
    balanced_accuracy).

    >>> objective_value({"acc_overall": 0.9, "balanced_accuracy": 0.7}, "balanced")
    0.7
    """
    try:
        return OBJECTIVES[objective](metrics)
    except KeyError:
        raise ConfigError(
            f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}"
        ) from None


def _rank(metrics: dict, objective: str) -> tuple[float, ...]:
    """Trials compare by the objective, then the other accuracy, then rank-1 recall."""
    other = "balanced" if objective == "overall" else "overall"
    return (
        objective_value(metrics, objective),
        objective_value(metrics, other),
        metrics["rank1_present"] or 0.0,
    )


@dataclass
class Trial:
    """One setting tried: the settings, the figures on the simulated split, the time."""

    settings: Any
    metrics: dict
    objective: float
    seconds: float
    stage: str

    def row(self) -> dict:
        """JSON-serialisable summary."""
        return {
            "stage": self.stage,
            "objective": self.objective,
            "seconds": self.seconds,
            "settings": settings_dict(self.settings),
            **{k: self.metrics[k] for k in COMPARED},
        }


@dataclass
class Calibration:
    """The outcome of :func:`calibrate`: the best settings and the paper's beside them.

    >>> from netpersona.rejoin import calibrate
    >>> from netpersona.rejoin._examples import example_engine
    >>> result = calibrate(example_engine(), "log", query_days=3, library_fraction=0.5,
    ...                    max_trials=1)
    >>> result.to_toml().startswith("# netpersona rejoin calibrate"), result.changed()
    (True, {})
    """

    objective: str
    settings: Any
    default_settings: Any
    default_metrics: dict
    calibrated_metrics: dict
    split: Split
    seconds: float
    stopped: str
    trials: list[Trial] = field(default_factory=list)

    def comparison(self) -> list[tuple[str, float | None, float | None]]:
        """``(figure, paper defaults, calibrated)`` rows on the simulated split."""
        return [(k, self.default_metrics[k], self.calibrated_metrics[k]) for k in COMPARED]

    def changed(self) -> dict[str, tuple[Any, Any]]:
        """The settings that differ from the paper's: ``{name: (paper, calibrated)}``."""
        old, new = settings_dict(self.default_settings), settings_dict(self.settings)
        return {k: (old[k], new[k]) for k in new if new[k] != old.get(k)}

    def to_toml(self) -> str:
        """The calibrated settings as a TOML file, headed by how they were found."""
        header = [
            f"# netpersona rejoin calibrate: objective {self.objective}, "
            f"{len(self.trials)} trials in {self.seconds:.0f} s ({self.stopped})",
            f"# simulated split: last {self.split.query_days} day(s) of "
            f"{self.split.window[0]}..{self.split.window[1]} as queries, "
            f"{self.split.n_library} library users, {self.split.n_queries} queries "
            f"({self.split.n_absent} absent)",
        ]
        for name, default, calibrated in self.comparison():
            header.append(
                f"#   {name}: paper defaults {_pct(default)}, calibrated {_pct(calibrated)}"
            )
        return "\n".join(header) + "\n" + self.settings.to_toml()

    def to_json(self) -> dict:
        """JSON document: the comparison, the settings, and every trial."""
        return {
            "objective": self.objective,
            "stopped": self.stopped,
            "seconds": self.seconds,
            "protocol": self.split.describe(),
            "default": {k: self.default_metrics[k] for k in COMPARED},
            "calibrated": {k: self.calibrated_metrics[k] for k in COMPARED},
            "settings": settings_dict(self.settings),
            "trials": [t.row() for t in self.trials],
        }


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def write_settings(calibration: Calibration, path: str | Path, force: bool = False) -> Path:
    """Write the calibrated settings TOML (readable by ``--settings``).

    >>> import tempfile, pathlib
    >>> from netpersona.rejoin import RejoinSettings, calibrate
    >>> from netpersona.rejoin._examples import example_engine
    >>> result = calibrate(example_engine(), "log", query_days=3, library_fraction=0.5,
    ...                    max_trials=1)
    >>> path = write_settings(result, pathlib.Path(tempfile.mkdtemp()) / "s.toml")
    >>> RejoinSettings.from_toml(path) == RejoinSettings()
    True
    """
    return write_text_atomic(path, calibration.to_toml(), force=force)


class _Search:
    """The bookkeeping of one search: trials run, the best so far, the budget."""

    def __init__(self, engine, split, method, objective, max_trials, max_seconds, progress):
        self.engine, self.split, self.method = engine, split, method
        self.objective, self.max_trials, self.max_seconds = objective, max_trials, max_seconds
        self.progress = progress
        self.truth = fetch_truth(engine, split)
        self.trials: list[Trial] = []
        self.seen: dict[tuple, Trial] = {}
        self.best: Trial | None = None
        self.start = time.perf_counter()
        self.stopped = "converged"

    def exhausted(self) -> bool:
        if len(self.trials) >= self.max_trials:
            self.stopped = f"trial budget ({self.max_trials}) reached"
            return True
        if time.perf_counter() - self.start >= self.max_seconds:
            self.stopped = f"time budget ({self.max_seconds:.0f} s) reached"
            return True
        return False

    def attempt(self, settings: Any, stage: str, always: bool = False) -> Trial | None:
        """Score ``settings`` (once); ``None`` when the budget is spent (unless ``always``)."""
        key = tuple(sorted(settings_dict(settings).items()))
        if key in self.seen:
            return self.seen[key]
        if not always and self.exhausted():
            return None
        began = time.perf_counter()
        ev = evaluate_split(
            self.engine,
            self.split,
            settings=settings,
            method=self.method,
            top_k=1,
            truth=self.truth,
            progress=Progress(),
        )
        trial = Trial(
            settings,
            ev.metrics,
            objective_value(ev.metrics, self.objective),
            time.perf_counter() - began,
            stage,
        )
        self.trials.append(trial)
        self.seen[key] = trial
        if self.best is None or _rank(trial.metrics, self.objective) > _rank(
            self.best.metrics, self.objective
        ):
            self.best = trial
        self.progress.log(
            f"trial {len(self.trials)} ({stage}): {self.objective} "
            f"{_pct(trial.objective)}, best {_pct(self.best.objective)}"
        )
        return trial


def _ladder_stage(search: _Search, start: Any, space: dict) -> None:
    """Rung k sets every ladder setting to its k-th value (the last when it has fewer)."""
    ladder = {n: v for n, v in space.items() if n not in NOT_ON_LADDER}
    for rung in range(1, max((len(v) for v in ladder.values()), default=1)):
        changes = {n: values[min(rung, len(values) - 1)] for n, values in ladder.items()}
        if search.attempt(start.replace(**changes), "ladder") is None:
            return


def _random_stage(search: _Search, start: Any, space: dict, n_trials: int, seed: int) -> None:
    """Random settings, a few profile sets each, grouped so each profile set is built once."""
    rng = random.Random(seed)
    step_names = [n for n in space if n not in PROFILE_SETTINGS]
    profile_names = [n for n in space if n in PROFILE_SETTINGS]
    n_profiles = max(1, min(4, n_trials // 4))
    profile_keys = [{n: rng.choice(space[n]) for n in profile_names} for _ in range(n_profiles)]
    for i in range(n_trials):
        changes = {n: rng.choice(space[n]) for n in step_names}
        changes.update(profile_keys[i * n_profiles // max(1, n_trials)])
        if search.attempt(start.replace(**changes), "random") is None:
            return


def _coordinate_stage(search: _Search, space: dict) -> None:
    """One setting at a time from the best so far, step thresholds before profile settings."""
    order = [n for n in space if n not in PROFILE_SETTINGS] + [
        n for n in space if n in PROFILE_SETTINGS
    ]
    improved = True
    while improved:
        improved = False
        for name in order:
            for value in space[name]:
                assert search.best is not None
                base = search.best
                if getattr(base.settings, name) == value:
                    continue
                trial = search.attempt(base.settings.replace(**{name: value}), "coordinate")
                if trial is None:
                    return
                improved |= search.best is not base


def calibrate(
    engine: Engine,
    log_table: str,
    *,
    objective: str = "overall",
    query_days: int = 5,
    library_fraction: float = 0.8,
    seed: int = 0,
    window: tuple[dt.date, dt.date] | None = None,
    start: Any = None,
    space: dict[str, tuple] | None = None,
    random_trials: int = 16,
    max_trials: int = 150,
    max_seconds: float = 600.0,
    method: str | MatchMethod = "paper",
    prefix: str = "calib",
    progress: Progress = Progress(),
) -> Calibration:
    """Search the settings that maximise ``objective`` on a time-faithful split of
    ``log_table`` alone (see the module docstring); the paper's defaults are always tried
    first and reported beside the winner.

    >>> from netpersona.rejoin._examples import example_engine
    >>> result = calibrate(example_engine(), "log", query_days=3, library_fraction=0.5,
    ...                    max_trials=2)
    >>> len(result.trials), result.default_metrics["acc_overall"], result.stopped
    (2, 1.0, 'trial budget (2) reached')
    """
    from netpersona.rejoin import RejoinSettings

    objective_value({"acc_overall": 0.0, "balanced_accuracy": 0.0}, objective)
    start = start if start is not None else RejoinSettings()
    space = dict(SEARCH_SPACE if space is None else space)
    unknown = sorted(set(space) - set(settings_dict(start)))
    if unknown:
        raise ConfigError(f"cannot search unknown setting {unknown[0]!r}")
    matcher = get_method(method)
    with progress.step(f"Cutting the log: last {query_days} day(s) are simulated queries"):
        split = split_log(
            engine,
            log_table,
            query_days=query_days,
            library_fraction=library_fraction,
            seed=seed,
            window=window,
            prefix=prefix,
        )
    search = _Search(engine, split, matcher, objective, max_trials, max_seconds, progress)
    try:
        with progress.step("Searching the settings"):
            default = search.attempt(start, "paper defaults", always=True)
            assert default is not None
            _ladder_stage(search, start, space)
            _random_stage(search, start, space, random_trials, seed)
            _coordinate_stage(search, space)
    finally:
        matcher.release(engine)
        drop_tables(engine, prefix)
    assert search.best is not None
    return Calibration(
        objective=objective,
        settings=search.best.settings,
        default_settings=start,
        default_metrics=default.metrics,
        calibrated_metrics=search.best.metrics,
        split=split,
        seconds=time.perf_counter() - search.start,
        stopped=search.stopped,
        trials=search.trials,
    )
