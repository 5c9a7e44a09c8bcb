"""One indicator's scoring rule: learned from the data (quantile cut points, median scores)
or given (thresholds, categories, Likert answers), then applied to raw values -> scores 1..5."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from netpersona._core import InputError
from netpersona.customers._source import line_of
from netpersona.customers._system import LIKERT_POINTS, Indicator

#: the score given for on_null = "neutral": the middle of the Likert scale
NEUTRAL_SCORE = 3


@dataclass(frozen=True)
class FittedScoring:
    """One indicator's scoring rule with everything learned from data filled in.

    score = 1 + #{cut <= value} over ``cuts`` (values negated first when ``negate``), then
    6 - score when ``flip``; categories and Likert answers map directly. ``null_score`` is the
    score an empty value gets (None: the row is dropped or refused, per ``on_null``).
    """

    method: str
    cuts: tuple[float, ...] = ()
    negate: bool = False
    flip: bool = False
    categories: dict[str, int] = field(default_factory=dict)
    default: int | None = None
    null_score: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out = self.__dict__.copy()
        out["cuts"] = [c if math.isfinite(c) else None for c in self.cuts]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FittedScoring:
        data = dict(data)
        data["cuts"] = tuple(math.inf if c is None else float(c) for c in data["cuts"])
        return cls(**data)


def numeric_values(values: pd.Series, path, column: str) -> pd.Series:
    """``values`` as floats; a non-empty value that is not a number is an InputError."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() & values.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"expected a number, found {_cell(values.iloc[row])} ({int(bad.sum()):,} such values)",
            path=path,
            line=line_of(row),
            column=column,
            hint="use a category score for text columns, or clean the column",
        )
    return numbers.astype("float64")


def fit_rule(ind: Indicator, values: pd.Series, path) -> FittedScoring:
    """Learn the cut points (quantile bins) and the empty-value score from the population."""
    sc = ind.scoring
    base: dict[str, Any] = {"method": sc.method}
    if sc.method == "quantile":
        numbers = numeric_values(values, path, column_label(ind))
        if sc.reverse:
            numbers = -numbers
        base.update(cuts=quantile_cuts(numbers.dropna().to_numpy()), negate=sc.reverse)
    elif sc.method == "thresholds":
        base.update(cuts=sc.thresholds, flip=sc.reverse)
    elif sc.method == "category":
        base.update(categories=dict(sc.categories), default=sc.default)
    partial = FittedScoring(**base)
    null_score = None
    if ind.on_null == "lowest":
        null_score = 1
    elif ind.on_null == "neutral":
        null_score = NEUTRAL_SCORE
    elif ind.on_null == "median":
        scored = apply_rule(ind, partial, values, path).dropna()
        null_score = math.floor(float(np.median(scored)) + 0.5) if len(scored) else 3
    return FittedScoring(**{**base, "null_score": null_score})


def quantile_cuts(values: np.ndarray) -> tuple[float, ...]:
    """Cut points of five equal-frequency bins: score = 1 + floor(5 x share strictly below).

    The cut for score s is the smallest observed value with at least (s-1)/5 of the population
    strictly below it (infinite when none), so equal values never land in different bins.
    """
    n = len(values)
    if n == 0:
        return (math.inf,) * (LIKERT_POINTS - 1)
    uniq, counts = np.unique(values, return_counts=True)
    below = np.concatenate([[0], np.cumsum(counts)[:-1]]) / n  # share strictly below each value
    cuts = []
    for s in range(2, LIKERT_POINTS + 1):
        hit = np.flatnonzero(below >= (s - 1) / LIKERT_POINTS - 1e-12)
        cuts.append(float(uniq[hit[0]]) if len(hit) else math.inf)
    return tuple(cuts)


def apply_rule(ind: Indicator, rule: FittedScoring, values: pd.Series, path) -> pd.Series:
    """Scores (float, NaN where the value is empty) under a fitted rule."""
    if rule.method == "category":
        return _categories(ind, rule, values, path)
    numbers = numeric_values(values, path, column_label(ind))
    if rule.method == "likert":
        ok = numbers.isna() | numbers.isin(range(1, LIKERT_POINTS + 1))
        if not ok.all():
            row = int(np.flatnonzero(~ok.to_numpy())[0])
            raise InputError(
                f"indicator {ind.name!r} is a Likert answer: expected an integer 1..5, found "
                f"{_cell(values.iloc[row])}",
                path=path,
                line=line_of(row),
                column=column_label(ind),
                hint="use a thresholds or quantile score for other numbers",
            )
        return numbers
    x = -numbers if rule.negate else numbers
    score = 1.0 + sum((x >= cut).astype("float64") for cut in rule.cuts)
    if rule.flip:
        score = (LIKERT_POINTS + 1) - score
    return score.where(numbers.notna())


def _categories(ind: Indicator, rule: FittedScoring, values: pd.Series, path) -> pd.Series:
    keys = values.map(_category_key)
    score = keys.map(rule.categories)
    unknown = score.isna() & keys.notna()
    if unknown.any():
        if rule.default is None:
            row = int(np.flatnonzero(unknown.to_numpy())[0])
            seen = sorted(keys[unknown].unique())[:10]
            raise InputError(
                f"indicator {ind.name!r}: category {_cell(values.iloc[row])} is not in the map "
                f"(unmapped values: {seen})",
                path=path,
                line=line_of(row),
                column=column_label(ind),
                hint="add these values to [indicators.score] categories, or set default = N",
            )
        score = score.where(~unknown, float(rule.default))
    return score.astype("float64")


def _cell(value: Any) -> str:
    """A cell for an error message: numpy scalars shown as plain Python values."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _category_key(value: Any) -> str | None:
    """A cell as a category map key: text stripped; whole numbers without '.0'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool | np.bool_):
        return str(value).lower()
    return str(value).strip()


def column_label(ind: Indicator) -> str:
    return ind.column or (",".join(ind.columns) if ind.columns else f"expr {ind.expr}")
