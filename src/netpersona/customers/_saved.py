"""A trained customer-value model on disk, and scoring new customers with it.

A model is a folder: ``network/`` (the BP network, :mod:`netpersona.nn`'s format: JSON +
``.npz``, no pickle) and ``customers.json`` (the indicator system, the fitted scoring rules —
quantile cut points included — the weights, the settings and the training run's summary).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from netpersona._core import ModelFormatError, Progress
from netpersona.customers._model import NetworkSettings
from netpersona.customers._pipeline import CustomerRun
from netpersona.customers._preclass import current_value, pre_class
from netpersona.customers._scoring import score_customers
from netpersona.customers._scoring_rules import FittedScoring
from netpersona.customers._source import read_customers
from netpersona.customers._system import IndicatorSystem
from netpersona.customers._tiers import TierThresholds, assign_tiers
from netpersona.io import atomic_output

FORMAT = "netpersona.customers"
FORMAT_VERSION = 1
META_FILE = "customers.json"
NETWORK_DIR = "network"


def save_run(run: CustomerRun, path: str | Path, force: bool = False) -> Path:
    """Write a trained run's model folder (atomically; never over an existing one without force).

    >>> import tempfile
    >>> from pathlib import Path
    >>> from netpersona.synth.customers import write_customers
    >>> work = Path(tempfile.mkdtemp())
    >>> _ = write_customers(work / 'answers.csv', 300, seed=4)
    >>> from netpersona.customers import run_customers
    >>> run = run_customers(work / 'answers.csv')
    >>> sorted(p.name for p in save_run(run, work / 'model').iterdir())
    ['customers.json', 'network']
    """
    table = run.table
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "system": table.scored.system.to_dict(),
        "fitted": {n: r.to_dict() for n, r in table.scored.fitted.items()},
        "current_weights": table.weights.current,
        "network_settings": run.settings.network.to_dict(),
        "tier_thresholds": {"a": run.settings.tiers.a, "b": run.settings.tiers.b,
                            "c": run.settings.tiers.c},
        "summary": run.summary(),
    }  # fmt: skip
    with atomic_output(path, force=force, directory=True) as tmp:
        run.model.save(tmp / NETWORK_DIR)
        (tmp / META_FILE).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return Path(path)


@dataclass
class CustomerModel:
    """A saved customer-value model, ready to score new customers.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from netpersona.synth.customers import write_customers
    >>> work = Path(tempfile.mkdtemp())
    >>> _ = write_customers(work / 'answers.csv', 300, seed=4)
    >>> from netpersona.customers import run_customers, save_run
    >>> _ = save_run(run_customers(work / 'answers.csv'), work / 'model')
    >>> model = load_run(work / 'model')
    >>> model.summary['n_customers'], model.thresholds
    (300, TierThresholds(a=0.75, b=0.5, c=0.25))
    """

    system: IndicatorSystem
    fitted: dict[str, FittedScoring]
    current_weights: dict[str, float]
    thresholds: TierThresholds
    network_settings: NetworkSettings
    network: object
    summary: dict

    def predict(
        self, data: pd.DataFrame | str | Path, *, progress: Progress = Progress()
    ) -> pd.DataFrame:
        """``customer, <indicator scores>, C, pre_class, K, tier`` for each new customer."""
        path = None
        if not isinstance(data, pd.DataFrame):
            path = str(data)
            data = read_customers(data)
        scored = score_customers(data, self.system, fitted=self.fitted, path=path,
                                 progress=progress)  # fmt: skip
        rfm = self.system.current_value
        c = current_value(scored.scores, rfm, tuple(self.current_weights[n] for n in rfm))
        with progress.step("computing customer value K"):
            k = np.clip(self.network.predict(scored.scores.to_numpy(dtype=float)), 0.0, 1.0)
        out = pd.concat([scored.customer.rename("customer"), scored.scores], axis=1)
        out["C"] = c.to_numpy()
        out["pre_class"] = pre_class(c)
        out["K"] = np.round(k, 6)
        out["tier"] = assign_tiers(k, self.thresholds)
        out.attrs["scoring"] = scored.summary_lines()
        return out


def load_run(path: str | Path) -> CustomerModel:
    """Read a model folder written by :func:`save_run`.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from netpersona.synth.customers import write_customers
    >>> work = Path(tempfile.mkdtemp())
    >>> _ = write_customers(work / 'answers.csv', 300, seed=4)
    >>> from netpersona.customers import run_customers, save_run
    >>> _ = save_run(run_customers(work / 'answers.csv'), work / 'model')
    >>> model = load_run(work / 'model')
    >>> model.predict(work / 'answers.csv').columns[-2:].tolist()
    ['K', 'tier']
    """
    from netpersona.customers._ensemble import load_network

    path = Path(path)
    meta_path = path / META_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFormatError(
            f"{path} is not a customer-value model: it has no {META_FILE}; train one with "
            "`netpersona customers train` or `customers run --model DIR`"
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{meta_path} is damaged ({exc}); train the model again") from None
    if meta.get("format") != FORMAT:
        raise ModelFormatError(f"{meta_path} is not a {FORMAT} model")
    if int(meta.get("format_version", 0)) > FORMAT_VERSION:
        raise ModelFormatError(
            f"{meta_path} has format version {meta['format_version']}, newer than this "
            f"netpersona reads ({FORMAT_VERSION}); upgrade netpersona"
        )
    try:
        t = meta["tier_thresholds"]
        return CustomerModel(
            system=IndicatorSystem.from_dict(meta["system"]),
            fitted={n: FittedScoring.from_dict(r) for n, r in meta["fitted"].items()},
            current_weights=meta["current_weights"],
            thresholds=TierThresholds(t["a"], t["b"], t["c"]),
            network_settings=NetworkSettings.from_dict(meta["network_settings"]),
            network=load_network(path / NETWORK_DIR),
            summary=meta["summary"],
        )
    except (KeyError, TypeError) as exc:
        raise ModelFormatError(f"{meta_path} is incomplete (missing {exc}); train again") from None
