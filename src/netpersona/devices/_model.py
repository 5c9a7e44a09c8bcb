"""The tier model around paper B's network (:mod:`._network`: 3-8-3, online, lr 0.9).

The network is :class:`netpersona.nn.BPClassifier`; this module adds what the domain needs
around it: which features and tiers, the seeded split, the test figures, saving and loading,
and out-of-range flags at prediction.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from netpersona._core import ColumnNotFoundError, InputError, ModelFormatError, Progress
from netpersona.devices._features import FEATURE_NAMES
from netpersona.devices._network import NetworkSettings, paper_b_network
from netpersona.io import atomic_output

#: the paper's tiers, in its one-hot order: vip (1,0,0), growth (0,1,0), ordinary (0,0,1)
PAPER_TIERS = ("vip", "growth", "ordinary")
_META = "tiers.json"
_NETWORK = "network"
_FORMAT = "netpersona.devices.tiers"
_FORMAT_VERSION = 1


@dataclass
class TierModel:
    """A trained tier network with the feature names and tiers it was trained on.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from netpersona.synth.devices import write_device_reports
    >>> work = Path(tempfile.mkdtemp())
    >>> _ = write_device_reports(work / 'may', users=60, month='2024-05', seed=2)
    >>> from netpersona.devices import extract_features
    >>> reports = work / 'may' / 'reports.jsonl.gz'
    >>> _ = extract_features(reports, '2024-05', out=work / 'features.csv')
    >>> from netpersona.devices import read_features, read_labels, train_tiers
    >>> features = read_features(work / 'features.csv')
    >>> trained = train_tiers(features, read_labels(work / 'may' / 'labels.csv'))
    >>> _ = trained.model.save(work / 'model')
    >>> model = TierModel.load(work / 'model')
    >>> model.feature_names, model.tiers
    (('avgontime', 'avguseflow', 'buycounts'), ('vip', 'growth', 'ordinary'))
    >>> model.predict(features).column_names
    ['user', 'tier', 'p_vip', 'p_growth', 'p_ordinary', 'out_of_range']
    """

    classifier: object
    feature_names: tuple[str, ...]
    #: tiers in display order (the paper's order where the names are the paper's)
    tiers: tuple[str, ...]
    metadata: dict = field(default_factory=dict)

    def save(self, path: str | Path, force: bool = False) -> Path:
        """Write the model folder: the network (netpersona.nn format) and ``tiers.json``."""
        meta = {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "feature_names": list(self.feature_names),
            "tiers": list(self.tiers),
            **self.metadata,
        }
        with atomic_output(path, force=force, directory=True) as tmp:
            self.classifier.save(tmp / _NETWORK)
            (tmp / _META).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> TierModel:
        """Read a folder written by :meth:`save`."""
        from netpersona.nn import BPClassifier

        path = Path(path)
        meta_path = path / _META
        if not meta_path.is_file():
            raise ModelFormatError(
                f"{path} is not a device-tier model (no {_META}); train one with "
                "`netpersona devices train`"
            )
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            names, tiers = tuple(meta.pop("feature_names")), tuple(meta.pop("tiers"))
        except (ValueError, KeyError) as exc:
            raise ModelFormatError(f"{meta_path} is corrupt: {exc}") from exc
        if meta.get("format") != _FORMAT or meta.get("format_version", 0) > _FORMAT_VERSION:
            raise ModelFormatError(
                f"{meta_path} has format {meta.get('format')!r} version "
                f"{meta.get('format_version')!r}; this netpersona reads {_FORMAT} up to version "
                f"{_FORMAT_VERSION}: upgrade netpersona"
            )
        return cls(BPClassifier.load(path / _NETWORK), names, tiers, meta)

    def predict(self, features: pa.Table) -> pa.Table:
        """``user, tier, p_<tier>..., out_of_range`` for every row of ``features``.

        ``out_of_range`` lists the features outside the training range (``avguseflow above
        496.3``); such inputs are used as they are, never clipped, so check those users.
        """
        X = feature_matrix(features, self.feature_names)
        clf = self.classifier
        proba = clf.predict_proba(X) if len(X) else np.zeros((0, len(clf.classes_)))
        classes = [str(c) for c in clf.classes_]
        winners = np.asarray(classes, dtype=object)[np.argmax(proba, axis=1)] if len(X) else []
        columns = {
            "user": features.column("user").cast(pa.string()),
            "tier": pa.array(list(winners), pa.string()),
        }
        for tier in self.tiers:
            columns[f"p_{tier}"] = pa.array(proba[:, classes.index(tier)], pa.float64())
        columns["out_of_range"] = pa.array(
            out_of_range(X, clf.input_min_, clf.input_max_, self.feature_names), pa.string()
        )
        return pa.table(columns)


def out_of_range(X, low, high, names) -> list[str]:
    """Per row, the features below the training minimum or above the maximum ('' if none)."""
    X = np.asarray(X, dtype=float)
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    below, above = np.less(X, low), np.greater(X, high)
    flags = [""] * len(X)
    for row in np.flatnonzero((below | above).any(axis=1)):
        flags[row] = "; ".join(
            f"{name} below {low[k]:.4g}" if below[row, k] else f"{name} above {high[k]:.4g}"
            for k, name in enumerate(names)
            if below[row, k] or above[row, k]
        )
    return flags


def feature_matrix(features: pa.Table, names: tuple[str, ...]) -> np.ndarray:
    """The named feature columns as an (n, m) float array; error naming any missing one."""
    missing = [n for n in names if n not in features.column_names]
    if missing:
        raise ColumnNotFoundError(
            f"the features lack {', '.join(missing)}; they have {', '.join(features.column_names)}",
            column=missing[0],
            hint="write features with `netpersona devices features`",
        )
    X = (
        np.column_stack(
            [features.column(n).to_numpy(zero_copy_only=False).astype(float) for n in names]
        )
        if len(features)
        else np.zeros((0, len(names)))
    )
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InputError(
            f"feature {names[col]} of user {features.column('user')[int(row)]} is not a number",
            column=names[col],
        )
    return X


def read_labels(path: str | Path, user_col: str = "user", tier_col: str = "tier") -> pa.Table:
    """Labels ``user, tier`` from a CSV or Parquet file (any tier names).

    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / 'labels.csv'
    >>> _ = path.write_text('msisdn,level\\n13800000001,vip\\n13800000002,ordinary\\n')
    >>> read_labels(path, user_col='msisdn', tier_col='level').to_pylist()
    [{'user': '13800000001', 'tier': 'vip'}, {'user': '13800000002', 'tier': 'ordinary'}]
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path=path, hint="give the labels file with --labels")
    if path.name.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        table = pq.read_table(path)
    else:
        import pyarrow.csv as pacsv

        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types={user_col: pa.string(), tier_col: pa.string()}
            ),
        )
    for column in (user_col, tier_col):
        if column not in table.column_names:
            raise ColumnNotFoundError(
                f"no column {column!r}; the labels have {', '.join(table.column_names)}",
                path=path,
                column=column,
                hint="name them with --label-user-col / --label-tier-col",
            )
    return pa.table(
        {
            "user": table.column(user_col).cast(pa.string()),
            "tier": table.column(tier_col).cast(pa.string()),
        }
    )


