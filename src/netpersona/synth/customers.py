"""Synthetic customer questionnaires of the paper's shape (paper C, 4.1: 548 valid answers).

Each customer answers the 14 questions of the shipped indicator system
(``netpersona/customers/systems/paper14.toml``) with raw answers (days, counts, money, bands,
opinions), from which that system's scoring recovers the intended 1–5 scores.

The generating truth:

1. pre-classes are drawn with the paper's Table 2 shares (18.61 / 27.37 / 20.07 / 19.16 /
   14.78 %; exact counts by largest remainder, so n = 548 gives 102 / 150 / 110 / 105 / 81);
2. R, F, M scores of a class-k customer are k or k+1 each, never all k+1 (class 5: all 5), so
   C = R·W_R + F·W_F + M·W_M falls in class k for ANY positive weights;
3. the other 11 indicators have a latent score ``clip(mean(R, F, M) + N(0, spread), 1, 5)``; the
   answer is that latent score rounded, moved one point up or down for ``answer_noise`` of the
   answers, and left blank for ``blank_share`` of the opinion answers;
4. the true value ``true_K`` = (mean of the 14 latent scores - 1) / 4 (equal expert weights),
   and ``true_tier`` its tier under the paper's thresholds.

Rows come in random order, so the paper's split by order (first 229 train) is not biased.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from netpersona._core import atomic_output, check_writable

#: pre-class shares the questionnaires are drawn with: paper C, Table 2 (the same figures as
#: ``netpersona.customers.PAPER_PRE_CLASS_SHARES``; a test keeps the two equal)
PAPER_PRE_CLASS_SHARES = (0.1861, 0.2737, 0.2007, 0.1916, 0.1478)
#: lower bounds of the true tiers A, B, C on ``true_K``: paper C, Table 3 (the defaults of
#: ``netpersona.customers.TierThresholds``; a test keeps the two equal)
PAPER_TIER_BOUNDS = (0.75, 0.5, 0.25)

#: raw-answer bins per score 1..5 for the numeric questions: [low, high) per score
_NUMERIC_BINS = {
    "site_visits_per_month": (0, 2, 5, 10, 20, 45),
    "minutes_per_visit": (1, 5, 10, 20, 40, 90),
    "feedback_count": (0, 1, 2, 4, 7, 15),
    "purchases_last_year": (0, 3, 6, 12, 24, 60),
    "spend_last_year": (50, 500, 2000, 5000, 10000, 30000),
    "repeat_purchases": (0, 1, 2, 4, 8, 20),
    "categories_bought": (1, 2, 3, 4, 6, 10),
    "relationship_months": (1, 6, 12, 24, 48, 120),
}
#: recency is reversed: score 5 = bought within a week
_RECENCY_BINS = {5: (0, 8), 4: (8, 31), 3: (31, 91), 2: (91, 181), 1: (181, 366)}
_CATEGORY_ANSWERS = {
    "income_band": ("<3k", "3k-5k", "5k-8k", "8k-15k", ">15k"),
    "brand_image": ("very poor", "poor", "neutral", "good", "excellent"),
    "would_recommend": ("definitely not", "probably not", "not sure", "probably", "definitely"),
    "membership": ("no", "unlikely", "maybe", "likely", "member"),
}
#: the 11 non-current-value questions, in the paper's order (Table 1)
_OTHER_QUESTIONS = (
    "income_band",
    "site_visits_per_month",
    "minutes_per_visit",
    "feedback_count",
    "repeat_purchases",
    "categories_bought",
    "relationship_months",
    "brand_image",
    "would_recommend",
    "rating",
    "membership",
)
_OPINIONS = ("brand_image", "would_recommend", "rating", "membership", "income_band")


def class_counts(n: int, shares: tuple[float, ...] = PAPER_PRE_CLASS_SHARES) -> list[int]:
    """Customers per pre-class: n x shares, rounded by largest remainder to sum to n.

    >>> class_counts(548)
    [102, 150, 110, 105, 81]
    """
    total = sum(shares)
    exact = [n * s / total for s in shares]
    counts = [int(np.floor(e)) for e in exact]
    order = sorted(range(len(shares)), key=lambda i: -(exact[i] - counts[i]))
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts


def synth_customers(
    n: int = 548,
    seed: int = 0,
    *,
    shares: tuple[float, ...] = PAPER_PRE_CLASS_SHARES,
    spread: float = 0.6,
    answer_noise: float = 0.1,
    blank_share: float = 0.02,
) -> pd.DataFrame:
    """``n`` synthetic questionnaires with their generating truth (module docstring)."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = np.random.default_rng(seed)
    classes = np.repeat(np.arange(1, len(shares) + 1), class_counts(n, shares))
    rng.shuffle(classes)
    rfm = _rfm_scores(classes, rng)
    anchor = rfm.mean(axis=1)
    latent = np.clip(anchor[:, None] + rng.normal(0.0, spread, (n, 11)), 1.0, 5.0)
    answered = np.clip(np.rint(latent), 1, 5)
    shift = rng.random((n, 11)) < answer_noise
    answered = np.clip(answered + shift * rng.choice([-1, 1], size=(n, 11)), 1, 5).astype(int)

    table: dict[str, object] = {"customer": [f"C{100000 + i:06d}" for i in range(n)]}
    for j, question in enumerate(_OTHER_QUESTIONS):
        table[question] = _answer(question, answered[:, j], rng)
    table["days_since_last_purchase"] = _uniform_int([_RECENCY_BINS[s] for s in rfm[:, 0]], rng)
    table["purchases_last_year"] = _answer("purchases_last_year", rfm[:, 1], rng)
    table["spend_last_year"] = _answer("spend_last_year", rfm[:, 2], rng)
    frame = pd.DataFrame(table)
    for question in _OPINIONS:
        blank = rng.random(n) < blank_share
        frame[question] = frame[question].astype(object).where(~blank, None)
    true_k = (np.concatenate([rfm, latent], axis=1).mean(axis=1) - 1.0) / 4.0
    frame["true_pre_class"] = classes
    frame["true_K"] = np.round(true_k, 6)
    frame["true_tier"] = true_tiers(true_k)
    return frame


