"""Batch gradient descent as MATLAB's ``traingd``, ``traingdm`` and ``traingdx`` code runs it.

One update per epoch from the gradient over the whole training set (paper C trains with
``traingdx``). Written after the toolbox source (``traingdx.m`` version 6, 2008), not after its
help text, where the two disagree (see docs/nn.md):

- ``gX`` is the negative gradient of the performance; before the first epoch ``dX = lr * gX``.
- ``traingd``: ``X += lr * gX``.
- ``traingdm``: ``dX = mc * dX + (1 - mc) * lr * gX; X += dX``.
- ``traingdx``: the same momentum step is *tried*; if the new performance exceeds
  ``max_perf_inc`` times the old one the step is rejected, ``lr *= lr_dec`` and the momentum is
  reset (``dX = lr * gX``); otherwise it is accepted and, if the performance fell,
  ``lr *= lr_inc``.
- Before each epoch training stops when performance ``<= goal``, after ``epochs`` epochs, when
  the gradient norm ``<= min_grad``, or (with a validation set) after ``max_fail`` epochs in a
  row whose validation error was worse than the best so far. The weights returned are the best
  seen: lowest validation error with a validation set, else lowest training performance.
"""

from __future__ import annotations

import numpy as np

from netpersona._core import Progress
from netpersona.nn._network import Network, single_blas_thread
from netpersona.nn._train_online import TrainResult

ALGORITHMS = ("traingd", "traingdm", "traingdx")


def traingd(net: Network, X: np.ndarray, T: np.ndarray, **settings) -> TrainResult:
    """Batch gradient descent, ``X += lr * gX`` each epoch (MATLAB ``traingd``).

    >>> from netpersona.nn import init_uniform
    >>> X = np.linspace(0.0, 1.0, 11)[:, None]
    >>> net = init_uniform((1, 1), ('purelin',), np.random.default_rng(0))
    >>> result = traingd(net, X, 2.0 * X + 1.0, lr=0.5, goal=1e-8, epochs=5000)
    >>> result.converged, np.round(net.theta, 3).tolist()  # weight 2, bias 1
    (True, [2.0, 1.0])
    """
    return train_batch(net, X, T, algorithm="traingd", **settings)


def traingdm(net: Network, X: np.ndarray, T: np.ndarray, **settings) -> TrainResult:
    """Batch gradient descent with momentum ``mc`` (MATLAB ``traingdm``).

    >>> from netpersona.nn import init_uniform
    >>> X = np.linspace(0.0, 1.0, 11)[:, None]
    >>> net = init_uniform((1, 1), ('purelin',), np.random.default_rng(0))
    >>> result = traingdm(net, X, 2.0 * X + 1.0, lr=0.1, mc=0.9, goal=1e-8, epochs=5000)
    >>> result.converged, np.round(net.theta, 3).tolist()
    (True, [2.0, 1.0])
    """
    return train_batch(net, X, T, algorithm="traingdm", **settings)


def traingdx(net: Network, X: np.ndarray, T: np.ndarray, **settings) -> TrainResult:
    """Momentum and adaptive learning rate with step rejection (MATLAB ``traingdx``).

    >>> from netpersona.nn import init_nguyen_widrow
    >>> X = np.linspace(0.0, 1.0, 21)[:, None]
    >>> T = 0.2 + 0.6 * X  # a straight line inside logsig's range
    >>> net = init_nguyen_widrow((1, 3, 1), ('tansig', 'logsig'), np.random.default_rng(0))
    >>> result = traingdx(net, X, T, goal=1e-4, epochs=5000, performance_kind='mse')
    >>> result.converged, result.stop_reason
    (True, 'goal')
    """
    return train_batch(net, X, T, algorithm="traingdx", **settings)


def train_batch(
    net: Network,
    X: np.ndarray,
    T: np.ndarray,
    *,
    algorithm: str = "traingdx",
    lr: float = 0.01,
    goal: float = 0.0,
    epochs: int = 1000,
    performance_kind: str = "mse",
    mc: float = 0.9,
    lr_inc: float = 1.05,
    lr_dec: float = 0.7,
    max_perf_inc: float = 1.04,
    min_grad: float = 1e-5,
    max_fail: int = 6,
    X_val: np.ndarray | None = None,
    T_val: np.ndarray | None = None,
    progress: Progress | None = None,
) -> TrainResult:
    """Train ``net`` in place with one of :data:`ALGORITHMS`; see the module doc.

    ``progress`` is told about every epoch.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown batch algorithm {algorithm!r}; expected one of {ALGORITHMS}")
    # a diverging run overflows on its way to inf/NaN; it is detected and reported instead
    with single_blas_thread(), np.errstate(over="ignore", invalid="ignore"):
        return _train_batch(
            net, X, T, algorithm, lr, goal, epochs, performance_kind, mc, lr_inc, lr_dec,
            max_perf_inc, min_grad, max_fail, X_val, T_val, progress,
        )  # fmt: skip


def _train_batch(
    net, X, T, algorithm, lr, goal, epochs, performance_kind, mc, lr_inc, lr_dec, max_perf_inc,
    min_grad, max_fail, X_val, T_val, progress,
) -> TrainResult:  # fmt: skip
    has_val = X_val is not None and len(X_val) > 0
    perf, grad = net.gradient(X, T, performance_kind)
    gX = -grad
    best_theta, best_perf = net.theta.copy(), perf
    best_vperf = net.performance(X_val, T_val, performance_kind) if has_val else 0.0
    val_fail = 0
    history: dict[str, list] = {"error": [], "lr": [], "accepted": []}
    if has_val:
        history["validation_error"] = []
    dX = lr * gX
    stop = "epochs"
    label = f"training {'-'.join(map(str, net.sizes))} {algorithm}"
    for epoch in (progress or Progress()).track(range(epochs + 1), label, total=epochs + 1):
        if perf <= goal:
            stop = "goal"
        elif epoch == epochs:
            stop = "epochs"
        elif float(np.sqrt(gX @ gX)) <= min_grad:
            stop = "min_grad"
        elif has_val and val_fail >= max_fail:
            stop = "validation"
        else:
            stop = ""
        if stop:
            break
        step_lr, accepted = lr, True
        momentum = 0.0 if algorithm == "traingd" else mc
        dX = momentum * dX + (1.0 - momentum) * lr * gX
        # one forward and backward pass at the trial point: its gradient is needed if accepted
        trial = net.at(net.theta + dX)
        perf2, grad2 = trial.gradient(X, T, performance_kind)
        if algorithm == "traingdx" and perf2 > max_perf_inc * perf:
            lr *= lr_dec
            dX = lr * gX
            accepted = False
        else:
            if algorithm == "traingdx" and perf2 < perf:
                lr *= lr_inc
            net.theta[:] = trial.theta
            perf, gX = perf2, -grad2
            if not np.isfinite(perf):
                stop = "diverged"
                break
        history["error"].append(perf)
        history["lr"].append(step_lr)
        history["accepted"].append(accepted)
        if has_val:
            vperf = net.performance(X_val, T_val, performance_kind)
            history["validation_error"].append(vperf)
            if vperf < best_vperf:
                best_theta[:], best_perf, best_vperf, val_fail = net.theta, perf, vperf, 0
            elif vperf > best_vperf:
                val_fail += 1
        elif perf < best_perf:
            best_theta[:], best_perf = net.theta, perf
    converged = stop == "goal"
    net.theta[:] = best_theta
    return TrainResult(len(history["error"]), converged, stop, history)