def tier_order(names) -> tuple[str, ...]:
    """The paper's order for the paper's tier names; otherwise sorted."""
    names = sorted({str(n) for n in names})
    if set(names) <= set(PAPER_TIERS):
        return tuple(t for t in PAPER_TIERS if t in names)
    return tuple(names)


@dataclass
class TrainResult:
    """A trained model and how it did on the held-out users.

    >>> import pyarrow as pa
    >>> users = [f'u{i}' for i in range(20)]
    >>> ontime = np.linspace(0.5, 5.0, 20)
    >>> features = pa.table({'user': users, 'avgontime': ontime, 'avguseflow': ontime,
    ...                      'buycounts': ontime})
    >>> labels = pa.table({'user': users,
    ...                    'tier': ['vip' if h > 2.7 else 'ordinary' for h in ontime]})
    >>> result = train_tiers(features, labels, NetworkSettings(epochs=500))
    >>> result.n_train + result.n_test, sum(map(sum, result.confusion)) == result.n_test
    (20, True)
    """

    model: TierModel
    test_accuracy: float
    #: rows: true tier, columns: predicted tier, both in ``model.tiers`` order
    confusion: list[list[int]]
    n_train: int
    n_test: int
    epochs: int
    converged: bool
    seconds: float
    unlabelled: int = 0
    label_without_features: int = 0


