"""The training sample: stratified by pre-class, then split into training and test customers.

Paper 4.3 (1) and (4): 50% of each pre-class drawn at random (548 -> 274 customers); customers
1–229 of the sample train the network and 230–274 test it.
"""

from __future__ import annotations

import math

import numpy as np

#: share of each pre-class drawn into the sample (paper: 50%)
SAMPLE_SHARE = 0.5
#: share of the sample used for training when splitting by order (paper: 229 of 274)
TRAIN_SHARE = 229 / 274


def stratum_sizes(counts: dict[int, int], share: float = SAMPLE_SHARE) -> dict[int, int]:
    """How many customers to draw from each stratum.

    The total is round-half-up(share x N); it is shared out by largest remainder, ties going to
    the larger stratum, then the lower class number (the paper's 548 gives 274:
    51 / 75 / 55 / 53 / 40).

    >>> stratum_sizes({1: 102, 2: 150, 3: 110, 4: 105, 5: 81})  # paper: 274 of 548
    {1: 51, 2: 75, 3: 55, 4: 53, 5: 40}
    """
    if not 0.0 < share <= 1.0:
        raise ValueError(f"sample share must be in (0, 1], got {share}")
    total_n = sum(counts.values())
    target = min(total_n, math.floor(share * total_n + 0.5))
    exact = {k: share * n for k, n in counts.items()}
    sizes = {k: math.floor(v) for k, v in exact.items()}
    left = target - sum(sizes.values())
    order = sorted(counts, key=lambda k: (-(exact[k] - sizes[k]), -counts[k], k))
    for k in order[:left]:
        sizes[k] += 1
    return sizes


def stratified_sample(
    classes: np.ndarray, share: float = SAMPLE_SHARE, seed: int | None = 0
) -> np.ndarray:
    """Row positions of a seeded stratified sample, in the customers' original order.

    >>> rows = stratified_sample(np.array([1, 1, 1, 1, 2, 2]), share=0.5, seed=0)
    >>> len(rows), bool(np.all(np.diff(rows) > 0))  # a half, in the original order
    (3, True)
    """
    classes = np.asarray(classes)
    rng = np.random.default_rng(seed)
    uniq, counts = np.unique(classes, return_counts=True)
    sizes = stratum_sizes(dict(zip(uniq.tolist(), counts.tolist(), strict=True)), share)
    chosen = []
    for k in uniq.tolist():
        members = np.flatnonzero(classes == k)
        chosen.append(rng.choice(members, size=sizes[k], replace=False))
    return np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=int)


def train_test_split(
    n: int, train_share: float = TRAIN_SHARE, split: str = "order", seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Positions (within the sample) of training and test customers.

    ``split="order"``: the first round(train_share x n) customers train (paper: 1–229), the rest
    test. ``split="random"``: a seeded random subset of that size trains.

    >>> train, test = train_test_split(274)  # the paper: the first 229 train
    >>> len(train), len(test), int(train[-1]), int(test[0])
    (229, 45, 228, 229)
    """
    if split not in ("order", "random"):
        raise ValueError(f"split must be 'order' or 'random', got {split!r}")
    if not 0.0 < train_share < 1.0:
        raise ValueError(f"train share must be in (0, 1), got {train_share}")
    n_train = min(max(math.floor(train_share * n + 0.5), 1), n - 1) if n > 1 else n
    positions = np.arange(n)
    if split == "random":
        positions = np.random.default_rng(seed).permutation(n)
    return np.sort(positions[:n_train]), np.sort(positions[n_train:])
