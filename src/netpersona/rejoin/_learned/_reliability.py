"""Calibrated match probabilities and how far the simulation can be trusted (issue 16).

- :class:`Calibrator`: an isotonic map from a classifier's raw probability to the observed
  share of true pairs, fitted on **out-of-fold** predictions (never on pairs the model saw), so
  a probability of 0.9 means about 9 true pairs in 10. Stored as two arrays (JSON), no pickle.
  Isotonic maps are flat in places; identification breaks ties of the calibrated probability
  by the raw one, so the ranking of a query's candidates is the classifier's.
- :func:`cross_fitted`: calibrated out-of-fold probabilities, each fold calibrated by a map
  fitted on the other folds, for honest reliability figures.
- :func:`brier` and :func:`expected_calibration_error` (10 equal-width bins, weighted by
  their share of pairs).
- :func:`simulation_size`: how many simulated queries there were and the 95% Wilson interval
  of the chosen threshold's absent accuracy, with a warning when the simulation is too small
  to place a threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: a simulation with fewer simulated "new" users than this, or a wider interval, is warned of
MIN_SIMULATED_ABSENT = 50
#: ... the largest acceptable half-width of the absent accuracy's 95% interval
MAX_HALF_WIDTH = 0.10
#: reliability bins of the expected calibration error
ECE_BINS = 10


@dataclass
class Calibrator:
    """Piecewise-linear monotone map raw -> calibrated probability (isotonic regression)."""

    x: np.ndarray
    y: np.ndarray

    @classmethod
    def fit(cls, raw: np.ndarray, label: np.ndarray) -> Calibrator:
        """Isotonic regression of the labels on the raw probabilities."""
        from sklearn.isotonic import IsotonicRegression

        if len(raw) == 0 or label.all() or not label.any():
            return cls.identity()
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        iso.fit(np.asarray(raw, dtype=np.float64), np.asarray(label, dtype=np.float64))
        return cls(np.asarray(iso.X_thresholds_, float), np.asarray(iso.y_thresholds_, float))

    @classmethod
    def identity(cls) -> Calibrator:
        return cls(np.array([0.0, 1.0]), np.array([0.0, 1.0]))

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        if len(self.x) == 1:
            return np.full(len(raw), float(self.y[0]))
        return np.interp(np.asarray(raw, dtype=np.float64), self.x, self.y)

    def to_json(self) -> dict:
        return {"x": self.x.tolist(), "y": self.y.tolist()}

    @classmethod
    def from_json(cls, doc: dict | None) -> Calibrator:
        if not doc:
            return cls.identity()
        return cls(np.asarray(doc["x"], dtype=float), np.asarray(doc["y"], dtype=float))


def cross_fitted(raw: np.ndarray, label: np.ndarray, fold: np.ndarray) -> np.ndarray:
    """Each fold's raw probabilities calibrated by a map fitted on the other folds."""
    out = np.asarray(raw, dtype=np.float64).copy()
    for f in np.unique(fold):
        test = fold == f
        out[test] = Calibrator.fit(raw[~test], label[~test])(raw[test])
    return out


def brier(prob: np.ndarray, label: np.ndarray) -> float:
    """Mean squared difference between probability and outcome."""
    if len(prob) == 0:
        return float("nan")
    return float(np.mean((np.asarray(prob, float) - label.astype(float)) ** 2))


def expected_calibration_error(prob: np.ndarray, label: np.ndarray, bins: int = ECE_BINS) -> float:
    """Σ over equal-width probability bins of (share of pairs) x |mean probability - share
    of true pairs|."""
    if len(prob) == 0:
        return float("nan")
    prob = np.asarray(prob, dtype=np.float64)
    which = np.minimum((prob * bins).astype(np.int64), bins - 1)
    mean_p = np.bincount(which, weights=prob, minlength=bins)
    mean_y = np.bincount(which, weights=label.astype(float), minlength=bins)
    return float(np.abs(mean_p - mean_y).sum() / len(prob))


def reliability(prob: np.ndarray, label: np.ndarray) -> dict:
    """Brier score and expected calibration error of probabilities ``prob``."""
    return {"brier": brier(prob, label), "ece": expected_calibration_error(prob, label)}


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion (``(0, 1)`` when ``n`` is 0)."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def simulation_size(
    present: np.ndarray, metrics: dict, *, time_cuts: int = 0, simulations: int = 0
) -> dict:
    """The simulation's size and the 95% interval of the chosen threshold's simulated absent
    and present accuracies; ``warning`` (else None) when it is too small to place a threshold."""
    n_present, n_absent = int(present.sum()), int((~present).sum())
    out: dict = {
        "n_simulated_queries": len(present),
        "n_present": n_present,
        "n_absent": n_absent,
        "time_cuts": time_cuts,
        "simulations": simulations,
    }
    for key, n in (("acc_absent", n_absent), ("acc_present", n_present)):
        value = metrics.get(key)
        out[f"{key}_ci95"] = (
            list(wilson_interval(round(value * n), n)) if value is not None and n else None
        )
    ci = out["acc_absent_ci95"]
    half = (ci[1] - ci[0]) / 2 if ci else 1.0
    out["warning"] = None
    if n_absent < MIN_SIMULATED_ABSENT or half > MAX_HALF_WIDTH:
        shown = f"{100 * ci[0]:.0f}-{100 * ci[1]:.0f}%" if ci else "undefined"
        out["warning"] = (
            f"the simulation holds only {n_absent} simulated new user(s) among "
            f"{len(present)} simulated queries: the threshold's absent accuracy is known only "
            f"to within {shown} (95% interval). Give a longer library, more --cuts/--draws, or "
            "treat the 'new' verdicts with care"
        )
    return out
