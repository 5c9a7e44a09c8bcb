"""Tiny logs for the docstring examples: habitual users with sites and hours of their own."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from netpersona.engine import DuckDBEngine, Engine


def example_log(users: str = "abcdef", days: int = 9, prefix: str = "") -> pa.Table:
    """A canonical log (``user_id, ts, site``): each user visits three sites of their own in
    25 minutes of two hours of their own, every day."""
    rows: dict[str, list] = {"user_id": [], "ts": [], "site": []}
    for i, user in enumerate(users):
        for day in range(1, days + 1):
            for hour in (6 + 2 * i, 7 + 2 * i):
                for minute in range(25):
                    rows["user_id"].append(prefix + user)
                    rows["ts"].append(dt.datetime(2024, 1, day, hour, minute))
                    rows["site"].append(f"{user}{minute % 3}.com")
    return pa.table(
        {
            "user_id": pa.array(rows["user_id"], pa.string()),
            "ts": pa.array(rows["ts"], pa.timestamp("us")),
            "site": pa.array(rows["site"], pa.string()),
        }
    )


def example_engine() -> Engine:
    """An in-memory engine with ``library_log`` (users a-f, 9 days), ``query_log`` (user a
    back as ``new_a``, and a stranger ``new_z``) and ``log`` (users a-f, 9 days, for the
    protocol)."""
    engine = DuckDBEngine(threads=1)
    engine.register_arrow("_library", example_log())
    engine.create_table("library_log", "SELECT * FROM _library")
    engine.create_table("log", "SELECT * FROM _library")
    engine.register_arrow("_queries", example_log("az", days=3, prefix="new_"))
    engine.create_table("query_log", "SELECT * FROM _queries")
    engine.execute("DROP VIEW _library")
    engine.execute("DROP VIEW _queries")
    return engine
