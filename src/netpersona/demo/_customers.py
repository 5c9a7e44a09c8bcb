"""The whole customer-value pipeline on synthetic questionnaires, into one output folder.

Used by ``netpersona demo``: it writes the questionnaires, the tiers, the model and the report,
and returns the headline figures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from netpersona._core import Progress, atomic_output
from netpersona.customers import CustomerSettings, run_customers, save_run, write_report
from netpersona.synth.customers import synth_customers


def run_customers_demo(
    out_dir: str | Path,
    n: int = 548,
    seed: int = 0,
    *,
    force: bool = False,
    progress: Progress = Progress(),
) -> dict:
    """Synthesise ``n`` questionnaires, run the paper's method, write everything to ``out_dir``.

    Writes ``customers.csv`` (the questionnaires with their generating truth),
    ``customer_tiers.csv``, ``customer_model/`` and ``customers_report.html`` (+ PNGs). Returns
    headline figures: customers, pre-class counts, epochs, train/test MSE, tier shares and the
    tier accuracy against the generating truth.

    >>> import tempfile
    >>> figures = run_customers_demo(Path(tempfile.mkdtemp()) / 'demo', n=200, seed=2)
    >>> figures['customers'], figures['network'], figures['pre_class_counts']
    (200, '14-29-1', [37, 55, 40, 38, 30])
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with progress.step(f"synthesising {n} customer questionnaires"):
        data = synth_customers(n, seed)
    with atomic_output(out / "customers.csv", force=force) as tmp:
        data.to_csv(tmp, index=False)
    run = run_customers(data, settings=CustomerSettings(seed=seed), progress=progress)
    with atomic_output(out / "customer_tiers.csv", force=force) as tmp:
        run.frame().to_csv(tmp, index=False)
    save_run(run, out / "customer_model", force=force)
    summary = run.summary()
    report = write_report(summary, out / "customers_report.html", force=force)
    return {
        "customers": summary["n_customers"],
        "pre_class_counts": [r["count"] for r in summary["pre_class_table"]],
        "network": summary["network"]["sizes"],
        "epochs": summary["network"]["epochs"],
        "train_mse": summary["train_mse"],
        "test_mse": summary["test_mse"],
        "goal": summary["network"]["goal"],
        "tier_shares": summary["tier_shares"],
        "tier_accuracy_vs_truth": float(np.mean(run.tiers == data["true_tier"].to_numpy())),
        "report": str(report),
    }
