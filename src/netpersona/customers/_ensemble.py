"""Tiers that do not move with the seed: K as the mean of several networks, and how far seeds agree.

Paper C trains one 14-29-1 network, stopped as soon as its training error reaches the goal
0.01. Stopped that early, the network's K depends mostly on its random initial weights: on the
real marketing-campaign table (2,240 customers) two seeds put only 56-62% of the customers in
the same tier. :class:`NetworkEnsemble` averages the K of ``ensemble`` networks, each trained
the paper's way on its own stratified sample and initial weights (member 0 is exactly the
paper's network for the run's seed, so ``ensemble = 1`` is the paper's method);
:func:`seed_agreement` measures how often runs with different seeds agree, which is the figure a
user should check before acting on a tier (``netpersona customers stability``).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from netpersona._core import ConfigError, ModelFormatError, atomic_output

if TYPE_CHECKING:
    from netpersona.customers._pipeline import CustomerSettings, ScoredTable

__all__ = ["NetworkEnsemble", "SeedAgreement", "load_network", "member_seed", "seed_agreement"]

ENSEMBLE_FILE = "ensemble.json"
ENSEMBLE_FORMAT = "netpersona-network-ensemble"


def member_seed(seed: int, member: int) -> int:
    """The seed of ensemble member ``member`` in a run seeded ``seed``: the run's own seed for
    member 0, independent streams for the others.

    >>> member_seed(7, 0), member_seed(7, 1) == member_seed(7, 1), member_seed(7, 1) != 7
    (7, True, True)
    """
    if member == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), int(member)]).generate_state(1)[0])


@dataclass
class NetworkEnsemble:
    """Fitted networks whose mean K (each clipped to [0, 1]) is the ensemble's.

    The training record the run summary shows (epochs, stop reason, error history) is member
    0's, the paper's network for the run's seed.

    >>> from netpersona.customers import CustomerSettings, run_customers
    >>> from netpersona.synth.customers import synth_customers
    >>> run = run_customers(synth_customers(300, seed=4), settings=CustomerSettings(ensemble=3))
    >>> len(run.model), run.summary()['network']['members']
    (3, 3)
    """

    members: list

    def predict(self, X) -> np.ndarray:
        """Mean K over the members, in [0, 1]."""
        return np.mean([np.clip(m.predict(X), 0.0, 1.0) for m in self.members], axis=0)

    def __len__(self) -> int:
        return len(self.members)

    def __getattr__(self, name: str):
        if name.endswith("_") and not name.startswith("_"):  # fitted attributes: member 0's
            return getattr(self.members[0], name)
        raise AttributeError(name)

    def save(self, path: str | Path, force: bool = False) -> Path:
        """A folder: ``ensemble.json`` and one network folder per member (nn's format)."""
        with atomic_output(path, force=force, directory=True) as tmp:
            for i, member in enumerate(self.members):
                member.save(tmp / f"member_{i:03d}")
            (tmp / ENSEMBLE_FILE).write_text(
                json.dumps({"format": ENSEMBLE_FORMAT, "members": len(self.members)}),
                encoding="utf-8",
            )
        return Path(path)


def load_network(path: str | Path):
    """The network (or :class:`NetworkEnsemble`) saved in folder ``path``."""
    from netpersona.nn import load_model

    path = Path(path)
    marker = path / ENSEMBLE_FILE
    if not marker.exists():
        return load_model(path)
    try:
        meta = json.loads(marker.read_text(encoding="utf-8"))
        n = int(meta["members"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFormatError(f"{marker} is damaged ({exc}); train the model again") from None
    if meta.get("format") != ENSEMBLE_FORMAT or n < 1:
        raise ModelFormatError(f"{marker} is not a {ENSEMBLE_FORMAT} file")
    return NetworkEnsemble([load_model(path / f"member_{i:03d}") for i in range(n)])


@dataclass(frozen=True)
class SeedAgreement:
    """How far runs with different seeds agree on each customer's tier.

    >>> SeedAgreement((0, 1), 1, 0.6, 0.6, 0.6, ({"A": 0.1}, {"A": 0.2}), 1.0).lines()[1]
    'seed 0: A 10.0%'
    """

    seeds: tuple[int, ...]
    ensemble: int
    #: share of customers in the same tier under every seed
    all_agree: float
    #: the lowest and the median share of customers two seeds put in the same tier
    pairwise_min: float
    pairwise_median: float
    #: tier -> share of customers, per seed
    tier_shares: tuple[dict[str, float], ...]
    seconds: float

    def lines(self) -> list[str]:
        """The figures for people."""
        seeds = ", ".join(str(s) for s in self.seeds)
        out = [
            f"seeds {seeds}, {self.ensemble} network(s) per run: {self.all_agree:.1%} of "
            f"customers get the same tier from every seed; two seeds agree on "
            f"{self.pairwise_min:.1%} to {self.pairwise_median:.1%} (lowest, median)"
        ]
        for seed, shares in zip(self.seeds, self.tier_shares, strict=True):
            out.append(f"seed {seed}: " + ", ".join(f"{t} {v:.1%}" for t, v in shares.items()))
        return out


def seed_agreement(
    table: ScoredTable, settings: CustomerSettings, seeds: Sequence[int] = range(5)
) -> SeedAgreement:
    """Train a run per seed (``settings`` otherwise) and measure how often their tiers agree.

    >>> from netpersona.customers import CustomerSettings, score_table
    >>> from netpersona.synth.customers import synth_customers
    >>> table = score_table(synth_customers(300, seed=4))
    >>> agreement = seed_agreement(table, CustomerSettings(), seeds=[0, 1])
    >>> 0.0 <= agreement.pairwise_min <= agreement.pairwise_median <= 1.0
    True
    """
    import time

    from netpersona.customers._pipeline import train_on
    from netpersona.customers._tiers import tier_shares

    seeds = tuple(int(s) for s in seeds)
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise ConfigError("give at least two different seeds to compare")
    started = time.perf_counter()
    tiers = [train_on(table, replace(settings, seed=s)).tiers for s in seeds]
    stacked = np.asarray(tiers)
    pairs = [float(np.mean(a == b)) for a, b in itertools.combinations(tiers, 2)]
    return SeedAgreement(
        seeds=seeds,
        ensemble=settings.ensemble,
        all_agree=float(np.mean((stacked == stacked[0]).all(axis=0))),
        pairwise_min=min(pairs),
        pairwise_median=float(np.median(pairs)),
        tier_shares=tuple(tier_shares(t) for t in tiers),
        seconds=time.perf_counter() - started,
    )
