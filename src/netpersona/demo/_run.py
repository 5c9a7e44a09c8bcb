"""The whole product on synthetic data, into one output folder (``netpersona demo``).

1. a synthetic mobile-operator access log is written, read back and summarised;
2. re-join identification is evaluated on it with the paper's protocol (t = 5 days) and its
   report written;
3. the device-user tiers pipeline runs on synthetic device reports and purchases;
4. the customer-value tiers pipeline runs on synthetic questionnaires.

Each part writes into its own sub-folder of ``out_dir`` and returns headline figures.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from netpersona._core import Progress, check_writable, write_text_atomic
from netpersona.demo._customers import run_customers_demo
from netpersona.demo._devices import run_devices_demo
from netpersona.engine import DuckDBEngine
from netpersona.io import LogMapping, read_log, summarise_log
from netpersona.rejoin import evaluate, write_evaluation_report
from netpersona.synth import preset_settings, write_access_logs

#: a log small enough for about a minute on a 2-core laptop, dense enough to look like an
#: operator's (tens of page loads a day, a few requests each)
DEMO_USERS = 2000
DEMO_DAYS = 30
DEMO_PAGE_LOADS = (20, 60)
DEMO_REQUESTS = (1, 3)
#: the generator's preset: the paper's data shape (regular habits, a personal daily rhythm),
#: at the demo's lighter volume (the paper's logs hold ~700 requests per user-day)
DEMO_PRESET = "paper"
#: what the demo tells its user to expect, and why (docs/rejoin.md, "The paper preset")
DEMO_EXPECTATION = (
    "synthetic log: preset 'paper' (the paper's data shape) at a demo's volume of 20-60 page "
    "loads a day, about a tenth of the paper's; with fewer requests per user-day the paper's "
    "thresholds keep fewer returning users than the paper's 98%, while new numbers still get "
    "'new'. At the paper's volume (`netpersona synth access-logs --preset paper`) its defaults "
    "reach 98% overall (docs/rejoin.md)."
)


def run_demo(
    out_dir: str | Path = "netpersona-demo",
    *,
    users: int = DEMO_USERS,
    days: int = DEMO_DAYS,
    seed: int = 0,
    force: bool = False,
    progress: Progress = Progress(),
) -> dict[str, Any]:
    """Run the demo into ``out_dir`` (refusing to reuse an existing folder unless ``force``).

    Returns the headline figures of every part: ``logs`` (the log summary), ``rejoin`` (the
    evaluation's accuracies and sizes), ``devices``, ``customers`` and the total ``seconds``;
    the same figures are written to ``summary.json``.

    >>> import tempfile
    >>> results = run_demo(Path(tempfile.mkdtemp()) / 'demo', users=60, days=10, seed=3)
    >>> logs, devices, customers = results['logs'], results['devices'], results['customers']
    >>> logs['users'], devices['train_users'], customers['customers']
    (60, 104, 548)
    """
    out = Path(out_dir)
    check_writable(out, force)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"out_dir": str(out)}
    began = time.perf_counter()
    results["logs"], evaluation = _rejoin_part(out, users, days, seed, force, progress)
    results["rejoin"] = evaluation
    for name, demo in (("devices", run_devices_demo), ("customers", run_customers_demo)):
        progress.log(f"[bold]{name}[/]: the paper's pipeline on synthetic data")
        results[name] = demo(out / name, seed=seed, force=force, progress=progress)
    results["seconds"] = round(time.perf_counter() - began, 1)
    write_text_atomic(out / "summary.json", json.dumps(results, indent=2, default=str), force=force)
    return results


def _rejoin_part(out: Path, users: int, days: int, seed: int, force: bool, progress: Progress):
    log_path = out / "access_log.parquet"
    progress.log(f"[bold]logs[/]: synthesising {users:,} subscribers x {days} days")
    write_access_logs(
        log_path,
        users,
        days,
        seed=seed,
        settings=preset_settings(DEMO_PRESET),
        page_loads_per_day=DEMO_PAGE_LOADS,
        requests_per_load=DEMO_REQUESTS,
        force=force,
        progress=progress,
    )
    with DuckDBEngine() as engine:
        read = read_log(log_path, LogMapping(), engine, table="access_log", progress=progress)
        summary = summarise_log(engine, "access_log", rejected=read.rejected).to_dict()
        progress.log("[bold]rejoin[/]: the paper's protocol, last 5 days as new numbers")
        evaluation = evaluate(
            engine,
            "access_log",
            query_days=5,
            library_fraction=0.8,
            seed=seed,
            progress=progress,
        )
    report = write_evaluation_report(evaluation, out / "rejoin", force=force)
    metrics = evaluation.to_json()
    write_text_atomic(
        out / "rejoin" / "evaluation.json", json.dumps(metrics, indent=2), force=force
    )
    keys = (
        "acc_absent",
        "acc_present",
        "acc_overall",
        "balanced_accuracy",
        "rank1_present",
        "n_library",
        "n_queries",
        "n_absent",
        "seconds_total",
    )
    figures = {k: metrics.get(k) for k in keys}
    return summary, {**figures, "preset": DEMO_PRESET, "report": str(report)}
