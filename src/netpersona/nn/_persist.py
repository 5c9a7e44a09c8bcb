"""Saving and loading fitted networks: a folder with ``model.json`` and ``arrays.npz``. No pickle.

``model.json`` holds the format name and version, the estimator class, its parameters, the
layer sizes and transfer functions, the labels, and the SHA-256 of ``arrays.npz``; the arrays
(weights and thresholds, scaling ranges, training history) are read with ``allow_pickle=False``.
A file from a newer format version, a damaged file or a checksum mismatch raises
:class:`netpersona.ModelFormatError` saying what is wrong and what to do.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from netpersona._core import ModelFormatError, atomic_output
from netpersona._version import __version__
from netpersona.nn._network import Network
from netpersona.nn._scaling import MinMaxScaling

FORMAT = "netpersona.nn"
FORMAT_VERSION = 1
META_FILE, ARRAYS_FILE = "model.json", "arrays.npz"


def save_model(model, path: str | Path, force: bool = False) -> Path:
    """Write fitted ``model`` (a BPClassifier or BPRegressor) to the folder ``path``."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "network_")
    path = Path(path)
    arrays = {
        "theta": model.network_.theta,
        "input_min": model.input_scaling_.data_min,
        "input_max": model.input_scaling_.data_max,
        **{f"history_{k}": np.asarray(v) for k, v in model.history_.items()},
    }
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "written_by": f"netpersona {__version__}",
        "estimator": type(model).__name__,
        "params": _json_params(model.get_params()),
        "sizes": list(model.network_.sizes),
        "transfer": list(model.network_.transfer),
        "input_range": [model.input_scaling_.lo, model.input_scaling_.hi],
        "n_features_in": int(model.n_features_in_),
        "n_epochs": int(model.n_epochs_),
        "converged": bool(model.converged_),
        "stop_reason": model.stop_reason_,
        "history_keys": sorted(model.history_),
    }
    if hasattr(model, "feature_names_in_"):
        meta["feature_names_in"] = [str(n) for n in model.feature_names_in_]
    if hasattr(model, "classes_"):
        meta["classes"] = _classes_to_json(model.classes_)
    if hasattr(model, "target_scaling_"):
        arrays["target_min"] = model.target_scaling_.data_min
        arrays["target_max"] = model.target_scaling_.data_max
        meta["target_range"] = [model.target_scaling_.lo, model.target_scaling_.hi]
        meta["target_1d"] = bool(model._y_1d)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    blob = buffer.getvalue()
    meta["arrays_sha256"] = hashlib.sha256(blob).hexdigest()
    with atomic_output(path, force=force, directory=True) as tmp:
        (tmp / ARRAYS_FILE).write_bytes(blob)
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return path


