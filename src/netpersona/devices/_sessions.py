"""The sessions once read: users exported twice, and the sessions of report files as a table."""

from __future__ import annotations

from pathlib import Path

from netpersona.devices._fields import ReportFields
from netpersona.devices._reports import _FILES, SESSIONS_TABLE, load_sessions


def near_duplicate_users(
    engine, min_share: float = 0.9, min_sessions: int = 5
) -> list[tuple[str, str, float]]:
    """Pairs of users whose sessions are (almost) all identical: one subscriber exported twice.

    Two sessions are identical when logon, logoff and both flows agree (a session shared by
    five or more users is ignored as coincidence). Returns
    ``(user_a, user_b, share)`` with ``share`` = identical sessions / sessions of the user with
    fewer, for pairs at or above ``min_share`` sharing at least ``min_sessions`` sessions.

    >>> from netpersona.engine import DuckDBEngine
    >>> sessions = (
    ...     "SELECT u AS user_id, TIMESTAMP '2024-05-01' + INTERVAL (d) DAY AS logon, "
    ...     "TIMESTAMP '2024-05-01 02:00' + INTERVAL (d) DAY AS logoff, 1.0 AS up, 2.0 AS down "
    ...     "FROM (VALUES ('a'), ('b')) t(u), range(6) r(d)"  # a and b: the same 6 sessions
    ... )
    >>> with DuckDBEngine() as engine:
    ...     engine.create_table("device_sessions", sessions)
    ...     print(near_duplicate_users(engine))
    [('a', 'b', 1.0)]
    """
    rows = engine.fetch_arrow(
        f"""WITH counts AS (SELECT user_id, count(*) AS n FROM {SESSIONS_TABLE} GROUP BY user_id),
        prints AS (
            SELECT user_id, hash(logon, logoff, up, down) AS print FROM {SESSIONS_TABLE}
        ),
        -- a session shared by many users is a coincidence (or a default value), not a copy
        rare AS (SELECT print FROM prints GROUP BY print HAVING count(*) BETWEEN 2 AND 4),
        shared AS (
            SELECT a.user_id AS a, b.user_id AS b, count(*) AS same
            FROM prints a JOIN prints b ON a.print = b.print AND a.user_id < b.user_id
            WHERE a.print IN (SELECT print FROM rare)
            GROUP BY ALL
        )
        SELECT a, b, same / least(ca.n, cb.n) AS share FROM shared
        JOIN counts ca ON ca.user_id = a JOIN counts cb ON cb.user_id = b
        WHERE same / least(ca.n, cb.n) >= {float(min_share)} AND same >= {int(min_sessions)}
        ORDER BY share DESC, a, b"""
    ).to_pylist()
    return [(row["a"], row["b"], float(row["share"])) for row in rows]


def read_sessions(
    paths: str | Path | list[str | Path],
    fields: ReportFields = ReportFields(),
    *,
    quarantine: str | Path | None = None,
    force: bool = False,
):
    """The sessions of report / export files as an Arrow table (one row per session).

    Columns: ``user_id, logon, logoff, up, down, source, line`` (local times, bytes).

    >>> import tempfile
    >>> from pathlib import Path
    >>> from netpersona.synth.devices import write_device_reports
    >>> folder = Path(tempfile.mkdtemp()) / 'may'
    >>> counts = write_device_reports(folder, users=40, month='2024-05', seed=1)
    >>> sessions = read_sessions(folder / 'reports.jsonl.gz')
    >>> sessions.column_names
    ['user_id', 'logon', 'logoff', 'up', 'down', 'line', 'source']
    >>> len(set(sessions.column('user_id').to_pylist())) <= 40
    True
    """
    from netpersona.engine import DuckDBEngine

    with DuckDBEngine() as engine:
        load_sessions(engine, paths, fields, quarantine=quarantine, force=force)
        return engine.fetch_arrow(
            f"SELECT s.* EXCLUDE (file_index), f.source FROM {SESSIONS_TABLE} s "
            f"JOIN {_FILES} f USING (file_index) ORDER BY user_id, logon"
        )
