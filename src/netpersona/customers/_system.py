"""The indicator system as data: a TOML file naming the target, the dimensions and the indicators.

Paper C, Table 1: target "customer value", three first-level dimensions, fourteen second-level
indicators, every indicator scored 1–5 (Likert). A system file says, for each indicator, where its
raw value comes from in the source table and how that value becomes a score::

    [system]
    name = "paper14"
    target = "Customer value"
    id_column = "customer"          # optional; row numbers are used when absent
    label_column = ""               # optional; a known value K in [0, 1] to train on

    [current_value]                 # the three indicators of the current value C (paper 4.2)
    recency = "recency"
    frequency = "frequency"
    monetary = "monetary"

    [[dimensions]]
    name = "current"
    title = "Current value"

    [[indicators]]
    name = "recency"
    title = "Last online purchase (R)"
    dimension = "current"
    column = "days_since_last_purchase"   # or columns = ["Mnt*"] + combine = "sum", or expr = "..."
    on_missing = "fail"                   # the source lacks the column(s): "fail" | "drop"
    on_null = "fail"                      # a customer's value is empty: see NULL_POLICIES
    [indicators.score]
    method = "thresholds"                 # "quantile" | "thresholds" | "category" | "likert"
    thresholds = [8, 31, 91, 181]
    reverse = true                        # lower raw value = better customer

The system file is validated entirely when loaded; every problem is a :class:`ConfigError` naming
the file and the indicator.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from netpersona._core import ConfigError, load_toml

#: how an indicator's raw value is scored 1–5
SCORE_METHODS = ("quantile", "thresholds", "category", "likert")
#: how several columns are combined into one raw value
COMBINE = ("sum", "mean", "max", "min", "count_nonzero")
#: what to do when the source lacks an indicator's column(s)
MISSING_POLICIES = ("fail", "drop")
#: what to do with a customer whose raw value is empty
NULL_POLICIES = ("fail", "drop", "lowest", "neutral", "median")
#: the number of points on the Likert scale (paper 4.1: five-point system)
LIKERT_POINTS = 5


@dataclass(frozen=True)
class Scoring:
    """How one indicator's raw value becomes a 1–5 score.

    - ``quantile``: five equal-frequency bins over the scored population; a customer's score is
      1 + floor(5 x share of customers with a strictly smaller value), so tied values always share
      a score (a heavily tied value may leave a score unused).
    - ``thresholds``: four ascending cut points t1 < t2 < t3 < t4; score = 1 + #{t <= value}.
    - ``category``: an explicit map from value (as text) to score; ``default`` for the rest.
    - ``likert``: the value already is an integer 1–5 (a questionnaire answer).

    ``reverse`` turns "lower is better" (recency) around: score becomes 6 - score for thresholds;
    for quantiles the bins are taken over the negated values so ties still share a score.
    """

    method: str
    thresholds: tuple[float, ...] = ()
    categories: dict[str, int] = field(default_factory=dict)
    default: int | None = None
    reverse: bool = False


@dataclass(frozen=True)
class Indicator:
    """A second-level indicator: its place in the system, its source and its scoring rule."""

    name: str
    title: str
    dimension: str
    scoring: Scoring
    column: str | None = None
    columns: tuple[str, ...] = ()
    combine: str | None = None
    expr: str | None = None
    on_missing: str = "fail"
    on_null: str = "fail"

    def source_columns(self, available: list[str]) -> tuple[list[str], list[str]]:
        """The source columns this indicator reads, and the ones ``available`` lacks.

        Globs in ``columns`` (``Mnt*``) expand against ``available``; a glob matching nothing is
        reported as missing. Columns named inside ``expr`` are found by parsing it.
        """
        if self.column is not None:
            wanted = [self.column]
        elif self.columns:
            found, missing = [], []
            for pattern in self.columns:
                hits = [c for c in available if fnmatch.fnmatchcase(c, pattern)]
                if hits:
                    found.extend(hits)
                else:
                    missing.append(pattern)
            return list(dict.fromkeys(found)), missing
        else:
            from netpersona.customers._expr import referenced_columns

            wanted = referenced_columns(self.expr or "")
        present = set(available)
        return wanted, [c for c in wanted if c not in present]


@dataclass(frozen=True)
class Dimension:
    """A first-level indicator (paper Table 1): a group of indicators."""

    name: str
    title: str


@dataclass(frozen=True)
class IndicatorSystem:
    """A whole indicator system as loaded from its file.

    >>> system = load_system()
    >>> system.name, len(system.dimensions), system.indicators[0].name
    ('paper14', 3, 'basic_properties')
    """

    name: str
    target: str
    dimensions: tuple[Dimension, ...]
    indicators: tuple[Indicator, ...]
    recency: str
    frequency: str
    monetary: str
    id_column: str | None = None
    label_column: str | None = None
    description: str = ""
    path: str | None = None

    @property
    def current_value(self) -> tuple[str, str, str]:
        """The names of the R, F and M indicators, in that order."""
        return (self.recency, self.frequency, self.monetary)

    @property
    def indicator_names(self) -> list[str]:
        return [i.name for i in self.indicators]

    def indicator(self, name: str) -> Indicator:
        for ind in self.indicators:
            if ind.name == name:
                return ind
        raise ConfigError(
            f"{self.path or self.name}: unknown indicator {name!r}; the system defines "
            f"{self.indicator_names}"
        )

    def without(self, names: list[str]) -> IndicatorSystem:
        """The system with the indicators ``names`` removed (dropped for lack of a source)."""
        from dataclasses import replace

        keep = tuple(i for i in self.indicators if i.name not in set(names))
        return replace(self, indicators=keep)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able snapshot (stored with a trained model)."""
        from dataclasses import asdict

        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IndicatorSystem:
        dims = tuple(Dimension(**d) for d in data["dimensions"])
        inds = []
        for raw in data["indicators"]:
            raw = dict(raw)
            sc = dict(raw.pop("scoring"))
            sc["thresholds"] = tuple(sc["thresholds"])
            raw["columns"] = tuple(raw["columns"])
            inds.append(Indicator(scoring=Scoring(**sc), **raw))
        rest = {k: v for k, v in data.items() if k not in ("dimensions", "indicators")}
        return cls(dimensions=dims, indicators=tuple(inds), **rest)


def default_system_path() -> Path:
    """The shipped paper system: 3 dimensions, 14 indicators (paper C, Table 1).

    >>> default_system_path().name
    'paper14.toml'
    """
    return Path(str(resources.files("netpersona.customers").joinpath("systems/paper14.toml")))


def load_system(path: str | Path | None = None) -> IndicatorSystem:
    """Read and validate an indicator-system TOML file (the shipped paper system by default).

    >>> system = load_system()  # the paper's 14 indicators
    >>> len(system.indicators), system.current_value
    (14, ('recency', 'frequency', 'monetary'))
    """
    path = Path(path) if path is not None else default_system_path()
    data = load_toml(path, "indicator system")
    from netpersona.customers._system_file import parse_system

    return parse_system(data, str(path))
