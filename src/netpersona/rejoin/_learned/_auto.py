"""``--method auto``: never worse than the simple answers (issue 16).

On the out-of-fold simulation of the library, every candidate method gets the same figures:

- ``paper``: the paper's six steps with the settings training was given (calibrated if you
  calibrated), run on every simulated cut;
- ``tfidf``: the TF-IDF nearest neighbour with its own cosine threshold;
- ``tfidf_one_to_one``: TF-IDF with one-to-one assignment (each library user to at most one
  query, greedily by cosine over each query's TF-IDF neighbours), then its own threshold on
  the assigned cosine;
- ``learned``: the learned matcher (out-of-fold, calibrated probabilities);
- ``learned_one_to_one``: the same with one-to-one assignment by probability, then its own
  threshold on the assigned probability.

:func:`choose_method` keeps the one with the best simulated objective among those whose
simulated balanced accuracy is above 0.50; when none is, it answers every query "new"
(``new``), which is what a method at or below 0.50 is worth.
"""

from __future__ import annotations

import numba
import numpy as np

from netpersona.engine import Engine
from netpersona.rejoin._identify import identify
from netpersona.rejoin._learned._selfsup import SimulatedCut
from netpersona.rejoin._learned._threshold import Objective, choose_threshold, simulated_metrics
from netpersona.rejoin._settings import RejoinSettings

#: the methods auto chooses among, simplest first (ties go to the simpler)
AUTO_CHOICES = ("paper", "tfidf", "tfidf_one_to_one", "learned", "learned_one_to_one")
#: what auto answers when no method is above chance on the simulation
ALWAYS_NEW = "new"
#: the simulated balanced accuracy a method must exceed to be kept
CHANCE = 0.5


def objective_value(metrics: dict, objective: Objective) -> float:
    key = {"overall": "acc_overall", "balanced": "balanced_accuracy", "far": "acc_present"}
    return float(metrics.get(key[objective.kind]) or 0.0)


def choose_method(simulated: dict[str, dict], objective: Objective) -> tuple[str, str]:
    """The method auto keeps, and why (a sentence with the figures)."""
    figures = {m: simulated[m] for m in AUTO_CHOICES if simulated.get(m)}
    eligible = [m for m in figures if (figures[m].get("balanced_accuracy") or 0.0) > CHANCE + 1e-12]
    listed = ", ".join(
        f"{m} {100 * (figures[m].get('balanced_accuracy') or 0.0):.1f}%" for m in figures
    )
    if not eligible:
        return ALWAYS_NEW, (
            f"no method is above 50% simulated balanced accuracy ({listed}): every query is "
            "answered 'new'"
        )
    best = max(eligible, key=lambda m: (objective_value(figures[m], objective), -_order(m)))
    return best, (
        f"{best} has the best simulated {objective} figure "
        f"({100 * objective_value(figures[best], objective):.1f}%) among the methods above 50% "
        f"simulated balanced accuracy (balanced: {listed})"
    )


def _order(method: str) -> int:
    return AUTO_CHOICES.index(method)


@numba.njit(cache=True)
def _greedy(order, query, library, n_queries, n_library):
    given = np.full(n_queries, -1, dtype=np.int64)
    at = np.full(n_queries, -1, dtype=np.int64)
    taken = np.zeros(n_library, dtype=np.bool_)
    for e in order:
        q, lib = query[e], library[e]
        if given[q] < 0 and not taken[lib]:
            given[q] = lib
            at[q] = e
            taken[lib] = True
    return given, at


def assign_one_to_one(
    query: np.ndarray, library: np.ndarray, score: np.ndarray, n_queries: int
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy one-to-one assignment by score (ties: lower query, then lower library row):
    per query the library row given (-1: none left) and its score (-inf: none)."""
    if len(query) == 0:
        return np.full(n_queries, -1, dtype=np.int64), np.full(n_queries, -np.inf)
    order = np.lexsort((library, query, -score)).astype(np.int64)
    n_library = int(library.max()) + 1
    given, at = _greedy(order, query.astype(np.int64), library.astype(np.int64), n_queries,
                        n_library)  # fmt: skip
    assigned = np.full(n_queries, -np.inf)
    assigned[given >= 0] = score[at[given >= 0]]
    return given, assigned


def one_to_one_threshold(
    query: np.ndarray,
    library: np.ndarray,
    score: np.ndarray,
    label: np.ndarray,
    present: np.ndarray,
    objective: Objective,
) -> tuple[float, dict]:
    """The threshold on the assigned score of one-to-one assignment, and its figures."""
    given, assigned = assign_one_to_one(query, library, score, len(present))
    true_row = np.full(len(present), -1, dtype=np.int64)
    true_row[query[label]] = library[label]
    correct = (given >= 0) & (given == true_row)
    return choose_threshold(assigned, correct, present, objective)


def verdict_metrics(matched: np.ndarray, correct: np.ndarray, present: np.ndarray) -> dict:
    """Simulated figures of a method that gives verdicts (matched or not) without a score."""
    return simulated_metrics(np.where(matched, 1.0, -np.inf), correct, present, 0.5)


def paper_visitor(engine: Engine, settings: RejoinSettings, out: list):
    """A ``simulate`` visitor recording the paper method's verdicts on every simulated cut."""

    def visit(cut: SimulatedCut) -> None:
        result = identify(engine, cut.library.profiles, cut.queries.profiles, settings, top_k=0)
        n = cut.queries.n_users
        matched = np.zeros(n, dtype=bool)
        first = np.full(n, -1, dtype=np.int64)
        q_index, l_index = cut.queries.arrays.user_index, cut.library.arrays.user_index
        m = result.matches
        for query, decision, rank, library, answer in zip(
            *(m.column(c).to_pylist() for c in ("query_user", "decision", "rank",
                                                "library_user", "answer")),
            strict=True,
        ):  # fmt: skip
            if decision != "new" and rank == 1 and answer == 1 and query in q_index:
                matched[q_index[query]] = True
                first[q_index[query]] = l_index.get(library, -1)
        correct = cut.present & (first == cut.true_library_row)
        out.append((matched, correct, cut.present))

    return visit
