"""Identification on a Spark engine: steps 2 and 5 run distributed, the rest is core's.

:func:`spark_step_hooks` hands :func:`~netpersona.rejoin.identify` the two hooks of
:class:`~netpersona.rejoin._identify.StepHooks`: step 2 as the salted prefix-filter join (or
MinHash banding, verified exactly) in Spark SQL, step 5 on the executors through
``mapInPandas``. Which step-2 candidates (``"exact"`` or ``"minhash"``) the engine's
``candidates`` attribute says (the CLI's ``--candidates``); every step-2 run is recorded in the
engine's ``step2_runs`` (with MinHash, its recall measured against the exact join).
"""

from __future__ import annotations

from dataclasses import dataclass

from netpersona.rejoin._identify import StepHooks
from netpersona.rejoin._profiles import Profiles
from netpersona.rejoin._settings import RejoinSettings
from netpersona.rejoin._spark_join import minhash_recall, spark_simi_one
from netpersona.rejoin._spark_runs import spark_simi_four_scores
from netpersona.rejoin._steps import Candidates

#: the step-2 candidate modes (``--candidates``)
CANDIDATE_MODES = ("exact", "minhash")


@dataclass
class Step2Run:
    """One distributed step 2: its mode, candidates before and pairs after verification,
    seconds, and (MinHash with recall measured) the share of the exact join's pairs found."""

    mode: str
    n_queries: int
    n_candidates: int
    n_pairs: int
    seconds: float
    recall: float | None = None
    exact_pairs: int | None = None

    def describe(self) -> str:
        """One line for people."""
        per_query = self.n_candidates / max(self.n_queries, 1)
        text = (
            f"step 2 on Spark ({self.mode}): {self.n_candidates:,} candidate pairs "
            f"({per_query:,.1f} per query) verified to {self.n_pairs:,} in {self.seconds:.1f} s"
        )
        if self.recall is not None:
            text += (
                f"; MinHash recall {self.recall:.4f} of the exact join's "
                f"{self.exact_pairs:,} pairs (measured)"
            )
        return text


def spark_step_hooks(library: Profiles, queries: Profiles, settings: RejoinSettings) -> StepHooks:
    """Steps 2 and 5 of ``queries`` against ``library`` on their (Spark) engine."""
    engine = library.engine
    mode = getattr(engine, "candidates", "exact")
    measure = bool(getattr(engine, "measure_recall", True))

    def step_two() -> Candidates:
        found = spark_simi_one(engine, library, queries, settings.jaccard_min, candidates=mode)
        run = Step2Run(mode, queries.n_users, found.n_candidates, found.n_pairs, found.seconds)
        if mode == "minhash" and measure:
            exact = spark_simi_one(
                engine, library, queries, settings.jaccard_min, out=f"{queries.name}_exact_j"
            )
            recall = minhash_recall(exact, found)
            run.recall, run.exact_pairs = recall.recall, recall.exact_pairs
            engine.execute(f"DROP TABLE IF EXISTS {exact.table}")
        pairs = found.candidates()
        engine.execute(f"DROP TABLE IF EXISTS {found.table}")
        runs = getattr(engine, "step2_runs", None)
        if runs is not None:
            runs.append(run)
        return pairs

    def step_five(candidates: Candidates) -> Candidates:
        return spark_simi_four_scores(engine, candidates, library, queries, settings.min_run)

    return StepHooks(simi_one=step_two, simi_four_scores=step_five)
