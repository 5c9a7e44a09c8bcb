"""``BPClassifier`` and ``BPRegressor``: back-propagation networks as scikit-learn estimators.

Inputs are min-max scaled (``input_range``, fitted on the training data and stored with the
model). The classifier codes labels one-hot in the order of ``classes_`` (the sorted labels:
(1,0,0) for the first, ...); the regressor scales its targets into the output function's range
(a ``logsig`` output learns targets in [0, 1], never [-1, 1]) and maps predictions back to the
original units.

``lr``, ``goal``, ``epochs`` and ``performance`` left at ``None`` take the algorithm's own
defaults: per-sample gradient descent's for ``online`` (0.9, 0.001, 10000, ``sse``) and
MATLAB's for the batch algorithms (0.01, 0, 1000, ``mse``). The networks of the papers are
configured in their domains (``devices.paper_b_network()``, ``customers.paper_c_network()``).
"""

from __future__ import annotations

import numbers
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from netpersona._core import Progress
from netpersona.nn._checks import check_number as _check_number
from netpersona.nn._checks import check_whole as _check_whole
from netpersona.nn._network import (
    PERFORMANCES,
    Network,
    init_nguyen_widrow,
    init_uniform,
    single_blas_thread,
)
from netpersona.nn._scaling import MinMaxScaling
from netpersona.nn._train_batch import ALGORITHMS as BATCH_ALGORITHMS
from netpersona.nn._train_batch import train_batch
from netpersona.nn._train_online import train_online
from netpersona.nn._transfer import OUTPUT_RANGE, TRANSFER_CODES

ALGORITHMS = ("online", *BATCH_ALGORITHMS)
INITS = ("uniform", "nguyen-widrow")

#: Defaults that depend on the algorithm: paper B for online, MATLAB for the batch ones.
ALGORITHM_DEFAULTS = {
    "online": {"lr": 0.9, "goal": 0.001, "epochs": 10000, "performance": "sse"},
    "batch": {"lr": 0.01, "goal": 0.0, "epochs": 1000, "performance": "mse"},
}


