"""Saving and loading a fitted learned matcher: a folder of JSON and arrays, never pickle.

``matcher.json`` holds the parameters, the profile settings, the chosen model and threshold and
the simulated figures; ``training.npz`` the simulated training pairs (float32 features, labels,
query groups) and ``probe.npy`` the match probabilities of the first training pairs at save
time. The BP network is saved by its own format (folder ``bp/``). Gradient-boosted trees
cannot be saved without pickle, so they are refitted at load time from the saved pairs with the
same parameters and seed (deterministic, single-threaded); the refit must reproduce the probe
probabilities exactly, or loading fails with :class:`~netpersona.ModelFormatError`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from netpersona._core import ModelFormatError
from netpersona.io import atomic_output
from netpersona.rejoin._learned._features import FEATURES
from netpersona.rejoin._learned._matcher import LearnedMatcher
from netpersona.rejoin._learned._models import fit_model
from netpersona.rejoin._learned._reliability import Calibrator
from netpersona.rejoin._learned._training import TrainingSet
from netpersona.rejoin._settings import RejoinSettings

FORMAT, FORMAT_VERSION = "netpersona.rejoin.learned", 2
PROBE_ROWS = 512
_PARAMS = [f.name for f in dataclasses.fields(LearnedMatcher) if not f.name.endswith("_")]


def workspace_matcher_dir(workspace: str | Path) -> Path:
    """Where ``rejoin train`` keeps the matcher of workspace file ``workspace``."""
    workspace = Path(workspace)
    return workspace.with_name(workspace.name + ".learned")


def save_matcher(matcher: LearnedMatcher, path: str | Path, force: bool = False) -> Path:
    """Write a fitted matcher to the folder ``path`` (atomically; replace only with force)."""
    if matcher.model_ is None or matcher.training_ is None:
        raise ModelFormatError("cannot save an unfitted learned matcher; fit it first")
    data = matcher.training_
    probe = matcher.probability(data.features[:PROBE_ROWS])
    meta = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "params": {
            name: list(v) if isinstance(v := getattr(matcher, name), tuple) else v
            for name in _PARAMS
        },
        "settings": (matcher.settings_ or RejoinSettings()).to_dict(),
        "model": matcher.model_name_,
        "threshold": matcher.threshold_,
        "decision_score": matcher.decision_score_,
        "tfidf_threshold": matcher.tfidf_threshold_,
        "tfidf_one_to_one_threshold": matcher.tfidf_one_to_one_threshold_,
        "one_to_one_threshold": matcher.one_to_one_threshold_,
        "calibrator": matcher.calibrator_.to_json(),
        "auto": matcher.auto_,
        "auto_reason": matcher.auto_reason_,
        "simulation": matcher.simulation_,
        "simulated": matcher.simulated_,
        "fit_seconds": matcher.fit_seconds_,
        "budget": matcher.budget_,
        "features": list(FEATURES),
        "recall": data.recall,
    }
    with atomic_output(path, force=force, directory=True) as tmp:
        (tmp / "matcher.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        np.savez(
            tmp / "training.npz",
            features=data.features.astype(np.float32),
            label=data.label,
            group=data.group,
            present=data.present,
            library=data.library if data.library is not None else np.zeros(0, np.int64),
        )
        np.save(tmp / "probe.npy", probe)
        if matcher.model_name_ == "bp":
            matcher.model_.save(tmp / "bp")
    return Path(path)


def load_matcher(path: str | Path) -> LearnedMatcher:
    """Read a matcher written by :func:`save_matcher` (refitting its trees, see above)."""
    path = Path(path)
    try:
        meta = json.loads((path / "matcher.json").read_text(encoding="utf-8"))
        arrays = np.load(path / "training.npz", allow_pickle=False)
        probe = np.load(path / "probe.npy", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ModelFormatError(
            f"{path}: not a saved learned matcher ({exc}); run `netpersona rejoin train` again"
        ) from exc
    if meta.get("format") != FORMAT or int(meta.get("version", 0)) > FORMAT_VERSION:
        raise ModelFormatError(
            f"{path}: format {meta.get('format')!r} version {meta.get('version')!r} is not "
            f"{FORMAT} <= {FORMAT_VERSION}; upgrade netpersona or train again"
        )
    if meta.get("features") != list(FEATURES):
        raise ModelFormatError(
            f"{path}: saved with other pair features than this netpersona computes; train again"
        )
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in meta["params"].items()}
    matcher = LearnedMatcher(**params)
    data = TrainingSet(
        features=arrays["features"],
        label=arrays["label"],
        group=arrays["group"],
        present=arrays["present"],
        recall=float(meta["recall"]),
        library=arrays["library"] if "library" in arrays and len(arrays["library"]) else None,
        time_cuts=int(meta.get("simulation", {}).get("time_cuts", 0)),
        simulations=int(meta.get("simulation", {}).get("simulations", 0)),
    )
    if meta["model"] == "bp":
        from netpersona.nn import BPClassifier

        model = BPClassifier.load(path / "bp")
    else:
        model = fit_model(meta["model"], matcher.seed, data.features, data.label)
    matcher.model_ = model
    matcher.model_name_ = meta["model"]
    matcher.threshold_ = float(meta["threshold"])
    matcher.decision_score_ = str(meta["decision_score"])
    matcher.tfidf_threshold_ = float(meta["tfidf_threshold"])
    matcher.tfidf_one_to_one_threshold_ = float(meta.get("tfidf_one_to_one_threshold", "nan"))
    matcher.one_to_one_threshold_ = float(meta.get("one_to_one_threshold", "nan"))
    matcher.calibrator_ = Calibrator.from_json(meta.get("calibrator"))
    matcher.auto_ = str(meta.get("auto", "learned"))
    matcher.auto_reason_ = str(meta.get("auto_reason", ""))
    matcher.simulation_ = meta.get("simulation", {})
    matcher.simulated_ = meta["simulated"]
    matcher.fit_seconds_ = float(meta["fit_seconds"])
    matcher.budget_ = meta.get("budget")
    matcher.settings_ = RejoinSettings.from_mapping(meta["settings"], source=str(path))
    matcher.training_ = data
    again = matcher.probability(data.features[:PROBE_ROWS])
    if not np.array_equal(again, probe):
        raise ModelFormatError(
            f"{path}: the reloaded {meta['model']} model does not reproduce its saved "
            "probabilities (another scikit-learn version?); run `netpersona rejoin train` again"
        )
    return matcher
