"""File to file: what ``netpersona customers score|train|predict|report|run`` do, callable from
Python or a service. Each checks its outputs first (new unless ``force``), reads, runs the
paper's method and writes atomically."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from netpersona._core import (
    InputError,
    Progress,
    check_writable,
    table_format,
    write_table_file,
)
from netpersona.customers._ensemble import SeedAgreement, seed_agreement
from netpersona.customers._pipeline import (
    CustomerRun,
    CustomerSettings,
    ScoredTable,
    run_customers,
    score_table,
)
from netpersona.customers._report import write_report
from netpersona.customers._saved import load_run, save_run
from netpersona.customers._source import read_customers
from netpersona.customers._summary import tier_part

Source = str | Path | pd.DataFrame


def score_file(
    data: Source,
    out: str | Path,
    system: str | Path | None = None,
    weights: str | Path | None = None,
    *,
    label_column: str | None = None,
    force: bool = False,
    progress: Progress = Progress(),
) -> ScoredTable:
    """Score and pre-classify customers; write ``customer, <scores>, C, pre_class, K_target``.

    ``K_target`` is what the network would learn for each customer.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from netpersona.synth.customers import write_customers
    >>> work = Path(tempfile.mkdtemp())
    >>> _ = write_customers(work / 'answers.csv', 300, seed=4)
    >>> table = score_file(work / 'answers.csv', work / 'scores.csv')
    >>> read_customers(work / 'scores.csv').columns[-3:].tolist()
    ['C', 'pre_class', 'K_target']
    """
    table_format(out)
    check_writable(out, force)
    table = score_table(data, system, weights, label_column=label_column, progress=progress)
    frame = table.frame()
    frame["K_target"] = table.target.round(6)
    write_table_file(frame, out, force=force)
    return table


def run_files(
    data: Source,
    out: str | Path | None = None,
    system: str | Path | None = None,
    weights: str | Path | None = None,
    settings: CustomerSettings = CustomerSettings(),
    *,
    model: str | Path | None = None,
    report: str | Path | None = None,
    force: bool = False,
    progress: Progress = Progress(),
) -> CustomerRun:
    """The whole method (:func:`run_customers`), its results written where asked.

    ``out``: ``customer, <scores>, C, pre_class, K, tier`` per customer (CSV); ``model``: the
    model folder (:func:`save_run`); ``report``: the HTML report (+ PNG figures).

    >>> import tempfile
    >>> from pathlib import Path
    >>> from netpersona.synth.customers import write_customers
    >>> work = Path(tempfile.mkdtemp())
    >>> _ = write_customers(work / 'answers.csv', 300, seed=4)
    >>> run = run_files(work / 'answers.csv', work / 'tiers.csv', model=work / 'model')
    >>> sorted(p.name for p in work.iterdir())
    ['answers.csv', 'model', 'tiers.csv']
    """
    if out is not None:
        table_format(out)
    for target in (out, model, report):
        if target is not None:
            check_writable(target, force)
    result = run_customers(data, system, weights, settings, progress=progress)
    if out is not None:
        write_table_file(result.frame(), out, force=force)
    if model is not None:
        save_run(result, model, force=force)
    if report is not None:
        write_report(result.summary(), report, force=force)
    return result


def predict_file(
    model: str | Path,
    data: Source,
    out: str | Path,
    *,
    force: bool = False,
    progress: Progress = Progress(),
) -> pd.DataFrame:
    """K and tier of new customers by a saved model (:func:`load_run`), written to ``out``.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from netpersona.synth.customers import write_customers
    >>> work = Path(tempfile.mkdtemp())
    >>> _ = write_customers(work / 'answers.csv', 300, seed=4)
    >>> _ = run_files(work / 'answers.csv', model=work / 'model')
    >>> frame = predict_file(work / 'model', work / 'answers.csv', work / 'tiers.csv')
    >>> frame.columns[-2:].tolist(), len(frame)
    (['K', 'tier'], 300)
    """
    table_format(out)
    check_writable(out, force)
    frame = load_run(model).predict(data, progress=progress)
    write_table_file(frame, out, force=force)
    return frame


def report_file(
    model: str | Path,
    out: str | Path,
    *,
    tiers: str | Path | None = None,
    force: bool = False,
) -> Path:
    """The report (HTML + PNG figures) of a saved model; with ``tiers`` (the output of
    :func:`predict_file` or :func:`run_files`) its K and tier figures show those customers.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from netpersona.synth.customers import write_customers
    >>> work = Path(tempfile.mkdtemp())
    >>> _ = write_customers(work / 'answers.csv', 300, seed=4)
    >>> _ = run_files(work / 'answers.csv', work / 'tiers.csv', model=work / 'model')
    >>> report_file(work / 'model', work / 'report.html', tiers=work / 'tiers.csv').name
    'report.html'
    """
    trained = load_run(model)
    summary = dict(trained.summary)
    if tiers is not None:
        frame = read_customers(tiers)
        lacking = [c for c in ("K", "tier") if c not in frame.columns]
        if lacking:
            raise InputError(
                f"a tiers file needs the columns K and tier; it lacks {lacking}",
                path=tiers,
                hint="pass the output of `customers predict` or `customers run`",
            )
        summary.update(
            tier_part(frame["K"].to_numpy(), frame["tier"].to_numpy(), trained.thresholds)
        )
    return write_report(summary, out, force=force)


def seed_agreement_of(
    data: Source,
    system: str | Path | None = None,
    weights: str | Path | None = None,
    settings: CustomerSettings = CustomerSettings(),
    seeds=range(5),
    *,
    progress: Progress = Progress(),
) -> SeedAgreement:
    """Score ``data`` once, train a run per seed and compare their tiers
    (:func:`~netpersona.customers.seed_agreement`).

    >>> from netpersona.customers import CustomerSettings
    >>> from netpersona.synth.customers import synth_customers
    >>> one = CustomerSettings(ensemble=1)  # the paper's single network per run
    >>> agreement = seed_agreement_of(synth_customers(300, seed=4), settings=one, seeds=[0, 1])
    >>> agreement.seeds, agreement.ensemble
    ((0, 1), 1)
    """
    table = score_table(data, system, weights, label_column=settings.label_column,
                        progress=progress)  # fmt: skip
    seeds = list(seeds)
    with progress.step(f"training {len(seeds)} runs of {settings.ensemble} network(s) each"):
        return seed_agreement(table, settings, seeds)
