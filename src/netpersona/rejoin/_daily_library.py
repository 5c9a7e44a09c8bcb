"""The library file's tables, written from the daily store (``W.store``) into the next state
of the workspace file (attached as ``catalog``) after the store's batch has committed.

The profile parts readers load whole (users, sites, frequent sites, hour vectors, per-site hour
vectors) are small: they are written again from the running sums (:mod:`._daily_sums`) and the
per-(user, day) rows of the window. The item sequences, the largest part, are kept **per day**
(``library_items_YYYYMMDD``: each user's item list of that day, as stable site ids), so a day
added writes one such table and drops those of the days that left the window. The
``library_sequences`` the readers query is a view joining them when read: each user's days in
order, a day's first item dropped where it repeats the last item of the user's previous day
(``library_item_skips``), the stable ids recoded to the window's alphabetical site codes
(``library_site_lookup``); ``library_sequence_lengths`` holds their lengths, so loading the
library does not join every sequence to count it. The requests per (user, site, day, hour)
that the learned matcher's activity features count are kept per day the same way
(``library_events_YYYYMMDD``, view ``library_window_events``), so it never reads the raw rows,
which only the store holds.
"""

from __future__ import annotations

import datetime as dt
import json
import time

import pyarrow as pa

from netpersona.engine import Engine
from netpersona.rejoin._daily import APPLIED, LIBRARY_LOG, mapped_rows
from netpersona.rejoin._daily_sql import PARTIALS, date_literal
from netpersona.rejoin._daily_sums import SITE_IDS, SUM_CELLS, SUM_SITES, since
from netpersona.rejoin._settings import RejoinSettings

LIBRARY = "library"
ITEMS = "library_items"  # the empty base of the view; days are ITEMS_YYYYMMDD
EVENTS = "library_events"  # the same for the requests per (user, site, day, hour)
#: the library file's own tables besides step 1's parts
EXTRA = ("site_lookup", "item_skips", "sequence_lengths", "events")
#: the view of the window's requests per (user, site, day, hour) the learned matcher reads
WINDOW_EVENTS = f"{LIBRARY}_window_events"


def day_table(day: dt.date, base: str = ITEMS) -> str:
    """The library file's table of day ``day``'s item lists (or requests: ``base``), a name
    made from a date only."""
    return f"{base}_{day:%Y%m%d}"


def _tables(ws: Engine, catalog: str) -> set[str]:
    return set(
        ws.fetch_arrow(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = "
            f"'{catalog}' AND schema_name = 'main'"
        )
        .column("table_name")
        .to_pylist()
    )


def held_day_tables(ws: Engine, catalog: str, base: str = ITEMS) -> dict[dt.date, str]:
    """The per-day item (or request: ``base``) tables the library file holds, by day."""
    out = {}
    for name in _tables(ws, catalog):
        stamp = name.removeprefix(f"{base}_")
        if name.startswith(f"{base}_") and stamp.isdigit() and len(stamp) == 8:
            out[dt.datetime.strptime(stamp, "%Y%m%d").date()] = name
    return out


