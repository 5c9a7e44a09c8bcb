"""Daily partial profiles as engine-neutral SQL: what one (user, day) contributes, and the
library profiles aggregated from the partials of the days in a window.

A *partial* is what a user's log of one day adds to every part of step 1
(:mod:`netpersona.rejoin._sql`): the day itself (an online day, with its first and last
request), the (site, hour) cells with a request, the distinct active minutes of each hour, and
the day's item sequence (sites in time order, ties by site, consecutive repeats collapsed within
the day). Aggregating the partials of a window gives exactly the profiles that step 1 builds
from the window's rows at once: online days and D(u) count days, V(d) counts users, h_i counts
days whose hour i holds enough active minutes, and the sequences are the days' sequences in day
order with a repeat across a day boundary collapsed (the day's first item against the user's
previous held day's last).

Partials are keyed by ``user_id`` and ``site`` strings, not codes: codes are given when the
library is aggregated (users and sites alphabetical, as step 1 codes them).
"""

from __future__ import annotations

import datetime as dt

from netpersona.rejoin._settings import RejoinSettings
from netpersona.rejoin._sql import PARTS, OrderedList, table_name

#: partial tables, one row per (user, day [, site, hour, item])
PARTIALS = {
    "days": "rejoin_day_users",  # user_id, day, first_ts, last_ts, n_items, first/last_site
    "cells": "rejoin_day_cells",  # user_id, day, site, hour
    "minutes": "rejoin_day_minutes",  # user_id, day, hour, minutes
    "items": "rejoin_day_items",  # user_id, day, pos, site
}
#: scratch tables of an aggregation, dropped when it ends
AGG_TEMPORARY = ("user_code", "user_site", "window_days")

Statement = tuple[str, str, tuple[OrderedList, ...]]


def date_literal(day: dt.date) -> str:
    """A DATE literal (a date object's ISO text only: nothing a user typed)."""
    return f"DATE '{dt.date.fromordinal(day.toordinal()).isoformat()}'"


def partial_statements(rows: str, prefix: str) -> list[Statement]:
    """Statements building the partials of every (user, day) in ``rows`` (``user_id, ts,
    site``, valid rows only) as tables ``<prefix>_<days|cells|minutes|items>``, plus the
    scratch ``<prefix>_marks``.

    One sort per (user, day) keeps the *marks*: rows that start a new item, start a new minute
    or end the day; every cell, active minute and item begins with a mark (as in step 1)."""
    window = "OVER (PARTITION BY user_id, day ORDER BY ts, site)"
    marks = f"{prefix}_marks"
    return [
        (
            marks,
            f"""WITH dated AS (
                SELECT user_id, ts, site, CAST(ts AS DATE) AS day FROM {rows} AS r),
            marked AS (
                SELECT user_id, day, ts, site,
                    lag(site) {window} AS previous_site,
                    lag(ts) {window} AS previous_ts,
                    lead(ts) {window} AS next_ts
                FROM dated)
            SELECT user_id, day, ts, site,
                (previous_site IS NULL OR previous_site <> site) AS new_item,
                (previous_ts IS NULL
                 OR date_trunc('minute', previous_ts) <> date_trunc('minute', ts)) AS new_minute
            FROM marked
            WHERE previous_site IS NULL OR previous_site <> site OR next_ts IS NULL
                OR date_trunc('minute', previous_ts) <> date_trunc('minute', ts)""",
            (),
        ),
        (
            f"{prefix}_cells",
            f"""SELECT user_id, day, site, CAST(hour(ts) AS INTEGER) AS hour
            FROM {marks} GROUP BY user_id, day, site, CAST(hour(ts) AS INTEGER)""",
            (),
        ),
        (
            f"{prefix}_minutes",
            f"""SELECT user_id, day, CAST(hour(ts) AS INTEGER) AS hour,
                CAST(count(*) AS INTEGER) AS minutes
            FROM {marks} WHERE new_minute GROUP BY user_id, day, CAST(hour(ts) AS INTEGER)""",
            (),
        ),
        (
            f"{prefix}_items",
            f"""SELECT user_id, day,
                CAST(row_number() OVER (PARTITION BY user_id, day ORDER BY ts, site)
                     AS INTEGER) AS pos, site
            FROM {marks} WHERE new_item""",
            (),
        ),
        # the day, with its first and last request and its items' count, first and last site
        # (what appending a day to a user's sequence needs, without reading the items)
        (
            f"{prefix}_days",
            f"""SELECT d.user_id, d.day, d.first_ts, d.last_ts,
                CAST(n.n_items AS INTEGER) AS n_items, f.site AS first_site, l.site AS last_site
            FROM (SELECT user_id, day, min(ts) AS first_ts, max(ts) AS last_ts
                  FROM {marks} GROUP BY user_id, day) AS d
            JOIN (SELECT user_id, day, max(pos) AS n_items FROM {prefix}_items
                  GROUP BY user_id, day) AS n ON n.user_id = d.user_id AND n.day = d.day
            JOIN {prefix}_items AS f ON f.user_id = d.user_id AND f.day = d.day AND f.pos = 1
            JOIN {prefix}_items AS l
                ON l.user_id = d.user_id AND l.day = d.day AND l.pos = n.n_items""",
            (),
        ),
    ]