def train_tiers(
    features: pa.Table,
    labels: pa.Table,
    settings: NetworkSettings = NetworkSettings(),
    *,
    feature_names: tuple[str, ...] = FEATURE_NAMES,
    progress: Progress = Progress(),
) -> TrainResult:
    """Train the tier network on the labelled users and test it on the held-out share.

    >>> import pyarrow as pa
    >>> rng = np.random.default_rng(0)
    >>> ontime = rng.uniform(0.5, 5.0, 60)
    >>> tiers = np.where(ontime > 3.5, 'vip', np.where(ontime > 2.0, 'growth', 'ordinary'))
    >>> users = [f'u{i}' for i in range(60)]
    >>> features = pa.table({'user': users, 'avgontime': ontime,
    ...                      'avguseflow': 100 * ontime, 'buycounts': np.ones(60)})
    >>> labels = pa.table({'user': users, 'tier': tiers.tolist()})
    >>> result = train_tiers(features, labels, NetworkSettings(epochs=2000))
    >>> (result.n_train, result.n_test), result.model.tiers, result.test_accuracy >= 0.75
    ((48, 12), ('vip', 'growth', 'ordinary'), True)
    """
    from sklearn.model_selection import train_test_split

    label_of = dict(
        zip(labels.column("user").to_pylist(), labels.column("tier").to_pylist(), strict=True)
    )
    users = features.column("user").cast(pa.string()).to_pylist()
    rows = [i for i, u in enumerate(users) if label_of.get(u) is not None]
    if len(rows) < 2:
        raise InputError(
            f"only {len(rows)} of {len(users)} users with features have a label",
            hint="check that the labels' user ids match the features' (same month, same ids)",
        )
    labelled = features.take(pa.array(rows, pa.int64()))
    X = feature_matrix(labelled, feature_names)
    y = np.array([label_of[users[i]] for i in rows], dtype=object).astype(str)
    tiers = tier_order(y)
    counts = {t: int((y == t).sum()) for t in tiers}
    stratify = y if settings.stratify and min(counts.values()) >= 2 else None
    if settings.test_fraction > 0:
        train_idx, test_idx = train_test_split(
            np.arange(len(y)),
            test_size=settings.test_fraction,
            random_state=settings.seed,
            stratify=stratify,
        )
    else:
        train_idx, test_idx = np.arange(len(y)), np.arange(0)
    # the paper presents samples in a fixed order; keep the data's order within the split
    train_idx, test_idx = np.sort(train_idx), np.sort(test_idx)
    clf = paper_b_network(settings)
    start = time.perf_counter()
    clf.fit(X[train_idx], y[train_idx], progress=progress)
    seconds = time.perf_counter() - start
    predicted = clf.predict(X[test_idx]).astype(str) if len(test_idx) else np.array([])
    truth = y[test_idx]
    confusion = [[int(((truth == t) & (predicted == p)).sum()) for p in tiers] for t in tiers]
    accuracy = float((predicted == truth).mean()) if len(test_idx) else float("nan")
    metadata = {
        "settings": _settings_json(settings),
        "n_train": len(train_idx),
        "n_test": len(test_idx),
        "label_counts": counts,
        "test_accuracy": accuracy,
        "confusion": confusion,
        "epochs": int(clf.n_epochs_),
        "converged": bool(clf.converged_),
        "train_seconds": seconds,
        "month": _single_month(features),
    }
    model = TierModel(clf, tuple(feature_names), tiers, metadata)
    return TrainResult(
        model=model,
        test_accuracy=accuracy,
        confusion=confusion,
        n_train=len(train_idx),
        n_test=len(test_idx),
        epochs=int(clf.n_epochs_),
        converged=bool(clf.converged_),
        seconds=seconds,
        unlabelled=len(users) - len(rows),
        label_without_features=len(set(label_of) - set(users)),
    )


def _settings_json(settings: NetworkSettings) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(settings).items()}


def _single_month(features: pa.Table) -> str | None:
    if "month" not in features.column_names:
        return None
    months = set(features.column("month").to_pylist())
    return months.pop() if len(months) == 1 else None


def predict_tiers(model: TierModel | str | Path, features: pa.Table) -> pa.Table:
    """Tiers and their probabilities for every user in ``features`` (:meth:`TierModel.predict`).

    >>> import tempfile
    >>> from pathlib import Path
    >>> from netpersona.synth.devices import write_device_reports
    >>> work = Path(tempfile.mkdtemp())
    >>> _ = write_device_reports(work / 'may', users=60, month='2024-05', seed=2)
    >>> from netpersona.devices import extract_features
    >>> reports = work / 'may' / 'reports.jsonl.gz'
    >>> _ = extract_features(reports, '2024-05', out=work / 'features.csv')
    >>> from netpersona.devices import read_features, read_labels, train_tiers
    >>> features = read_features(work / 'features.csv')
    >>> trained = train_tiers(features, read_labels(work / 'may' / 'labels.csv'))
    >>> _ = trained.model.save(work / 'model')
    >>> tiers = predict_tiers(work / 'model', features)  # a folder or a TierModel
    >>> set(tiers.column('tier').to_pylist()) <= set(trained.model.tiers)
    True
    """
    if not isinstance(model, TierModel):
        model = TierModel.load(model)
    return model.predict(features)
