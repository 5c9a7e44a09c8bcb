"""Shared fixtures: where the real data lives, and skipping (never failing) when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared_data import SHARED_DATA, shared_file

__all__ = ["SHARED_DATA", "shared_file"]


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"real data folder {SHARED_DATA} is absent on this machine")
    return SHARED_DATA
