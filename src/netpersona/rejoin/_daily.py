"""The daily store of a workspace: partials per (user, day), re-derived for the (user, day)
pairs a batch touches, and the library aggregated from the partials of the window.

Tables, all in the store file beside the workspace (``W.store``, see
:mod:`netpersona.engine._store`; the running sums are in :mod:`._daily_sums`, the library file's
tables in :mod:`._daily_library`); every one that holds subscriber ids names that column
``user_id``:

- ``library_log``: the raw rows held (kept ``keep_days``), from which a touched (user, day) is
  re-derived, so late rows and duplicates give what they would have given with their day;
- ``rejoin_day_users|cells|minutes|items``: the partials (see :mod:`._daily_sql`), keyed by
  the *effective* user: identity links (``rejoin_links``) applied;
- ``rejoin_links_applied``: the link segments the partials were built with;
- ``rejoin_days``: one row per day held (users, rows, when added); ``rejoin_daily``: the
  window, the retention and the last day added (one row).
"""

from __future__ import annotations

import datetime as dt
import json
import time

import pyarrow as pa

from netpersona._core import Progress
from netpersona.engine import Engine, Workspace
from netpersona.rejoin._daily_sql import (
    AGG_TEMPORARY,
    PARTIALS,
    aggregate_statements,
    date_literal,
    partial_statements,
)
from netpersona.rejoin._profiles import Profiles
from netpersona.rejoin._profiles_parts import part_rows
from netpersona.rejoin._settings import RejoinSettings
from netpersona.rejoin._sql import render, table_name

LIBRARY_LOG = Workspace.LIBRARY_LOG
LIBRARY = Workspace.LIBRARY
LINKS = "rejoin_links"
APPLIED = "rejoin_links_applied"
DAYS = "rejoin_days"
STATE = "rejoin_daily"
#: the view of the rows the library is aggregated from (window, links applied)
WINDOW_LOG = "library_window_log"

_SCHEMAS = {
    PARTIALS["days"]: "user_id VARCHAR, day DATE, first_ts TIMESTAMP, last_ts TIMESTAMP, "
    "n_items INTEGER, first_site VARCHAR, last_site VARCHAR",
    PARTIALS["cells"]: "user_id VARCHAR, day DATE, site VARCHAR, hour INTEGER",
    PARTIALS["minutes"]: "user_id VARCHAR, day DATE, hour INTEGER, minutes INTEGER",
    PARTIALS["items"]: "user_id VARCHAR, day DATE, pos INTEGER, site VARCHAR",
    APPLIED: "user_id VARCHAR, day_from DATE, day_to DATE, eff_user VARCHAR",
    DAYS: "day DATE, users BIGINT, rows BIGINT, added_at TIMESTAMP",
    LIBRARY_LOG: "user_id VARCHAR, ts TIMESTAMP, site VARCHAR",
}
_SEGMENTS = pa.schema(
    [("user_id", pa.string()), ("day_from", pa.date32()), ("day_to", pa.date32()),
     ("eff_user", pa.string())]
)  # fmt: skip


def ensure_tables(ws: Engine) -> None:
    """Create the daily store's tables where missing (empty)."""
    for table, columns in _SCHEMAS.items():
        ws.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")


