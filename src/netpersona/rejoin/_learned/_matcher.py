"""The learned re-join matcher: how much each kind of evidence is worth, learned from the
library itself (issue 8).

:meth:`LearnedMatcher.fit` simulates re-joins inside the library (:mod:`._selfsup`), builds
candidates and pair features for the simulated queries, and trains each classifier of
``models`` (gradient-boosted trees ``hgb`` and the BP network ``bp``) with out-of-fold
predictions by simulated query; the one with the better objective on those predictions is kept
(both are reported), refitted on all simulated pairs, and its decision threshold is the one
chosen on its out-of-fold predictions. Nothing about the real queries is used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from netpersona._core import ConfigError, Progress
from netpersona.engine import Engine
from netpersona.rejoin._learned._features import FEATURES
from netpersona.rejoin._learned._models import MODEL_NAMES, fit_model, match_probability
from netpersona.rejoin._learned._selfsup import simulate
from netpersona.rejoin._learned._threshold import Objective, choose_threshold
from netpersona.rejoin._learned._training import (
    DECISION_SCORES,
    CandidateOptions,
    TrainingSet,
    best_per_group,
    decision_scores,
    training_set,
)
from netpersona.rejoin._settings import RejoinSettings


def objective_score(metrics: dict, objective: Objective) -> float:
    """The figure an objective maximises, from simulated metrics."""
    key = {"overall": "acc_overall", "balanced": "balanced_accuracy", "far": "acc_present"}
    return float(metrics[key[objective.kind]] or 0.0)


@dataclass
class LearnedMatcher:
    """Parameters of the learned matcher (``fit`` learns the rest, names ending in ``_``).

    - ``objective``: ``overall`` | ``balanced`` | ``far:X`` (see :mod:`._threshold`)
    - ``k``, ``quiet``, ``paper_candidates``: candidate sources (see :mod:`._candidates`)
    - ``query_days``, ``drop_fraction``, ``cuts``, ``simulated_users``, ``target_queries``: the
      simulation (see :mod:`._selfsup`): at most ``cuts`` cuts of a sample of at most
      ``simulated_users`` library users, stopping once ``target_queries`` simulated queries
      are collected
    - ``folds``: out-of-fold predictions by simulated query, for the threshold and the choice
    - ``ambiguity_margin``: candidates whose probability is within this of the best (and above
      the threshold) are output too, and the verdict is "ambiguous"
    - ``models``: the classifiers tried (``hgb``, ``bp``)
    - ``decision_scores``: how a query's probabilities become the score the threshold applies
      to (``probability`` of the best, its ``margin`` over the second, its ``share``-weighted
      probability); the best on the simulation is kept
    """

    objective: str = "balanced"
    k: int = 50
    quiet: int = 10
    paper_candidates: bool = True
    query_days: int = 5
    drop_fraction: float = 0.2
    cuts: int = 4
    simulated_users: int | None = 4_000
    target_queries: int | None = 3_000
    folds: int = 3
    ambiguity_margin: float = 0.02
    models: tuple[str, ...] = MODEL_NAMES
    decision_scores: tuple[str, ...] = DECISION_SCORES
    seed: int = 0

    settings_: RejoinSettings | None = None
    model_name_: str | None = None
    model_: object | None = field(default=None, repr=False)
    threshold_: float = float("nan")
    decision_score_: str = "probability"
    tfidf_threshold_: float = float("nan")
    simulated_: dict[str, dict] = field(default_factory=dict)
    training_: TrainingSet | None = field(default=None, repr=False)
    fit_seconds_: float = 0.0
    #: seconds of the fit's parts: ``simulation`` (profiles of the simulated cuts), ``features``
    #: (their candidates and pair features), ``models`` (choosing and fitting the classifier)
    timings_: dict[str, float] = field(default_factory=dict)

    def options(self) -> CandidateOptions:
        return CandidateOptions(k=self.k, quiet=self.quiet, paper=self.paper_candidates)

    def check(self) -> Objective:
        """Validate the parameters; the parsed objective."""
        objective = Objective.parse(self.objective)
        unknown = [m for m in self.models if m not in MODEL_NAMES]
        unknown += [d for d in self.decision_scores if d not in DECISION_SCORES]
        if unknown or not self.models:
            raise ConfigError(
                f"models must be some of {MODEL_NAMES} and decision_scores some of "
                f"{DECISION_SCORES}; got {unknown!r}"
            )
        if self.k < 1 or self.quiet < 0 or self.folds < 2 or self.cuts < 1:
            raise ConfigError("k >= 1, quiet >= 0, folds >= 2 and cuts >= 1 are required")
        if (self.simulated_users is not None and self.simulated_users < 2) or (
            self.target_queries is not None and self.target_queries < 1
        ):
            raise ConfigError(
                "simulated_users must be at least 2 and target_queries at least 1 (or None: "
                f"no limit); got {self.simulated_users} and {self.target_queries}"
            )
        if not 0.0 <= self.ambiguity_margin < 1.0:
            raise ConfigError(f"ambiguity_margin must be in [0, 1), got {self.ambiguity_margin}")
        return objective

    def fit(
        self,
        engine: Engine,
        library_log: str,
        settings: RejoinSettings = RejoinSettings(),
        progress: Progress = Progress(),
    ) -> LearnedMatcher:
        """Learn from the library log table ``library_log`` alone (see the module docstring)."""
        objective = self.check()
        started = time.perf_counter()
        with progress.step("simulating re-joins inside the library"):
            cuts = simulate(
                engine,
                library_log,
                settings,
                query_days=self.query_days,
                drop_fraction=self.drop_fraction,
                cuts=self.cuts,
                seed=self.seed,
                max_users=self.simulated_users,
                target_queries=self.target_queries,
                prefix="learnsim",
                progress=progress,
            )
        simulated = time.perf_counter()
        with progress.step("candidates and features of the simulated queries"):
            data = training_set(cuts, settings, self.options())
        featured = time.perf_counter()
        self.fit_training(data, settings, objective, progress, started)
        self.timings_ = {
            "simulation": simulated - started,
            "features": featured - simulated,
            "models": time.perf_counter() - featured,
        }
        return self

    def fit_training(
        self,
        data: TrainingSet,
        settings: RejoinSettings,
        objective: Objective | None = None,
        progress: Progress = Progress(),
        started: float | None = None,
    ) -> LearnedMatcher:
        """Choose the model and threshold on prepared training pairs and refit on all of them."""
        objective = objective or self.check()
        started = time.perf_counter() if started is None else started
        if not data.label.any():
            raise ConfigError(
                "the simulated re-joins found no returning user among the candidates: the "
                "library is too small or too short to learn from; use --method paper or tfidf"
            )
        fold = self._folds(data)
        results: dict[str, dict] = {}
        for name in progress.track(self.models, "training the classifiers", total=len(self.models)):
            t = time.perf_counter()
            oof = np.zeros(len(data.label))
            for f in range(self.folds):
                test = fold == f
                if test.any() and data.label[~test].any() and (~data.label[~test]).any():
                    model = fit_model(name, self.seed, data.features[~test], data.label[~test])
                    oof[test] = match_probability(model, data.features[test])
            _, correct = best_per_group(data.group, oof, data.label, data.n_queries)
            scored = decision_scores(data.group, oof, data.n_queries)
            choices = {
                kind: choose_threshold(scored[kind], correct, data.present, objective)
                for kind in self.decision_scores
            }
            kind = max(
                self.decision_scores,
                key=lambda k: (
                    objective_score(choices[k][1], objective),
                    -self.decision_scores.index(k),
                ),
            )
            threshold, metrics = choices[kind]
            metrics.update(
                decision_score=kind,
                threshold=threshold,
                objective=objective_score(metrics, objective),
                candidate_recall=data.recall,
                seconds=time.perf_counter() - t,
            )
            results[name] = metrics
        # the plain TF-IDF nearest neighbour on the same simulated queries, for comparison
        cosine = data.features[:, FEATURES.index("tfidf_cosine")].astype(np.float64)
        best, correct = best_per_group(data.group, cosine, data.label, data.n_queries)
        self.tfidf_threshold_, tfidf = choose_threshold(best, correct, data.present, objective)
        tfidf.update(threshold=self.tfidf_threshold_, objective=objective_score(tfidf, objective))
        winner = max(self.models, key=lambda m: (results[m]["objective"], -self.models.index(m)))
        self.model_ = fit_model(winner, self.seed, data.features, data.label)
        self.model_name_ = winner
        self.threshold_ = float(results[winner]["threshold"])
        self.decision_score_ = str(results[winner]["decision_score"])
        self.simulated_ = {**results, "tfidf": tfidf}
        self.settings_ = settings
        self.training_ = data
        self.fit_seconds_ = time.perf_counter() - started
        return self

    def _folds(self, data: TrainingSet) -> np.ndarray:
        """Fold of every pair: simulated queries dealt into ``folds`` at random (seeded)."""
        rng = np.random.default_rng(self.seed)
        of_query = rng.permutation(data.n_queries) % self.folds
        return of_query[data.group]

    def probability(self, features: np.ndarray) -> np.ndarray:
        """P(same user) of candidate pairs from their features."""
        if self.model_ is None:
            raise ConfigError("the learned matcher is not fitted; run `rejoin train` first")
        return match_probability(self.model_, features)

    def summary(self) -> dict:
        """JSON-serialisable figures of the fit: per model the simulated accuracies."""
        return {
            "objective": self.objective,
            "model": self.model_name_,
            "threshold": self.threshold_,
            "decision_score": self.decision_score_,
            "tfidf_threshold": self.tfidf_threshold_,
            "simulated": self.simulated_,
            "n_training_pairs": 0 if self.training_ is None else len(self.training_.label),
            "n_simulated_queries": 0 if self.training_ is None else self.training_.n_queries,
            "fit_seconds": self.fit_seconds_,
            "timings": self.timings_,
        }
