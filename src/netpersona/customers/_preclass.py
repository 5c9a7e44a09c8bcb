"""Current value and pre-classification (paper 4.2, formula (1) and Table 2).

C = R x W_R + F x W_F + M x W_M on the 1–5 scores; five classes [1,2), [2,3), [3,4), [4,5) and
C = 5. C is rounded to 9 decimals before classing so that weights which sum to 1 only up to
floating-point error still put C = 2.0 in class 2 and C = 5.0 in class 5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from netpersona.customers._system import LIKERT_POINTS

#: number of pre-classes (paper Table 2)
N_PRE_CLASSES = 5
#: the paper's pre-class shares for its 548 customers (Table 2): 102/150/110/105/81
PAPER_PRE_CLASS_SHARES = (0.1861, 0.2737, 0.2007, 0.1916, 0.1478)
PAPER_PRE_CLASS_COUNTS = (102, 150, 110, 105, 81)


def current_value(
    scores: pd.DataFrame, rfm: tuple[str, str, str], weights: tuple[float, float, float]
) -> pd.Series:
    """C per customer from the R, F, M score columns and their weights (renormalised to 1).

    >>> scores = pd.DataFrame({'R': [5, 1], 'F': [4, 1], 'M': [3, 2]})
    >>> current_value(scores, ('R', 'F', 'M'), (2.0, 1.0, 1.0)).tolist()  # weights renormalised
    [4.25, 1.25]
    """
    w = np.asarray(weights, dtype=float)
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"current-value weights must be non-negative with a positive sum: {w}")
    w = w / w.sum()
    c = scores[list(rfm)].to_numpy(dtype=float) @ w
    return pd.Series(np.round(c, 9), index=scores.index, name="C")


def pre_class(c: pd.Series | np.ndarray) -> np.ndarray:
    """Class 1..5 of each current value: [1,2) -> 1, ..., [4,5) -> 4, 5 -> 5.

    >>> pre_class(np.array([1.0, 1.99, 2.0, 4.5, 5.0])).tolist()
    [1, 1, 2, 4, 5]
    """
    values = np.round(np.asarray(c, dtype=float), 9)
    return np.clip(np.floor(values), 1, LIKERT_POINTS).astype("int64")


@dataclass(frozen=True)
class PreClassRow:
    """One row of the pre-class table (paper Table 2)."""

    number: int
    interval: str
    count: int
    proportion: float


def pre_class_table(classes: np.ndarray | pd.Series) -> list[PreClassRow]:
    """Counts and proportions per pre-class, like the paper's Table 2.

    >>> rows = pre_class_table(np.array([1, 1, 2, 5]))
    >>> [(r.number, r.count, r.proportion) for r in rows]
    [(1, 2, 0.5), (2, 1, 0.25), (3, 0, 0.0), (4, 0, 0.0), (5, 1, 0.25)]
    """
    classes = np.asarray(classes)
    total = max(len(classes), 1)
    rows = []
    for k in range(1, N_PRE_CLASSES + 1):
        interval = f"{k} <= C < {k + 1}" if k < N_PRE_CLASSES else f"C = {k}"
        n = int((classes == k).sum())
        rows.append(PreClassRow(k, interval, n, n / total))
    return rows
