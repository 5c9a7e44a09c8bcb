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
#: scratch tables of the build, dropped when it ends
TEMPORARY = ("user_site", "user_code", "marks", "cells")


@dataclass(frozen=True)
class OrderedList:
    """A list aggregate whose element order matters (placeholder until rendered)."""

    value: str
    order: str


#: one statement: the table, the SELECT that fills it, its ordered lists
Statement = tuple[str, str, tuple[OrderedList, ...]]


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


def _valid_rows(log: str, users: tuple[str, str] | None = None) -> str:
    within = ""
    if users is not None:  # user ids from the log: quoted as literals, never pasted raw
        low, high = ("'" + user.replace("'", "''") + "'" for user in users)
        within = f" AND user_id >= {low} AND user_id <= {high}"
    return (
        f"(SELECT user_id, ts, site FROM {log} "
        f"WHERE user_id IS NOT NULL AND ts IS NOT NULL AND site IS NOT NULL{within})"
    )


def profile_statements(
    log: str, name: str, settings: RejoinSettings, reference: str | None = None
) -> list[Statement]:
    """The statements that build profile set ``name`` from canonical log table ``log``.

    ``reference`` is the library's profile set name when building query profiles: site codes
    and V(d) then come from the library, and sites the library never saw get fresh codes with
    V = 0 (weighted as V = 1). Tables named in :data:`TEMPORARY` are scratch, dropped after.

    Raw rows are read twice: once grouped by (user, site), once sorted per user by time. The
    sorted pass keeps only the *marks*: rows that start a new item of the sequence (the site
    differs from the previous request's), start a new minute, or end the user's log. Every
    (user, site, day, hour) cell and every active minute begins with a mark, so all other parts
    derive exactly from the much smaller marks table.
    """
    return code_statements(log, name, reference) + user_statements(log, name, settings)


def code_statements(log: str, name: str, reference: str | None = None) -> list[Statement]:
    """The first statements of :func:`profile_statements`, over every user at once: which
    users visited which sites (``user_site``, with the rows ``n`` of each pair), the users'
    codes and the sites' (codes and V(d))."""
    t = {part: table_name(name, part) for part in PARTS + TEMPORARY}
    rows = _valid_rows(log)
    statements: list[Statement] = []

    def add(part: str, select: str) -> None:
        statements.append((t[part], select, ()))

    # pass 1 over raw rows: which users visited which sites, in how many rows
    add(
        "user_site",
        f"SELECT user_id, site, count(*) AS n FROM {rows} AS r GROUP BY user_id, site",
    )
    # users coded 0..n-1 in user-id order
    add(
        "user_code",
        f"""SELECT user_id, CAST(row_number() OVER (ORDER BY user_id) - 1 AS INTEGER) AS uid
        FROM (SELECT DISTINCT user_id FROM {t["user_site"]}) AS u""",
    )
    # sites: V(d) = number of (library) users who visited d at all
    if reference is None:
        add(
            "sites",
            f"""SELECT CAST(row_number() OVER (ORDER BY site) - 1 AS INTEGER) AS site_id,
                site, CAST(count(*) AS INTEGER) AS n_users
            FROM {t["user_site"]} GROUP BY site""",
        )
    else:
        ref_sites = table_name(reference, "sites")
        add(
            "sites",
            f"""WITH seen AS (SELECT DISTINCT site FROM {t["user_site"]}),
            fresh AS (
                SELECT s.site FROM seen AS s LEFT JOIN {ref_sites} AS r ON r.site = s.site
                WHERE r.site IS NULL)
            SELECT r.site_id, r.site, r.n_users
            FROM seen AS s JOIN {ref_sites} AS r ON r.site = s.site
            UNION ALL
            SELECT CAST((SELECT count(*) FROM {ref_sites}) + row_number() OVER (ORDER BY site)
                - 1 AS INTEGER) AS site_id, site, CAST(0 AS INTEGER) AS n_users
            FROM fresh""",
        )
    return statements


