"""The library's item sequences carried over from the previous library when a batch only adds
days after the last day held (the daily case): each user's previous sequence loses the items of
the days that left the window (and gets back the first item of its new first day where that had
been collapsed into a leaving day's last), is recoded to the new site codes, and the new days'
items are appended (a repeat across the boundary collapsed). Reads the previous sequences once
and the per-(user, day) ends, not every item of the window again."""

from __future__ import annotations

import datetime as dt

from netpersona.engine import Engine
from netpersona.rejoin._daily_sql import PARTIALS, date_literal
from netpersona.rejoin._sql import table_name

#: the previous library's parts kept aside while the new one is aggregated
OLD_PARTS = ("users", "sites", "sequences")


def old_table(name: str, part: str) -> str:
    return f"_rejoin_old_{table_name(name, part)}"


def set_aside(ws: Engine, name: str) -> None:
    """Keep the previous library's users, sites and sequences under scratch names."""
    for part in OLD_PARTS:
        ws.execute(f"DROP TABLE IF EXISTS {old_table(name, part)}")
        ws.execute(f"ALTER TABLE {table_name(name, part)} RENAME TO {old_table(name, part)}")


def append_sequences(
    ws: Engine,
    name: str,
    old_start: dt.date | None,
    new_start: dt.date | None,
    old_end: dt.date,
) -> None:
    """Build ``<name>_sequences`` from the previous library's (set aside by :func:`set_aside`)
    and the partials of the days after ``old_end``; the previous window began on
    ``old_start``, the new one on ``new_start`` (``None``: unbounded)."""
    days, items = PARTIALS["days"], PARTIALS["items"]
    old = {part: old_table(name, part) for part in OLD_PARTS}
    users, sites = table_name(name, "users"), table_name(name, "sites")
    since = "" if old_start is None else f"AND day >= {date_literal(old_start)}"
    leaving = "FALSE" if new_start is None else f"day < {date_literal(new_start)}"
    ws.create_table(
        f"{name}_sequences",
        f"""WITH od AS (
            SELECT user_id, day, n_items, first_site,
                lag(last_site) OVER (PARTITION BY user_id ORDER BY day) AS prev_last
            FROM {days} WHERE day <= {date_literal(old_end)} {since}),
        contrib AS (
            SELECT user_id, day, first_site, prev_last,
                n_items - CASE WHEN prev_last = first_site THEN 1 ELSE 0 END AS c
            FROM od),
        gone AS (SELECT user_id, sum(c) AS k FROM contrib WHERE {leaving} GROUP BY user_id),
        first_kept AS (
            SELECT user_id, first_site, prev_last,
                row_number() OVER (PARTITION BY user_id ORDER BY day) AS rn
            FROM contrib WHERE NOT ({leaving})),
        restored AS (
            SELECT f.user_id, s.site_id FROM first_kept AS f JOIN {sites} AS s
                ON s.site = f.first_site
            WHERE f.rn = 1 AND f.prev_last = f.first_site),
        remap AS (
            SELECT list(n.site_id ORDER BY o.site_id) AS codes
            FROM {old["sites"]} AS o LEFT JOIN {sites} AS n ON n.site = o.site),
        kept AS (
            SELECT ou.user_id,
                CASE WHEN r.user_id IS NULL THEN [] ELSE [r.site_id] END
                || list_transform(
                    list_slice(os.items, coalesce(g.k, 0) + 1, len(os.items)),
                    lambda x: m.codes[x + 1]) AS items
            FROM {old["sequences"]} AS os
            JOIN {old["users"]} AS ou ON ou.uid = os.uid
            CROSS JOIN remap AS m
            LEFT JOIN gone AS g ON g.user_id = ou.user_id
            LEFT JOIN restored AS r ON r.user_id = ou.user_id),
        fresh AS (
            SELECT i.user_id, s.site_id, i.day, i.pos,
                lag(s.site_id) OVER (PARTITION BY i.user_id ORDER BY i.day, i.pos) AS prev
            FROM {items} AS i JOIN {sites} AS s ON s.site = i.site
            WHERE i.day > {date_literal(old_end)}),
        appended AS (
            SELECT f.user_id, list(f.site_id ORDER BY f.day, f.pos) AS items
            FROM fresh AS f
            LEFT JOIN (SELECT user_id, items[len(items)] AS last FROM kept
                       WHERE len(items) > 0) AS k ON k.user_id = f.user_id
            WHERE coalesce(f.prev, k.last) IS NULL OR coalesce(f.prev, k.last) <> f.site_id
            GROUP BY f.user_id)
        SELECT u.uid, list_concat(coalesce(k.items, []), coalesce(a.items, [])) AS items
        FROM {users} AS u
        LEFT JOIN kept AS k ON k.user_id = u.user_id
        LEFT JOIN appended AS a ON a.user_id = u.user_id""",
    )
    for part in OLD_PARTS:
        ws.execute(f"DROP TABLE IF EXISTS {old[part]}")
