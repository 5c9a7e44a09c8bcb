"""Training pairs of the learned matcher: candidates and features on the simulated re-joins."""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from netpersona.rejoin._learned._candidates import (
    CandidatePairs,
    candidate_pairs,
    idf_weights,
    tfidf_matrix,
)
from netpersona.rejoin._learned._features import pair_features
from netpersona.rejoin._learned._selfsup import SimulatedCut
from netpersona.rejoin._learned._side import Side
from netpersona.rejoin._settings import RejoinSettings


@dataclass(frozen=True)
class CandidateOptions:
    """How many candidates each source contributes per query."""

    k: int = 50
    quiet: int = 10
    paper: bool = True


def candidates_and_features(
    library: Side, queries: Side, settings: RejoinSettings, options: CandidateOptions
) -> tuple[CandidatePairs, np.ndarray]:
    """All candidate pairs of the queries and their feature matrix."""
    n_codes = max(library.n_codes, queries.n_codes)
    idf = idf_weights(library.activity, n_codes)
    pairs = candidate_pairs(
        tfidf_matrix(queries.activity, idf),
        tfidf_matrix(library.activity, idf),
        queries.arrays,
        library.arrays,
        queries.activity,
        library.activity,
        settings,
        k=options.k,
        quiet=options.quiet,
        paper=options.paper,
    )
    return pairs, pair_features(pairs, queries, library, settings.min_run)


@dataclass
class TrainingSet:
    """Pairs of all simulated cuts: features, labels, and which simulated query each is.

    ``group`` numbers simulated queries across cuts (0..n_queries-1); ``present`` is per
    simulated query. ``library`` numbers each pair's library user across cuts (a user of two
    cuts has two numbers: one-to-one assignment is per cut); ``time_cuts`` counts the distinct
    query periods and ``simulations`` the simulated re-joins (time cuts x held-out draws).
    A saved matcher reloads without ``library`` (None).
    """

    features: np.ndarray
    label: np.ndarray
    group: np.ndarray
    present: np.ndarray
    recall: float
    library: np.ndarray | None = None
    time_cuts: int = 0
    simulations: int = 0

    @property
    def n_queries(self) -> int:
        return len(self.present)

    def subset(self, queries: np.ndarray) -> TrainingSet:
        """The pairs of the simulated queries flagged in ``queries`` (renumbered)."""
        keep = queries[self.group]
        renumber = np.cumsum(queries) - 1
        return TrainingSet(
            features=self.features[keep],
            label=self.label[keep],
            group=renumber[self.group[keep]],
            present=self.present[queries],
            recall=self.recall,
            library=None if self.library is None else self.library[keep],
            time_cuts=self.time_cuts,
            simulations=self.simulations,
        )


def training_set(
    cuts: list[SimulatedCut], settings: RejoinSettings, options: CandidateOptions
) -> TrainingSet:
    """Candidates, features and labels (the pair is the same user) over every cut."""
    feats, labels, groups, present, library = [], [], [], [], []
    offset = lib_offset = 0
    found = n_present = 0
    for cut in cuts:
        pairs, x = candidates_and_features(cut.library, cut.queries, settings, options)
        y = pairs.library == cut.true_library_row[pairs.query]
        feats.append(x.astype(np.float32))
        labels.append(y)
        groups.append(pairs.query + offset)
        library.append(pairs.library + lib_offset)
        lib_offset += cut.library.n_users
        present.append(cut.present)
        found += len(np.unique(pairs.query[y]))
        n_present += int(cut.present.sum())
        offset += cut.queries.n_users
    return TrainingSet(
        features=np.concatenate(feats),
        label=np.concatenate(labels),
        group=np.concatenate(groups),
        present=np.concatenate(present),
        recall=found / n_present if n_present else float("nan"),
        library=np.concatenate(library).astype(np.int64),
        time_cuts=len({c.cut for c in cuts}),
        simulations=len(cuts),
    )


#: how a query's candidate probabilities become one decision score (chosen on the simulation):
#: the best probability; its margin over the second; the best weighted by its share of all
DECISION_SCORES = ("probability", "margin", "share")


@numba.njit(cache=True)
def _top_two(group, prob, n_groups):
    """Per group: the best probability (-inf: no pairs), the second best (0: none; equal to
    the best when two pairs tie) and the sum of all."""
    p1 = np.full(n_groups, -np.inf)
    p2 = np.zeros(n_groups)
    total = np.zeros(n_groups)
    seen = np.zeros(n_groups, dtype=np.int64)
    for e in range(len(group)):
        g, p = group[e], prob[e]
        total[g] += p
        seen[g] += 1
        if seen[g] == 1:
            p1[g] = p
        elif p > p1[g]:
            p2[g] = p1[g]
            p1[g] = p
        elif seen[g] == 2 or p > p2[g]:
            p2[g] = p
    return p1, p2, total


def decision_scores(group: np.ndarray, prob: np.ndarray, n_groups: int) -> dict[str, np.ndarray]:
    """Per query (group) each of :data:`DECISION_SCORES` (-inf for a query without pairs)."""
    p1, p2, total = _top_two(
        np.ascontiguousarray(group, dtype=np.int64),
        np.ascontiguousarray(prob, dtype=np.float64),
        n_groups,
    )
    share = np.divide(p1, total, out=np.zeros(n_groups), where=total > 0)
    found = np.isfinite(p1)
    margin = np.full(n_groups, -np.inf)
    margin[found] = p1[found] - p2[found]
    weighted = np.full(n_groups, -np.inf)
    weighted[found] = p1[found] * share[found]
    return {"probability": p1, "margin": margin, "share": weighted}


def best_per_group(
    group: np.ndarray, score: np.ndarray, label: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per group (query): the best score (-inf without pairs) and whether that best pair is the
    true one (ties broken towards the earlier pair, as identification breaks them)."""
    order = np.lexsort((np.arange(len(group)), -score, group))
    first = np.r_[True, group[order][1:] != group[order][:-1]] if len(group) else order[:0]
    top = order[first]
    best = np.full(n_groups, -np.inf)
    correct = np.zeros(n_groups, dtype=bool)
    best[group[top]] = score[top]
    correct[group[top]] = label[top]
    return best, correct