def user_statements(
    log: str,
    name: str,
    settings: RejoinSettings,
    users: tuple[str, str] | None = None,
    into: str | None = None,
) -> list[Statement]:
    """The rest of :func:`profile_statements`: every per-user part, from the codes of profile
    set ``name``. ``users`` (the first and last user id, in DuckDB's order) builds the parts of
    those users only, into profile set ``into`` (default ``name``): step 1 in parts by user."""
    codes = {part: table_name(name, part) for part in ("user_code", "sites")}
    t = {part: table_name(into or name, part) for part in PARTS + TEMPORARY} | codes
    rows = _valid_rows(log, users)
    statements: list[Statement] = []

    def add(part: str, select: str, lists: tuple[OrderedList, ...] = ()) -> None:
        statements.append((t[part], select, lists))

    # pass 2 over raw rows, sorted per user by (time, site code): the marks
    window = "OVER (PARTITION BY uid ORDER BY ts, site_id)"
    add(
        "marks",
        f"""WITH coded AS (
            SELECT u.uid, s.site_id, r.ts
            FROM {rows} AS r
            JOIN {t["user_code"]} AS u ON u.user_id = r.user_id
            JOIN {t["sites"]} AS s ON s.site = r.site),
        marked AS (
            SELECT uid, site_id, ts,
                lag(site_id) {window} AS previous_site,
                lag(ts) {window} AS previous_ts,
                lead(ts) {window} AS next_ts
            FROM coded)
        SELECT uid, site_id, ts,
            (previous_site IS NULL OR previous_site <> site_id) AS new_item,
            (previous_ts IS NULL
             OR date_trunc('minute', previous_ts) <> date_trunc('minute', ts)) AS new_minute
        FROM marked
        WHERE previous_site IS NULL OR previous_site <> site_id OR next_ts IS NULL
            OR date_trunc('minute', previous_ts) <> date_trunc('minute', ts)""",
    )
    # (user, site, day, hour) cells with any request
    add(
        "cells",
        f"""SELECT uid, site_id, CAST(ts AS DATE) AS day, CAST(hour(ts) AS INTEGER) AS hour
        FROM {t["marks"]}
        GROUP BY uid, site_id, CAST(ts AS DATE), CAST(hour(ts) AS INTEGER)""",
    )
    # users: online days = days with at least one request
    add(
        "users",
        f"""SELECT c.uid, c.user_id, CAST(m.online_days AS INTEGER) AS online_days,
            m.first_ts, m.last_ts
        FROM {t["user_code"]} AS c
        JOIN (SELECT uid, count(DISTINCT CAST(ts AS DATE)) AS online_days,
                     min(ts) AS first_ts, max(ts) AS last_ts
              FROM {t["marks"]} GROUP BY uid) AS m ON m.uid = c.uid""",
    )
    # D(u): sites visited on >= frequent_ratio of the user's online days (1e-9: 0.7 * 10 < 7)
    add(
        "frequent",
        f"""SELECT d.uid, d.site_id, d.days
        FROM (SELECT uid, site_id, CAST(count(DISTINCT day) AS INTEGER) AS days
              FROM {t["cells"]} GROUP BY uid, site_id) AS d
        JOIN {t["users"]} AS u ON u.uid = d.uid
        WHERE d.days >= {settings.frequent_ratio!r} * u.online_days - 1e-9""",
    )
    # 24-hour vector: h_i = days with requests in >= active_minutes distinct minutes of hour i
    if settings.active_minutes <= 1:
        active = f"SELECT DISTINCT uid, day, hour FROM {t['cells']}"
    else:
        # each active minute has exactly one mark flagged new_minute: its first request
        active = f"""SELECT uid, CAST(ts AS DATE) AS day, CAST(hour(ts) AS INTEGER) AS hour
            FROM {t["marks"]} WHERE new_minute
            GROUP BY uid, CAST(ts AS DATE), CAST(hour(ts) AS INTEGER)
            HAVING count(*) >= {int(settings.active_minutes)}"""
    add(
        "hours",
        f"""SELECT uid, hour, CAST(count(*) AS INTEGER) AS days
        FROM ({active}) AS a GROUP BY uid, hour""",
    )
    # per-frequent-site hour vectors: h'_i = days on which site w was visited in hour i
    add(
        "site_hours",
        f"""SELECT c.uid, c.site_id, c.hour, CAST(count(*) AS INTEGER) AS days
        FROM {t["cells"]} AS c
        JOIN {t["frequent"]} AS f ON f.uid = c.uid AND f.site_id = c.site_id
        GROUP BY c.uid, c.site_id, c.hour""",
    )
    # item sequence: chronological sites, consecutive repeats collapsed
    add(
        "sequences",
        f"""SELECT uid, __ordered_list_0__ AS items
        FROM {t["marks"]} WHERE new_item GROUP BY uid""",
        (OrderedList("site_id", "ts, site_id"),),
    )
    return statements
