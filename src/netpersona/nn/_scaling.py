"""Min-max scaling as MATLAB's ``mapminmax``, fitted on training data and stored with a model.

``y = (hi - lo) * (x - xmin) / (xmax - xmin) + lo`` per column. A column that is constant in the
training data gets gain 1 (``y = x - xmin + lo``), as ``mapminmax`` does, so it maps to ``lo``
instead of dividing by zero (likewise a span so tiny that the gain would overflow). Values
outside the training range map outside ``[lo, hi]``; the estimators keep ``input_min_`` /
``input_max_`` so callers can flag them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class MinMaxScaling:
    """Per-column training minimum and maximum, and the target interval ``[lo, hi]``.

    >>> scaling = MinMaxScaling.fit(np.array([[0.0, 10.0], [5.0, 30.0]]))
    >>> scaling.transform(np.array([[2.5, 20.0]])).tolist()
    [[0.5, 0.5]]
    >>> scaling.inverse(np.array([[1.0, 0.0]])).tolist()
    [[5.0, 10.0]]
    """

    data_min: np.ndarray
    data_max: np.ndarray
    lo: float = 0.0
    hi: float = 1.0

    @classmethod
    def fit(cls, data: np.ndarray, feature_range: tuple[float, float] = (0.0, 1.0)):
        """Learn the per-column range of ``data`` (rows are samples)."""
        lo, hi = (float(v) for v in feature_range)
        if not lo < hi:
            raise ValueError(f"scaling range must have low < high, got {feature_range}")
        data = np.asarray(data, dtype=np.float64)
        return cls(data.min(axis=0), data.max(axis=0), lo, hi)

    @property
    def gain(self) -> np.ndarray:
        """Per-column factor; 1 where the span is zero or so small the factor would overflow."""
        span = self.data_max - self.data_min
        with np.errstate(over="ignore"):
            gain = (self.hi - self.lo) / np.where(span > 0, span, 1.0)
        return np.where((span > 0) & np.isfinite(gain), gain, 1.0)

    def transform(self, data: np.ndarray) -> np.ndarray:
        """Scale ``data`` into the target interval (for the training range)."""
        out = np.subtract(np.asarray(data, dtype=np.float64), self.data_min)
        out *= self.gain
        out += self.lo
        return out

    def inverse(self, scaled: np.ndarray) -> np.ndarray:
        """Map scaled values back to the original units."""
        return (np.asarray(scaled, dtype=np.float64) - self.lo) / self.gain + self.data_min
