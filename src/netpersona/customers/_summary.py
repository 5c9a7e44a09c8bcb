"""A run's results as plain JSON-able data: what the report draws and a saved model keeps."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from netpersona.customers._preclass import pre_class_table
from netpersona.customers._tiers import GUIDANCE, TIERS, tier_shares

if TYPE_CHECKING:
    from netpersona.customers._pipeline import CustomerRun

#: bins of the stored K histogram over [0, 1]
K_BINS = 40


def k_histogram(k: np.ndarray) -> dict:
    """Counts of K in ``K_BINS`` equal bins over [0, 1]."""
    counts, edges = np.histogram(np.clip(k, 0.0, 1.0), bins=K_BINS, range=(0.0, 1.0))
    return {"edges": edges.round(6).tolist(), "counts": counts.tolist()}


def tier_part(k: np.ndarray, tiers: np.ndarray, thresholds) -> dict:
    """The K histogram, tier counts and shares of a set of customers."""
    tiers = np.asarray(tiers)
    return {
        "k_histogram": k_histogram(k),
        "tier_counts": {t: int((tiers == t).sum()) for t in TIERS},
        "tier_shares": tier_shares(tiers),
        "tier_thresholds": {"A": thresholds.a, "B": thresholds.b, "C": thresholds.c},
        "guidance": GUIDANCE,
    }


def run_summary(run: CustomerRun) -> dict:
    """Everything about a run that people read: counts, weights, training, errors, tiers."""
    table = run.table
    scored = table.scored
    system = scored.system
    settings = run.settings
    net = run.model
    history = [float(e) for e in net.history_["error"]]
    m = len(system.indicators)
    sample_classes = table.pre_class[run.sample]
    expert = table.weights.expert
    return {
        "system": system.name,
        "system_path": system.path,
        "target": system.target,
        "n_source_rows": scored.source_rows,
        "n_customers": len(scored.scores),
        "indicators": [
            {"name": i.name, "title": i.title, "dimension": i.dimension} for i in system.indicators
        ],
        "dimensions": {d.name: d.title for d in system.dimensions},
        "dropped_indicators": scored.dropped_indicators,
        "scoring": scored.summary_lines(),
        "weights": {
            "note": table.weights.note,
            "method": expert.method,
            "source": expert.source,
            "composite": table.weights.composite,
            "current": table.weights.current,
            "per_expert": expert.per_expert,
            "consistency": expert.consistency,
        },
        "pre_class_table": [r.__dict__ for r in pre_class_table(table.pre_class)],
        "sample": {
            "size": len(run.sample),
            "share": settings.sample_share,
            "per_class": {str(k): int((sample_classes == k).sum()) for k in range(1, 6)},
            "split": settings.split,
            "train_share": settings.train_share,
        },
        "n_train": len(run.train_rows),
        "n_test": len(run.test_rows),
        "target_source": table.target_source,
        "network": {
            "sizes": f"{m}-{settings.network.hidden_size(m)}-1",
            "members": settings.ensemble,
            "algorithm": settings.network.algorithm,
            "goal": settings.network.goal,
            "epochs": int(net.n_epochs_),
            "converged": bool(net.converged_),
            "stop_reason": str(getattr(net, "stop_reason_", "")),
            "history": history,
            "settings": settings.network.to_dict(),
            "seconds": run.seconds,
        },
        "train_mse": run.train_mse,
        "test_mse": run.test_mse,
        "test_meets_goal": bool(run.test_mse <= settings.network.goal),
        "seed": settings.seed,
        **tier_part(run.k, run.tiers, settings.tiers),
    }
