"""Where the real data lives (../shared/data), and skipping — never failing — when it is absent.

Import it as ``from shared_data import shared_file`` (``tests/`` is on pytest's pythonpath); a
module name of its own, because ``from conftest import ...`` is ambiguous once sub-folders have
their own conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def shared_file(relative: str) -> Path:
    """Path of a file under ../shared/data, or skip the test saying it is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real data file {path} is absent on this machine")
    return path
