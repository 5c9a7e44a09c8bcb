"""Saving and loading: JSON + .npz, a format version, clear errors, never pickle."""

from __future__ import annotations

import json

import numpy as np
import pytest

from netpersona import ModelFormatError, OutputExistsError
from netpersona.nn import FORMAT_VERSION, BPClassifier, BPRegressor, load_model


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 5, (60, 3))
    labels = np.array(["vip", "growth", "ordinary"])[np.digitize(X.sum(axis=1), [6, 9])]
    return X, labels, X @ np.array([1.0, -2.0, 0.5])


@pytest.mark.parametrize(
    "labels",
    [None, np.array([3, 1, 2]), np.array(["a", "b", "c"], dtype=object), np.array([1, 0, 1], bool)],
)
def test_classifier_round_trip_gives_identical_predictions(tmp_path, data, labels):
    X, y, _ = data
    if labels is not None:
        y = labels[np.searchsorted(np.unique(y), y)] if labels.dtype != bool else y == "vip"
    clf = BPClassifier(epochs=40, random_state=0).fit(X, y)
    clf.save(tmp_path / "m")
    back = BPClassifier.load(tmp_path / "m")
    np.testing.assert_array_equal(back.predict(X), clf.predict(X))
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert back.classes_.dtype == clf.classes_.dtype
    assert back.get_params() == clf.get_params()
    assert back.history_ == clf.history_
    assert (back.n_epochs_, back.converged_, back.stop_reason_) == (
        clf.n_epochs_, clf.converged_, clf.stop_reason_,
    )  # fmt: skip
    np.testing.assert_array_equal(back.input_min_, clf.input_min_)


def test_regressor_round_trip_and_load_model_picks_the_class(tmp_path, data):
    X, _, target = data
    reg = BPRegressor(hidden=(5,), transfer=("tansig", "logsig"), algorithm="traingdx",
                      validation_fraction=0.2, epochs=100, random_state=0)  # fmt: skip
    reg.fit(X, target)
    reg.save(tmp_path / "r")
    back = load_model(tmp_path / "r" / "model.json")
    assert isinstance(back, BPRegressor)
    np.testing.assert_array_equal(back.predict(X), reg.predict(X))
    assert back.history_["validation_error"] == reg.history_["validation_error"]
    with pytest.raises(ModelFormatError, match="holds a BPRegressor, not a BPClassifier"):
        BPClassifier.load(tmp_path / "r")


def test_feature_names_survive(tmp_path, data):
    pd = pytest.importorskip("pandas")
    X, y, _ = data
    frame = pd.DataFrame(X, columns=["avgontime", "avguseflow", "buycounts"])
    clf = BPClassifier(epochs=5, random_state=0).fit(frame, y)
    clf.save(tmp_path / "m")
    assert BPClassifier.load(tmp_path / "m").feature_names_in_.tolist() == list(frame.columns)


def test_saving_never_overwrites_without_force_and_never_pickles(tmp_path, data):
    X, y, _ = data
    clf = BPClassifier(epochs=5, random_state=0).fit(X, y)
    clf.save(tmp_path / "m")
    with pytest.raises(OutputExistsError):
        clf.save(tmp_path / "m")
    clf.save(tmp_path / "m", force=True)
    with np.load(tmp_path / "m" / "arrays.npz", allow_pickle=False) as npz:
        assert all(npz[name].dtype != object for name in npz.files)
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["format_version"] == FORMAT_VERSION and meta["estimator"] == "BPClassifier"


def test_unfitted_model_cannot_be_saved(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        BPClassifier().save(tmp_path / "m")


@pytest.fixture
def saved(tmp_path, data):
    X, y, _ = data
    BPClassifier(epochs=5, random_state=0).fit(X, y).save(tmp_path / "m")
    return tmp_path / "m"


def _edit_meta(folder, **changes):
    meta = json.loads((folder / "model.json").read_text())
    meta.update(changes)
    (folder / "model.json").write_text(json.dumps(meta))


def test_newer_format_asks_for_an_upgrade(saved):
    _edit_meta(saved, format_version=FORMAT_VERSION + 1)
    with pytest.raises(ModelFormatError, match="upgrade netpersona"):
        load_model(saved)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: (f / "model.json").write_text("{not json"), "not valid JSON"),
        (lambda f: (f / "model.json").unlink(), "no model.json"),
        (lambda f: _edit_meta(f, format="something.else"), "not a netpersona.nn model"),
        (lambda f: _edit_meta(f, format_version="1"), "not a valid version"),
        (lambda f: _edit_meta(f, estimator="MLPClassifier"), "not one of"),
        (lambda f: (f / "arrays.npz").write_bytes(b"PK\x03\x04 broken"), "checksum"),
        (lambda f: (f / "arrays.npz").unlink(), "cannot be read"),
        (lambda f: _edit_meta(f, sizes=[3, 9, 3]), "incomplete or inconsistent"),
        (lambda f: _edit_meta(f, n_features_in=4), "incomplete or inconsistent"),
    ],
)
def test_corrupt_files_raise_model_format_error(saved, damage, message):
    damage(saved)
    with pytest.raises(ModelFormatError, match=message):
        load_model(saved)


def test_unreadable_npz_with_matching_checksum_is_reported(saved):
    import hashlib

    blob = b"PK\x03\x04 not really a zip file"
    (saved / "arrays.npz").write_bytes(blob)
    _edit_meta(saved, arrays_sha256=hashlib.sha256(blob).hexdigest())
    with pytest.raises(ModelFormatError, match=r"not a readable \.npz"):
        load_model(saved)