# -- identity links --------------------------------------------------------------------------
def link_segments(ws: Engine) -> pa.Table:
    """The links as segments: rows of ``user_id`` on days in ``[day_from, day_to)`` count as
    ``eff_user``'s (chains followed; of two links of one new id, the later day wins from its
    day on). Users and days no segment names count as themselves."""
    if not ws.has_table(LINKS):
        return _SEGMENTS.empty_table()
    links = ws.fetch_arrow(
        f"SELECT old_user, new_user, CAST(day AS DATE) AS day FROM {LINKS} "
        "WHERE old_user IS NOT NULL AND new_user IS NOT NULL AND day IS NOT NULL "
        "ORDER BY day, recorded_at"
    ).to_pylist()
    by_new: dict[str, list[tuple[dt.date, str]]] = {}
    for link in links:
        if link["old_user"] != link["new_user"]:
            by_new.setdefault(link["new_user"], []).append((link["day"], link["old_user"]))

    def resolve(user: str, day: dt.date) -> str:
        seen = {user}
        while True:
            earlier = [old for start, old in by_new.get(user, []) if start <= day]
            if not earlier or earlier[-1] in seen:
                return user
            user = earlier[-1]
            seen.add(user)

    breaks = sorted({link["day"] for link in links})
    rows: list[dict] = []
    for user in sorted(by_new):
        for i, start in enumerate(breaks):
            end = breaks[i + 1] if i + 1 < len(breaks) else None
            eff = resolve(user, start)
            if rows and rows[-1]["user_id"] == user and rows[-1]["eff_user"] == eff:
                rows[-1]["day_to"] = end
            elif eff != user:
                rows.append({"user_id": user, "day_from": start, "day_to": end, "eff_user": eff})
            elif rows and rows[-1]["user_id"] == user and rows[-1]["day_to"] is None:
                rows[-1]["day_to"] = start
    return pa.Table.from_pylist(rows, schema=_SEGMENTS)


def mapped_rows(log: str, segments: str, where: str = "") -> str:
    """``log``'s valid rows with links applied: ``user_id`` is the effective user."""
    day = "CAST(l.ts AS DATE)"
    return f"""(SELECT coalesce(e.eff_user, l.user_id) AS user_id, l.ts, l.site
        FROM {log} AS l LEFT JOIN {segments} AS e ON e.user_id = l.user_id
            AND {day} >= e.day_from AND (e.day_to IS NULL OR {day} < e.day_to)
        WHERE l.user_id IS NOT NULL AND l.ts IS NOT NULL AND l.site IS NOT NULL {where})"""


# -- re-deriving touched (user, day) pairs ----------------------------------------------------
def rederive(ws: Engine, touched: str, segments: str) -> int:
    """Replace the partials of the (effective user, day) pairs in table ``touched`` by those
    derived from every held row of those pairs; returns how many pairs.

    The rows are derived in parts (:func:`_parts`) of at most :func:`part_rows` rows, so only
    one part's sort has to fit the memory limit: a whole window indexed at once is not sorted
    (and spilled) in one piece. Partials are per (user, day), so the parts give the same rows."""
    ws.create_table("_rejoin_pairs", f"SELECT DISTINCT user_id, day FROM {touched} AS t")
    touched = "_rejoin_pairs"
    span = ws.fetch_arrow(f"SELECT min(day) AS a, max(day) AS b FROM {touched}").to_pylist()[0]
    if span["a"] is None:
        ws.execute("DROP TABLE IF EXISTS _rejoin_pairs")
        return 0
    lo, hi = span["a"], span["b"] + dt.timedelta(days=1)
    in_span = f"AND l.ts >= {date_literal(lo)} AND l.ts < {date_literal(hi)}"
    match = f"EXISTS (SELECT 1 FROM {touched} AS t WHERE t.user_id = p.user_id AND t.day = p.day)"
    for table in PARTIALS.values():
        ws.execute(f"DELETE FROM {table} AS p WHERE {match}")
    for first, end, buckets in _parts(ws, touched, segments, in_span, part_rows(ws)):
        window = f"AND l.ts >= {date_literal(first)} AND l.ts < {date_literal(end)}"
        for bucket in range(buckets):
            rows = f"""(SELECT m.user_id, m.ts, m.site
                FROM {mapped_rows(LIBRARY_LOG, segments, window)} AS m
                JOIN {touched} AS t ON t.user_id = m.user_id AND t.day = CAST(m.ts AS DATE)
                {f"WHERE hash(m.user_id) % {buckets} = {bucket}" if buckets > 1 else ""})"""
            for table, select, lists in partial_statements(rows, "_rejoin_new"):
                ws.create_table(table, render(select, ws.dialect, lists))
            for part, table in PARTIALS.items():
                columns = _columns(table)
                ws.execute(
                    f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _rejoin_new_{part}"
                )
    days = f"(SELECT DISTINCT day FROM {touched})"
    ws.execute(f"DELETE FROM {DAYS} WHERE day IN {days}")
    ws.execute(
        f"""INSERT INTO {DAYS} (day, users, rows, added_at)
        SELECT d.day, d.users, coalesce(r.rows, 0), CAST(now() AS TIMESTAMP)
        FROM (SELECT day, count(*) AS users FROM {PARTIALS["days"]}
              WHERE day IN {days} GROUP BY day) AS d
        LEFT JOIN (SELECT CAST(ts AS DATE) AS day, count(*) AS rows FROM {LIBRARY_LOG} AS l
                   WHERE TRUE {in_span} GROUP BY CAST(ts AS DATE)) AS r ON r.day = d.day"""
    )
    n = int(ws.fetch_scalar(f"SELECT count(*) FROM {touched}"))
    for part in (*PARTIALS, "marks"):
        ws.execute(f"DROP TABLE IF EXISTS _rejoin_new_{part}")
    ws.execute("DROP TABLE IF EXISTS _rejoin_pairs")
    return n


