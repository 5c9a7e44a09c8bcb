"""The whole method, step by step: scores -> weights -> pre-classes -> sample -> network -> tiers.

:func:`score_table` runs paper 4.1–4.2 (scores, current value, pre-classes, target K);
:func:`run_customers` adds 4.3 (stratified sample, training, K for every customer, tiers).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from netpersona._core import ConfigError, Progress
from netpersona.customers._model import NetworkSettings, paper_c_network
from netpersona.customers._preclass import current_value, pre_class, pre_class_table
from netpersona.customers._sample import (
    SAMPLE_SHARE,
    TRAIN_SHARE,
    stratified_sample,
    train_test_split,
)
from netpersona.customers._scoring import ScoredCustomers, score_customers
from netpersona.customers._source import read_customers
from netpersona.customers._system import LIKERT_POINTS, IndicatorSystem, load_system
from netpersona.customers._tiers import (
    TIERS,
    TierThresholds,
    assign_tiers,
    small_tier_warnings,
    tier_shares,
)
from netpersona.customers._weights import ExpertWeights, equal_weights, load_weights

#: networks averaged per run by default: on the real marketing-campaign table seeds 0-4 put
#: 95.1% of the customers in the same tier with 320 (93.6% with 160, 25.4% with the paper's
#: one); ``python -m benchmarks customer_tiers`` measures it
DEFAULT_ENSEMBLE = 320


@dataclass(frozen=True)
class CustomerSettings:
    """Settings of a customer-value run; defaults are the paper's (section 4.3).

    >>> settings = CustomerSettings()  # the paper's, with K averaged over 320 networks
    >>> settings.sample_share, round(settings.train_share, 4), settings.split, settings.network.goal
    (0.5, 0.8358, 'order', 0.01)
    >>> settings.ensemble, CustomerSettings(ensemble=1).ensemble  # 1: the paper's single network
    (320, 1)
    """

    #: share of each pre-class drawn into the training sample (paper: 50%)
    sample_share: float = SAMPLE_SHARE
    #: share of the sample that trains (paper: customers 1–229 of 274)
    train_share: float = TRAIN_SHARE
    #: "order": the first customers of the sample train (paper); "random": a seeded subset
    split: str = "order"
    #: seeds the sample, a random split and the network's initial weights
    seed: int = 0
    network: NetworkSettings = field(default_factory=NetworkSettings)
    tiers: TierThresholds = field(default_factory=TierThresholds)
    #: column holding a known value K (overrides the system's label_column)
    label_column: str | None = None
    #: networks whose mean K is the customer's, each trained the paper's way on its own sample
    #: and initial weights (see :mod:`netpersona.customers._ensemble`). Not a parameter of the
    #: paper, which trains one (``ensemble=1`` is its method): the default is the smallest
    #: number that made seeds 0-4 agree on >= 95% of a real table's customers
    ensemble: int = DEFAULT_ENSEMBLE

    def __post_init__(self) -> None:
        if not isinstance(self.ensemble, int) or self.ensemble < 1:
            raise ConfigError(f"ensemble must be a whole number >= 1, got {self.ensemble!r}")


@dataclass(frozen=True)
class ValueWeights:
    """The weights a run uses: for the current value C, and for the composite target K."""

    current: dict[str, float]  #: R, F, M weights summing to 1
    composite: dict[str, float]  #: every active indicator's weight, summing to 1
    expert: ExpertWeights  #: where they came from
    note: str  #: one sentence for the run summary


def resolve_weights(
    weights: ExpertWeights | str | Path | None,
    system: IndicatorSystem,
    active: IndicatorSystem,
) -> ValueWeights:
    """Turn expert weights into the run's C and K weights (see :mod:`._weights`)."""
    names = active.indicator_names
    rfm = list(active.current_value)
    if weights is None:
        expert = equal_weights(names)
        note = (
            f"no weights given: all {len(names)} indicators weigh equally "
            f"(and R, F, M weigh 1/3 each in C); pass --weights FILE for expert weights"
        )
    else:
        expert = weights
        if not isinstance(weights, ExpertWeights):
            expert = load_weights(weights, system.indicator_names)
        note = (
            f"expert weights ({expert.method}, {len(expert.per_expert)} experts) "
            f"from {expert.source}"
        )
    covered = set(expert.weights)
    if covered == set(rfm) and len(names) > 3:
        current = expert.restricted(rfm).weights
        composite = equal_weights(names).weights
        note += "; they weigh R, F, M only, so K weighs all indicators equally"
    else:
        lacking = [n for n in names if n not in covered]
        if lacking:
            raise ConfigError(
                f"the weights from {expert.source} give no weight to indicator(s) {lacking}; "
                f"weigh every indicator {names}, or only the current-value ones {rfm}"
            )
        composite = expert.restricted(names).weights
        current = expert.restricted(rfm).weights
        ignored = sorted(covered - set(names))
        if ignored:
            note += f"; weights of dropped indicator(s) {ignored} ignored, the rest renormalised"
    return ValueWeights(current, composite, expert, note)


