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
the best settings found; ties keep the earlier (the paper's defaults first). With a ``budget``
(seconds, counted from the call or carried in a :class:`~netpersona._core.Budget`) it also stops
before a trial that would overrun it, estimated from the trials so far; the paper's defaults are
always tried, and ``Calibration.budget`` says what the budget cut (see
:mod:`._calibrate_search`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netpersona._core import Budget, ConfigError, Progress, search_space
from netpersona.io import write_text_atomic
from netpersona.rejoin._calibrate_search import (
    COMPARED,
    NOT_ON_LADDER,
    Trial,
    _Search,
    coordinate_stage,
    ladder_size,
    ladder_stage,
    objective_value,
    pass_size,
    random_stage,
)
from netpersona.rejoin._calibrate_search import pct as _pct
from netpersona.rejoin._evaluate import MatchMethod, get_method, settings_dict
from netpersona.rejoin._protocol import Split, drop_tables, split_log
from netpersona.rejoin._settings import RejoinSettings

if TYPE_CHECKING:
    import datetime as dt

    from netpersona.engine import Engine

#: the values tried for each setting, declared with the setting (``RejoinSettings``): the paper's
#: value first, then (except for the settings in ``NOT_ON_LADDER``) ever more permissive values
SEARCH_SPACE: dict[str, tuple] = search_space(RejoinSettings)
__all__ = ["NOT_ON_LADDER", "SEARCH_SPACE", "Calibration", "Trial", "calibrate", "objective_value",
           "write_settings"]  # fmt: skip


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
    #: what ``budget`` did (None without one): ``cut``, trials run, the stages left out
    budget: dict | None = None
    #: one line for a person when the budget cut the search
    budget_note: str | None = None

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
        if self.budget_note:
            header.append(f"# {self.budget_note}")
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
            **({"budget": self.budget} if self.budget is not None else {}),
        }


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
    budget: Budget | float | None = None,
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

    budget = Budget.of(budget)
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
    search = _Search(engine, split, matcher, objective, max_trials, max_seconds, progress,
                     budget)  # fmt: skip
    planned = min(max_trials, 1 + ladder_size(space) + random_trials + pass_size(space))
    deadline = budget.left() if budget is not None else None
    try:
        with progress.task("Searching the settings", planned, unit="trials",
                           deadline=deadline) as search.task:  # fmt: skip
            default = search.attempt(start, "paper defaults", always=True)
            assert default is not None
            ladder_stage(search, start, space)
            random_stage(search, start, space, random_trials, seed)
            coordinate_stage(search, space)
            search.task.set_total(len(search.trials))
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
        budget=search.budget_report(),
        budget_note=search.summary_line(),
    )