class _BPNetwork(BaseEstimator):
    """Parameters, validation, training and persistence shared by both estimators."""

    def __init__(
        self,
        hidden=(8,),
        transfer=("logsig", "logsig"),
        algorithm="online",
        lr=None,
        goal=None,
        epochs=None,
        performance=None,
        init="uniform",
        shuffle=False,
        input_range=(0.0, 1.0),
        mc=0.9,
        lr_inc=1.05,
        lr_dec=0.7,
        max_perf_inc=1.04,
        min_grad=1e-5,
        max_fail=6,
        validation_fraction=0.0,
        random_state=None,
        engine="auto",
    ):
        self.hidden = hidden
        self.transfer = transfer
        self.algorithm = algorithm
        self.lr = lr
        self.goal = goal
        self.epochs = epochs
        self.performance = performance
        self.init = init
        self.shuffle = shuffle
        self.input_range = input_range
        self.mc = mc
        self.lr_inc = lr_inc
        self.lr_dec = lr_dec
        self.max_perf_inc = max_perf_inc
        self.min_grad = min_grad
        self.max_fail = max_fail
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.engine = engine

    # -- settings ------------------------------------------------------------------------------
    def _settings(self) -> dict:
        """The parameters after validation, with algorithm defaults filled in."""
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm={self.algorithm!r} unknown; expected one of {ALGORITHMS}")
        defaults = ALGORITHM_DEFAULTS["online" if self.algorithm == "online" else "batch"]
        resolved = {
            k: defaults[k] if getattr(self, k) is None else getattr(self, k) for k in defaults
        }
        hidden = (self.hidden,) if isinstance(self.hidden, numbers.Integral) else tuple(self.hidden)
        if any(not isinstance(h, numbers.Integral) or h < 1 for h in hidden):
            raise ValueError(f"hidden={self.hidden!r}: expected positive layer sizes, e.g. (8,)")
        transfer = (self.transfer,) if isinstance(self.transfer, str) else tuple(self.transfer)
        if len(transfer) != len(hidden) + 1:
            raise ValueError(
                f"transfer={self.transfer!r} names {len(transfer)} functions but the network has "
                f"{len(hidden) + 1} layers (hidden={hidden} plus the output): give one per layer"
            )
        for i, name in enumerate(transfer):
            if name not in TRANSFER_CODES:
                raise ValueError(f"transfer function {name!r} unknown; use {list(TRANSFER_CODES)}")
            if name == "softmax" and i < len(hidden):
                raise ValueError("softmax is allowed for the output layer only")
        if resolved["performance"] not in PERFORMANCES:
            raise ValueError(f"performance={resolved['performance']!r}; use one of {PERFORMANCES}")
        if self.init not in INITS:
            raise ValueError(f"init={self.init!r} is unknown; expected one of {INITS}")
        _check_number("lr", resolved["lr"], low=0.0, low_open=True)
        _check_number("goal", resolved["goal"], low=0.0)
        _check_whole("epochs", resolved["epochs"], low=1)
        _check_number("mc", self.mc, low=0.0, high=1.0)
        _check_number("lr_inc", self.lr_inc, low=1.0)
        _check_number("lr_dec", self.lr_dec, low=0.0, high=1.0)
        _check_number("max_perf_inc", self.max_perf_inc, low=1.0)
        _check_number("min_grad", self.min_grad, low=0.0)
        _check_whole("max_fail", self.max_fail, low=1)
        _check_number("validation_fraction", self.validation_fraction, low=0.0, high=1.0)
        if self.validation_fraction >= 1.0:
            raise ValueError("validation_fraction must be below 1: some samples must train")
        if self.engine not in ("auto", "numba", "numpy"):
            raise ValueError(f"engine={self.engine!r}; expected 'auto', 'numba' or 'numpy'")
        lo, hi = (float(v) for v in self.input_range)
        return {**resolved, "hidden": hidden, "transfer": transfer, "input_range": (lo, hi)}

    # -- training ------------------------------------------------------------------------------
    def _train(self, X: np.ndarray, T: np.ndarray, settings: dict, progress) -> None:
        """Scale inputs, split off validation rows, initialise and train the network."""
        rng = _generator(self.random_state)
        self.input_scaling_ = MinMaxScaling.fit(X, settings["input_range"])
        self.input_min_ = self.input_scaling_.data_min.copy()
        self.input_max_ = self.input_scaling_.data_max.copy()
        Xs = self.input_scaling_.transform(X)
        train_rows, val_rows = _split(len(Xs), self.validation_fraction, rng)
        sizes = (X.shape[1], *settings["hidden"], T.shape[1])
        if self.init == "uniform":
            net = init_uniform(sizes, settings["transfer"], rng)
        else:
            net = init_nguyen_widrow(sizes, settings["transfer"], rng, settings["input_range"])
        common = {
            "lr": float(settings["lr"]),
            "goal": float(settings["goal"]),
            "epochs": int(settings["epochs"]),
            "performance_kind": settings["performance"],
            "max_fail": int(self.max_fail),
            "X_val": Xs[val_rows] if len(val_rows) else None,
            "T_val": T[val_rows] if len(val_rows) else None,
            "progress": progress,
        }
        X_train, T_train = Xs[train_rows], T[train_rows]
        if self.algorithm == "online":
            result = train_online(
                net, X_train, T_train, shuffle=bool(self.shuffle), rng=rng, engine=self.engine,
                **common,
            )  # fmt: skip
        else:
            result = train_batch(
                net, X_train, T_train, algorithm=self.algorithm, mc=float(self.mc),
                lr_inc=float(self.lr_inc), lr_dec=float(self.lr_dec),
                max_perf_inc=float(self.max_perf_inc), min_grad=float(self.min_grad), **common,
            )  # fmt: skip
        if not np.all(np.isfinite(net.theta)):
            raise ValueError(
                f"training diverged: the weights became infinite or NaN after {result.n_epochs} "
                f"epochs with lr={settings['lr']}; use a smaller learning rate"
            )
        self._set_network(net)
        self.history_ = result.history
        self.n_epochs_ = result.n_epochs
        self.converged_ = result.converged
        self.stop_reason_ = result.stop_reason

    def _set_network(self, net: Network) -> None:
        self.network_ = net
        self.weights_ = [net.weights(layer) for layer in range(net.n_layers)]
        self.biases_ = [net.biases(layer) for layer in range(net.n_layers)]

    def _raw_outputs(self, X) -> np.ndarray:
        """Network outputs (in the output function's range) for raw inputs ``X``."""
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        with single_blas_thread():
            return self.network_.predict(self.input_scaling_.transform(X))

    # -- persistence ---------------------------------------------------------------------------
    def save(self, path: str | Path, force: bool = False) -> Path:
        """Write the fitted model to the folder ``path`` (``model.json`` + ``arrays.npz``).

        Written atomically; an existing ``path`` is replaced only with ``force=True``. No pickle.
        """
        from netpersona.nn._persist import save_model

        return save_model(self, path, force=force)

    @classmethod
    def load(cls, path: str | Path):
        """Read a model written by :meth:`save`; it must be of this estimator's class."""
        from netpersona.nn._persist import load_model

        return load_model(path, expected=cls)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


