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
import itertools
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from netpersona._core import ConfigError

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
    """A whole indicator system as loaded from its file."""

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
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the indicator system {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return parse_system(data, str(path))


def parse_system(data: dict[str, Any], where: str = "<system>") -> IndicatorSystem:
    """Validate a parsed system file; ``where`` names it in error messages."""

    def fail(msg: str) -> ConfigError:
        return ConfigError(f"{where}: {msg}")

    head = _table(data, "system", where)
    _only(head, {"name", "target", "id_column", "label_column", "description"}, "[system]", where)
    dims_raw = data.get("dimensions")
    if not isinstance(dims_raw, list) or not dims_raw:
        raise fail("needs at least one [[dimensions]] table with a name")
    dims = []
    for i, d in enumerate(dims_raw, 1):
        if not isinstance(d, dict) or not d.get("name"):
            raise fail(f"dimension #{i} needs a name")
        _only(d, {"name", "title"}, f"dimension {d['name']!r}", where)
        dims.append(Dimension(name=str(d["name"]), title=str(d.get("title", d["name"]))))
    dim_names = [d.name for d in dims]
    if len(set(dim_names)) != len(dim_names):
        raise fail(f"dimension names repeat: {dim_names}")

    inds_raw = data.get("indicators")
    if not isinstance(inds_raw, list) or not inds_raw:
        raise fail("needs at least one [[indicators]] table")
    indicators = [_parse_indicator(raw, i, dim_names, where) for i, raw in enumerate(inds_raw, 1)]
    names = [i.name for i in indicators]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise fail(f"indicator names repeat: {dupes}")

    cv = _table(data, "current_value", where)
    _only(cv, {"recency", "frequency", "monetary"}, "[current_value]", where)
    rfm = []
    for role in ("recency", "frequency", "monetary"):
        name = cv.get(role)
        if name not in names:
            raise fail(
                f"[current_value] {role} = {name!r} is not an indicator of this system; "
                f"name one of {names}"
            )
        rfm.append(name)
    for role, name in zip(("recency", "frequency", "monetary"), rfm, strict=True):
        if next(i for i in indicators if i.name == name).on_missing == "drop":
            raise fail(
                f"indicator {name!r} is the current value's {role}: it cannot be dropped; "
                "set on_missing = 'fail'"
            )
    return IndicatorSystem(
        name=str(head.get("name", Path(where).stem)),
        target=str(head.get("target", "Customer value")),
        description=str(head.get("description", "")),
        id_column=head.get("id_column") or None,
        label_column=head.get("label_column") or None,
        dimensions=tuple(dims),
        indicators=tuple(indicators),
        recency=rfm[0],
        frequency=rfm[1],
        monetary=rfm[2],
        path=where,
    )


_INDICATOR_KEYS = {
    "name",
    "title",
    "dimension",
    "column",
    "columns",
    "combine",
    "expr",
    "on_missing",
    "on_null",
    "score",
}


def _parse_indicator(raw: Any, pos: int, dims: list[str], where: str) -> Indicator:
    if not isinstance(raw, dict) or not raw.get("name"):
        raise ConfigError(f"{where}: indicator #{pos} needs a name")
    name = str(raw["name"])

    def fail(msg: str) -> ConfigError:
        return ConfigError(f"{where}: indicator {name!r}: {msg}")

    _only(raw, _INDICATOR_KEYS, f"indicator {name!r}", where)
    if raw.get("dimension") not in dims:
        raise fail(f"dimension {raw.get('dimension')!r} is not one of {dims}")
    sources = [k for k in ("column", "columns", "expr") if raw.get(k)]
    if len(sources) != 1:
        raise fail("give exactly one of column = '...', columns = [...] or expr = '...'")
    columns = tuple(str(c) for c in raw.get("columns", ()))
    combine = raw.get("combine")
    if columns and combine not in COMBINE:
        raise fail(f"columns = {list(columns)} needs combine = one of {list(COMBINE)}")
    if raw.get("expr"):
        from netpersona.customers._expr import check_expression

        try:
            check_expression(str(raw["expr"]))
        except ConfigError as exc:
            raise fail(str(exc)) from None
    for key, allowed in (("on_missing", MISSING_POLICIES), ("on_null", NULL_POLICIES)):
        if raw.get(key, "fail") not in allowed:
            raise fail(f"{key} = {raw.get(key)!r}; expected one of {list(allowed)}")
    return Indicator(
        name=name,
        title=str(raw.get("title", name)),
        dimension=str(raw["dimension"]),
        column=str(raw["column"]) if raw.get("column") else None,
        columns=columns,
        combine=str(combine) if columns else None,
        expr=str(raw["expr"]) if raw.get("expr") else None,
        on_missing=str(raw.get("on_missing", "fail")),
        on_null=str(raw.get("on_null", "fail")),
        scoring=_parse_scoring(raw.get("score"), fail),
    )


def _parse_scoring(raw: Any, fail) -> Scoring:
    if not isinstance(raw, dict):
        raise fail(f"needs a [indicators.score] table with method = one of {list(SCORE_METHODS)}")
    method = raw.get("method")
    if method not in SCORE_METHODS:
        raise fail(f"score method {method!r}; expected one of {list(SCORE_METHODS)}")
    allowed = {"method", "reverse", "thresholds", "categories", "default"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise fail(f"unknown score setting(s) {unknown}; allowed: {sorted(allowed)}")
    reverse = bool(raw.get("reverse", False))
    thresholds: tuple[float, ...] = ()
    categories: dict[str, int] = {}
    default = raw.get("default")
    if method == "thresholds":
        cuts = raw.get("thresholds")
        n = LIKERT_POINTS - 1
        if (
            not isinstance(cuts, list)
            or len(cuts) != n
            or not all(isinstance(c, int | float) for c in cuts)
        ):
            raise fail(f"thresholds must be a list of {n} numbers (the cut points of scores 2..5)")
        if any(b <= a for a, b in itertools.pairwise(cuts)):
            raise fail(f"thresholds {cuts} must be strictly increasing")
        thresholds = tuple(float(c) for c in cuts)
    if method == "category":
        cats = raw.get("categories")
        if not isinstance(cats, dict) or not cats:
            raise fail("a category score needs categories = { value = score, ... }")
        for key, score in cats.items():
            if not _is_score(score):
                raise fail(f"category {key!r} has score {score!r}; scores are integers 1..5")
        categories = {str(k): int(v) for k, v in cats.items()}
    if default is not None and (method != "category" or not _is_score(default)):
        raise fail("default applies to category scores only and must be an integer 1..5")
    if reverse and method in ("category", "likert"):
        raise fail(f"reverse does not apply to a {method} score; write the map the right way round")
    return Scoring(
        method=method,
        thresholds=thresholds,
        categories=categories,
        default=int(default) if default is not None else None,
        reverse=reverse,
    )


def _is_score(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= LIKERT_POINTS


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: missing the [{key}] table")
    return value


def _only(table: dict[str, Any], allowed: set[str], what: str, where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: {what}: unknown key(s) {unknown}; allowed keys: {sorted(allowed)}"
        )
