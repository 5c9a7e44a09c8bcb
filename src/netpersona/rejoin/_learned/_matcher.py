"""The learned re-join matcher: how much each kind of evidence is worth, learned from the
library itself (issue 8).

:meth:`LearnedMatcher.fit` simulates re-joins inside the library (:mod:`._selfsup`), builds
candidates and pair features for the simulated queries, and trains each classifier of
``models`` (gradient-boosted trees ``hgb`` and the BP network ``bp``) with out-of-fold
predictions by simulated query; the one with the better objective on those predictions is kept
(both are reported), refitted on all simulated pairs, and its decision threshold is the one
chosen on its out-of-fold predictions. Nothing about the real queries is used.

Probabilities are calibrated (issue 16): an isotonic map fitted on the out-of-fold predictions
(:mod:`._reliability`); thresholds are chosen on cross-fitted calibrated out-of-fold
probabilities, and their Brier score and calibration error are reported. The same simulation
scores the paper's method, TF-IDF and TF-IDF one-to-one, and ``auto_`` names the method
``--method auto`` uses (:mod:`._auto`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from netpersona._core import Budget, ConfigError, Progress
from netpersona.engine import Engine
from netpersona.rejoin._learned._auto import (
    choose_method,
    one_to_one_threshold,
    paper_visitor,
    verdict_metrics,
)
from netpersona.rejoin._learned._budget import FitBudget, budget_line
from netpersona.rejoin._learned._features import FEATURES
from netpersona.rejoin._learned._models import MODEL_NAMES, fit_model, match_probability
from netpersona.rejoin._learned._reliability import (
    Calibrator,
    cross_fitted,
    reliability,
    simulation_size,
)
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
    - ``query_days``, ``drop_fraction``, ``cuts``, ``draws``, ``simulated_users``,
      ``target_queries``: the simulation (see :mod:`._selfsup`): at most ``cuts`` time cuts,
      each with ``draws`` draws of the users left out, of a sample of at most
      ``simulated_users`` library users, stopping once ``target_queries`` simulated queries
      are collected
    - ``compare_paper``: also run the paper's method on the simulation (for ``auto``)
    - ``split_by``: how the simulation cuts queries, like the real ones are cut: ``time`` (one
      calendar cut), ``last-days`` (each user's own last days) or ``first-seen`` (each user's
      first days after a cut, for identity changes)
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
    cuts: int = 6
    draws: int = 3
    compare_paper: bool = True
    split_by: str = "time"
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
    tfidf_one_to_one_threshold_: float = float("nan")
    one_to_one_threshold_: float = float("nan")
    calibrator_: Calibrator = field(default_factory=Calibrator.identity, repr=False)
    #: the method ``--method auto`` uses (``paper``, ``tfidf``, ``tfidf_one_to_one``,
    #: ``learned`` or ``new``) and why
    auto_: str = "learned"
    auto_reason_: str = ""
    #: the simulation's size and the interval of the absent accuracy (``warning`` if too small)
    simulation_: dict = field(default_factory=dict)
    simulated_: dict[str, dict] = field(default_factory=dict)
    training_: TrainingSet | None = field(default=None, repr=False)
    fit_seconds_: float = 0.0
    #: seconds of the fit's parts: ``simulation`` (profiles of the simulated cuts), ``features``
    #: (their candidates and pair features), ``models`` (choosing and fitting the classifier)
    timings_: dict[str, float] = field(default_factory=dict)
    budget_: dict | None = None  #: what ``fit(budget=)`` left out (see :mod:`._budget`)

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
        if self.k < 1 or self.quiet < 0 or self.folds < 2 or self.cuts < 1 or self.draws < 1:
            raise ConfigError(
                "k >= 1, quiet >= 0, folds >= 2, cuts >= 1 and draws >= 1 are required"
            )
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
        budget: Budget | float | None = None,
    ) -> LearnedMatcher:
        """Learn from the library log table ``library_log`` alone (see the module docstring);
        ``budget`` (seconds) sizes the simulation and the classifiers tried (:mod:`._budget`)."""
        objective, plan = self.check(), FitBudget(Budget.of(budget))
        started = time.perf_counter()
        paper: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        visit = paper_visitor(engine, settings, paper) if self.compare_paper else None
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
                draws=self.draws,
                visit=visit,
                split_by=self.split_by,
                plan=plan,
            )
        simulated = time.perf_counter()
        with progress.step("candidates and features of the simulated queries"):
            data = training_set(cuts, settings, self.options())
        featured = time.perf_counter()
        self.fit_training(data, settings, objective, progress, started, paper or None, plan)
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
        paper: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None,
        plan: FitBudget | None = None,
    ) -> LearnedMatcher:
        """Choose the model and threshold on prepared training pairs and refit on all of them.
        ``paper``: per simulated cut, the paper method's (matched, correct, present) verdicts,
        for ``auto``'s comparison; ``plan``: the budget (:mod:`._budget`)."""
        objective, plan = objective or self.check(), plan or FitBudget(None)
        started = time.perf_counter() if started is None else started
        if not data.label.any():
            raise ConfigError(
                "the simulated re-joins found no returning user among the candidates: the "
                "library is too small or too short to learn from; use --method paper or tfidf"
            )
        fold = self._folds(data)
        results: dict[str, dict] = {}
        raw_oof: dict[str, np.ndarray] = {}
        calibrated_oof: dict[str, np.ndarray] = {}
        spent: list[float] = []  # on the budget's clock
        for name in progress.track(self.models, "training the classifiers", total=len(self.models)):
            if not plan.next_model(spent, self.folds):
                plan.models_left_out = [m for m in self.models if m not in results]
                break
            t, began = time.perf_counter(), plan.clock()
            oof = np.zeros(len(data.label))
            for f in range(self.folds):
                test = fold == f
                if test.any() and data.label[~test].any() and (~data.label[~test]).any():
                    model = fit_model(name, self.seed, data.features[~test], data.label[~test])
                    oof[test] = match_probability(model, data.features[test])
            raw_oof[name] = oof
            calibrated = cross_fitted(oof, data.label, fold)
            calibrated_oof[name] = calibrated
            _, correct = best_per_group(data.group, _ranking(calibrated, oof), data.label,
                                        data.n_queries)  # fmt: skip
            scored = decision_scores(data.group, calibrated, data.n_queries)
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
                reliability=reliability(calibrated, data.label),
                reliability_uncalibrated=reliability(oof, data.label),
                seconds=time.perf_counter() - t,
            )
            results[name] = metrics
            spent.append(plan.clock() - began)
        simulated = self._baselines(data, objective, paper)
        winner = max(results, key=lambda m: (results[m]["objective"], -self.models.index(m)))
        self.model_ = fit_model(winner, self.seed, data.features, data.label)
        self.calibrator_ = Calibrator.fit(raw_oof[winner], data.label)
        self.model_name_ = winner
        self.threshold_ = float(results[winner]["threshold"])
        self.decision_score_ = str(results[winner]["decision_score"])
        if data.library is not None:
            self.one_to_one_threshold_, one = one_to_one_threshold(
                data.group, data.library, _ranking(calibrated_oof[winner], raw_oof[winner]),
                data.label, data.present, objective,
            )  # fmt: skip
            one.update(
                threshold=self.one_to_one_threshold_, objective=objective_score(one, objective)
            )
            simulated["learned_one_to_one"] = one
        self.simulated_ = {**results, **simulated}
        self.auto_, self.auto_reason_ = choose_method(
            {**simulated, "learned": results[winner]}, objective
        )
        self.simulation_ = simulation_size(
            data.present,
            results[winner],
            time_cuts=data.time_cuts,
            simulations=data.simulations,
        )
        self.settings_ = settings
        self.training_ = data
        self.fit_seconds_ = time.perf_counter() - started
        self.budget_ = plan.report(data.simulations, len(results))
        return self

    def _baselines(
        self,
        data: TrainingSet,
        objective: Objective,
        paper: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None,
    ) -> dict[str, dict]:
        """Simulated figures of TF-IDF, TF-IDF one-to-one and the paper's method."""
        out: dict[str, dict] = {}
        cosine = data.features[:, FEATURES.index("tfidf_cosine")].astype(np.float64)
        best, correct = best_per_group(data.group, cosine, data.label, data.n_queries)
        self.tfidf_threshold_, tfidf = choose_threshold(best, correct, data.present, objective)
        tfidf.update(threshold=self.tfidf_threshold_, objective=objective_score(tfidf, objective))
        out["tfidf"] = tfidf
        if data.library is not None:
            near = data.features[:, FEATURES.index("from_tfidf")] > 0.5
            threshold, one = one_to_one_threshold(
                data.group[near], data.library[near], cosine[near], data.label[near],
                data.present, objective,
            )  # fmt: skip
            self.tfidf_one_to_one_threshold_ = threshold
            one.update(threshold=threshold, objective=objective_score(one, objective))
            out["tfidf_one_to_one"] = one
        if paper:
            matched, correct, present = (np.concatenate(p) for p in zip(*paper, strict=True))
            figures = verdict_metrics(matched, correct, present)
            figures.update(threshold=float("nan"), objective=objective_score(figures, objective))
            out["paper"] = figures
        return out

    def _folds(self, data: TrainingSet) -> np.ndarray:
        """Fold of every pair: simulated queries dealt into ``folds`` at random (seeded)."""
        rng = np.random.default_rng(self.seed)
        of_query = rng.permutation(data.n_queries) % self.folds
        return of_query[data.group]

    def raw_probability(self, features: np.ndarray) -> np.ndarray:
        """The classifier's own P(same user) of candidate pairs (uncalibrated)."""
        if self.model_ is None:
            raise ConfigError("the learned matcher is not fitted; run `rejoin train` first")
        return match_probability(self.model_, features)

    def probability(self, features: np.ndarray) -> np.ndarray:
        """Calibrated P(same user) of candidate pairs from their features."""
        return self.calibrator_(self.raw_probability(features))

    def report_lines(self) -> list[str]:
        """What ``rejoin train`` prints below its table: the simulation's size (and its warning),
        the reliability of the calibrated probabilities and what ``--method auto`` will do."""
        lines = []
        size = self.simulation_
        if size:
            ci = size.get("acc_absent_ci95")
            interval = f" (95% interval {100 * ci[0]:.1f}-{100 * ci[1]:.1f}%)" if ci else ""
            lines.append(
                f"simulation: {size['n_simulated_queries']:,} simulated queries "
                f"({size['n_present']:,} returning, {size['n_absent']:,} new) from "
                f"{size['time_cuts']} time cut(s) x held-out draws = {size['simulations']} "
                f"simulated re-joins, query periods of {self.query_days} day(s); absent "
                f"accuracy at the threshold"
                f" {_pct(self.simulated_.get(self.model_name_ or '', {}).get('acc_absent'))}"
                f"{interval}"
            )
            if size.get("warning"):
                lines.append(f"warning: {size['warning']}")
        kept = self.simulated_.get(self.model_name_ or "", {})
        if "reliability" in kept:
            cal, raw = kept["reliability"], kept["reliability_uncalibrated"]
            lines.append(
                f"calibrated probabilities (out-of-fold): Brier {cal['brier']:.4f}, "
                f"ECE {cal['ece']:.4f} (uncalibrated: Brier {raw['brier']:.4f}, "
                f"ECE {raw['ece']:.4f})"
            )
        if self.auto_reason_:
            lines.append(f"--method auto will use {self.auto_}: {self.auto_reason_}")
        return lines + ([cut] if (cut := budget_line(self.budget_)) else [])

    def summary(self) -> dict:
        """JSON-serialisable figures of the fit: per model the simulated accuracies."""
        return {
            "objective": self.objective,
            "model": self.model_name_,
            "threshold": self.threshold_,
            "decision_score": self.decision_score_,
            "tfidf_threshold": self.tfidf_threshold_,
            "tfidf_one_to_one_threshold": self.tfidf_one_to_one_threshold_,
            "auto": self.auto_,
            "auto_reason": self.auto_reason_,
            "simulation": self.simulation_,
            "simulated": self.simulated_,
            "n_training_pairs": 0 if self.training_ is None else len(self.training_.label),
            "n_simulated_queries": 0 if self.training_ is None else self.training_.n_queries,
            "fit_seconds": self.fit_seconds_,
            "timings": self.timings_,
            "budget": self.budget_,
        }


def _ranking(calibrated: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Pairs by calibrated probability, ties by the raw one (the calibrated map is flat in
    places; the raw probability keeps the classifier's order)."""
    return calibrated + 1e-9 * raw


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"