def write_library(
    ws: Engine,
    catalog: str,
    settings: RejoinSettings,
    start: dt.date | None,
    new_days: list[dt.date] | None,
    log_table: str,
) -> tuple[int, int]:
    """Write the library of the window from ``start`` into ``catalog``: every part again from
    the sums and day rows, the per-day item tables of ``new_days`` only (``None``: every day
    of the window again); day tables outside the window dropped. Returns (users, sites)."""
    began = time.perf_counter()
    lib = f"{catalog}.main"
    window = since(start)
    needed = max(int(settings.active_minutes), 1)
    ws.execute(
        f"""CREATE OR REPLACE TEMP TABLE _rejoin_uc AS
        SELECT CAST(row_number() OVER (ORDER BY user_id) - 1 AS INTEGER) AS uid, user_id,
            online_days, first_ts, last_ts
        FROM (SELECT user_id, CAST(count(*) AS INTEGER) AS online_days,
                min(first_ts) AS first_ts, max(last_ts) AS last_ts
              FROM {PARTIALS["days"]} WHERE {window} GROUP BY user_id) AS w"""
    )
    ws.execute(
        f"""CREATE OR REPLACE TEMP TABLE _rejoin_codes AS
        SELECT n.sid, CAST(row_number() OVER (ORDER BY r.site) - 1 AS INTEGER) AS site_id,
            r.site, n.n_users
        FROM (SELECT sid, CAST(count(*) AS INTEGER) AS n_users FROM {SUM_SITES}
              GROUP BY sid) AS n JOIN {SITE_IDS} AS r ON r.sid = n.sid"""
    )
    parts = {
        "users": "SELECT uid, user_id, online_days, first_ts, last_ts FROM _rejoin_uc",
        "sites": "SELECT site_id, site, n_users FROM _rejoin_codes",
        "frequent": f"""SELECT u.uid, c.site_id, a.days FROM {SUM_SITES} AS a
            JOIN _rejoin_uc AS u ON u.user_id = a.user_id JOIN _rejoin_codes AS c ON c.sid = a.sid
            WHERE a.days >= {settings.frequent_ratio!r} * u.online_days - 1e-9""",
        "hours": f"""SELECT u.uid, m.hour, CAST(count(*) AS INTEGER) AS days
            FROM {PARTIALS["minutes"]} AS m JOIN _rejoin_uc AS u ON u.user_id = m.user_id
            WHERE {since(start, "m.day")} AND m.minutes >= {needed} GROUP BY u.uid, m.hour""",
        "site_hours": f"""SELECT f.uid, f.site_id, a.hour, a.days FROM {SUM_CELLS} AS a
            JOIN _rejoin_uc AS u ON u.user_id = a.user_id JOIN _rejoin_codes AS c ON c.sid = a.sid
            JOIN {lib}.{LIBRARY}_frequent AS f ON f.uid = u.uid AND f.site_id = c.site_id""",
        "site_lookup": f"""SELECT list(c.site_id ORDER BY r.sid) AS codes FROM {SITE_IDS} AS r
            LEFT JOIN _rejoin_codes AS c ON c.sid = r.sid""",
    }
    for part, select in parts.items():
        ws.execute(f"CREATE OR REPLACE TABLE {lib}.{LIBRARY}_{part} AS {select}")
    ws.execute(
        f"""CREATE OR REPLACE TEMP TABLE _rejoin_ends AS
        SELECT user_id, day, n_items, first_site,
            lag(last_site) OVER (PARTITION BY user_id ORDER BY day) AS prev_last
        FROM {PARTIALS["days"]} WHERE {window}"""
    )
    ws.execute(
        f"""CREATE OR REPLACE TABLE {lib}.{LIBRARY}_item_skips AS
        SELECT user_id, day FROM _rejoin_ends WHERE prev_last = first_site"""
    )
    ws.execute(
        f"""CREATE OR REPLACE TABLE {lib}.{LIBRARY}_sequence_lengths AS
        SELECT u.uid, CAST(sum(e.n_items - CASE WHEN e.prev_last = e.first_site THEN 1 ELSE 0
            END) AS BIGINT) AS n
        FROM _rejoin_ends AS e JOIN _rejoin_uc AS u ON u.user_id = e.user_id GROUP BY u.uid"""
    )
    _day_tables(ws, catalog, start, new_days)
    n_users = int(ws.fetch_scalar("SELECT count(*) FROM _rejoin_uc"))
    n_sites = int(ws.fetch_scalar("SELECT count(*) FROM _rejoin_codes"))
    for table in ("_rejoin_uc", "_rejoin_codes", "_rejoin_ends"):
        ws.execute(f"DROP TABLE IF EXISTS {table}")
    seconds = time.perf_counter() - began
    meta = {"settings": settings.to_dict(), "n_users": n_users, "n_sites": n_sites,
            "seconds": seconds, "reference": None, "log_table": log_table}  # fmt: skip
    source = "_rejoin_meta_src"
    ws.register_arrow(source, pa.table({"value": [json.dumps(meta)]}))
    ws.execute(f"CREATE OR REPLACE TABLE {lib}.{LIBRARY}_meta AS SELECT value FROM {source}")
    ws.execute(f"DROP VIEW IF EXISTS {source}")
    return n_users, n_sites