def load_model(path: str | Path, expected: type | None = None):
    """Read a model folder written by :func:`save_model`; returns the estimator it holds.

    ``path`` may be the folder or its ``model.json``. With ``expected``, the saved estimator
    must be of that class.

    >>> import tempfile
    >>> import numpy as np
    >>> from netpersona.nn import BPClassifier
    >>> X, y = np.array([[0.0], [1.0]] * 4), np.array(['low', 'high'] * 4)
    >>> clf = BPClassifier(hidden=(2,), epochs=500, random_state=0).fit(X, y)
    >>> folder = tempfile.mkdtemp() + '/model'
    >>> _ = clf.save(folder)
    >>> again = load_model(folder, expected=BPClassifier)
    >>> again.predict(X[:2]).tolist() == clf.predict(X[:2]).tolist(), again.classes_.tolist()
    (True, ['high', 'low'])
    """
    from netpersona.nn._estimators import BPClassifier, BPRegressor

    path = Path(path)
    folder = path.parent if path.name == META_FILE else path
    meta = _read_meta(folder)
    classes = {"BPClassifier": BPClassifier, "BPRegressor": BPRegressor}
    cls = classes.get(meta.get("estimator"))
    if cls is None:
        raise ModelFormatError(
            f"{folder / META_FILE}: estimator {meta.get('estimator')!r} is not one of "
            f"{sorted(classes)}; the file is not a netpersona network"
        )
    if expected is not None and cls is not expected:
        raise ModelFormatError(
            f"{folder} holds a {cls.__name__}, not a {expected.__name__}; "
            f"load it with {cls.__name__}.load or netpersona.nn.load_model"
        )
    arrays = _read_arrays(folder, meta)
    try:
        model = cls(**_params_from_json(meta["params"]))
        model._set_network(Network(tuple(meta["sizes"]), tuple(meta["transfer"]), arrays["theta"]))
        lo, hi = meta["input_range"]
        model.input_scaling_ = MinMaxScaling(arrays["input_min"], arrays["input_max"], lo, hi)
        model.input_min_ = arrays["input_min"].copy()
        model.input_max_ = arrays["input_max"].copy()
        model.n_features_in_ = int(meta["n_features_in"])
        if "feature_names_in" in meta:
            model.feature_names_in_ = np.asarray(meta["feature_names_in"], dtype=object)
        model.n_epochs_ = int(meta["n_epochs"])
        model.converged_ = bool(meta["converged"])
        model.stop_reason_ = str(meta["stop_reason"])
        model.history_ = {k: arrays[f"history_{k}"].tolist() for k in meta["history_keys"]}
        if cls is BPClassifier:
            model.classes_ = _classes_from_json(meta["classes"])
        else:
            lo, hi = meta["target_range"]
            model.target_scaling_ = MinMaxScaling(
                arrays["target_min"], arrays["target_max"], lo, hi
            )
            model._y_1d = bool(meta["target_1d"])
        if model.input_min_.shape != (model.n_features_in_,) or model.network_.sizes[0] != (
            model.n_features_in_
        ):
            raise ValueError("input scaling does not match the network's input size")
    except (KeyError, ValueError, TypeError) as exc:
        raise ModelFormatError(
            f"{folder}: the saved model is incomplete or inconsistent ({exc!s}); "
            "re-train and save it again"
        ) from exc
    return model


def _read_meta(folder: Path) -> dict:
    meta_path = folder / META_FILE
    if not meta_path.is_file():
        raise ModelFormatError(
            f"{folder}: no {META_FILE} there; expected a folder written by BPClassifier.save "
            "or BPRegressor.save"
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{meta_path}: not valid JSON ({exc}); the file is corrupt") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFormatError(f"{meta_path}: not a {FORMAT} model file (no 'format': '{FORMAT}')")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFormatError(f"{meta_path}: format_version {version!r} is not a valid version")
    if version > FORMAT_VERSION:
        raise ModelFormatError(
            f"{meta_path}: written in model format {version} by {meta.get('written_by')}, but "
            f"this netpersona {__version__} reads format {FORMAT_VERSION} and older; "
            "upgrade netpersona to load it"
        )
    return meta


def _read_arrays(folder: Path, meta: dict) -> dict[str, np.ndarray]:
    arrays_path = folder / ARRAYS_FILE
    try:
        blob = arrays_path.read_bytes()
    except OSError as exc:
        raise ModelFormatError(f"{arrays_path}: cannot be read ({exc})") from exc
    if hashlib.sha256(blob).hexdigest() != meta.get("arrays_sha256"):
        raise ModelFormatError(
            f"{arrays_path}: checksum does not match {META_FILE}; the arrays are corrupt or "
            "belong to another model"
        )
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise ModelFormatError(f"{arrays_path}: not a readable .npz file ({exc})") from exc


def _json_params(params: dict) -> dict:
    out = {}
    for key, value in params.items():
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, np.integer | np.floating):
            value = value.item()
        elif not isinstance(value, str | int | float | bool | list | type(None)):
            value = None  # a RandomState or Generator instance: the fit is stored, not the stream
        out[key] = value
    return out


def _params_from_json(params: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}


def _classes_to_json(classes: np.ndarray) -> dict:
    values = classes.tolist()
    kinds = {type(v).__name__ for v in values}
    if not kinds <= {"str", "int", "float", "bool"}:
        raise TypeError(f"labels of types {sorted(kinds)} cannot be saved; use str or numbers")
    return {"dtype": classes.dtype.str if classes.dtype != object else "object", "values": values}


def _classes_from_json(spec: dict) -> np.ndarray:
    dtype = object if spec["dtype"] == "object" else np.dtype(spec["dtype"])
    return np.asarray(spec["values"], dtype=dtype)
