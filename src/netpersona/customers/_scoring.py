"""Indicator scoring: a customer table -> one 1–5 score per customer and indicator (paper 4.1).

Scoring is fitted on the table it first scores (quantile cut points, the median score used for
empty values) and the fitted rule is kept, so a trained model scores new customers with exactly
the cut points it was trained with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from netpersona._core import ColumnNotFoundError, ConfigError, InputError, Progress
from netpersona.customers._scoring_rules import (
    FittedScoring,
    apply_rule,
    column_label,
    fit_rule,
    numeric_values,
)
from netpersona.customers._source import line_of
from netpersona.customers._system import IndicatorSystem


@dataclass
class ScoredCustomers:
    """Customers with their indicator scores, and what scoring had to do to get there.

    >>> from netpersona.customers import load_system
    >>> from netpersona.synth.customers import synth_customers
    >>> scored = score_customers(synth_customers(100, seed=1), load_system())
    >>> scored.source_rows, len(scored.scores), scored.dropped_indicators
    (100, 100, {})
    >>> scored.summary_lines()[0]
    '100 of 100 customers scored on 14 indicators'
    """

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
    empty: list[str] = []  # every indicator with missing values, reported together
    for ind in progress.track(active.indicators, "scoring indicators"):
        values = raw[ind.name]
        rule = fitted[ind.name] if fitted is not None else fit_rule(ind, values, path)
        score = apply_rule(ind, rule, values, path)
        nulls = score.isna()
        if nulls.any():
            if ind.on_null == "fail":
                row = int(np.flatnonzero(nulls.to_numpy())[0])
                empty.append(
                    f"column {column_label(ind)!r} (indicator {ind.name!r}): "
                    f"{int(nulls.sum()):,} customers, first on line {line_of(row)}"
                )
                continue
            if ind.on_null == "drop":
                keep &= ~nulls
                dropped_rows[ind.name] = int(nulls.sum())
            else:
                score = score.fillna(rule.null_score)
                filled[ind.name] = int(nulls.sum())
        rules[ind.name] = rule
        scores[ind.name] = score
    if empty:
        raise InputError(
            f"{len(empty)} column(s) have customers without a value: " + "; ".join(empty),
            path=path,
            hint="fill the columns, or set on_null = 'drop' | 'lowest' | 'neutral' | 'median' "
            "for those indicators in the system file",
        )

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
            block = pd.DataFrame({c: numeric_values(table[c], path, c) for c in cols})
            out[ind.name] = _combine(block, ind.combine or "sum")
    return pd.DataFrame(out, index=table.index)


def _combine(block: pd.DataFrame, how: str) -> pd.Series:
    if how == "count_nonzero":
        counted = (block.fillna(0) != 0).sum(axis=1).astype("float64")
        return counted.where(block.notna().any(axis=1))
    if how == "sum":
        return block.sum(axis=1, min_count=1)
    return getattr(block, how)(axis=1)


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
    numbers = numeric_values(values, path, column)
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
