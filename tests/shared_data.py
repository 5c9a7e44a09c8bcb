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


def postgres_or_skip():
    """(URL, autocommit psycopg connection) of the server in ``NETPERSONA_TEST_POSTGRES_URL``,
    or skip the test saying why (unset, psycopg missing, unreachable)."""
    import os

    url = os.environ.get("NETPERSONA_TEST_POSTGRES_URL")
    if not url:
        pytest.skip(
            "NETPERSONA_TEST_POSTGRES_URL is unset: start a server with "
            "`bash .ci/postgres.sh` and export the URL it prints"
        )
    psycopg = pytest.importorskip("psycopg")
    try:
        return url, psycopg.connect(url, connect_timeout=5, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL at NETPERSONA_TEST_POSTGRES_URL is unreachable: {exc}")