def aggregate_statements(
    name: str,
    settings: RejoinSettings,
    start: dt.date | None,
    end: dt.date | None = None,
    partials: dict[str, str] = PARTIALS,
) -> list[Statement]:
    """Statements building profile set ``name`` (the parts of step 1, same columns and codes)
    from the ``partials`` of the days in ``[start, end]`` (``None``: unbounded)."""
    t = {part: table_name(name, part) for part in PARTS + AGG_TEMPORARY}
    bounds = []
    if start is not None:
        bounds.append(f"day >= {date_literal(start)}")
    if end is not None:
        bounds.append(f"day <= {date_literal(end)}")
    where = ("WHERE " + " AND ".join(bounds)) if bounds else ""

    def held(part: str) -> str:
        return f"(SELECT * FROM {partials[part]} {where})"

    out: list[Statement] = []

    def add(part: str, select: str, lists: tuple[OrderedList, ...] = ()) -> None:
        out.append((t[part], select, lists))

    add(
        "window_days",
        f"""SELECT user_id, CAST(count(*) AS INTEGER) AS online_days,
            min(first_ts) AS first_ts, max(last_ts) AS last_ts
        FROM {held("days")} AS d GROUP BY user_id""",
    )
    add(
        "user_code",
        f"""SELECT user_id, CAST(row_number() OVER (ORDER BY user_id) - 1 AS INTEGER) AS uid
        FROM {t["window_days"]} AS w""",
    )
    add(
        "users",
        f"""SELECT c.uid, c.user_id, w.online_days, w.first_ts, w.last_ts
        FROM {t["user_code"]} AS c JOIN {t["window_days"]} AS w ON w.user_id = c.user_id""",
    )
    # days on which each user visited each site (V(d) and D(u) both start here)
    add(
        "user_site",
        f"""SELECT c.uid, x.site, CAST(count(DISTINCT x.day) AS INTEGER) AS days
        FROM {held("cells")} AS x JOIN {t["user_code"]} AS c ON c.user_id = x.user_id
        GROUP BY c.uid, x.site""",
    )
    add(
        "sites",
        f"""SELECT CAST(row_number() OVER (ORDER BY site) - 1 AS INTEGER) AS site_id,
            site, CAST(count(*) AS INTEGER) AS n_users
        FROM {t["user_site"]} AS us GROUP BY site""",
    )
    add(
        "frequent",
        f"""SELECT us.uid, s.site_id, us.days
        FROM {t["user_site"]} AS us
        JOIN {t["users"]} AS u ON u.uid = us.uid
        JOIN {t["sites"]} AS s ON s.site = us.site
        WHERE us.days >= {settings.frequent_ratio!r} * u.online_days - 1e-9""",
    )
    # h_i: days with requests in >= active_minutes distinct minutes of hour i (a cell's hour
    # always holds at least one active minute, so active_minutes <= 1 counts cells' hours)
    needed = max(int(settings.active_minutes), 1)
    add(
        "hours",
        f"""SELECT c.uid, m.hour, CAST(count(*) AS INTEGER) AS days
        FROM {held("minutes")} AS m JOIN {t["user_code"]} AS c ON c.user_id = m.user_id
        WHERE m.minutes >= {needed} GROUP BY c.uid, m.hour""",
    )
    add(
        "site_hours",
        f"""SELECT f.uid, f.site_id, x.hour, CAST(count(*) AS INTEGER) AS days
        FROM {held("cells")} AS x
        JOIN {t["user_code"]} AS c ON c.user_id = x.user_id
        JOIN {t["sites"]} AS s ON s.site = x.site
        JOIN {t["frequent"]} AS f ON f.uid = c.uid AND f.site_id = s.site_id
        GROUP BY f.uid, f.site_id, x.hour""",
    )
    # the days' sequences in day order; a day opening on the previous held day's last item
    # loses that first item (step 1 collapses repeats across the whole log)
    add(
        "sequences",
        f"""WITH coded AS (
            SELECT c.uid, s.site_id, i.day, i.pos
            FROM {held("items")} AS i
            JOIN {t["user_code"]} AS c ON c.user_id = i.user_id
            JOIN {t["sites"]} AS s ON s.site = i.site),
        marked AS (
            SELECT uid, site_id, day, pos,
                lag(site_id) OVER (PARTITION BY uid ORDER BY day, pos) AS previous_site
            FROM coded)
        SELECT uid, __ordered_list_0__ AS items
        FROM marked WHERE previous_site IS NULL OR previous_site <> site_id GROUP BY uid""",
        (OrderedList("site_id", "day, pos"),),
    )
    return out
