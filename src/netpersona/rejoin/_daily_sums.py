"""Running sums of the daily store over the library's window, so that a day added costs what
the day costs, not what the window holds.

- ``rejoin_site_ids``: a stable integer per site ever held (``sid``, dense from 0, never
  reused), so the library's per-day item lists need not be rewritten when the alphabetical site
  codes move (see :mod:`._daily_library`);
- ``rejoin_sum_sites``: per (user, site) the days of the window with a request to the site
  (D(u) and V(d) start here);
- ``rejoin_sum_cells``: per (user, site, hour) the days of the window with a request to the
  site in that hour (the per-site hour vectors).

A daily batch (only days after the last held) adds its days' cells and takes away those of the
days leaving the window (:func:`sums_daily`, one ``MERGE`` each); any other batch (late rows,
changed identity links, another window) sums the window's partials again (:func:`sums_full`).
"""

from __future__ import annotations

import datetime as dt

from netpersona.engine import Engine
from netpersona.rejoin._daily_sql import PARTIALS, date_literal

SITE_IDS = "rejoin_site_ids"
SUM_SITES = "rejoin_sum_sites"
SUM_CELLS = "rejoin_sum_cells"
SCHEMAS = {
    SITE_IDS: "sid INTEGER, site VARCHAR",
    SUM_SITES: "user_id VARCHAR, sid INTEGER, days INTEGER",
    SUM_CELLS: "user_id VARCHAR, sid INTEGER, hour INTEGER, days INTEGER",
}
_CELLS = PARTIALS["cells"]


def since(start: dt.date | None, column: str = "day") -> str:
    """The SQL condition ``column >= start`` (TRUE when unbounded)."""
    return "TRUE" if start is None else f"{column} >= {date_literal(start)}"


def ensure_sums(ws: Engine) -> None:
    for table, columns in SCHEMAS.items():
        ws.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")


def add_site_ids(ws: Engine, where: str) -> None:
    """A stable id for every site of the cells ``where`` selects that has none yet."""
    ws.execute(
        f"""INSERT INTO {SITE_IDS} (sid, site)
        SELECT CAST((SELECT coalesce(max(sid) + 1, 0) FROM {SITE_IDS})
                    + row_number() OVER (ORDER BY c.site) - 1 AS INTEGER), c.site
        FROM (SELECT DISTINCT site FROM {_CELLS} WHERE {where}) AS c
        WHERE NOT EXISTS (SELECT 1 FROM {SITE_IDS} AS r WHERE r.site = c.site)"""
    )


def sums_full(ws: Engine, start: dt.date | None) -> None:
    """The sums over every held day from ``start`` (``None``: all), from the partials."""
    where = since(start, "c.day")
    add_site_ids(ws, since(start))
    cells = f"{_CELLS} AS c JOIN {SITE_IDS} AS r ON r.site = c.site WHERE {where}"
    ws.create_table(
        SUM_SITES,
        f"SELECT c.user_id, r.sid, CAST(count(DISTINCT c.day) AS INTEGER) AS days FROM {cells} "
        "GROUP BY c.user_id, r.sid",
    )
    ws.create_table(
        SUM_CELLS,
        f"SELECT c.user_id, r.sid, c.hour, CAST(count(*) AS INTEGER) AS days FROM {cells} "
        "GROUP BY c.user_id, r.sid, c.hour",
    )


def sums_daily(ws: Engine, entering: str, leaving: str | None) -> None:
    """Add the cells of the days ``entering`` selects (SQL on ``day``), take away those of the
    days ``leaving`` selects (the days that left the window; ``None``: none)."""
    add_site_ids(ws, entering)
    signed = [
        f"SELECT c.user_id, r.sid, c.day, c.hour, {sign} AS sign FROM (SELECT * FROM {_CELLS} "
        f"WHERE {where}) AS c JOIN {SITE_IDS} AS r ON r.site = c.site"
        for sign, where in ((1, entering), (-1, leaving)) if where is not None
    ]  # fmt: skip
    ws.execute(f"CREATE OR REPLACE TEMP TABLE _rejoin_signed AS {' UNION ALL '.join(signed)}")
    try:
        ws.execute(
            """CREATE OR REPLACE TEMP TABLE _rejoin_dsites AS
            SELECT user_id, sid, CAST(sum(sign) AS INTEGER) AS days
            FROM (SELECT DISTINCT user_id, sid, day, sign FROM _rejoin_signed) AS s
            GROUP BY user_id, sid"""
        )
        ws.execute(
            """CREATE OR REPLACE TEMP TABLE _rejoin_dcells AS
            SELECT user_id, sid, hour, CAST(sum(sign) AS INTEGER) AS days
            FROM _rejoin_signed GROUP BY user_id, sid, hour"""
        )
        _merge(ws, SUM_SITES, "_rejoin_dsites", ("user_id", "sid"))
        _merge(ws, SUM_CELLS, "_rejoin_dcells", ("user_id", "sid", "hour"))
    finally:
        for table in ("_rejoin_signed", "_rejoin_dsites", "_rejoin_dcells"):
            ws.execute(f"DROP TABLE IF EXISTS {table}")


def _merge(ws: Engine, table: str, delta: str, keys: tuple[str, ...]) -> None:
    on = " AND ".join(f"s.{k} = d.{k}" for k in keys)
    values = ", ".join(f"d.{k}" for k in (*keys, "days"))
    ws.execute(
        f"""MERGE INTO {table} AS s USING (SELECT * FROM {delta} WHERE days <> 0) AS d ON {on}
        WHEN MATCHED AND s.days + d.days <= 0 THEN DELETE
        WHEN MATCHED THEN UPDATE SET days = s.days + d.days
        WHEN NOT MATCHED THEN INSERT VALUES ({values})"""
    )
