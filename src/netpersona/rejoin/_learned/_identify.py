"""Identification with the learned matcher: MATCHES rows with the paper method's columns.

Per query, candidates are ordered by match probability (ties: lower library row). The best is
output when the query's decision score (its best probability, or that probability's margin or
share, as chosen on the simulation) reaches the matcher's threshold; candidates within
``ambiguity_margin`` of it (and above the threshold) are output too and the verdict is
"ambiguous"; otherwise the query is "new". ``score`` is the calibrated probability (ties in
it are ordered by the classifier's raw probability); the ``simi_*`` columns are the paper's
similarities of the pair. With ``one_to_one`` a library user goes to at most one query,
greedily by probability over all pairs, and the assigned pair is output when its probability
reaches the one-to-one threshold chosen on the simulation.
"""

from __future__ import annotations

import time

import numpy as np

from netpersona._core import Progress
from netpersona.rejoin._identify import IdentifyResult, pair_table
from netpersona.rejoin._learned._auto import assign_one_to_one
from netpersona.rejoin._learned._features import FEATURES
from netpersona.rejoin._learned._matcher import LearnedMatcher
from netpersona.rejoin._learned._matches import AMBIGUOUS, MATCH, NEW, build_matches, group_starts
from netpersona.rejoin._learned._side import Side
from netpersona.rejoin._learned._training import candidates_and_features, decision_scores
from netpersona.rejoin._settings import RejoinSettings


def _one_to_one(matcher: LearnedMatcher, query, library, score, n_queries) -> np.ndarray:
    """Library row given to each matched query (-1: none): every library user to at most one
    query, greedily by probability over all pairs, then the assigned probability against the
    one-to-one threshold chosen on the simulation (the decision threshold for a matcher saved
    before there was one)."""
    given, assigned = assign_one_to_one(query, library, score, n_queries)
    threshold = matcher.one_to_one_threshold_
    if np.isnan(threshold):
        threshold = matcher.threshold_
    return np.where(assigned >= threshold, given, -1)


def identify_learned(
    matcher: LearnedMatcher,
    library: Side,
    queries: Side,
    *,
    top_k: int = 1,
    one_to_one: bool = False,
    settings: RejoinSettings | None = None,
    keep_step_candidates: bool = False,
    progress: Progress = Progress(),
) -> IdentifyResult:
    """Identify every query user against the library with a fitted matcher.

    ``keep_step_candidates`` keeps the candidate pairs (``step_candidates["2_candidates"]``)
    for the per-step recall of an evaluation."""
    started = time.perf_counter()
    settings = settings or matcher.settings_ or RejoinSettings()
    with progress.step("learned matcher: candidates and pair features"):
        pairs, features = candidates_and_features(library, queries, settings, matcher.options())
    t_features = time.perf_counter()
    with progress.step("learned matcher: match probabilities and decisions"):
        raw = matcher.raw_probability(features)
        prob = matcher.calibrator_(raw)
        q, lib = pairs.query, pairs.library
        n_q = queries.n_users
        matched = decision_scores(q, prob, n_q)[matcher.decision_score_] >= matcher.threshold_
        given = _one_to_one(matcher, q, lib, prob + 1e-9 * raw, n_q) if one_to_one else None
        # rank order: the assigned user first (one-to-one), then probability, then library row
        first = np.zeros(len(q), dtype=bool) if given is None else given[q] == lib
        order = np.lexsort((lib, -raw, -prob, ~first, q))
        q, lib, prob, first = q[order], lib[order], prob[order], first[order]
        rows = order
        position = np.arange(len(q)) - group_starts(q)
        best = np.full(n_q, -np.inf)
        best[q[position == 0]] = prob[position == 0]
        if given is not None:
            output = first.copy()
            decision = np.where(given >= 0, MATCH, NEW)
        else:
            output = matched[q] & ((position == 0) | (prob >= best[q] - matcher.ambiguity_margin))
            n_out = np.bincount(q[output], minlength=n_q)
            decision = np.select([n_out >= 2, n_out == 1], [AMBIGUOUS, MATCH], NEW)
        shown = output | (position < top_k)
        keep = np.flatnonzero(shown)
        sims = {
            name: features[rows[keep], FEATURES.index(name)]
            for name in ("simi_one", "simi_two", "simi_three", "simi_four")
        }
        matches = build_matches(
            queries.arrays.user_ids,
            library.arrays.user_ids,
            decision,
            q[keep],
            lib[keep],
            prob[keep],
            output[keep].astype(np.int8),
            sims,
        )
    done = time.perf_counter()
    return IdentifyResult(
        matches=matches,
        steps=[
            {
                "step": "2_candidates",
                "mean_candidates": len(pairs) / max(n_q, 1),
                "seconds": t_features - started,
            },
            {
                "step": "6_decision",
                "mean_candidates": float(np.sum(decision != NEW)) / max(n_q, 1),
                "seconds": done - t_features,
            },
        ],
        seconds=done - started,
        settings=settings,
        n_queries=n_q,
        n_library=library.n_users,
        step_candidates=(
            {"2_candidates": pair_table(queries.arrays, library.arrays, pairs.query, pairs.library)}
            if keep_step_candidates
            else None
        ),
    )
