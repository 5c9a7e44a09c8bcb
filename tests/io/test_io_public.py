"""The io package's public surface, as other packages and users import it."""

from __future__ import annotations

import netpersona.io as io
from netpersona.engine import DuckDBEngine, Workspace


def test_public_names_are_listed_and_importable():
    assert io.__all__ == sorted(io.__all__)
    assert {"LogMapping", "ReadSummary", "read_access_log", "summarise_log"} <= set(io.__all__)
    for name in io.__all__:
        assert getattr(io, name) is not None
    assert issubclass(Workspace, DuckDBEngine)
