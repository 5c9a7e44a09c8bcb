"""Customer value K -> tiers A/B/C/D with the paper's guidance (paper Table 3 and section 4.3)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TIERS = ("A", "B", "C", "D")

#: what the paper advises for each tier (section 4.3, after Table 3)
GUIDANCE = {
    "A": "Frequent purchases and high spending: the most important customers of the company.",
    "B": "Major contributors to profit: invest resources to turn them into class A customers.",
    "C": "Maintain selectively, so that they keep making profits for the company.",
    "D": "Low priority: a relatively cool attitude; the company may let them go.",
}


@dataclass(frozen=True)
class TierThresholds:
    """Lower bounds of tiers A, B and C on K (paper Table 3); D is everything below ``c``.

    >>> TierThresholds().bands()['B']
    (0.5, 0.75)
    >>> TierThresholds(a=0.9).bands()['A']
    (0.9, 1.0)
    """

    a: float = 0.75
    b: float = 0.5
    c: float = 0.25

    def __post_init__(self) -> None:
        if not 0.0 <= self.c < self.b < self.a <= 1.0:
            from netpersona._core import ConfigError

            raise ConfigError(
                f"tier thresholds must satisfy 0 <= C < B < A <= 1, got A={self.a}, "
                f"B={self.b}, C={self.c}"
            )

    def bands(self) -> dict[str, tuple[float, float]]:
        """K interval of each tier, [low, high)."""
        return {
            "A": (self.a, 1.0),
            "B": (self.b, self.a),
            "C": (self.c, self.b),
            "D": (0.0, self.c),
        }


def assign_tiers(k: np.ndarray, thresholds: TierThresholds = TierThresholds()) -> np.ndarray:
    """Tier letter for each customer value K: A if K >= a, B if K >= b, C if K >= c, else D.

    >>> assign_tiers(np.array([0.8, 0.75, 0.6, 0.3, 0.1])).tolist()
    ['A', 'A', 'B', 'C', 'D']
    >>> assign_tiers(np.array([0.8, 0.6]), TierThresholds(a=0.9, b=0.7, c=0.5)).tolist()
    ['B', 'C']
    """
    k = np.asarray(k, dtype=float)
    return np.select(
        [k >= thresholds.a, k >= thresholds.b, k >= thresholds.c], ["A", "B", "C"], default="D"
    )


def tier_shares(tiers: np.ndarray) -> dict[str, float]:
    """Share of customers in each tier, A to D."""
    tiers = np.asarray(tiers)
    total = max(len(tiers), 1)
    return {t: float((tiers == t).sum()) / total for t in TIERS}


#: a tier holding less than this share of the customers is worth a warning: the paper's
#: cut-offs may not suit the data (96% of a real churn file fell in B or C)
SMALL_TIER_SHARE = 0.02


def small_tier_warnings(shares: dict[str, float], limit: float = SMALL_TIER_SHARE) -> list[str]:
    """A warning for each tier holding under ``limit`` of the customers.

    >>> small_tier_warnings({'A': 0.013, 'B': 0.6, 'C': 0.38, 'D': 0.007})[0]
    'warning: tier A holds 1.3% of the customers (under 2%); the cut-offs may not suit this data: set them with --tiers A B C'
    """  # noqa: E501
    return [
        f"warning: tier {t} holds {shares[t]:.1%} of the customers (under {limit:.0%}); the "
        "cut-offs may not suit this data: set them with --tiers A B C"
        for t in TIERS
        if shares.get(t, 0.0) < limit
    ]