_PARAMETERS = """
    Parameters
    ----------
    hidden : tuple of int, default (8,)
        Hidden layer sizes (paper B: 8; paper C: 29 = 2m + 1, see ``hidden_size_rules``).
    transfer : tuple of str, default ("logsig", "logsig")
        One transfer function per layer, hidden layers then output: ``logsig``, ``tansig``,
        ``purelin``, or ``softmax`` (output only).
    algorithm : {"online", "traingd", "traingdm", "traingdx"}, default "online"
        Per-sample gradient descent (paper B) or MATLAB's batch algorithms (paper C: traingdx).
    lr, goal, epochs : float, float, int, default None
        Learning rate, error goal and epoch limit; None takes the algorithm's default
        (online: 0.9, 0.001, 10000; batch: 0.01, 0, 1000).
    performance : {"sse", "mse"}, default None
        ``sse`` is half the summed squared error (paper B), ``mse`` the mean squared error
        (MATLAB); None: ``sse`` for online, ``mse`` for the batch algorithms.
    init : {"uniform", "nguyen-widrow"}, default "uniform"
        U[-1, 1] weights and thresholds (paper B) or MATLAB's ``initnw``.
    shuffle : bool, default False
        online: reshuffle the samples every epoch instead of presenting them in order.
    input_range : (float, float), default (0.0, 1.0)
        Interval the inputs are min-max scaled into (``mapminmax``), fitted on training data.
    mc, lr_inc, lr_dec, max_perf_inc, min_grad, max_fail : MATLAB's traingdx settings
        Defaults 0.9, 1.05, 0.7, 1.04, 1e-5, 6 (``max_fail`` also stops online training
        early when a validation share is held out).
    validation_fraction : float, default 0.0
        Share of the training rows held out (at random) for early stopping.
    random_state : int, numpy Generator or None
        Seed of the initial weights, the shuffling and the validation split.
    engine : {"auto", "numba", "numpy"}, default "auto"
        Implementation of the online loop; the two give the same numbers to rounding.

    Attributes
    ----------
    network_ : Network
        Layer sizes, transfer functions and the trained weights and thresholds
        (``weights_`` / ``biases_`` list them per layer).
    history_ : dict of lists
        Per epoch: ``error``, ``lr``, ``accepted`` (and ``validation_error``).
    n_epochs_, converged_, stop_reason_ : int, bool, str
        Epochs run; whether the goal was met; why training stopped.
    input_min_, input_max_ : ndarray
        Per-feature training range (to flag inputs outside it).
"""