def _parts(
    ws: Engine, touched: str, segments: str, in_span: str, rows: int
) -> list[tuple[dt.date, dt.date, int]]:
    """The parts a re-derivation runs in: (first day, day after the last, user buckets), runs
    of consecutive days with at most ``rows`` touched rows in all, a day with more cut into
    buckets of users (by a hash of the id) of about ``rows`` each."""
    counts = ws.fetch_arrow(
        f"""SELECT t.day, count(*) AS n FROM {mapped_rows(LIBRARY_LOG, segments, in_span)} AS m
        JOIN {touched} AS t ON t.user_id = m.user_id AND t.day = CAST(m.ts AS DATE)
        GROUP BY t.day ORDER BY t.day"""
    ).to_pylist()
    parts: list[tuple[dt.date, dt.date, int]] = []
    run: list[dt.date] = []
    held = 0
    for row in counts:
        day, n = row["day"], int(row["n"])
        if run and held + n > rows:
            parts.append((run[0], run[-1] + dt.timedelta(days=1), 1))
            run, held = [], 0
        if n > rows:
            parts.append((day, day + dt.timedelta(days=1), -(-n // rows)))
            continue
        run.append(day)
        held += n
    if run:
        parts.append((run[0], run[-1] + dt.timedelta(days=1), 1))
    return parts


def _columns(table: str) -> str:
    return ", ".join(c.split()[0] for c in _SCHEMAS[table].split(", "))


def relink(ws: Engine, segments: pa.Table) -> str | None:
    """Compare the links with those the partials were built with; record the new ones and
    return a select of the (effective user, day) pairs the change touches (or None)."""
    ws.register_arrow("_rejoin_segments_src", segments)
    ws.create_table("_rejoin_segments", "SELECT * FROM _rejoin_segments_src")
    ws.execute("DROP VIEW IF EXISTS _rejoin_segments_src")
    cols = "user_id, day_from, day_to, eff_user"
    changed = (
        f"(SELECT {cols} FROM _rejoin_segments EXCEPT SELECT {cols} FROM {APPLIED}) UNION "
        f"(SELECT {cols} FROM {APPLIED} EXCEPT SELECT {cols} FROM _rejoin_segments)"
    )
    users = f"(SELECT user_id FROM ({changed}) AS c UNION SELECT eff_user FROM ({changed}) AS c)"
    if not ws.fetch_scalar(f"SELECT count(*) FROM {users} AS u"):
        return None
    # pairs the changed users' rows fed before (old segments) and feed now (new segments)
    raw = f"(SELECT * FROM {LIBRARY_LOG} WHERE user_id IN {users})"
    pairs = " UNION ".join(
        f"SELECT DISTINCT user_id, CAST(ts AS DATE) AS day FROM {mapped_rows(raw, seg)} AS m"
        for seg in (APPLIED, "_rejoin_segments")
    )
    ws.create_table("_rejoin_relinked", pairs)
    ws.execute(f"DELETE FROM {APPLIED}")
    ws.execute(f"INSERT INTO {APPLIED} ({cols}) SELECT {cols} FROM _rejoin_segments")
    return "_rejoin_relinked"


# -- aggregation -----------------------------------------------------------------------------
def aggregate(
    engine: Engine,
    name: str,
    settings: RejoinSettings,
    start: dt.date | None,
    end: dt.date | None,
    log_table: str,
    partials: dict[str, str] = PARTIALS,
    progress: Progress | None = None,
) -> Profiles:
    """Profile set ``name`` aggregated from the ``partials`` of the days in ``[start, end]``;
    ``log_table`` (the rows it stands for) is recorded for what re-reads rows (the learned
    matcher, rebuilding with other settings)."""
    progress = progress or Progress()
    started = time.perf_counter()
    statements = aggregate_statements(name, settings, start, end, partials)
    for table, select, lists in progress.track(
        statements, f"profiles {name}: aggregating the days", total=len(statements)
    ):
        engine.create_table(table, render(select, engine.dialect, lists))
    for part in AGG_TEMPORARY:
        engine.execute(f"DROP TABLE IF EXISTS {table_name(name, part)}")
    n_users = int(engine.fetch_scalar(f"SELECT count(*) FROM {table_name(name, 'users')}"))
    n_sites = int(engine.fetch_scalar(f"SELECT count(*) FROM {table_name(name, 'sites')}"))
    seconds = time.perf_counter() - started
    meta = {"settings": settings.to_dict(), "n_users": n_users, "n_sites": n_sites,
            "seconds": seconds, "reference": None, "log_table": log_table}  # fmt: skip
    engine.register_arrow(f"{name}__meta_src", pa.table({"value": [json.dumps(meta)]}))
    engine.create_table(table_name(name, "meta"), f"SELECT value FROM {name}__meta_src")
    engine.execute(f"DROP VIEW IF EXISTS {name}__meta_src")
    return Profiles(engine, name, settings, n_users, n_sites, seconds, None, log_table)


def build_from_log(
    engine: Engine,
    log_table: str,
    name: str,
    settings: RejoinSettings = RejoinSettings(),
    start: dt.date | None = None,
    end: dt.date | None = None,
    progress: Progress | None = None,
) -> Profiles:
    """Partials of every (user, day) of ``log_table`` (scratch ``<name>__p_*``), then profile
    set ``name`` aggregated from the days in ``[start, end]``: any engine (Spark included)."""
    prefix = f"{name}__p"
    rows = (
        f"(SELECT user_id, ts, site FROM {log_table} "
        "WHERE user_id IS NOT NULL AND ts IS NOT NULL AND site IS NOT NULL)"
    )
    try:
        for table, select, lists in partial_statements(rows, prefix):
            engine.create_table(table, render(select, engine.dialect, lists))
        partials = {part: f"{prefix}_{part}" for part in PARTIALS}
        return aggregate(engine, name, settings, start, end, log_table, partials, progress)
    finally:
        for part in (*PARTIALS, "marks"):
            engine.execute(f"DROP TABLE IF EXISTS {prefix}_{part}")


def window_view(ws: Engine, segments: str, start: dt.date | None) -> None:
    """(Re)define the view of the rows the library stands for: held rows from ``start``,
    links applied (what the learned matcher and a rebuild with other settings read)."""
    where = "" if start is None else f"AND l.ts >= {date_literal(start)}"
    ws.execute(f"DROP VIEW IF EXISTS {WINDOW_LOG}")
    rows = mapped_rows(LIBRARY_LOG, segments, where)
    ws.execute(f"CREATE VIEW {WINDOW_LOG} AS SELECT * FROM {rows} AS m")