@dataclass
class ScoredTable:
    """Paper 4.1–4.2 for one table: scores, C, pre-classes and the training target K.

    >>> from netpersona.synth.customers import synth_customers
    >>> data = synth_customers(300, seed=4)  # questionnaires of the paper's 14 indicators
    >>> table = score_table(data)
    >>> table.frame().columns[-3:].tolist()
    ['membership', 'C', 'pre_class']
    """

    scored: ScoredCustomers
    weights: ValueWeights
    current_value: pd.Series
    pre_class: np.ndarray
    target: np.ndarray  #: K in [0, 1] the network learns
    target_source: str

    def frame(self) -> pd.DataFrame:
        """``customer, <indicator scores>, C, pre_class``."""
        out = pd.concat([self.scored.customer.rename("customer"), self.scored.scores], axis=1)
        out["C"] = self.current_value.to_numpy()
        out["pre_class"] = self.pre_class
        return out


def composite_value(scores: pd.DataFrame, weights: dict[str, float]) -> np.ndarray:
    """The expert-weighted composite of all indicator scores, rescaled from [1, 5] to [0, 1].

    >>> scores = pd.DataFrame({'R': [5, 1], 'F': [5, 3]})
    >>> composite_value(scores, {'R': 0.5, 'F': 0.5}).tolist()  # (score - 1) / 4, weighted
    [1.0, 0.25]
    """
    w = np.array([weights[c] for c in scores.columns])
    raw = scores.to_numpy(dtype=float) @ (w / w.sum())
    return (raw - 1.0) / (LIKERT_POINTS - 1.0)


def score_table(
    data: pd.DataFrame | str | Path,
    system: IndicatorSystem | str | Path | None = None,
    weights: ExpertWeights | str | Path | None = None,
    *,
    label_column: str | None = None,
    progress: Progress = Progress(),
) -> ScoredTable:
    """Score a customer table and pre-classify it by current value (paper 4.1–4.2).

    >>> from netpersona.synth.customers import synth_customers
    >>> data = synth_customers(300, seed=4)  # questionnaires of the paper's 14 indicators
    >>> table = score_table(data)
    >>> table.scored.scores.shape, sorted(set(table.pre_class.tolist()))
    ((300, 14), [1, 2, 3, 4, 5])
    >>> round(float(table.target.min()), 4), round(float(table.target.max()), 4)  # K in [0, 1]
    (0.0179, 1.0)
    """
    path = None
    if not isinstance(data, pd.DataFrame):
        path = str(data)
        with progress.step("reading customers"):
            data = read_customers(data)
    if not isinstance(system, IndicatorSystem):
        system = load_system(system)
    scored = score_customers(data, system, path=path, label_column=label_column, progress=progress)
    if scored.scores.empty:
        raise ConfigError("no customer is left to score: every row was dropped (see on_null)")
    value_weights = resolve_weights(weights, system, scored.system)
    rfm = scored.system.current_value
    c = current_value(scored.scores, rfm, tuple(value_weights.current[n] for n in rfm))
    if scored.label is not None:
        target = scored.label.to_numpy(dtype=float)
        source = scored.notes[-1]
    else:
        target = composite_value(scored.scores, value_weights.composite)
        source = "target K = expert-weighted composite of all indicator scores, rescaled to [0, 1]"
    return ScoredTable(scored, value_weights, c, pre_class(c), target, source)


