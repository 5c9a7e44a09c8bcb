"""The plain TF-IDF nearest neighbour (``--method tfidf``): a baseline for the learned matcher.

Each query's nearest library user by TF-IDF cosine over site counts is output when the cosine
reaches a threshold, else the query is "new". The threshold is chosen for an objective on the
self-supervised simulation of the library (:mod:`._selfsup`), never on the real queries.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from netpersona._core import Progress
from netpersona.engine import Engine
from netpersona.rejoin._identify import IdentifyResult
from netpersona.rejoin._learned._candidates import TopK, idf_weights, tfidf_matrix, top_k_cosine
from netpersona.rejoin._learned._matches import MATCH, NEW, build_matches
from netpersona.rejoin._learned._selfsup import simulate
from netpersona.rejoin._learned._side import Side
from netpersona.rejoin._learned._threshold import Objective, choose_threshold
from netpersona.rejoin._settings import RejoinSettings


def tfidf_neighbours(library: Side, queries: Side, k: int) -> TopK:
    """Every query's ``k`` nearest library users by TF-IDF cosine (idf from the library)."""
    n_codes = max(library.n_codes, queries.n_codes)
    idf = idf_weights(library.activity, n_codes)
    return top_k_cosine(tfidf_matrix(queries.activity, idf), tfidf_matrix(library.activity, idf), k)


def best_per_query(n_queries: int, top: TopK) -> np.ndarray:
    """The rank-1 cosine of each query (-inf when it has no neighbour)."""
    best = np.full(n_queries, -np.inf)
    first = top.rank == 1
    best[top.query[first]] = top.cosine[first]
    return best


@dataclass
class TfidfMatcher:
    """TF-IDF nearest neighbour with a cosine threshold chosen on the simulation."""

    objective: str = "balanced"
    query_days: int = 5
    drop_fraction: float = 0.2
    cuts: int = 2
    simulated_users: int | None = 4_000
    target_queries: int | None = 3_000
    seed: int = 0
    threshold_: float = float("nan")
    simulated_: dict = field(default_factory=dict)

    def fit(
        self,
        engine: Engine,
        library_log: str,
        settings: RejoinSettings = RejoinSettings(),
        progress: Progress = Progress(),
    ) -> TfidfMatcher:
        """Choose the cosine threshold on simulated re-joins cut from ``library_log``."""
        objective = Objective.parse(self.objective)
        best, correct, present = [], [], []
        for cut in simulate(
            engine,
            library_log,
            settings,
            query_days=self.query_days,
            drop_fraction=self.drop_fraction,
            cuts=self.cuts,
            seed=self.seed,
            max_users=self.simulated_users,
            target_queries=self.target_queries,
            prefix="tfidfsim",
            progress=progress,
        ):
            top = tfidf_neighbours(cut.library, cut.queries, 1)
            top1 = np.full(cut.queries.n_users, -1)
            top1[top.query] = top.library
            best.append(best_per_query(cut.queries.n_users, top))
            correct.append((top1 == cut.true_library_row) & cut.present)
            present.append(cut.present)
        self.threshold_, self.simulated_ = choose_threshold(
            np.concatenate(best), np.concatenate(correct), np.concatenate(present), objective
        )
        return self

    def identify(self, library: Side, queries: Side, top_k: int = 1) -> IdentifyResult:
        """MATCHES: the nearest neighbour output when its cosine >= the threshold."""
        started = time.perf_counter()
        top = tfidf_neighbours(library, queries, max(top_k, 1))
        best = best_per_query(queries.n_users, top)
        decision = np.where(best >= self.threshold_, MATCH, NEW)
        keep = top.rank <= max(top_k, 1)
        answer = ((top.rank == 1) & (decision[top.query] == MATCH)).astype(np.int8)
        matches = build_matches(
            queries.arrays.user_ids,
            library.arrays.user_ids,
            decision,
            top.query[keep],
            top.library[keep],
            top.cosine[keep],
            answer[keep],
        )
        seconds = time.perf_counter() - started
        return IdentifyResult(
            matches=matches,
            steps=[
                {
                    "step": "tfidf_neighbours",
                    "mean_candidates": float(keep.sum()) / max(queries.n_users, 1),
                    "seconds": seconds,
                }
            ],
            seconds=seconds,
            settings=RejoinSettings(),
            n_queries=queries.n_users,
            n_library=library.n_users,
        )
