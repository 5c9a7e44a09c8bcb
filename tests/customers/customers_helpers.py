"""Helpers for the customer-value tests: paths of the real data, small indicator systems.

(Not imported from ``conftest``: several test folders have a conftest.py, and which one
``import conftest`` finds depends on collection order.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT.parent / "shared" / "data"
MARKETING_SYSTEM = ROOT / "examples" / "customers" / "marketing_campaign.toml"


def shared_file(relative: str) -> Path:
    """Path of a file under ../shared/data, or skip the test saying it is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real data file {path} is absent on this machine")
    return path


SYSTEM_HEAD = """
[system]
name = "t"
target = "Customer value"
{extra}

[current_value]
recency = "r"
frequency = "f"
monetary = "m"

[[dimensions]]
name = "current"

[[indicators]]
name = "r"
dimension = "current"
column = "days"
[indicators.score]
method = "thresholds"
thresholds = [8, 31, 91, 181]
reverse = true

[[indicators]]
name = "f"
dimension = "current"
column = "buys"
[indicators.score]
method = "quantile"

[[indicators]]
name = "m"
dimension = "current"
column = "spend"
on_null = "{m_null}"
[indicators.score]
method = "quantile"
"""


def system_writer(tmp_path):
    """A function writing a three-indicator system (R, F, M) plus ``more`` TOML; it returns
    the file's path."""

    def write(more: str = "", extra: str = "", m_null: str = "fail", name: str = "sys.toml"):
        path = tmp_path / name
        path.write_text(SYSTEM_HEAD.format(extra=extra, m_null=m_null) + more)
        return path

    return write
