"""Fixtures for the io tests."""

from __future__ import annotations

import pytest

from netpersona.engine import DuckDBEngine


@pytest.fixture
def engine():
    """A fresh in-memory DuckDB engine."""
    with DuckDBEngine(threads=2) as engine:
        yield engine
