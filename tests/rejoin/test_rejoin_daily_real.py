"""A real log (GESIS web tracking, 10 panelists, 31 days) added one day at a time, in a
shuffled order, gives exactly the library of the whole log at once."""

from __future__ import annotations

import random

from _daily_data import MAPPING, canonical, oracle, write_log

from netpersona.engine import DuckDBEngine, Workspace
from netpersona.io import LogMapping, read_log
from netpersona.rejoin import Library
from shared_data import shared_file

GESIS = LogMapping(user_col="panelist_id", time_col="used_at", url_col=None, site_col="domain")


def test_a_real_log_day_by_day_equals_the_log_at_once(tmp_path):
    with DuckDBEngine(threads=1) as engine:
        read_log(shared_file("access_logs/gesis_web_tracking_urls.csv"), GESIS, engine, "log")
        table = engine.fetch_arrow("SELECT user_id, ts, site FROM log")
    rows = list(zip(*(table[c].to_pylist() for c in ("user_id", "ts", "site")), strict=True))
    assert len(rows) == 18_878
    days = sorted({r[1].date() for r in rows})
    random.Random(5).shuffle(days)
    workspace = tmp_path / "w.duckdb"
    for i, day in enumerate(days):
        batch = [r for r in rows if r[1].date() == day]
        Library.add_day(workspace, write_log(batch, tmp_path / f"d{i}.csv"), MAPPING)
    with Workspace.reader(workspace) as ws:
        got = canonical(ws, "library")
    want = oracle(rows)
    assert got == want
    assert len(want["users"]) == 10 and len(want["sites"]) == 579
    status = Library.status(workspace)
    assert status.days_held == len(days) and status.rows == len(rows)
