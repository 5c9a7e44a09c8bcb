"""The search loop of :func:`netpersona.rejoin.calibrate`: its stages, its stops, its budget.

Each stage proposes settings and :meth:`_Search.attempt` scores them once; the search stops at
``max_trials`` trials, after ``max_seconds``, or, with a :class:`~netpersona._core.Budget`,
before a trial that would overrun it (estimated from the mean time of the trials so far). The
trials run are the same with or without a budget up to where it cuts them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from netpersona._core import Budget, ConfigError, Progress, ProgressTask
from netpersona.rejoin._evaluate import PROFILE_SETTINGS, evaluate_split, settings_dict
from netpersona.rejoin._protocol import fetch_truth

#: the stages in the order they run
STAGES = ("paper defaults", "ladder", "random", "coordinate")
#: settings whose values do not run from strict to permissive: left out of the ladder
NOT_ON_LADDER = ("min_run", "tie_ratio")
#: trials timed before the up-front estimate is said
ESTIMATE_AFTER = 2
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


def rank(metrics: dict, objective: str) -> tuple[float, ...]:
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


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


class _Search:
    """The bookkeeping of one search: trials run, the best so far, the limits."""

    def __init__(self, engine, split, method, objective, max_trials, max_seconds, progress,
                 budget: Budget | None = None):  # fmt: skip
        self.engine, self.split, self.method = engine, split, method
        self.objective, self.max_trials, self.max_seconds = objective, max_trials, max_seconds
        self.progress = progress
        self.budget = budget
        self.clock = budget.clock if budget is not None else progress.clock
        self.truth = fetch_truth(engine, split)
        self.trials: list[Trial] = []
        self.seen: dict[tuple, Trial] = {}
        self.best: Trial | None = None
        self.start = time.perf_counter()
        self.stopped = "converged"
        self.done = False
        #: seconds of each trial on ``clock`` (the budget's estimate)
        self.durations: list[float] = []
        #: the stage the budget stopped, and the estimate of the trial it did not run
        self.cut: tuple[str, float] | None = None
        self.task: ProgressTask | None = None

    def estimate(self) -> float:
        """Seconds the next trial is expected to take: the mean of the trials so far."""
        return sum(self.durations) / len(self.durations) if self.durations else 0.0

    def exhausted(self, stage: str) -> bool:
        if self.done:
            return True
        if len(self.trials) >= self.max_trials:
            self.stopped = f"trial budget ({self.max_trials}) reached"
        elif time.perf_counter() - self.start >= self.max_seconds:
            self.stopped = f"time budget ({self.max_seconds:.0f} s) reached"
        elif self.budget is not None and not self.budget.fits(self.estimate()):
            self.cut = (stage, self.estimate())
            self.stopped = (
                f"--budget {self.budget.seconds:g} s: the next trial (about "
                f"{self.estimate():.1f} s) would overrun it"
            )
        else:
            return False
        self.done = True
        return True

    def attempt(self, settings: Any, stage: str, always: bool = False) -> Trial | None:
        """Score ``settings`` (once); ``None`` when the search must stop (unless ``always``)."""
        key = tuple(sorted(settings_dict(settings).items()))
        if key in self.seen:
            return self.seen[key]
        if not always and self.exhausted(stage):
            return None
        began, ticked = time.perf_counter(), self.clock()
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
        self.durations.append(self.clock() - ticked)
        self.trials.append(trial)
        self.seen[key] = trial
        if self.best is None or rank(trial.metrics, self.objective) > rank(
            self.best.metrics, self.objective
        ):
            self.best = trial
        if self.task is not None:
            self.task.advance()
        self.progress.log(
            f"trial {len(self.trials)} ({stage}): {self.objective} "
            f"{pct(trial.objective)}, best {pct(self.best.objective)}"
        )
        if len(self.trials) == ESTIMATE_AFTER:
            self.progress.log(self.estimate_line())
        return trial

    def planned(self) -> int:
        """Trials the search plans now (at most ``max_trials``)."""
        return self.task.total or self.max_trials if self.task is not None else self.max_trials

    def estimate_line(self) -> str:
        """The up-front estimate, measured on the first trials."""
        each, planned = self.estimate(), self.planned()
        line = (
            f"about {each * planned:.0f} s for up to {planned} trials ({each:.1f} s a trial, "
            f"measured on the first {len(self.durations)})"
        )
        if self.budget is not None and each > 0:
            fits = len(self.trials) + max(0, int(self.budget.left() // each))
            line += f"; --budget {self.budget.seconds:g} s allows about {min(fits, planned)}"
        return line

    def budget_report(self) -> dict | None:
        """What the budget did (None without one): trials run, of at most how many, the stage
        it stopped and the stages it left out."""
        if self.budget is None:
            return None
        if self.cut is None:
            return self.budget.report(False, trials=len(self.trials))
        stage, estimate = self.cut
        return self.budget.report(
            True,
            trials=len(self.trials),
            max_trials=self.max_trials,
            stopped_in=stage,
            not_run=list(STAGES[STAGES.index(stage) + 1 :]),
            next_trial_seconds=round(estimate, 3),
        )

    def summary_line(self) -> str | None:
        """One line for a person when the budget cut the search."""
        report = self.budget_report()
        if report is None or not report["cut"]:
            return None
        skipped = ", ".join(report["not_run"]) or "none"
        return (
            f"--budget {report['seconds']:g} s cut the search: {report['trials']} trials of at "
            f"most {report['max_trials']}, stopped in the {report['stopped_in']} stage "
            f"(stages not run: {skipped})"
        )


def ladder_size(space: dict) -> int:
    """Rungs of the relaxation ladder."""
    ladder = [v for n, v in space.items() if n not in NOT_ON_LADDER]
    return max((len(v) for v in ladder), default=1) - 1


def pass_size(space: dict) -> int:
    """Trials of one coordinate pass at most."""
    return sum(len(v) - 1 for v in space.values())


def ladder_stage(search: _Search, start: Any, space: dict) -> None:
    """Rung k sets every ladder setting to its k-th value (the last when it has fewer)."""
    ladder = {n: v for n, v in space.items() if n not in NOT_ON_LADDER}
    for rung in range(1, ladder_size(space) + 1):
        changes = {n: values[min(rung, len(values) - 1)] for n, values in ladder.items()}
        if search.attempt(start.replace(**changes), "ladder") is None:
            return


def random_stage(search: _Search, start: Any, space: dict, n_trials: int, seed: int) -> None:
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


def coordinate_stage(search: _Search, space: dict) -> None:
    """One setting at a time from the best so far, step thresholds before profile settings."""
    order = [n for n in space if n not in PROFILE_SETTINGS] + [
        n for n in space if n in PROFILE_SETTINGS
    ]
    improved = True
    while improved:
        improved = False
        if search.task is not None:  # a pass plans at most this many more trials
            search.task.set_total(min(search.max_trials, len(search.trials) + pass_size(space)))
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
