"""Indicator scoring: a customer table -> one 1–5 score per customer and indicator (paper 4.1).

Scoring is fitted on the table it first scores (quantile cut points, the median score used for
empty values) and the fitted rule is kept, so a trained model scores new customers with exactly
the cut points it was trained with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from netpersona._core import ColumnNotFoundError, ConfigError, InputError, Progress
from netpersona.customers._source import line_of
from netpersona.customers._system import LIKERT_POINTS, Indicator, IndicatorSystem

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


@dataclass
class ScoredCustomers:
    """Customers with their indicator scores, and what scoring had to do to get there."""

    system: IndicatorSystem  #: the active system: indicators dropped for lack of a source removed
    customer: pd.Series  #: customer ids (row numbers when the system names no id column)
    scores: pd.DataFrame  #: int 1..5, one column per active indicator
    fitted: dict[str, FittedScoring]
    source_rows: int  #: rows in the source table
    dropped_indicators: dict[str, str] = field(default_factory=dict)  #: name -> why
    dropped_rows: dict[str, int] = field(default_factory=dict)  #: indicator -> rows dropped
    filled_nulls: dict[str, int] = field(default_factory=dict)  #: indicator -> nulls scored
    label: pd.Series | None = None  #: known K in [0, 1] when the system names a label column
    notes: list[str] = field(default_factory=list)

    def summary_lines(self) -> list[str]:
        """What scoring did, in sentences for the run summary."""
        lines = [
            f"{len(self.scores):,} of {self.source_rows:,} customers scored on "
            f"{len(self.system.indicators)} indicators"
        ]
        for name, why in self.dropped_indicators.items():
            lines.append(f"indicator {name!r} dropped: {why}")
        for name, n in self.dropped_rows.items():
            lines.append(f"{n:,} customers dropped: empty {name!r} (on_null = 'drop')")
        for name, n in self.filled_nulls.items():
            rule = self.system.indicator(name).on_null
            score = self.fitted[name].null_score
            lines.append(f"{n:,} empty {name!r} values scored {score} (on_null = {rule!r})")
        return lines + self.notes


def score_customers(
    table: pd.DataFrame,
    system: IndicatorSystem,
    *,
    fitted: dict[str, FittedScoring] | None = None,
    path: str | Path | None = None,
    label_column: str | None = None,
    progress: Progress = Progress(),
) -> ScoredCustomers:
    """Score every customer of ``table`` on every indicator of ``system``.

    ``fitted`` reuses scoring rules learned earlier (a trained model's); without it quantile cut
    points and median scores are learned from ``table``. ``path`` names the file in errors.
    Indicators whose columns are absent are dropped or refused per their ``on_missing``.

    >>> from netpersona.synth.customers import synth_customers
    >>> data = synth_customers(300, seed=4)  # questionnaires of the paper's 14 indicators
    >>> from netpersona.customers import load_system
    >>> scored = score_customers(data, load_system())
    >>> scored.scores.shape, int(scored.scores.min().min()), int(scored.scores.max().max())
    ((300, 14), 1, 5)
    """
    available = [str(c) for c in table.columns]
    dropped: dict[str, str] = {}
    for ind in system.indicators:
        if fitted is not None and ind.name not in fitted:
            dropped[ind.name] = "the model was trained without it"
            continue
        _, missing = ind.source_columns(available)
        if not missing:
            continue
        if ind.on_missing == "drop" and fitted is None:
            dropped[ind.name] = f"the source has no column {', '.join(map(repr, missing))}"
            continue
        trained = " (the model was trained with it)" if fitted is not None else ""
        raise ColumnNotFoundError(
            f"indicator {ind.name!r}{trained} needs column(s) {missing}, which the table lacks "
            f"(it has: {', '.join(available)})",
            path=path,
            column=missing[0],
            hint="map the indicator to a column that exists, or set on_missing = 'drop' in the "
            "indicator system to leave it out",
        )
    active = system.without(list(dropped))
    raw = _raw_values(table, active, path)

    keep = pd.Series(True, index=table.index)
    rules: dict[str, FittedScoring] = {}
    scores = {}
    dropped_rows: dict[str, int] = {}
    filled: dict[str, int] = {}
    for ind in progress.track(active.indicators, "scoring indicators"):
        values = raw[ind.name]
        rule = fitted[ind.name] if fitted is not None else _fit(ind, values, path)
        score = _apply(ind, rule, values, path)
        nulls = score.isna()
        if nulls.any():
            if ind.on_null == "fail":
                row = int(np.flatnonzero(nulls.to_numpy())[0])
                raise InputError(
                    f"indicator {ind.name!r}: {int(nulls.sum()):,} customers have no value "
                    "(first shown)",
                    path=path,
                    line=line_of(row),
                    column=_column_label(ind),
                    hint="fill the column, or set on_null = 'drop' | 'lowest' | 'neutral' | "
                    "'median' for this indicator in the system file",
                )
            if ind.on_null == "drop":
                keep &= ~nulls
                dropped_rows[ind.name] = int(nulls.sum())
            else:
                score = score.fillna(rule.null_score)
                filled[ind.name] = int(nulls.sum())
        rules[ind.name] = rule
        scores[ind.name] = score

    frame = pd.DataFrame(scores, index=table.index)[keep]
    frame = frame.astype("int64")
    customer = _customer_ids(table, system, path)[keep]
    label = None
    label_column = label_column or system.label_column
    notes: list[str] = []
    if label_column:
        label, note = _label(table, label_column, path)
        label = label[keep]
        notes.append(note)
    return ScoredCustomers(
        system=active,
        customer=customer.reset_index(drop=True),
        scores=frame.reset_index(drop=True),
        fitted=rules,
        source_rows=len(table),
        dropped_indicators=dropped,
        dropped_rows=dropped_rows,
        filled_nulls=filled,
        label=None if label is None else label.reset_index(drop=True),
        notes=notes,
    )


def _column_label(ind: Indicator) -> str:
    return ind.column or (",".join(ind.columns) if ind.columns else f"expr {ind.expr}")


def _raw_values(table: pd.DataFrame, system: IndicatorSystem, path) -> pd.DataFrame:
    """Each active indicator's raw value per customer (a column, a combination, an expression)."""
    from netpersona.customers._expr import evaluate

    available = [str(c) for c in table.columns]
    out: dict[str, pd.Series] = {}
    for ind in system.indicators:
        if ind.expr:
            try:
                out[ind.name] = evaluate(table, {ind.name: ind.expr})[ind.name]
            except ConfigError as exc:
                raise InputError(
                    f"indicator {ind.name!r}: {exc}",
                    path=path,
                    hint="check the expression against the columns' types and formats",
                ) from None
    for ind in system.indicators:
        if ind.column is not None:
            out[ind.name] = table[ind.column]
        elif ind.columns:
            cols, _ = ind.source_columns(available)
            block = pd.DataFrame({c: _numeric(table[c], path, c) for c in cols})
            out[ind.name] = _combine(block, ind.combine or "sum")
    return pd.DataFrame(out, index=table.index)


def _combine(block: pd.DataFrame, how: str) -> pd.Series:
    if how == "count_nonzero":
        counted = (block.fillna(0) != 0).sum(axis=1).astype("float64")
        return counted.where(block.notna().any(axis=1))
    if how == "sum":
        return block.sum(axis=1, min_count=1)
    return getattr(block, how)(axis=1)


def _numeric(values: pd.Series, path, column: str) -> pd.Series:
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


def _fit(ind: Indicator, values: pd.Series, path) -> FittedScoring:
    """Learn the cut points (quantile bins) and the empty-value score from the population."""
    sc = ind.scoring
    base: dict[str, Any] = {"method": sc.method}
    if sc.method == "quantile":
        numbers = _numeric(values, path, _column_label(ind))
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
        scored = _apply(ind, partial, values, path).dropna()
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


def _apply(ind: Indicator, rule: FittedScoring, values: pd.Series, path) -> pd.Series:
    """Scores (float, NaN where the value is empty) under a fitted rule."""
    if rule.method == "category":
        return _categories(ind, rule, values, path)
    numbers = _numeric(values, path, _column_label(ind))
    if rule.method == "likert":
        ok = numbers.isna() | numbers.isin(range(1, LIKERT_POINTS + 1))
        if not ok.all():
            row = int(np.flatnonzero(~ok.to_numpy())[0])
            raise InputError(
                f"indicator {ind.name!r} is a Likert answer: expected an integer 1..5, found "
                f"{_cell(values.iloc[row])}",
                path=path,
                line=line_of(row),
                column=_column_label(ind),
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
                column=_column_label(ind),
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


def _customer_ids(table: pd.DataFrame, system: IndicatorSystem, path) -> pd.Series:
    if system.id_column is None:
        return pd.Series([str(i + 1) for i in range(len(table))], index=table.index)
    if system.id_column not in table.columns:
        raise ColumnNotFoundError(
            f"the customer id column {system.id_column!r} is not in the table "
            f"(it has: {', '.join(map(str, table.columns))})",
            path=path,
            column=system.id_column,
            hint="set [system] id_column to the id column, or remove it to use row numbers",
        )
    return table[system.id_column].astype("string").fillna("")


#: K for a class label: the middle of the tier's band (paper Table 3)
LABEL_CLASS_K = {"A": 0.875, "B": 0.625, "C": 0.375, "D": 0.125}


def _label(table: pd.DataFrame, column: str, path) -> tuple[pd.Series, str]:
    """The known value K from a label column: numbers in [0, 1], other numbers min–max rescaled,
    or tier letters A–D (mapped to the middle of their band)."""
    if column not in table.columns:
        raise ColumnNotFoundError(
            f"the label column {column!r} is not in the table",
            path=path,
            column=column,
            hint="remove label_column to train on the expert-weighted composite instead",
        )
    values = table[column]
    letters = values.astype("string").str.strip().str.upper()
    if letters.dropna().isin(list(LABEL_CLASS_K)).all() and not pd.api.types.is_numeric_dtype(
        values
    ):
        return letters.map(LABEL_CLASS_K).astype("float64"), (
            f"target K from tier labels in {column!r} (A/B/C/D -> middle of the band)"
        )
    numbers = _numeric(values, path, column)
    if numbers.isna().any():
        row = int(np.flatnonzero(numbers.isna().to_numpy())[0])
        raise InputError(
            "the label column has empty values", path=path, line=line_of(row), column=column
        )
    lo, hi = float(numbers.min()), float(numbers.max())
    if lo >= 0.0 and hi <= 1.0:
        return numbers, f"target K from the label column {column!r}"
    span = hi - lo or 1.0
    return (numbers - lo) / span, (
        f"target K from the label column {column!r}, min–max rescaled from [{lo:g}, {hi:g}]"
    )
