"""Helpers of the daily-operation tests: profiles by user id and site string (not codes), the
all-at-once oracle (step 1's direct path), logs written as CSV files and links applied by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from netpersona.engine import DuckDBEngine, Engine
from netpersona.io import LogMapping
from netpersona.rejoin import RejoinSettings, build_profiles

MAPPING = LogMapping(site_col="site", url_col=None)
SCHEMA = pa.schema([("user_id", pa.string()), ("ts", pa.timestamp("us")), ("site", pa.string())])


def canonical(engine: Engine, name: str) -> dict:
    """Every part of profile set ``name``, keyed by user id and site string."""

    def rows(sql: str) -> list[dict]:
        return engine.fetch_arrow(sql).to_pylist()

    t = {
        p: f"{name}_{p}" for p in ("users", "sites", "frequent", "hours", "site_hours", "sequences")
    }
    users = {r["uid"]: r["user_id"] for r in rows(f"SELECT uid, user_id FROM {t['users']}")}
    sites = {r["site_id"]: r["site"] for r in rows(f"SELECT site_id, site FROM {t['sites']}")}
    return {
        # codes follow the alphabet in both paths: equal codes are part of the contract
        "codes": (sorted(users.items()), sorted(sites.items())),
        "users": {
            r["user_id"]: (r["online_days"], r["first_ts"], r["last_ts"])
            for r in rows(f"SELECT * FROM {t['users']}")
        },
        "sites": {r["site"]: r["n_users"] for r in rows(f"SELECT * FROM {t['sites']}")},
        "frequent": {
            (users[r["uid"]], sites[r["site_id"]]): r["days"]
            for r in rows(f"SELECT * FROM {t['frequent']}")
        },
        "hours": {
            (users[r["uid"]], r["hour"]): r["days"] for r in rows(f"SELECT * FROM {t['hours']}")
        },
        "site_hours": {
            (users[r["uid"]], sites[r["site_id"]], r["hour"]): r["days"]
            for r in rows(f"SELECT * FROM {t['site_hours']}")
        },
        "sequences": {
            users[r["uid"]]: [sites[i] for i in r["items"]]
            for r in rows(f"SELECT * FROM {t['sequences']}")
        },
    }


def oracle(rows: list[tuple], settings: RejoinSettings = RejoinSettings()) -> dict:
    """Step 1 on ``rows`` (user, ts, site) at once, by the direct path, as :func:`canonical`."""
    with DuckDBEngine(threads=1) as engine:
        engine.register_arrow("_all", as_table(rows))
        engine.create_table("all_log", "SELECT * FROM _all")
        build_profiles(engine, "all_log", "oracle", settings)
        return canonical(engine, "oracle")


def as_table(rows: list[tuple]) -> pa.Table:
    users, ts, sites = zip(*rows, strict=True) if rows else ((), (), ())
    return pa.table([list(users), list(ts), list(sites)], schema=SCHEMA)


def write_log(rows: list[tuple], path: Path) -> Path:
    pacsv.write_csv(as_table(rows), path)
    return path


def in_window(rows: list[tuple], window: int | None) -> list[tuple]:
    """The rows of the last ``window`` days (ending on the latest day)."""
    if window is None or not rows:
        return list(rows)
    end = max(r[1].date() for r in rows)
    start = end - dt.timedelta(days=window - 1)
    return [r for r in rows if r[1].date() >= start]


def linked(rows: list[tuple], links: list[tuple[str, str, dt.date]]) -> list[tuple]:
    """Rows with the links applied: ``new``'s rows on days >= ``day`` are ``old``'s (chains)."""
    by_new: dict[str, list[tuple[dt.date, str]]] = {}
    for old, new, day in sorted(links, key=lambda link: link[2]):
        by_new.setdefault(new, []).append((day, old))

    def resolve(user: str, day: dt.date) -> str:
        seen = {user}
        while True:
            earlier = [old for start, old in by_new.get(user, []) if start <= day]
            if not earlier or earlier[-1] in seen:
                return user
            user = earlier[-1]
            seen.add(user)

    return [(resolve(u, ts.date()), ts, s) for u, ts, s in rows]


def add_links(workspace: Path, links: list[tuple[str, str, dt.date]]) -> None:
    """Record identity links in the workspace, as the links writer would (table schema of the
    shared decision), in a build of their own."""
    from netpersona.engine import Workspace

    with Workspace.rebuild(workspace, what="test links") as ws:
        ws.execute(
            "CREATE TABLE IF NOT EXISTS rejoin_links (old_user VARCHAR, new_user VARCHAR, "
            "day DATE, score DOUBLE, method VARCHAR, recorded_at TIMESTAMP)"
        )
        for old, new, day in links:
            ws.con.execute(
                "INSERT INTO rejoin_links VALUES (?, ?, ?, 1.0, 'test', now())", [old, new, day]
            ).fetchall()
