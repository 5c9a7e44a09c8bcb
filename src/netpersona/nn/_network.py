"""A feed-forward network of weights and thresholds, stored as one flat parameter vector.

Layer ``l`` maps ``sizes[l]`` inputs to ``sizes[l+1]`` neurons: ``a = f(W a_prev + b)`` with
``W`` of shape ``(sizes[l+1], sizes[l])`` (MATLAB's orientation) and thresholds (biases) ``b``.
All weights and thresholds live in one vector ``theta`` (per layer: ``W`` row by row, then ``b``),
which is what the training algorithms update and what MATLAB calls ``X``.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import ThreadpoolController

from netpersona.nn._transfer import (
    ACTIVE_RANGE,
    OUTPUT_RANGE,
    TRANSFER_CODES,
    activate,
    backprop_through,
)

PERFORMANCES = ("sse", "mse")


@functools.cache
def _blas_controller() -> ThreadpoolController:
    """Found once per process: looking up the loaded BLAS libraries takes tens of ms."""
    return ThreadpoolController()


@contextmanager
def single_blas_thread() -> Iterator[None]:
    """Run the block's matrix products on one BLAS thread.

    A network's matrices are thin (samples x a few dozen neurons): BLAS threads cost more than
    they save there (4-7x slower on a busy 2-core machine, measured).
    """
    with _blas_controller().limit(limits=1, user_api="blas"):
        yield


@dataclass
class Network:
    """Layer sizes (inputs first), one transfer function per layer, and the parameters.

    >>> net = Network((2, 1), ('purelin',), np.array([1.0, 2.0, 0.5]))  # weights, then bias
    >>> net.predict(np.array([[1.0, 1.0], [0.0, 2.0]])).tolist()
    [[3.5], [4.5]]
    """

    sizes: tuple[int, ...]
    transfer: tuple[str, ...]
    theta: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        self.sizes = tuple(int(s) for s in self.sizes)
        self.transfer = tuple(self.transfer)
        if len(self.transfer) != len(self.sizes) - 1:
            raise ValueError(
                f"{len(self.sizes) - 1} layers need {len(self.sizes) - 1} transfer functions, "
                f"got {len(self.transfer)}: {self.transfer}"
            )
        self.theta = np.ascontiguousarray(self.theta, dtype=np.float64)
        if self.theta.shape != (n_parameters(self.sizes),):
            raise ValueError(
                f"a {'-'.join(map(str, self.sizes))} network has {n_parameters(self.sizes)} "
                f"parameters, got an array of shape {self.theta.shape}"
            )

    def at(self, theta: np.ndarray) -> Network:
        """The same network with parameters ``theta`` (a float64 vector of the right length,
        taken as it is: the training loops' trial points, checked once by the caller)."""
        trial = object.__new__(Network)
        trial.sizes, trial.transfer, trial.theta = self.sizes, self.transfer, theta
        return trial

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    def weights(self, layer: int) -> np.ndarray:
        """Weight matrix of ``layer`` (a view into ``theta``), shape ``(n_out, n_in)``."""
        start, n_out, n_in = _weight_slot(self.sizes, layer)
        return self.theta[start : start + n_out * n_in].reshape(n_out, n_in)

    def biases(self, layer: int) -> np.ndarray:
        """Thresholds of ``layer`` (a view into ``theta``)."""
        start, n_out, n_in = _weight_slot(self.sizes, layer)
        return self.theta[start + n_out * n_in : start + n_out * n_in + n_out]

    def layout(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Arrays the compiled loop needs: sizes, transfer codes, weight and activation offsets."""
        sizes = np.asarray(self.sizes, dtype=np.int64)
        codes = np.asarray([TRANSFER_CODES[t] for t in self.transfer], dtype=np.int64)
        w_off = np.asarray(
            [_weight_slot(self.sizes, layer)[0] for layer in range(self.n_layers)], dtype=np.int64
        )
        a_off = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        return sizes, codes, w_off, a_off

    def activations(self, X: np.ndarray) -> list[np.ndarray]:
        """Outputs of every layer for the rows of ``X``, the inputs first."""
        outs = [np.asarray(X, dtype=np.float64)]
        for layer in range(self.n_layers):
            net = outs[-1] @ self.weights(layer).T + self.biases(layer)
            outs.append(activate(self.transfer[layer], net))
        return outs

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Network outputs for the rows of ``X``, shape ``(n, sizes[-1])``."""
        return self.activations(X)[-1]

    def performance(self, X: np.ndarray, T: np.ndarray, kind: str) -> float:
        """Training error of the outputs against targets ``T`` (see :func:`performance`)."""
        return performance(T - self.predict(X), kind)

    def gradient(self, X: np.ndarray, T: np.ndarray, kind: str) -> tuple[float, np.ndarray]:
        """Performance and its gradient with respect to ``theta`` over the whole batch."""
        outs = self.activations(X)
        errors = T - outs[-1]
        grad_out = -errors * _performance_scale(errors, kind) * 2.0
        grad = np.empty_like(self.theta)
        for layer in range(self.n_layers - 1, -1, -1):
            g_net = backprop_through(self.transfer[layer], outs[layer + 1], grad_out)
            start, n_out, n_in = _weight_slot(self.sizes, layer)
            grad[start : start + n_out * n_in] = (g_net.T @ outs[layer]).ravel()
            grad[start + n_out * n_in : start + n_out * n_in + n_out] = g_net.sum(axis=0)
            grad_out = g_net @ self.weights(layer)
        return performance(errors, kind), grad


def performance(errors: np.ndarray, kind: str) -> float:
    """Training error of an error matrix ``targets - outputs``.

    ``sse``: half the summed squared error, ``E = 1/2 * sum (t - y)^2`` (paper B's error; note
    MATLAB's ``sse`` has no 1/2). ``mse``: mean squared error over all samples and outputs
    (MATLAB's ``mse``, paper C).

    >>> performance(np.array([[1.0, -1.0], [2.0, 0.0]]), 'sse')  # half the summed squares
    3.0
    >>> performance(np.array([[1.0, -1.0], [2.0, 0.0]]), 'mse')
    1.5
    """
    return float(_performance_scale(errors, kind) * np.sum(errors * errors))


def _performance_scale(errors: np.ndarray, kind: str) -> float:
    if kind == "sse":
        return 0.5
    if kind == "mse":
        return 1.0 / max(errors.size, 1)
    raise ValueError(f"unknown performance {kind!r}; expected one of {PERFORMANCES}")


@functools.cache
def n_parameters(sizes: tuple[int, ...]) -> int:
    """Number of weights and thresholds of a network with these layer sizes."""
    return sum(n_out * (n_in + 1) for n_in, n_out in itertools.pairwise(sizes))


@functools.cache
def _weight_slot(sizes: tuple[int, ...], layer: int) -> tuple[int, int, int]:
    start = n_parameters(sizes[: layer + 1])
    return start, sizes[layer + 1], sizes[layer]


def init_uniform(
    sizes: tuple[int, ...], transfer: tuple[str, ...], rng: np.random.Generator
) -> Network:
    """Every weight and threshold drawn from U[-1, 1] (paper B).

    >>> net = init_uniform((3, 8, 3), ('logsig', 'logsig'), np.random.default_rng(0))
    >>> net.sizes, net.theta.shape, bool(np.all(np.abs(net.theta) <= 1.0))
    ((3, 8, 3), (59,), True)
    """
    return Network(sizes, transfer, rng.uniform(-1.0, 1.0, n_parameters(sizes)))


def init_nguyen_widrow(
    sizes: tuple[int, ...],
    transfer: tuple[str, ...],
    rng: np.random.Generator,
    input_range: tuple[float, float] = (0.0, 1.0),
) -> Network:
    """Nguyen-Widrow initialisation as MATLAB's ``initnw``.

    Each layer's neurons get weight vectors of length ``0.7 * S^(1/R)`` in random directions and
    evenly spread thresholds, so their active regions tile the layer's input range. Layers whose
    function has no active range (purelin, softmax) get U[-1, 1] as ``initnw`` does.

    >>> net = init_nguyen_widrow((14, 29, 1), ('tansig', 'logsig'), np.random.default_rng(0))
    >>> net.weights(0).shape, net.biases(0).shape
    ((29, 14), (29,))
    """
    net = Network(sizes, transfer, np.zeros(n_parameters(sizes)))
    in_range = input_range
    for layer, name in enumerate(transfer):
        W, b = net.weights(layer), net.biases(layer)
        n_out, n_in = W.shape
        active = ACTIVE_RANGE[name]
        if active is None:
            W[:] = rng.uniform(-1.0, 1.0, W.shape)
            b[:] = rng.uniform(-1.0, 1.0, b.shape)
        else:
            magnitude = 0.7 * n_out ** (1.0 / n_in)
            w = rng.uniform(-1.0, 1.0, (n_out, n_in))
            w = magnitude * w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-300)
            if n_out == 1:
                bias = np.zeros(1)
            else:
                bias = magnitude * np.linspace(-1.0, 1.0, n_out) * np.sign(w[:, 0])
            half, mid = 0.5 * (active[1] - active[0]), 0.5 * (active[1] + active[0])
            w, bias = half * w, half * bias + mid
            lo, hi = in_range
            scale = 2.0 / (hi - lo)
            shift = 1.0 - hi * scale
            b[:] = w @ np.full(n_in, shift) + bias
            W[:] = w * scale
        in_range = OUTPUT_RANGE[name] or (-1.0, 1.0)
    return net
