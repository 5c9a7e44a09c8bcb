"""The decision threshold, chosen on the self-supervised simulation for an objective.

A query's best candidate is output when its score (match probability, or cosine for the plain
TF-IDF method) reaches the threshold; otherwise the query is "new". Objectives:

- ``overall``: maximise the share of right answers among all simulated queries;
- ``balanced``: maximise the mean of the absent and present accuracies;
- ``far:X``: at most a share X of absent ("new") users wrongly matched, then as many present
  users right as possible (``far:0.05``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from netpersona._core import ConfigError


@dataclass(frozen=True)
class Objective:
    """A parsed ``--objective``: ``kind`` overall | balanced | far, ``far`` its bound."""

    kind: str
    far: float = 0.0

    @classmethod
    def parse(cls, text: str) -> Objective:
        text = text.strip().lower()
        if text in ("overall", "balanced"):
            return cls(text)
        if text.startswith("far:"):
            try:
                bound = float(text[4:])
            except ValueError:
                bound = -1.0
            if 0.0 <= bound <= 1.0:
                return cls("far", bound)
        raise ConfigError(
            f"unknown objective {text!r}; choose overall, balanced or far:X with X in [0, 1] "
            "(e.g. far:0.05: at most 5% of new users wrongly matched)"
        )

    def __str__(self) -> str:
        return f"far:{self.far:g}" if self.kind == "far" else self.kind


def simulated_metrics(
    best: np.ndarray, correct: np.ndarray, present: np.ndarray, threshold: float
) -> dict:
    """Accuracies when each query's best candidate is output iff its score >= threshold.

    ``best``: best score per query (-inf without candidates); ``correct``: the best candidate
    is the true user; ``present``: the query's user is in the library.
    """
    matched = best >= threshold
    n_present, n_absent = int(present.sum()), int((~present).sum())
    right_present = int((matched & correct & present).sum())
    right_absent = int((~matched & ~present).sum())
    acc_present = right_present / n_present if n_present else None
    acc_absent = right_absent / n_absent if n_absent else None
    defined = [a for a in (acc_absent, acc_present) if a is not None]
    return {
        "acc_absent": acc_absent,
        "acc_present": acc_present,
        "acc_overall": (right_present + right_absent) / len(best) if len(best) else None,
        "balanced_accuracy": sum(defined) / len(defined) if defined else None,
        "rank1_present": int((correct & present).sum()) / n_present if n_present else None,
        "false_match_rate": 1.0 - acc_absent if acc_absent is not None else None,
        "n_queries": len(best),
        "n_absent": n_absent,
    }


def choose_threshold(
    best: np.ndarray, correct: np.ndarray, present: np.ndarray, objective: Objective
) -> tuple[float, dict]:
    """The threshold maximising ``objective`` on simulated queries, and its figures.

    Thresholds tried: midway between consecutive distinct scores (and above all of them).
    Ties in the objective go to the higher threshold (fewer false matches).
    """
    finite = np.unique(best[np.isfinite(best)])
    if len(finite) == 0:
        return float("inf"), simulated_metrics(best, correct, present, float("inf"))
    cuts = np.concatenate([[finite[0] - 1.0], (finite[1:] + finite[:-1]) / 2, [finite[-1] + 1.0]])
    # counts of matched (score >= cut) by category, for every cut at once
    n = len(best)
    n_present, n_absent = int(present.sum()), int((~present).sum())
    good = np.sort(best[present & correct])
    absent = np.sort(best[~present])
    right_present = len(good) - np.searchsorted(good, cuts, side="left")
    false_matches = len(absent) - np.searchsorted(absent, cuts, side="left")
    acc_present = right_present / n_present if n_present else np.zeros(len(cuts))
    acc_absent = 1.0 - false_matches / n_absent if n_absent else np.ones(len(cuts))
    if objective.kind == "overall":
        value = (right_present + (n_absent - false_matches)) / n
    elif objective.kind == "balanced":
        value = (acc_present + acc_absent) / 2 if n_present and n_absent else acc_present
    else:
        allowed = (false_matches <= objective.far * n_absent + 1e-9) if n_absent else True
        value = np.where(allowed, acc_present + 1e-6 * acc_absent, -1.0)
    best_value = value.max()
    pick = np.flatnonzero(value >= best_value - 1e-12)[-1]
    threshold = float(cuts[pick])
    return threshold, simulated_metrics(best, correct, present, threshold)