def write_customers(
    out: str | Path, n: int = 548, seed: int = 0, *, force: bool = False
) -> pd.DataFrame:
    """Write :func:`synth_customers` ``(n, seed)`` as CSV to ``out`` (atomic; new unless
    ``force``) and return the questionnaires."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    check_writable(out, force)
    frame = synth_customers(n, seed)
    with atomic_output(out, force=force) as tmp:
        frame.to_csv(tmp, index=False)
    return frame


def true_tiers(k: np.ndarray, bounds: tuple[float, float, float] = PAPER_TIER_BOUNDS) -> np.ndarray:
    """The generating tier of each true value K: A if K >= 0.75, B if >= 0.5, C if >= 0.25, D.

    >>> true_tiers(np.array([0.9, 0.75, 0.3, 0.1])).tolist()
    ['A', 'A', 'C', 'D']
    """
    k = np.asarray(k, dtype=float)
    a, b, c = bounds
    return np.select([k >= a, k >= b, k >= c], ["A", "B", "C"], default="D")


def _rfm_scores(classes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """R, F, M scores: k or k+1 each, not all k+1 (class 5: all 5)."""
    # the 7 non-all-ones patterns of three 0/1 steps
    patterns = np.array([p for p in np.ndindex(2, 2, 2) if sum(p) < 3])
    steps = patterns[rng.integers(0, len(patterns), len(classes))]
    steps[classes == 5] = 0
    return classes[:, None] + steps


def _answer(question: str, scores: np.ndarray, rng: np.random.Generator):
    if question in _CATEGORY_ANSWERS:
        labels = _CATEGORY_ANSWERS[question]
        return [labels[s - 1] for s in scores]
    if question == "rating":
        return scores.astype(int)
    edges = _NUMERIC_BINS[question]
    return _uniform_int([(edges[s - 1], edges[s]) for s in scores], rng)


def _uniform_int(bounds: list[tuple[int, int]], rng: np.random.Generator) -> np.ndarray:
    low = np.array([b[0] for b in bounds])
    high = np.array([b[1] for b in bounds])
    return rng.integers(low, high)
