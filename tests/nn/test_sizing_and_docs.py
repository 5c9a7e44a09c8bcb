"""Hidden-size rules of thumb, and every docstring example in netpersona.nn run as a test."""

from __future__ import annotations

import doctest
import importlib
import math
import pkgutil

import pytest

import netpersona.nn
from netpersona.nn import (
    hidden_geometric,
    hidden_kolmogorov,
    hidden_log2,
    hidden_size_rules,
    hidden_sqrt_sum,
)


def test_paper_values():
    assert hidden_kolmogorov(14) == 29  # paper C: 14 inputs -> 29 hidden
    assert hidden_sqrt_sum(3, 3, a=1) == math.ceil(math.sqrt(6) + 1) == 4
    assert hidden_sqrt_sum(3, 3, a=10) == 13
    low, high = hidden_size_rules(3, 3)["sqrt(m+n)+a"]
    assert (low, high) == (4, 13) and low <= 8 <= high  # paper B's 8 hidden neurons fit the rule
    assert hidden_geometric(3, 3) == 3 and hidden_geometric(14, 1) == 4
    assert hidden_log2(14) == 4 and hidden_log2(1) == 1
    assert hidden_size_rules(14, 1) == {
        "sqrt(m+n)+a": (5, 14), "sqrt(m*n)": 4, "log2(m)": 4, "2m+1": 29,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: hidden_sqrt_sum(3, 3, a=0), "between 1 and 10"),
        (lambda: hidden_sqrt_sum(3, 3, a=11), "between 1 and 10"),
        (lambda: hidden_geometric(0, 3), "at least one input"),
        (lambda: hidden_log2(0), "at least one input"),
    ],
)
def test_nonsense_sizes_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def _modules():
    for info in pkgutil.iter_modules(netpersona.nn.__path__):
        yield importlib.import_module(f"netpersona.nn.{info.name}")


@pytest.mark.parametrize("module", list(_modules()), ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failures == 0
