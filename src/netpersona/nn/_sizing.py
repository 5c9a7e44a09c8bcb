"""Rules of thumb for the number of hidden neurons, as the two papers quote them.

``m`` is the number of inputs, ``n`` the number of outputs. Paper B quotes
``sqrt(m + n) + a`` (``a`` a constant from 1 to 10), ``sqrt(m * n)`` and ``log2(m)``; paper C
uses Kolmogorov's ``2m + 1`` (14 inputs -> 29 hidden). Each rule is rounded up to a whole neuron,
at least 1.
"""

from __future__ import annotations

import math


def hidden_sqrt_sum(n_inputs: int, n_outputs: int, a: int = 1) -> int:
    """``sqrt(m + n) + a`` with ``a`` in 1..10 (paper B).

    >>> hidden_sqrt_sum(3, 3)
    4
    >>> hidden_sqrt_sum(3, 3, a=10)
    13
    """
    _check(n_inputs, n_outputs)
    if not 1 <= a <= 10:
        raise ValueError(f"a={a}: the rule takes a constant between 1 and 10")
    return max(1, math.ceil(math.sqrt(n_inputs + n_outputs) + a))


def hidden_geometric(n_inputs: int, n_outputs: int) -> int:
    """``sqrt(m * n)``, the geometric mean of the input and output counts (paper B).

    >>> hidden_geometric(14, 1)
    4
    """
    _check(n_inputs, n_outputs)
    return max(1, math.ceil(math.sqrt(n_inputs * n_outputs)))


def hidden_log2(n_inputs: int) -> int:
    """``log2(m)`` (paper B).

    >>> hidden_log2(3)
    2
    """
    _check(n_inputs, 1)
    return max(1, math.ceil(math.log2(n_inputs)))


def hidden_kolmogorov(n_inputs: int) -> int:
    """``2m + 1`` (Kolmogorov's theorem, paper C).

    >>> hidden_kolmogorov(14)  # paper C's 14-29-1
    29
    """
    _check(n_inputs, 1)
    return 2 * n_inputs + 1


def hidden_size_rules(n_inputs: int, n_outputs: int) -> dict[str, int | tuple[int, int]]:
    """Every rule for an ``m``-input, ``n``-output network; ``sqrt(m+n)+a`` as its range over a.

    >>> hidden_size_rules(3, 3)
    {'sqrt(m+n)+a': (4, 13), 'sqrt(m*n)': 3, 'log2(m)': 2, '2m+1': 7}
    >>> hidden_size_rules(14, 1)['2m+1']
    29
    """
    return {
        "sqrt(m+n)+a": (
            hidden_sqrt_sum(n_inputs, n_outputs, 1),
            hidden_sqrt_sum(n_inputs, n_outputs, 10),
        ),
        "sqrt(m*n)": hidden_geometric(n_inputs, n_outputs),
        "log2(m)": hidden_log2(n_inputs),
        "2m+1": hidden_kolmogorov(n_inputs),
    }


def _check(n_inputs: int, n_outputs: int) -> None:
    if n_inputs < 1 or n_outputs < 1:
        raise ValueError(f"need at least one input and one output, got m={n_inputs}, n={n_outputs}")