def _day_tables(ws: Engine, catalog: str, start: dt.date | None, new: list | None) -> None:
    """Per-day item and request tables: written for the ``new`` days (``None``: every day held
    from ``start``), dropped for days before ``start`` or no longer held; the views over them."""
    lib = f"{catalog}.main"
    held = set(
        ws.fetch_arrow(f"SELECT DISTINCT day FROM {PARTIALS['days']} WHERE {since(start)}")
        .column("day")
        .to_pylist()
    )
    write = set(held if new is None else set(new) & held)
    for base in (ITEMS, EVENTS):
        present = held_day_tables(ws, catalog, base)
        for day, table in present.items():
            if day not in held or new is None:
                ws.execute(f"DROP TABLE {lib}.{table}")
        write |= held - set(present)  # a day whose table is missing: written too
    for day in sorted(write):
        ws.execute(
            f"""CREATE OR REPLACE TABLE {lib}.{day_table(day)} AS
            SELECT i.user_id, i.day, list(r.sid ORDER BY i.pos) AS items
            FROM {PARTIALS["items"]} AS i JOIN {SITE_IDS} AS r ON r.site = i.site
            WHERE i.day = {date_literal(day)} GROUP BY i.user_id, i.day"""
        )
        next_day = date_literal(day + dt.timedelta(days=1))
        rows = mapped_rows(LIBRARY_LOG, APPLIED, f"AND l.ts >= {date_literal(day)} "
                           f"AND l.ts < {next_day}")  # fmt: skip
        ws.execute(
            f"""CREATE OR REPLACE TABLE {lib}.{day_table(day, EVENTS)} AS
            SELECT m.user_id, r.sid, CAST(m.ts AS DATE) AS day,
                CAST(hour(m.ts) AS INTEGER) AS h, count(*) AS events
            FROM {rows} AS m JOIN {SITE_IDS} AS r ON r.site = m.site
            GROUP BY m.user_id, r.sid, CAST(m.ts AS DATE), CAST(hour(m.ts) AS INTEGER)"""
        )
    ws.execute(
        f"CREATE TABLE IF NOT EXISTS {lib}.{ITEMS} (user_id VARCHAR, day DATE, items INTEGER[])"
    )
    ws.execute(
        f"CREATE TABLE IF NOT EXISTS {lib}.{EVENTS} (user_id VARCHAR, sid INTEGER, day DATE, "
        "h INTEGER, events BIGINT)"
    )
    if f"{LIBRARY}_sequences" in _tables(ws, catalog):  # an old layout's table
        ws.execute(f"DROP TABLE {lib}.{LIBRARY}_sequences")
    days = " ".join(f"UNION ALL SELECT * FROM {day_table(d)}" for d in sorted(held))
    ws.execute(
        f"""CREATE OR REPLACE VIEW {lib}.{LIBRARY}_sequences AS
        SELECT s.uid, list_transform(s.items, lambda x: m.codes[x + 1]) AS items
        FROM (SELECT u.uid, flatten(list(CASE WHEN k.user_id IS NULL THEN i.items
                  ELSE i.items[2:] END ORDER BY i.day)) AS items
              FROM (SELECT * FROM {ITEMS} {days}) AS i
              JOIN {LIBRARY}_users AS u ON u.user_id = i.user_id
              LEFT JOIN {LIBRARY}_item_skips AS k ON k.user_id = i.user_id AND k.day = i.day
              GROUP BY u.uid) AS s
        CROSS JOIN {LIBRARY}_site_lookup AS m"""
    )
    days = " ".join(f"UNION ALL SELECT * FROM {day_table(d, EVENTS)}" for d in sorted(held))
    ws.execute(
        f"""CREATE OR REPLACE VIEW {lib}.{WINDOW_EVENTS} AS
        SELECT u.uid, m.codes[e.sid + 1] AS site_id, e.day, e.h, e.events
        FROM (SELECT * FROM {EVENTS} {days}) AS e
        JOIN {LIBRARY}_users AS u ON u.user_id = e.user_id
        CROSS JOIN {LIBRARY}_site_lookup AS m"""
    )
