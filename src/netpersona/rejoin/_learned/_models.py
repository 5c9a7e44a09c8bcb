"""The two classifiers the learned matcher tries, and how each is saved without pickle.

- ``hgb``: scikit-learn's HistGradientBoostingClassifier. It cannot be saved without pickle,
  so it is *refitted* at load time from the saved training features (float32, as it was trained
  on) with the same parameters and seed; the refit is checked against probabilities recorded at
  save time and refused (ModelFormatError) if they differ, e.g. under another scikit-learn.
- ``bp``: netpersona's own BPClassifier (JSON + .npz through its own save/load).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from netpersona.rejoin._join import run_parallel
from netpersona.rejoin._learned._trees import Trees, compile_trees

MODEL_NAMES = ("hgb", "bp")


def hgb_params(seed: int) -> dict[str, Any]:
    """Parameters of the gradient-boosted trees (deterministic for a seed)."""
    return {
        "max_iter": 100,
        "learning_rate": 0.1,
        "max_leaf_nodes": 15,
        "min_samples_leaf": 20,
        "l2_regularization": 1.0,
        "early_stopping": False,
        "random_state": seed,
    }


def bp_params(seed: int) -> dict[str, Any]:
    """Parameters of the BP network: one hidden layer, batch training with an adaptive rate."""
    return {
        "hidden": (12,),
        "transfer": ("tansig", "logsig"),
        "algorithm": "traingdx",
        "lr": 0.05,
        "epochs": 200,
        "goal": 0.0,
        "performance": "mse",
        "init": "nguyen-widrow",
        "input_range": (-1.0, 1.0),
        "random_state": seed,
    }


def make_model(name: str, seed: int):
    """An unfitted classifier called ``name``."""
    if name == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(**hgb_params(seed))
    if name == "bp":
        from netpersona.nn import BPClassifier

        return BPClassifier(**bp_params(seed))
    raise ValueError(f"unknown model {name!r}; expected one of {MODEL_NAMES}")


#: training pairs each model is fitted on at most (a seeded sample, all positives kept):
#: fitting time is linear in rows, and a dense library yields a million simulated pairs
MAX_TRAINING_ROWS = {"bp": 20_000, "hgb": 250_000}


def fit_model(name: str, seed: int, x: np.ndarray, y: np.ndarray):
    """Fit ``name`` on features ``x`` and labels ``y`` (on a seeded sample of at most
    :data:`MAX_TRAINING_ROWS` rows, every positive kept)."""
    model = make_model(name, seed)
    limit = MAX_TRAINING_ROWS[name]
    if len(y) > limit:
        rng = np.random.default_rng(seed)
        negatives = np.flatnonzero(~y)
        keep = min(len(negatives), max(limit - int(y.sum()), 1))
        keep_neg = rng.choice(negatives, keep, replace=False)
        rows = np.sort(np.concatenate([np.flatnonzero(y), keep_neg]))
        x, y = x[rows], y[rows]
    with threadpool_limits(1):  # OpenMP/BLAS threads thrash on a shared, loaded machine
        model.fit(x.astype(np.float64), y.astype(np.int8))
    return model


#: rows per chunk of :func:`match_probability` (chunks are predicted on all cores)
PREDICT_CHUNK = 131_072


def match_probability(model, x: np.ndarray) -> np.ndarray:
    """P(same user) for every row of ``x``: row chunks predicted side by side on all cores
    (NumPy and the trees release the GIL), each model call single-threaded. Gradient-boosted
    trees are walked by compiled code (:mod:`._trees`, the same probabilities, checked against
    scikit-learn on the first rows of every model)."""
    classes = list(model.classes_)
    if 1 not in classes:
        return np.zeros(len(x))
    column = classes.index(1)
    trees = _checked_trees(model, x, column)

    def chunk(lo: int) -> np.ndarray:
        rows = np.asarray(x[lo : lo + PREDICT_CHUNK], dtype=np.float32).astype(np.float64)
        if trees is not None:
            return model._loss.predict_proba(trees.raw(rows))[:, column]
        return model.predict_proba(rows)[:, column]

    with threadpool_limits(1):
        parts = list(run_parallel(chunk, range(0, len(x), PREDICT_CHUNK)))
    return np.concatenate(parts) if parts else np.zeros(0)


#: rows of the first prediction on which compiled trees must give scikit-learn's probabilities
CHECK_ROWS = 4_096


def _checked_trees(model, x: np.ndarray, column: int) -> Trees | None:
    """The model's compiled trees (made and checked once per model, at its first prediction
    of some rows), or ``None`` when there are none or they differ from scikit-learn's own
    prediction on the first :data:`CHECK_ROWS` rows."""
    known = model.__dict__.get("_netpersona_trees")
    if known is not None or not len(x):
        return known or None
    trees = compile_trees(model) if hasattr(model, "_predictors") else None
    if trees is not None:
        rows = np.asarray(x[:CHECK_ROWS], dtype=np.float32).astype(np.float64)
        try:
            fast = model._loss.predict_proba(trees.raw(rows))[:, column]
        except (AttributeError, ValueError, IndexError):
            fast = None
        with threadpool_limits(1):
            slow = model.predict_proba(rows)[:, column]
        if fast is None or not np.array_equal(fast, slow):
            trees = None
    model.__dict__["_netpersona_trees"] = trees if trees is not None else False
    return trees
