"""A fitted gradient-boosted trees model, predicted row by row in compiled code.

scikit-learn's HistGradientBoostingClassifier predicts tree by tree over all rows: each of its
100 trees reads every row again, from main memory when the rows are many (1.5 million
candidate pairs x 32 features at the paper's scale). Walking all the trees for one row at a
time keeps the row in the first-level cache and the trees (a few hundred kB) in the second,
about 4x faster. The raw score is summed in scikit-learn's order (the baseline, then tree 1, 2,
...) and turned into a probability by the model's own loss, so the probabilities are the same
numbers. A model this cannot read (categorical splits, several trees per iteration, another
layout of scikit-learn's private tree arrays) returns ``None`` from :func:`compile_trees`, and
every compiled model is checked against scikit-learn on rows it predicts before it is used
(:func:`netpersona.rejoin._learned._models.match_probability`); either way scikit-learn
predicts instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np


@dataclass(frozen=True)
class Trees:
    """Every node of every tree in flat arrays; tree ``t`` starts at node ``roots[t]`` and
    its ``left``/``right`` child numbers are relative to that start."""

    baseline: float
    roots: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    is_leaf: np.ndarray
    value: np.ndarray

    def raw(self, x: np.ndarray) -> np.ndarray:
        """The raw score (log-odds) of every row of ``x`` (float64, C order)."""
        out = np.empty(len(x))
        _raw_scores(np.ascontiguousarray(x, dtype=np.float64), self.baseline, self.roots,
                    self.feature, self.threshold, self.missing_left, self.left, self.right,
                    self.is_leaf, self.value, out)  # fmt: skip
        return out


def compile_trees(model) -> Trees | None:
    """The trees of a fitted binary ``HistGradientBoostingClassifier``, or ``None`` when they
    cannot be read (see the module docstring)."""
    try:
        predictors = model._predictors
        baseline = np.asarray(model._baseline_prediction, dtype=np.float64).ravel()
        if len(baseline) != 1 or any(len(iteration) != 1 for iteration in predictors):
            return None
        nodes = [iteration[0].nodes for iteration in predictors]
        if any(n["is_categorical"].any() for n in nodes if "is_categorical" in n.dtype.names):
            return None
        sizes = np.array([len(n) for n in nodes], dtype=np.int64)
        roots = np.zeros(len(nodes), dtype=np.int64)
        np.cumsum(sizes[:-1], out=roots[1:])
        every = np.concatenate(nodes) if nodes else None
        if every is None:
            return None
        return Trees(
            baseline=float(baseline[0]),
            roots=roots,
            feature=every["feature_idx"].astype(np.int64),
            threshold=every["num_threshold"].astype(np.float64),
            missing_left=every["missing_go_to_left"].astype(np.bool_),
            left=every["left"].astype(np.int64),
            right=every["right"].astype(np.int64),
            is_leaf=every["is_leaf"].astype(np.bool_),
            value=every["value"].astype(np.float64),
        )
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


@numba.njit(cache=True, nogil=True)
def _raw_scores(x, baseline, roots, feature, threshold, missing_left, left, right, is_leaf,
                value, out):  # fmt: skip
    """Baseline plus each tree's leaf value, trees in order, for every row of ``x``."""
    for i in range(x.shape[0]):
        raw = 0.0 + baseline
        for t in range(len(roots)):
            base = roots[t]
            node = base
            while not is_leaf[node]:
                v = x[i, feature[node]]
                go_left = missing_left[node] if np.isnan(v) else v <= threshold[node]
                node = base + (left[node] if go_left else right[node])
            raw += value[node]
        out[i] = raw
