"""``online``: per-sample gradient descent, paper B's training rule.

For each training sample in turn (in order, or reshuffled every epoch): forward pass, error
``e = t - y``, deltas back through the layers, then every weight moves by ``lr * delta * input``
and every threshold by ``lr * delta`` (the gradient of the sample's ``1/2 * sum e^2``). The
epoch's error is the sum over the epoch of each sample's error measured just before its update
(the error the procedure compares with the allowable error as it goes), summarised as
``sse`` (half the summed squared error, paper B) or ``mse``. Training stops when that error is
``<= goal`` or after ``epochs`` epochs, or (with a validation set) after ``max_fail`` epochs in
a row without a new best validation error, returning the best weights.

The per-sample loop is compiled with numba (compilation cached on disk). Without numba, or with
the environment variable ``NETPERSONA_NO_NUMBA=1`` (or ``engine="numpy"``), a NumPy loop that
performs the same arithmetic runs instead; the two agree to rounding (tested to 1e-12).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from netpersona._core import Progress
from netpersona.nn._network import Network, performance
from netpersona.nn._transfer import (
    LOGSIG,
    SOFTMAX,
    TANSIG,
    TRANSFER_CODES,
    activate,
    backprop_through,
)

NO_NUMBA_VARIABLE = "NETPERSONA_NO_NUMBA"


def _numba_refused() -> bool:
    return os.environ.get(NO_NUMBA_VARIABLE, "").lower() in ("1", "true", "yes")


try:  # numba is a dependency, but the engine must still work where it cannot be imported
    if _numba_refused():
        raise ImportError(f"{NO_NUMBA_VARIABLE} is set")
    from numba import njit

    HAVE_NUMBA = True
except ImportError:
    HAVE_NUMBA = False

    def njit(*args, **kwargs):
        return (lambda f: f) if not args or not callable(args[0]) else args[0]


#: Epochs handed to the compiled loop per call (the shuffled orders of one chunk are drawn at
#: once); fixed, so that results do not depend on the engine.
CHUNK_EPOCHS = 256

STOP_NONE, STOP_GOAL, STOP_VALIDATION, STOP_DIVERGED = 0, 1, 2, 3


@dataclass
class TrainResult:
    """What a training run did: epochs run, why it stopped, and the per-epoch history.

    >>> TrainResult(n_epochs=864, converged=True, stop_reason='goal').stop_reason
    'goal'
    """

    n_epochs: int
    converged: bool
    stop_reason: str
    history: dict[str, list] = field(default_factory=dict)


def numba_enabled() -> bool:
    """Whether the compiled loop is used (numba importable and ``NETPERSONA_NO_NUMBA`` unset).

    >>> isinstance(numba_enabled(), bool)
    True
    """
    return HAVE_NUMBA and not _numba_refused()


def train_online(
    net: Network,
    X: np.ndarray,
    T: np.ndarray,
    *,
    lr: float = 0.9,
    goal: float = 0.001,
    epochs: int = 10000,
    performance_kind: str = "sse",
    shuffle: bool = False,
    rng: np.random.Generator | None = None,
    X_val: np.ndarray | None = None,
    T_val: np.ndarray | None = None,
    max_fail: int = 6,
    engine: str = "auto",
    progress: Progress | None = None,
) -> TrainResult:
    """Train ``net`` in place by per-sample gradient descent (paper B); see the module doc.

    ``engine`` is ``"auto"`` (numba when available), ``"numba"`` or ``"numpy"``. ``progress``
    is told about each chunk of :data:`CHUNK_EPOCHS` epochs.

    >>> from netpersona.nn import init_uniform
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> T = np.array([[0.0], [1.0], [1.0], [1.0]])  # OR
    >>> net = init_uniform((2, 3, 1), ('logsig', 'logsig'), np.random.default_rng(1))
    >>> result = train_online(net, X, T, lr=0.9, goal=0.01, epochs=20000)
    >>> result.converged, bool(net.performance(X, T, 'sse') <= 0.01)
    (True, True)
    >>> (net.predict(X) > 0.5).ravel().tolist()
    [False, True, True, True]
    """
    if engine == "auto":
        engine = "numba" if numba_enabled() else "numpy"
    if engine == "numba" and not HAVE_NUMBA:
        raise RuntimeError("engine='numba' was asked for but numba cannot be imported")
    epoch_kernel = _online_epochs if engine == "numba" else _online_epochs_numpy
    rng = rng if rng is not None else np.random.default_rng()
    X = np.ascontiguousarray(X, dtype=np.float64)
    T = np.ascontiguousarray(T, dtype=np.float64)
    n, k = T.shape
    scale = 0.5 if performance_kind == "sse" else 1.0 / max(n * k, 1)
    has_val = X_val is not None and len(X_val) > 0
    Xv = np.ascontiguousarray(X_val if has_val else np.empty((0, X.shape[1])), dtype=np.float64)
    Tv = np.ascontiguousarray(T_val if has_val else np.empty((0, k)), dtype=np.float64)
    val_scale = 0.5 if performance_kind == "sse" else 1.0 / max(Tv.size, 1)
    sizes, codes, w_off, a_off = net.layout()
    acts = np.zeros(int(a_off[-1]))
    deltas = np.zeros(int(a_off[-1]))
    best_theta = net.theta.copy()
    # state: best validation error, failures in a row since the best
    state = np.array([performance(Tv - net.predict(Xv), performance_kind) if has_val else 0.0, 0])
    errors = np.zeros(CHUNK_EPOCHS)
    val_errors = np.zeros(CHUNK_EPOCHS)
    history: dict[str, list] = {"error": [], "lr": [], "accepted": []}
    if has_val:
        history["validation_error"] = []
    done, stop = 0, STOP_NONE
    base_order = np.arange(n, dtype=np.int64)
    n_chunks = -(-epochs // CHUNK_EPOCHS)
    chunks = (progress or Progress()).track(
        range(n_chunks), f"training {'-'.join(map(str, net.sizes))} online", total=n_chunks
    )
    for _ in chunks:
        if stop != STOP_NONE:
            break
        chunk = min(CHUNK_EPOCHS, epochs - done)
        if shuffle:
            order = rng.permuted(np.tile(base_order, (chunk, 1)), axis=1)
        else:
            order = base_order[None, :]
        # plain Python scalars of fixed types: one compiled signature, cached once
        ran, stop = epoch_kernel(
            net.theta, sizes, codes, w_off, a_off, X, T, order, bool(shuffle), int(chunk),
            float(lr), float(scale), float(goal), Xv, Tv, float(val_scale), int(max_fail),
            best_theta, state, errors, val_errors, acts, deltas,
        )  # fmt: skip
        done += ran
        history["error"].extend(errors[:ran].tolist())
        if has_val:
            history["validation_error"].extend(val_errors[:ran].tolist())
    history["lr"] = [float(lr)] * done
    history["accepted"] = [True] * done
    if stop == STOP_VALIDATION:
        net.theta[:] = best_theta
    reasons = {STOP_GOAL: "goal", STOP_VALIDATION: "validation", STOP_DIVERGED: "diverged"}
    reason = reasons.get(stop, "epochs")
    return TrainResult(done, stop == STOP_GOAL, reason, history)


@njit(cache=True, inline="always", error_model="numpy")
def _forward(theta, sizes, codes, w_off, a_off, x, acts):  # pragma: no cover - compiled
    """Forward pass of one sample; fills ``acts`` (all layers' outputs, inputs first)."""
    for i in range(sizes[0]):
        acts[i] = x[i]
    n_layers = sizes.shape[0] - 1
    for layer in range(n_layers):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        w0, ai, ao, code = w_off[layer], a_off[layer], a_off[layer + 1], codes[layer]
        b0 = w0 + n_out * n_in
        for j in range(n_out):
            acc = theta[b0 + j]
            row = w0 + j * n_in
            for i in range(n_in):
                acc += theta[row + i] * acts[ai + i]
            if code == LOGSIG:
                acc = 1.0 / (1.0 + math.exp(-acc))
            elif code == TANSIG:
                acc = 2.0 / (1.0 + math.exp(-2.0 * acc)) - 1.0
            acts[ao + j] = acc
        if code == SOFTMAX:
            top = acts[ao]
            for j in range(1, n_out):
                top = max(top, acts[ao + j])
            total = 0.0
            for j in range(n_out):
                acts[ao + j] = math.exp(acts[ao + j] - top)
                total += acts[ao + j]
            for j in range(n_out):
                acts[ao + j] /= total


@njit(cache=True, inline="always", error_model="numpy")
def _slope(code, a):  # pragma: no cover - compiled
    """Derivative of an element-wise transfer function, from its output."""
    if code == LOGSIG:
        return a * (1.0 - a)
    if code == TANSIG:
        return 1.0 - a * a
    return 1.0


@njit(cache=True, inline="always", error_model="numpy")
def _sample_update(theta, sizes, codes, w_off, a_off, x, t, lr, acts, deltas):  # pragma: no cover
    """One per-sample step; returns the sample's summed squared error before the step."""
    _forward(theta, sizes, codes, w_off, a_off, x, acts)
    n_layers = sizes.shape[0] - 1
    k, ao, code = sizes[n_layers], a_off[n_layers], codes[n_layers - 1]
    sq = 0.0
    weighted = 0.0
    for j in range(k):
        e = t[j] - acts[ao + j]
        sq += e * e
        deltas[ao + j] = e
        weighted += acts[ao + j] * e
    for j in range(k):
        if code == SOFTMAX:
            deltas[ao + j] = acts[ao + j] * (deltas[ao + j] - weighted)
        else:
            deltas[ao + j] *= _slope(code, acts[ao + j])
    for layer in range(n_layers - 1, 0, -1):  # deltas of hidden layers, with the old weights
        n_in, n_out = sizes[layer], sizes[layer + 1]
        w0, ai, ao = w_off[layer], a_off[layer], a_off[layer + 1]
        hidden_code = codes[layer - 1]
        for i in range(n_in):
            acc = 0.0
            for j in range(n_out):
                acc += theta[w0 + j * n_in + i] * deltas[ao + j]
            deltas[ai + i] = acc * _slope(hidden_code, acts[ai + i])
    for layer in range(n_layers):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        w0, ai, ao = w_off[layer], a_off[layer], a_off[layer + 1]
        b0 = w0 + n_out * n_in
        for j in range(n_out):
            step = lr * deltas[ao + j]
            row = w0 + j * n_in
            for i in range(n_in):
                theta[row + i] += step * acts[ai + i]
            theta[b0 + j] += step
    return sq


@njit(cache=True, error_model="numpy")
def _epoch_verdict(epoch, errors, val_errors, has_val, goal, max_fail, theta, best_theta, state):
    """After an epoch: keep the best weights by validation error, and say whether to stop."""
    if has_val:
        if val_errors[epoch] < state[0]:
            state[0] = val_errors[epoch]
            state[1] = 0.0
            best_theta[:] = theta
        elif val_errors[epoch] > state[0]:
            state[1] += 1.0
    if errors[epoch] <= goal:
        return STOP_GOAL
    if not np.isfinite(errors[epoch]):
        return STOP_DIVERGED
    if has_val and state[1] >= max_fail:
        return STOP_VALIDATION
    return STOP_NONE


@njit(cache=True, error_model="numpy")
def _online_epochs(
    theta, sizes, codes, w_off, a_off, X, T, order, shuffled, n_epochs, lr, scale, goal,
    Xv, Tv, val_scale, max_fail, best_theta, state, errors, val_errors, acts, deltas,
):  # fmt: skip  # pragma: no cover - compiled
    """Up to ``n_epochs`` online epochs; returns (epochs run, stop code)."""
    n_layers = sizes.shape[0] - 1
    ao, k = a_off[n_layers], sizes[n_layers]
    for epoch in range(n_epochs):
        row = order[epoch] if shuffled else order[0]
        total = 0.0
        for s in range(row.shape[0]):
            idx = row[s]
            total += _sample_update(theta, sizes, codes, w_off, a_off, X[idx], T[idx], lr, acts,
                                    deltas)  # fmt: skip
        errors[epoch] = total * scale
        if Xv.shape[0] > 0:
            vsum = 0.0
            for s in range(Xv.shape[0]):
                _forward(theta, sizes, codes, w_off, a_off, Xv[s], acts)
                for j in range(k):
                    e = Tv[s, j] - acts[ao + j]
                    vsum += e * e
            val_errors[epoch] = vsum * val_scale
        stop = _epoch_verdict(epoch, errors, val_errors, Xv.shape[0] > 0, goal, max_fail, theta,
                              best_theta, state)  # fmt: skip
        if stop != STOP_NONE:
            return epoch + 1, stop
    return n_epochs, STOP_NONE


def _online_epochs_numpy(
    theta, sizes, codes, w_off, a_off, X, T, order, shuffled, n_epochs, lr, scale, goal,
    Xv, Tv, val_scale, max_fail, best_theta, state, errors, val_errors, acts, deltas,
):  # fmt: skip
    """The same epochs as :func:`_online_epochs`, with NumPy operations per layer."""
    names = {code: name for name, code in TRANSFER_CODES.items()}
    net = Network(tuple(sizes), tuple(names[int(c)] for c in codes), theta.copy())
    net.theta = theta  # share the caller's parameter vector: updates land in place
    Ws = [net.weights(layer) for layer in range(net.n_layers)]
    bs = [net.biases(layer) for layer in range(net.n_layers)]

    for epoch in range(n_epochs):
        row = order[epoch] if shuffled else order[0]
        total = 0.0
        for idx in row:
            outs = [X[idx]]
            for layer in range(net.n_layers):
                outs.append(activate(net.transfer[layer], Ws[layer] @ outs[-1] + bs[layer]))
            err = T[idx] - outs[-1]
            total += float(err @ err)
            grad = err
            steps = []
            for layer in range(net.n_layers - 1, -1, -1):
                delta = backprop_through(net.transfer[layer], outs[layer + 1], grad)
                steps.append((layer, delta))
                grad = Ws[layer].T @ delta
            for layer, delta in steps:
                Ws[layer] += lr * np.outer(delta, outs[layer])
                bs[layer] += lr * delta
        errors[epoch] = total * scale
        if Xv.shape[0] > 0:
            val_errors[epoch] = val_scale * float(np.sum((Tv - net.predict(Xv)) ** 2))
        stop = _epoch_verdict(epoch, errors, val_errors, Xv.shape[0] > 0, goal, max_fail, theta,
                              best_theta, state)  # fmt: skip
        if stop != STOP_NONE:
            return epoch + 1, stop
    return n_epochs, STOP_NONE
