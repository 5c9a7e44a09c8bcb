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
from netpersona.rejoin._learned._auto import assign_one_to_one, one_to_one_threshold
from netpersona.rejoin._learned._candidates import TopK, idf_weights, tfidf_matrix, top_k_cosine
from netpersona.rejoin._learned._matches import MATCH, NEW, build_matches, group_starts
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
    cuts: int = 6
    draws: int = 3
    simulated_users: int | None = 4_000
    target_queries: int | None = 3_000
    seed: int = 0
    #: neighbours per query competing in one-to-one assignment
    k: int = 50
    #: how the simulation cuts the library (``time`` or ``last-days``, see ``_selfsup``)
    split_by: str = "time"
    threshold_: float = float("nan")
    one_to_one_threshold_: float = float("nan")
    simulated_: dict = field(default_factory=dict)
    simulated_one_to_one_: dict = field(default_factory=dict)

    def fit(
        self,
        engine: Engine,
        library_log: str,
        settings: RejoinSettings = RejoinSettings(),
        progress: Progress = Progress(),
    ) -> TfidfMatcher:
        """Choose the cosine threshold on simulated re-joins cut from ``library_log``."""
        objective = Objective.parse(self.objective)
        best, correct, present, groups, libs, cosines, labels = [], [], [], [], [], [], []
        q_offset = l_offset = 0
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
            draws=self.draws,
            split_by=self.split_by,
        ):
            top = tfidf_neighbours(cut.library, cut.queries, self.k)
            first = top.rank == 1
            top1 = np.full(cut.queries.n_users, -1)
            top1[top.query[first]] = top.library[first]
            best.append(best_per_query(cut.queries.n_users, top))
            correct.append((top1 == cut.true_library_row) & cut.present)
            present.append(cut.present)
            groups.append(top.query + q_offset)
            libs.append(top.library + l_offset)
            cosines.append(top.cosine)
            labels.append(top.library == cut.true_library_row[top.query])
            q_offset += cut.queries.n_users
            l_offset += cut.library.n_users
        everyone = np.concatenate(present)
        self.threshold_, self.simulated_ = choose_threshold(
            np.concatenate(best), np.concatenate(correct), everyone, objective
        )
        self.one_to_one_threshold_, self.simulated_one_to_one_ = one_to_one_threshold(
            np.concatenate(groups), np.concatenate(libs), np.concatenate(cosines),
            np.concatenate(labels), everyone, objective,
        )  # fmt: skip
        return self

    def identify(
        self, library: Side, queries: Side, top_k: int = 1, one_to_one: bool = False
    ) -> IdentifyResult:
        """MATCHES: the nearest neighbour output when its cosine >= the threshold; with
        ``one_to_one`` each library user is first given to at most one query (greedily by
        cosine over each query's ``k`` neighbours) and the assigned user is output when its
        cosine reaches the one-to-one threshold."""
        started = time.perf_counter()
        top = tfidf_neighbours(library, queries, max(top_k, self.k if one_to_one else 1, 1))
        q, lib, cos, rank = top.query, top.library, top.cosine, top.rank
        if one_to_one:
            given, score = assign_one_to_one(q, lib, cos, queries.n_users)
            decision = np.where(score >= self.one_to_one_threshold_, MATCH, NEW)
            # the assigned user first, then the other neighbours by cosine
            first = given[q] == lib
            order = np.lexsort((rank, ~first, q))
            q, lib, cos, first = q[order], lib[order], cos[order], first[order]
            rank = np.arange(len(q)) - group_starts(q) + 1
            answer = (first & (decision[q] == MATCH)).astype(np.int8)
        else:
            best = best_per_query(queries.n_users, top)
            decision = np.where(best >= self.threshold_, MATCH, NEW)
            answer = ((rank == 1) & (decision[q] == MATCH)).astype(np.int8)
        keep = (rank <= max(top_k, 1)) | (answer == 1)
        matches = build_matches(
            queries.arrays.user_ids,
            library.arrays.user_ids,
            decision,
            q[keep],
            lib[keep],
            cos[keep],
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
