"""Step 1 of the paper as engine-neutral SQL: the text of every profile query, in one place.

Queries are written in DuckDB's dialect using only constructs sqlglot transpiles faithfully to
Spark SQL (explicit GROUP BY lists, window functions, DATE/HOUR/MINUTE, DATE_TRUNC). The one
construct it does not — a list aggregated in a given order — is written as a placeholder column
``__ordered_list_<n>__`` and filled in per dialect by :func:`render` from ``_ORDERED_LIST``,
after :func:`netpersona.engine.translate` has done the rest.

Every statement is ``(table, select)``: the engine materialises ``select`` as ``table``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from netpersona.engine import translate
from netpersona.rejoin._settings import RejoinSettings

#: how each dialect aggregates ``value`` into a list ordered by ``order`` (comma-separated)
_ORDERED_LIST: dict[str, str] = {
    "duckdb": "list({value} ORDER BY {order})",
    # Spark's collect_list has no ORDER BY: sort structs whose leading fields are the keys
    "spark": "transform(array_sort(collect_list(struct({order}, {value} AS v__))), x -> x.v__)",
    "databricks": "transform(array_sort(collect_list(struct({order}, {value} AS v__))), "
    "x -> x.v__)",
}

#: profile parts materialised per profile set, as tables ``<name>_<part>``
PARTS = ("users", "sites", "frequent", "hours", "site_hours", "sequences", "meta")


@dataclass(frozen=True)
class OrderedList:
    """A list aggregate whose element order matters (placeholder until rendered)."""

    value: str
    order: str


def render(sql: str, dialect: str, lists: tuple[OrderedList, ...] = ()) -> str:
    """DuckDB-dialect ``sql`` in ``dialect``, with its ordered-list placeholders filled in."""
    text = translate(sql, dialect)
    templates = _ORDERED_LIST.get(dialect)
    if lists and templates is None:
        raise NotImplementedError(f"no ordered list aggregate known for dialect {dialect!r}")
    for number, item in enumerate(lists):
        fragment = templates.format(value=item.value, order=item.order)
        text = re.sub(rf"`?__ordered_list_{number}__`?", lambda _m, f=fragment: f, text)
    return text


def table_name(name: str, part: str) -> str:
    """The table holding ``part`` of the profile set ``name``."""
    return f"{name}_{part}"


def _valid_rows(log: str) -> str:
    return (
        f"(SELECT user_id, ts, site FROM {log} "
        "WHERE user_id IS NOT NULL AND ts IS NOT NULL AND site IS NOT NULL)"
    )


def profile_statements(
    log: str, name: str, settings: RejoinSettings, reference: str | None = None
) -> list[tuple[str, str, tuple[OrderedList, ...]]]:
    """The statements that build profile set ``name`` from canonical log table ``log``.

    ``reference`` is the library's profile set name when building query profiles: site codes
    and V(d) then come from the library, and sites the library never saw get fresh codes with
    V = 0 (weighted as V = 1).
    """
    t = {part: table_name(name, part) for part in PARTS}
    ush = table_name(name, "ush")
    rows = _valid_rows(log)
    statements: list[tuple[str, str, tuple[OrderedList, ...]]] = []

    # (user, site, day, hour) cells: the one pass over raw rows most profile parts derive from
    statements.append(
        (
            ush,
            f"""SELECT user_id, site, CAST(ts AS DATE) AS day, CAST(hour(ts) AS INTEGER) AS hour,
                count(*) AS n_rows, min(ts) AS first_ts, max(ts) AS last_ts
            FROM {rows} AS r
            GROUP BY user_id, site, CAST(ts AS DATE), CAST(hour(ts) AS INTEGER)""",
            (),
        )
    )
    # users, coded 0..n-1 in user_id order; online days = days with at least one request
    statements.append(
        (
            t["users"],
            f"""SELECT CAST(row_number() OVER (ORDER BY user_id) - 1 AS INTEGER) AS uid, user_id,
                CAST(count(DISTINCT day) AS INTEGER) AS online_days,
                CAST(sum(n_rows) AS BIGINT) AS n_rows, min(first_ts) AS first_ts,
                max(last_ts) AS last_ts
            FROM {ush} GROUP BY user_id""",
            (),
        )
    )
    # sites: V(d) = number of (library) users who visited d at all
    if reference is None:
        sites = f"""SELECT CAST(row_number() OVER (ORDER BY site) - 1 AS INTEGER) AS site_id,
                site, CAST(count(DISTINCT user_id) AS INTEGER) AS n_users
            FROM {ush} GROUP BY site"""
    else:
        ref_sites = table_name(reference, "sites")
        sites = f"""WITH seen AS (SELECT DISTINCT site FROM {ush}),
            fresh AS (
                SELECT s.site FROM seen AS s LEFT JOIN {ref_sites} AS r ON r.site = s.site
                WHERE r.site IS NULL)
            SELECT r.site_id, r.site, r.n_users
            FROM seen AS s JOIN {ref_sites} AS r ON r.site = s.site
            UNION ALL
            SELECT CAST((SELECT count(*) FROM {ref_sites}) + row_number() OVER (ORDER BY site)
                - 1 AS INTEGER) AS site_id, site, CAST(0 AS INTEGER) AS n_users
            FROM fresh"""
    statements.append((t["sites"], sites, ()))
    # D(u): sites visited on >= frequent_ratio of the user's online days (1e-9: 0.7 * 10 < 7)
    statements.append(
        (
            t["frequent"],
            f"""SELECT u.uid, s.site_id, d.days
            FROM (SELECT user_id, site, CAST(count(DISTINCT day) AS INTEGER) AS days
                  FROM {ush} GROUP BY user_id, site) AS d
            JOIN {t["users"]} AS u ON u.user_id = d.user_id
            JOIN {t["sites"]} AS s ON s.site = d.site
            WHERE d.days >= {settings.frequent_ratio!r} * u.online_days - 1e-9""",
            (),
        )
    )
    # 24-hour vector: h_i = days with requests in >= active_minutes distinct minutes of hour i
    if settings.active_minutes <= 1:
        active = f"SELECT DISTINCT user_id, day, hour FROM {ush}"
    else:
        active = f"""SELECT user_id, CAST(minute_ts AS DATE) AS day,
                CAST(hour(minute_ts) AS INTEGER) AS hour
            FROM (SELECT user_id, date_trunc('minute', ts) AS minute_ts FROM {rows} AS r
                  GROUP BY user_id, date_trunc('minute', ts)) AS m
            GROUP BY user_id, CAST(minute_ts AS DATE), CAST(hour(minute_ts) AS INTEGER)
            HAVING count(*) >= {int(settings.active_minutes)}"""
    statements.append(
        (
            t["hours"],
            f"""SELECT u.uid, a.hour, CAST(count(*) AS INTEGER) AS days
            FROM ({active}) AS a JOIN {t["users"]} AS u ON u.user_id = a.user_id
            GROUP BY u.uid, a.hour""",
            (),
        )
    )
    # per-frequent-site hour vectors: h'_i = days on which site w was visited in hour i
    statements.append(
        (
            t["site_hours"],
            f"""SELECT f.uid, f.site_id, x.hour, CAST(count(*) AS INTEGER) AS days
            FROM {ush} AS x
            JOIN {t["users"]} AS u ON u.user_id = x.user_id
            JOIN {t["sites"]} AS s ON s.site = x.site
            JOIN {t["frequent"]} AS f ON f.uid = u.uid AND f.site_id = s.site_id
            GROUP BY f.uid, f.site_id, x.hour""",
            (),
        )
    )
    # item sequence: chronological sites, consecutive repeats collapsed. Users and sites are
    # coded first so the window sorts integers (ties in ts by site code: library and queries
    # share codes, so both order a tie alike)
    statements.append(
        (
            t["sequences"],
            f"""WITH coded AS (
                SELECT u.uid, s.site_id, r.ts
                FROM {rows} AS r
                JOIN {t["users"]} AS u ON u.user_id = r.user_id
                JOIN {t["sites"]} AS s ON s.site = r.site),
            marked AS (
                SELECT uid, site_id, ts,
                    lag(site_id) OVER (PARTITION BY uid ORDER BY ts, site_id) AS previous
                FROM coded)
            SELECT uid, __ordered_list_0__ AS items
            FROM marked
            WHERE previous IS NULL OR previous <> site_id
            GROUP BY uid""",
            (OrderedList("site_id", "ts, site_id"),),
        )
    )
    return statements