@dataclass
class CustomerRun:
    """A trained customer-value model and its results on the table it was trained on.

    >>> from netpersona.synth.customers import synth_customers
    >>> data = synth_customers(300, seed=4)  # questionnaires of the paper's 14 indicators
    >>> run = run_customers(data)
    >>> summary = run.summary()
    >>> summary['network']['sizes'], summary['n_customers']
    ('14-29-1', 300)
    """

    table: ScoredTable
    settings: CustomerSettings
    model: object  #: the fitted BPRegressor
    sample: np.ndarray  #: row positions of the stratified sample
    train_rows: np.ndarray  #: row positions (in the table) of the training customers
    test_rows: np.ndarray
    k: np.ndarray  #: the network's K for every customer
    tiers: np.ndarray
    train_mse: float
    test_mse: float
    seconds: float

    def frame(self) -> pd.DataFrame:
        """Per customer: ``customer, <indicator scores>, C, pre_class, K, tier``."""
        out = self.table.frame()
        out["K"] = np.round(self.k, 6)
        out["tier"] = self.tiers
        return out

    def summary(self) -> dict:
        """Everything the report and the run summary need, JSON-able."""
        from netpersona.customers._summary import run_summary

        return run_summary(self)


def run_customers(
    data: pd.DataFrame | str | Path,
    system: IndicatorSystem | str | Path | None = None,
    weights: ExpertWeights | str | Path | None = None,
    settings: CustomerSettings = CustomerSettings(),
    *,
    progress: Progress = Progress(),
) -> CustomerRun:
    """The whole pipeline: scores, pre-classes, stratified sample, 14-29-1 network, tiers.

    >>> from netpersona.synth.customers import synth_customers
    >>> data = synth_customers(300, seed=4)  # questionnaires of the paper's 14 indicators
    >>> run = run_customers(data, settings=CustomerSettings(seed=4))
    >>> len(run.sample), len(run.train_rows), len(run.test_rows)  # 50% sample, 229/274 train
    (150, 125, 25)
    >>> run.frame().columns[-2:].tolist(), sorted(set(run.tiers.tolist())) <= ['A', 'B', 'C', 'D']
    (['K', 'tier'], True)
    """
    table = score_table(
        data, system, weights, label_column=settings.label_column, progress=progress
    )
    return train_on(table, settings, progress=progress)


def train_on(
    table: ScoredTable, settings: CustomerSettings, *, progress: Progress = Progress()
) -> CustomerRun:
    """Paper 4.3 on scored customers: sample, split, train, predict K, assign tiers — once
    per ensemble member (member 0 is the paper's network for the seed), K their mean."""
    from netpersona.customers._ensemble import NetworkEnsemble, member_seed

    x = table.scored.scores.to_numpy(dtype=float)
    y = table.target
    n = settings.ensemble
    sizes = f"{x.shape[1]}-{settings.network.hidden_size(x.shape[1])}-1"
    start = time.perf_counter()
    if n == 1:
        with progress.step(f"training the {sizes} network"):
            members = [_train_member(table.pre_class, x, y, settings, settings.seed)]
    else:
        members = [
            _train_member(table.pre_class, x, y, settings, member_seed(settings.seed, i))
            for i in progress.track(range(n), f"training {n} {sizes} networks", total=n)
        ]
    seconds = time.perf_counter() - start
    model = members[0].model if n == 1 else NetworkEnsemble([m.model for m in members])
    k = np.clip(model.predict(x), 0.0, 1.0)
    first = members[0]
    return CustomerRun(
        table=table,
        settings=settings,
        model=model,
        sample=first.sample,
        train_rows=first.train_rows,
        test_rows=first.test_rows,
        k=k,
        tiers=assign_tiers(k, settings.tiers),
        train_mse=float(np.mean([m.train_mse for m in members])),
        test_mse=float(np.mean([m.test_mse for m in members])),
        seconds=seconds,
    )


