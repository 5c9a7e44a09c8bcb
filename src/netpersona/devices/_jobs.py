"""File to file: train a model folder, write tiers, write the report (what ``devices train``,
``predict`` and ``report`` do, callable from Python or a service)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from netpersona._core import (
    ConfigError,
    Progress,
    check_writable,
    table_format,
    write_table_file,
)
from netpersona.devices._extract import read_features
from netpersona.devices._model import TierModel, TrainResult, read_labels, train_tiers
from netpersona.devices._network import NetworkSettings
from netpersona.devices._report import build_report


def train_model(
    features: str | Path,
    labels: str | Path,
    model: str | Path,
    settings: NetworkSettings = NetworkSettings(),
    *,
    label_user_col: str = "user",
    label_tier_col: str = "tier",
    force: bool = False,
    progress: Progress = Progress(),
) -> TrainResult:
    """Train the tier network on a features file and a labels file; write the model folder.

    The settings are checked first (a :class:`~netpersona.ConfigError` names the bad one), and
    ``model`` must be new unless ``force``.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from netpersona.synth.devices import write_device_reports
    >>> work = Path(tempfile.mkdtemp())
    >>> _ = write_device_reports(work / 'may', users=60, month='2024-05', seed=2)
    >>> from netpersona.devices import extract_features
    >>> reports = work / 'may' / 'reports.jsonl.gz'
    >>> _ = extract_features(reports, '2024-05', out=work / 'features.csv')
    >>> result = train_model(work / 'features.csv', work / 'may' / 'labels.csv', work / 'model')
    >>> (result.n_train, result.n_test), result.model.tiers
    ((48, 12), ('vip', 'growth', 'ordinary'))
    >>> sorted(p.name for p in (work / 'model').iterdir())
    ['network', 'tiers.json']
    """
    check_writable(model, force)
    table = read_features(features)
    label_table = read_labels(labels, label_user_col, label_tier_col)
    try:
        result = train_tiers(table, label_table, settings, progress=progress)
    except ValueError as exc:  # the network's parameter checks
        raise ConfigError(str(exc)) from exc
    result.model.save(model, force=force)
    return result


@dataclass(frozen=True)
class Prediction:
    """Tiers of every user of a features file, as written by :func:`predict_file`.

    >>> import pyarrow as pa
    >>> table = pa.table({'user': ['a', 'b'], 'tier': ['vip', 'ordinary'],
    ...                   'out_of_range': ['', 'avguseflow above 496.3']})
    >>> prediction = Prediction(table, ('vip', 'growth', 'ordinary'), Path('tiers.csv'))
    >>> prediction.counts(), prediction.out_of_range()
    ({'vip': 1, 'growth': 0, 'ordinary': 1}, 1)
    """

    #: ``user, tier, p_<tier>..., out_of_range``
    table: pa.Table
    #: the model's tiers, in display order
    tiers: tuple[str, ...]
    path: Path

    def counts(self) -> dict[str, int]:
        """Users per tier, in the model's order.

        >>> import pyarrow as pa
        >>> table = pa.table({"tier": ["vip", "ordinary", "ordinary"]})
        >>> Prediction(table, ("vip", "growth", "ordinary"), Path("t.csv")).counts()
        {'vip': 1, 'growth': 0, 'ordinary': 2}
        """
        tiers = self.table.column("tier").to_pylist()
        return {t: tiers.count(t) for t in self.tiers}

    def out_of_range(self) -> int:
        """Users with a feature outside the training range (their tier is an extrapolation)."""
        if "out_of_range" not in self.table.column_names:
            return 0
        return sum(bool(x) for x in self.table.column("out_of_range").to_pylist())


def predict_file(
    model: str | Path, features: str | Path, out: str | Path, *, force: bool = False
) -> Prediction:
    """Put every user of a features file in a tier; write the tiers CSV ``out``.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from netpersona.synth.devices import write_device_reports
    >>> work = Path(tempfile.mkdtemp())
    >>> _ = write_device_reports(work / 'may', users=60, month='2024-05', seed=2)
    >>> from netpersona.devices import extract_features
    >>> reports = work / 'may' / 'reports.jsonl.gz'
    >>> _ = extract_features(reports, '2024-05', out=work / 'features.csv')
    >>> _ = train_model(work / 'features.csv', work / 'may' / 'labels.csv', work / 'model')
    >>> prediction = predict_file(work / 'model', work / 'features.csv', work / 'tiers.csv')
    >>> prediction.table.column_names
    ['user', 'tier', 'p_vip', 'p_growth', 'p_ordinary', 'out_of_range']
    >>> sum(prediction.counts().values()) == prediction.table.num_rows
    True
    """
    table_format(out)
    check_writable(out, force)
    tier_model = TierModel.load(model)
    predictions = tier_model.predict(read_features(features))
    write_table_file(predictions, out, force=force)
    return Prediction(predictions, tier_model.tiers, Path(out))


def report_file(
    model: str | Path,
    features: str | Path,
    out: str | Path,
    *,
    tiers: str | Path | None = None,
    force: bool = False,
) -> Path:
    """Write the HTML report (+ PNGs) of a model on a features file.

    ``tiers``: a predictions CSV (:func:`predict_file`); predicted now when not given.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from netpersona.synth.devices import write_device_reports
    >>> work = Path(tempfile.mkdtemp())
    >>> _ = write_device_reports(work / 'may', users=60, month='2024-05', seed=2)
    >>> from netpersona.devices import extract_features
    >>> reports = work / 'may' / 'reports.jsonl.gz'
    >>> _ = extract_features(reports, '2024-05', out=work / 'features.csv')
    >>> _ = train_model(work / 'features.csv', work / 'may' / 'labels.csv', work / 'model')
    >>> report_file(work / 'model', work / 'features.csv', work / 'report.html').name
    'report.html'
    >>> sorted(p.name for p in work.glob('report*.png'))
    ['report_confusion.png', 'report_error.png', 'report_profiles.png', 'report_shares.png']
    """
    import pyarrow.csv as pacsv

    tier_model = TierModel.load(model)
    table = read_features(features)
    if tiers is None:
        predictions = tier_model.predict(table)
    else:
        types = {"user": pa.string(), "out_of_range": pa.string()}
        predictions = pacsv.read_csv(
            tiers, convert_options=pacsv.ConvertOptions(column_types=types)
        )
    return build_report(tier_model, table, predictions, out, force=force)
