"""Why the learned matcher matched a query user: each candidate's features and how much each
one moved the match probability.

A feature's contribution is the drop in probability when that one feature is replaced by its
typical value among non-matching training pairs (their median): large positive = this evidence
argued for the match. It is an ablation, not an additive decomposition; contributions need not
sum to the probability. Subscriber ids are masked in the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from netpersona._core import InputError
from netpersona.io import mask_id
from netpersona.rejoin._learned._features import FEATURES
from netpersona.rejoin._learned._identify import identify_learned
from netpersona.rejoin._learned._matcher import LearnedMatcher
from netpersona.rejoin._learned._side import Side
from netpersona.rejoin._learned._training import candidates_and_features


@dataclass
class LearnedEvidence:
    """One candidate of a query: its probability, features and their contributions."""

    library_user: str
    rank: int
    answer: int
    probability: float
    features: dict[str, float]
    contributions: dict[str, float]


@dataclass
class LearnedExplanation:
    """The learned matcher's verdict on one query user, candidate by candidate."""

    query_user: str
    decision: str
    threshold: float
    decision_score: str
    candidates: list[LearnedEvidence] = field(default_factory=list)

    def to_text(self, top_features: int = 6) -> str:
        """Plain text: per candidate the features that argued most for and against, ids masked."""
        lines = [
            f"query {mask_id(self.query_user)}: {self.decision} (threshold {self.threshold:.3f} "
            f"on the {self.decision_score} score)"
        ]
        for c in self.candidates:
            mark = "output" if c.answer else "not output"
            lines.append(
                f"  #{c.rank} {mask_id(c.library_user)}: P(same user) = {c.probability:.3f} "
                f"({mark})"
            )
            ranked = sorted(c.contributions.items(), key=lambda kv: -abs(kv[1]))[:top_features]
            for name, value in ranked:
                lines.append(
                    f"      {name:<32} {c.features[name]:>9.4g}  {value:+.3f} to the probability"
                )
        return "\n".join(lines)


def contributions(matcher: LearnedMatcher, features: np.ndarray) -> np.ndarray:
    """Per row and feature: probability minus the probability with that feature set to the
    median of the non-matching training pairs."""
    data = matcher.training_
    if data is None:
        raise InputError("the learned matcher has no training pairs; fit or load it first")
    negatives = data.features[~data.label] if (~data.label).any() else data.features
    typical = np.median(negatives, axis=0)
    n, m = features.shape
    base = matcher.probability(features)
    ablated = np.repeat(features, m, axis=0)
    ablated[np.arange(n * m), np.tile(np.arange(m), n)] = np.tile(typical, n)
    return base[:, None] - matcher.probability(ablated).reshape(n, m)


def explain_learned(
    matcher: LearnedMatcher, library: Side, queries: Side, query_user: str, top_k: int = 3
) -> LearnedExplanation:
    """The verdict on ``query_user`` and the evidence for its best ``top_k`` candidates."""
    index = queries.arrays.user_index
    if query_user not in index:
        raise InputError(
            f"no query user {mask_id(query_user)} in the queries",
            hint="give a user id from the query logs (as written in MATCHES.csv)",
        )
    row = index[query_user]
    result = identify_learned(matcher, library, queries, top_k=top_k)
    mine = [r for r in result.matches.to_pylist() if r["query_user"] == query_user]
    pairs, x = candidates_and_features(library, queries, matcher.settings_, matcher.options())
    own = pairs.query == row
    lib_ids = library.arrays.user_ids.to_pylist()
    by_user = {lib_ids[u]: i for i, u in zip(np.flatnonzero(own), pairs.library[own], strict=True)}
    shown = [r for r in mine if r["library_user"] is not None]
    rows = np.array([by_user[r["library_user"]] for r in shown], dtype=np.int64)
    effect = contributions(matcher, x[rows]) if len(rows) else np.zeros((0, len(FEATURES)))
    out = LearnedExplanation(
        query_user=query_user,
        decision=mine[0]["decision"],
        threshold=matcher.threshold_,
        decision_score=matcher.decision_score_,
    )
    for k, r in enumerate(shown):
        out.candidates.append(
            LearnedEvidence(
                library_user=r["library_user"],
                rank=r["rank"],
                answer=r["answer"],
                probability=r["score"],
                features=dict(zip(FEATURES, x[rows[k]].tolist(), strict=True)),
                contributions=dict(zip(FEATURES, effect[k].tolist(), strict=True)),
            )
        )
    return out