@dataclass
class _Member:
    model: object
    sample: np.ndarray
    train_rows: np.ndarray
    test_rows: np.ndarray
    train_mse: float
    test_mse: float


def _train_member(
    pre_classes: np.ndarray, x: np.ndarray, y: np.ndarray, settings: CustomerSettings, seed: int
) -> _Member:
    """One network the paper's way: its stratified sample and split, trained to the goal;
    its errors on its own training and test customers."""
    sample = stratified_sample(pre_classes, settings.sample_share, seed)
    if len(sample) < 2:
        raise ConfigError(
            f"the sample has {len(sample)} customer(s); at least 2 are needed to train and test "
            "(raise the sample share or score more customers)"
        )
    train_pos, test_pos = train_test_split(len(sample), settings.train_share, settings.split, seed)
    train_rows, test_rows = sample[train_pos], sample[test_pos]
    model = paper_c_network(x.shape[1], settings.network, seed)
    model.fit(x[train_rows], y[train_rows])
    k = np.clip(model.predict(x), 0.0, 1.0)
    train_mse = float(np.mean((k[train_rows] - y[train_rows]) ** 2))
    test_mse = (
        float(np.mean((k[test_rows] - y[test_rows]) ** 2)) if len(test_rows) else float("nan")
    )
    return _Member(model, sample, train_rows, test_rows, train_mse, test_mse)


def summary_lines(summary: dict) -> list[str]:
    """The run summary for people, from :meth:`CustomerRun.summary`.

    >>> from netpersona.synth.customers import synth_customers
    >>> data = synth_customers(300, seed=4)  # questionnaires of the paper's 14 indicators
    >>> lines = summary_lines(run_customers(data).summary())
    >>> any(line.startswith('tiers: A ') for line in lines)
    True
    """
    lines = [*summary["scoring"], summary["weights"]["note"], summary["target_source"]]
    net = summary["network"]
    members = net.get("members", 1)
    if members > 1:
        lines.append(
            f"K = mean of {members} {net['sizes']} networks, each on its own sample and initial "
            "weights; the first one's training:"
        )
    lines.append(
        f"network {net['sizes']}, {net['algorithm']}: {net['epochs']} epochs, "
        f"{'reached' if net['converged'] else 'did not reach'} the goal {net['goal']} "
        f"({net['stop_reason']}); training MSE {summary['train_mse']:.4f}, test MSE "
        f"{summary['test_mse']:.4f} on {summary['n_test']} test customers"
        + (" (means over the networks)" if members > 1 else "")
    )
    shares = summary["tier_shares"]
    lines.append("tiers: " + ", ".join(f"{t} {shares[t]:.1%}" for t in TIERS))
    return lines + small_tier_warnings(shares)


def tier_table(tiers: np.ndarray) -> list[tuple[str, int, float]]:
    """(tier, customers, share) for A to D.

    >>> tier_table(np.array(['A', 'C', 'C', 'D']))
    [('A', 1, 0.25), ('B', 0, 0.0), ('C', 2, 0.5), ('D', 1, 0.25)]
    """
    shares = tier_shares(tiers)
    tiers = np.asarray(tiers)
    return [(t, int((tiers == t).sum()), shares[t]) for t in TIERS]


__all__ = [
    "CustomerRun",
    "CustomerSettings",
    "ScoredTable",
    "ValueWeights",
    "composite_value",
    "pre_class_table",
    "resolve_weights",
    "run_customers",
    "score_table",
    "summary_lines",
    "tier_table",
    "train_on",
]
