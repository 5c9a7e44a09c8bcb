"""Paper B end to end on synthetic data: reports -> features -> network -> tiers -> report."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow.csv as pacsv

from netpersona._core import Progress, atomic_output, check_writable
from netpersona.devices import (
    NetworkSettings,
    build_report,
    extract_features,
    read_labels,
    train_tiers,
)
from netpersona.synth.devices import write_device_reports


def run_devices_demo(
    out_dir: str | Path,
    *,
    users: int = 130,
    month: str = "2024-05",
    seed: int = 0,
    settings: NetworkSettings | None = None,
    force: bool = False,
    progress: Progress = Progress(),
) -> dict:
    """Synthesise a month for ``users`` device users (the paper's 130 by default), extract
    features, train the paper's 3-8-3 network, classify everyone and write the report.

    Writes into ``out_dir``: ``data/`` (reports, purchases, labels), ``features.parquet``,
    ``model/``, ``tiers.csv``, ``report.html`` (+ PNGs). Returns headline figures.

    >>> import tempfile
    >>> figures = run_devices_demo(Path(tempfile.mkdtemp()) / 'demo', users=130, seed=1)
    >>> figures['train_users'], figures['test_users'], figures['test_accuracy'] > 0.75
    (104, 26, True)
    """
    out = Path(out_dir)
    check_writable(out, force)
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    settings = settings or NetworkSettings(seed=seed)
    counts = write_device_reports(
        out / "data", users=users, month=month, seed=seed, force=force, progress=progress
    )
    result = extract_features(
        out / "data" / "reports.jsonl.gz",
        month,
        purchases=out / "data" / "purchases.csv",
        out=out / "features.parquet",
        quarantine=out / "features.rejected.csv",
        force=force,
        progress=progress,
    )
    with progress.step("training the 3-8-3 network"):
        trained = train_tiers(result.features, read_labels(out / "data" / "labels.csv"), settings)
    trained.model.save(out / "model", force=force)
    predictions = trained.model.predict(result.features)
    tiers_path = out / "tiers.csv"
    with atomic_output(tiers_path, force=force) as tmp:
        pacsv.write_csv(predictions, tmp)
    with progress.step("writing the report"):
        report = build_report(
            trained.model, result.features, predictions, out / "report.html", force=force
        )
    tiers = predictions.column("tier").to_pylist()
    return {
        "users": users,
        "reports": counts["reports"],
        "duplicate_reports": result.reports.duplicates,
        "sessions": result.reports.sessions,
        "train_users": trained.n_train,
        "test_users": trained.n_test,
        "test_accuracy": trained.test_accuracy,
        "epochs": trained.epochs,
        "converged": trained.converged,
        "train_seconds": round(trained.seconds, 3),
        "tier_shares": {t: round(tiers.count(t) / len(tiers), 4) for t in trained.model.tiers},
        "report": str(report),
        "seconds": round(time.perf_counter() - began, 1),
    }
