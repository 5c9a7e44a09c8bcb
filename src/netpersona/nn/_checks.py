"""The estimators' parameter checks: a clear ValueError naming the parameter and its range."""

from __future__ import annotations

import numbers

import numpy as np


def check_number(name, value, low=None, high=None, low_open=False) -> None:
    """Raise ValueError unless ``value`` is a finite real number in the given bounds.

    >>> check_number("lr", 0.9, low=0.0, low_open=True)
    >>> check_number("lr", 0.0, low=0.0, low_open=True)
    Traceback (most recent call last):
    ValueError: lr=0.0: expected a number > 0.0
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        lo = "" if low is None else f"{'>' if low_open else '>='} {low}"
        hi = "" if high is None else f"<= {high}"
        raise ValueError(
            f"{name}={value!r}: expected a number {' and '.join(filter(None, [lo, hi]))}"
        )


def check_whole(name, value, low) -> None:
    """Raise ValueError unless ``value`` is a whole number (not a bool) of at least ``low``."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name}={value!r}: expected a whole number >= {low}")
