"""Transfer (activation) functions of a layer, by their MATLAB names.

``logsig`` is the logistic sigmoid of paper B and of paper C's output layer, ``tansig`` the
hyperbolic tangent of paper C's hidden layer (MATLAB's formula ``2/(1+exp(-2n)) - 1``),
``purelin`` the identity, and ``softmax`` a modern option for an output layer only.

Each function is identified by a small integer code so the compiled training loop can branch on
it; derivatives are written in terms of the layer's *output* ``a``, as back-propagation uses them.
"""

from __future__ import annotations

import numpy as np

LOGSIG, TANSIG, PURELIN, SOFTMAX = 0, 1, 2, 3

TRANSFER_CODES: dict[str, int] = {
    "logsig": LOGSIG,
    "tansig": TANSIG,
    "purelin": PURELIN,
    "softmax": SOFTMAX,
}

#: Range of each function's output; ``None`` where unbounded.
OUTPUT_RANGE: dict[str, tuple[float, float] | None] = {
    "logsig": (0.0, 1.0),
    "tansig": (-1.0, 1.0),
    "purelin": None,
    "softmax": (0.0, 1.0),
}

#: Net-input interval where the function is not saturated (MATLAB's ``active`` range), used by
#: Nguyen-Widrow initialisation; ``None`` for the unbounded ones.
ACTIVE_RANGE: dict[str, tuple[float, float] | None] = {
    "logsig": (-4.0, 4.0),
    "tansig": (-2.0, 2.0),
    "purelin": None,
    "softmax": None,
}


def activate(name: str, net: np.ndarray) -> np.ndarray:
    """Output of transfer function ``name`` for net inputs ``net`` (last axis = neurons).

    A saturated neuron's ``exp`` overflows to infinity and the output lands exactly on the
    function's bound (0 or -1), so the overflow is expected and not warned about.
    """
    if name == "logsig":
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-net))
    if name == "tansig":
        with np.errstate(over="ignore"):
            return 2.0 / (1.0 + np.exp(-2.0 * net)) - 1.0
    if name == "purelin":
        return net.copy()
    if name == "softmax":
        shifted = np.exp(net - net.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)
    raise ValueError(f"unknown transfer function {name!r}; expected one of {list(TRANSFER_CODES)}")


def backprop_through(name: str, out: np.ndarray, grad_out: np.ndarray) -> np.ndarray:
    """Gradient with respect to the net input, given output ``out`` and gradient ``grad_out``.

    Element-wise functions multiply by their derivative; softmax applies its Jacobian
    ``diag(a) - a a^T`` row by row.
    """
    if name == "logsig":
        return grad_out * out * (1.0 - out)
    if name == "tansig":
        return grad_out * (1.0 - out * out)
    if name == "purelin":
        return grad_out.copy()
    if name == "softmax":
        return out * (grad_out - (out * grad_out).sum(axis=-1, keepdims=True))
    raise ValueError(f"unknown transfer function {name!r}; expected one of {list(TRANSFER_CODES)}")