class BPClassifier(ClassifierMixin, _BPNetwork):
    """Back-propagation network classifier with one-hot output coding (paper B).

    ``predict_proba`` normalises the raw outputs (mapped to [0, 1]) so each row sums to 1; with a
    ``softmax`` output they are already probabilities.

    >>> import numpy as np
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 5, dtype=float)
    >>> y = np.array(["no", "yes", "yes", "no"] * 5)
    >>> clf = BPClassifier(hidden=(4,), epochs=3000, random_state=3).fit(X, y)
    >>> clf.predict(X[:4]).tolist()
    ['no', 'yes', 'yes', 'no']
    """

    def fit(self, X, y, *, progress: Progress | None = None):
        """Train on inputs ``X`` (n, m) and labels ``y`` (n,) of any sortable type.

        ``progress`` (the command line passes a ``RichProgress``) shows the
        epochs as they run; silent by default.
        """
        settings = self._settings()
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=False)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        lo, hi = _target_range(settings["transfer"][-1])
        T = np.full((len(y), len(self.classes_)), lo)
        T[np.arange(len(y)), codes] = hi
        self._train(X, T, settings, progress)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Raw outputs normalised per row, columns in ``classes_`` order."""
        out = self._raw_outputs(X)
        lo, hi = _target_range(self.network_.transfer[-1])
        out = np.clip((out - lo) / (hi - lo), 0.0, None)
        total = out.sum(axis=1, keepdims=True)
        uniform = np.full_like(out, 1.0 / out.shape[1])
        return np.where(total > 0, out / np.where(total > 0, total, 1.0), uniform)

    def predict(self, X) -> np.ndarray:
        """The label whose output neuron is largest."""
        winners = np.argmax(self._raw_outputs(X), axis=1)
        return self.classes_[winners]


BPClassifier.__doc__ = (
    f"{BPClassifier.__doc__}{_PARAMETERS}    classes_ : ndarray\n"
    "        Labels, in output-neuron order.\n"
)


class BPRegressor(RegressorMixin, _BPNetwork):
    """Back-propagation network regressor (paper C: 14-29-1, tansig/logsig, traingdx).

    Targets are min-max scaled into the output function's range ([0, 1] for logsig, [-1, 1]
    for tansig and purelin) and predictions mapped back.

    >>> import numpy as np
    >>> X = np.linspace(0.0, 1.0, 30)[:, None]
    >>> reg = BPRegressor(hidden=(5,), transfer=('tansig', 'logsig'), algorithm='traingdx',
    ...                   goal=1e-4, epochs=5000, random_state=0)
    >>> reg = reg.fit(X, 10.0 + 5.0 * X.ravel())  # targets scaled into logsig's range and back
    >>> bool(np.allclose(reg.predict(X[[0, -1]]), [10.0, 15.0], atol=0.2)), reg.converged_
    (True, True)
    """

    def fit(self, X, y, *, progress: Progress | None = None):
        """Train on inputs ``X`` (n, m) and numeric targets ``y`` (n,) or (n, k).

        ``progress`` shows the epochs as they run; silent by default.
        """
        settings = self._settings()
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True, multi_output=True)
        y = np.asarray(y, dtype=np.float64)
        self._y_1d = y.ndim == 1
        Y = y.reshape(len(y), -1)
        self.target_scaling_ = MinMaxScaling.fit(Y, _target_range(settings["transfer"][-1]))
        self._train(X, self.target_scaling_.transform(Y), settings, progress)
        return self

    def predict(self, X) -> np.ndarray:
        """Predictions in the targets' original units."""
        raw = self._raw_outputs(X)
        out = self.target_scaling_.inverse(raw)
        return out[:, 0] if self._y_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


BPRegressor.__doc__ = (
    f"{BPRegressor.__doc__}{_PARAMETERS}    target_scaling_ : MinMaxScaling\n"
    "        Training range of the targets and the interval they were scaled into.\n"
)


def _target_range(output_transfer: str) -> tuple[float, float]:
    """Targets the output layer can reach: [0, 1] for logsig/softmax, else [-1, 1]."""
    bounds = OUTPUT_RANGE[output_transfer]
    return bounds if bounds is not None else (-1.0, 1.0)


def _generator(random_state) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    return np.random.default_rng(random_state)


def _split(n: int, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation row indices; the validation rows are drawn at random."""
    n_val = min(round(fraction * n), n - 1) if fraction > 0 else 0
    if n_val <= 0:
        return np.arange(n), np.arange(0)
    perm = rng.permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])
