"""Sessions + purchases -> one row of features per user and month (paper B, section 3.2 step 2).

- ``avgontime``: hours online per online day. Online time is the union of the user's sessions
  (two devices online at once count once), cut at midnight so a session across midnight counts
  on every day it touches; an online day is a calendar day (in the reading time zone) the user
  was online at all.
- ``avguseflow``: (upflow + downflow) in MB per online day. A session's traffic is spread over
  its time in proportion (only its total is known), so a session that crosses into the next
  month counts there with the rest.
- ``buycounts``: data-package purchases by the user in the month.
"""

from __future__ import annotations

from netpersona.devices._reports import SESSIONS_TABLE
from netpersona.io import month_bounds

#: the network's inputs, in the paper's order
FEATURE_NAMES = ("avgontime", "avguseflow", "buycounts")
#: the table :func:`monthly_features` creates
FEATURES_TABLE = "device_features"
_MB = 1024.0 * 1024.0


def monthly_features(engine, month: str, purchases_table: str | None = None) -> int:
    """Build the ``device_features`` table for ``month`` from ``device_sessions``, on any
    :class:`~netpersona.engine.Engine` (one query, translated for Spark).

    ``purchases_table`` (``user_id, bought`` local times) gives ``buycounts``; without it every
    user has 0. Only users online in the month get a row. Returns the number of users.
    """
    start, end = month_bounds(month)
    lo, hi = f"TIMESTAMP '{start:%Y-%m-%d %H:%M:%S}'", f"TIMESTAMP '{end:%Y-%m-%d %H:%M:%S}'"
    buys = (
        f"SELECT user_id, count(*) AS buycounts FROM {purchases_table} "
        f"WHERE bought >= {lo} AND bought < {hi} GROUP BY user_id"
        if purchases_table
        else "SELECT NULL::VARCHAR AS user_id, 0 AS buycounts WHERE false"
    )
    engine.create_table(
        FEATURES_TABLE,
        f"""WITH clipped AS (  -- the part of each session inside the month
            SELECT user_id, greatest(logon, {lo}) AS s, least(logoff, {hi}) AS e,
                (up + down) * CASE WHEN logoff > logon
                    THEN epoch(least(logoff, {hi}) - greatest(logon, {lo}))
                         / epoch(logoff - logon)
                    ELSE 1 END AS flow
            FROM {SESSIONS_TABLE}
            WHERE (logoff > {lo} AND logon < {hi})
               OR (logoff = logon AND logon >= {lo} AND logon < {hi})
        ),
        flows AS (SELECT user_id, sum(flow) AS flow FROM clipped GROUP BY user_id),
        ordered AS (
            SELECT user_id, s, e, max(e) OVER (
                PARTITION BY user_id ORDER BY s, e
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
            FROM clipped
        ),
        islands AS (
            SELECT user_id, s, e, sum(CASE WHEN reach IS NULL OR s > reach THEN 1 ELSE 0 END)
                OVER (PARTITION BY user_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island
            FROM ordered
        ),
        online AS (  -- the union of the user's sessions
            SELECT user_id, min(s) AS s, max(e) AS e FROM islands GROUP BY user_id, island
        ),
        days AS (  -- each online stretch cut at midnight
            SELECT user_id, d, epoch(least(e, d + INTERVAL 1 DAY) - greatest(s, d)) AS secs
            FROM (
                SELECT user_id, s, e,
                    unnest(generate_series(date_trunc('day', s), e, INTERVAL 1 DAY)) AS d
                FROM online
            )
            WHERE least(e, d + INTERVAL 1 DAY) > greatest(s, d) OR (s = e AND d <= s)
        ),
        per_user AS (
            SELECT user_id, count(DISTINCT d) AS online_days, sum(secs) / 3600.0 AS online_hours
            FROM days GROUP BY user_id
        )
        SELECT p.user_id AS user, '{month}' AS month, p.online_days, p.online_hours,
            p.online_hours / p.online_days AS avgontime,
            f.flow / {_MB} / p.online_days AS avguseflow,
            coalesce(b.buycounts, 0)::BIGINT AS buycounts
        FROM per_user p JOIN flows f USING (user_id) LEFT JOIN ({buys}) b USING (user_id)
        ORDER BY p.user_id""",
    )
    return int(engine.fetch_scalar(f"SELECT count(*) FROM {FEATURES_TABLE}"))
