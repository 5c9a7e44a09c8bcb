"""What an analyst looks at first on a new log: its size, span and how active users are."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from netpersona._core import InputError, Progress

if TYPE_CHECKING:
    from netpersona.io._reader import ReadSummary

#: quantiles reported for each per-user distribution
DISTRIBUTION_KEYS = ("min", "p25", "median", "p75", "max", "mean")


@dataclass(frozen=True)
class LogSummary:
    """Summary of a canonical access-log table.

    ``active_days`` is the distribution over users of their number of active (local) days;
    ``requests_per_day`` the distribution over users of their mean requests per active day.

    >>> import tempfile
    >>> from pathlib import Path
    >>> log = Path(tempfile.mkdtemp()) / 'log.csv'
    >>> _ = log.write_text('user_id,ts,url\\n'
    ...                    '1771234,2024-05-01 08:00:00,http://a.cn/x\\n'
    ...                    '1771234,yesterday,http://b.cn/\\n'  # a time nobody can read
    ...                    '1885678,2024-05-02 09:30:00,http://b.cn/y\\n')
    >>> from netpersona.engine import DuckDBEngine
    >>> from netpersona.io import LogMapping
    >>> with DuckDBEngine() as engine:
    ...     summary, _ = summarise_files([log], LogMapping(max_bad_fraction=0.5), engine)
    >>> summary.to_dict()['rows'], summary.to_dict()['active_days']['max']
    (2, 1.0)
    """

    rows: int
    rejected: int
    users: int
    sites: int
    first_day: str | None
    last_day: str | None
    active_days: dict[str, float]
    requests_per_day: dict[str, float]

    def to_dict(self) -> dict:
        """The summary as JSON-ready data (keys as in ``netpersona logs summary --json``)."""
        return asdict(self)


def _distribution(engine, column: str, per_user: str) -> dict[str, float]:
    row = engine.fetch_arrow(
        f"SELECT min({column}) AS min, quantile_cont({column}, 0.25) AS p25, "
        f"median({column}) AS median, quantile_cont({column}, 0.75) AS p75, "
        f"max({column}) AS max, avg({column}) AS mean FROM ({per_user})"
    ).to_pylist()[0]
    return {key: (None if row[key] is None else round(float(row[key]), 3)) for key in row}


def summarise_log(engine, table: str = "access_log", rejected: int = 0) -> LogSummary:
    """Summarise the canonical table ``table`` (``rejected``: rows the read turned away).

    >>> from netpersona.engine import DuckDBEngine
    >>> rows = ("VALUES ('a', TIMESTAMP '2024-05-01 08:00', 'x.cn'), "
    ...         "('a', TIMESTAMP '2024-05-02 09:00', 'y.cn'), "
    ...         "('b', TIMESTAMP '2024-05-02 10:00', 'x.cn')")
    >>> with DuckDBEngine() as engine:
    ...     engine.execute(f"CREATE TABLE access_log AS FROM ({rows}) t(user_id, ts, site)")
    ...     summary = summarise_log(engine)
    >>> summary.rows, summary.users, summary.sites, summary.first_day, summary.last_day
    (3, 2, 2, '2024-05-01', '2024-05-02')
    >>> summary.active_days['max'], summary.requests_per_day['mean']
    (2.0, 1.0)
    """
    quoted = _quoted(table)
    totals = engine.fetch_arrow(
        f"SELECT count(*) AS rows, count(DISTINCT user_id) AS users, "
        f"count(DISTINCT site) AS sites, CAST(min(ts) AS DATE) AS first_day, "
        f"CAST(max(ts) AS DATE) AS last_day FROM {quoted}"
    ).to_pylist()[0]
    per_user = (
        f"SELECT user_id, count(DISTINCT CAST(ts AS DATE)) AS active_days, "
        f"count(*) / count(DISTINCT CAST(ts AS DATE)) AS requests_per_day "
        f"FROM {quoted} GROUP BY user_id"
    )
    return LogSummary(
        rows=totals["rows"],
        rejected=rejected,
        users=totals["users"],
        sites=totals["sites"],
        first_day=None if totals["first_day"] is None else totals["first_day"].isoformat(),
        last_day=None if totals["last_day"] is None else totals["last_day"].isoformat(),
        active_days=_distribution(engine, "active_days", per_user),
        requests_per_day=_distribution(engine, "requests_per_day", per_user),
    )


def _quoted(table: str) -> str:
    return '"' + table.replace('"', '""') + '"'


def table_rows(engine, table: str) -> int:
    """Rows of ``table`` in the engine, 0 when it has no such table.

    >>> from netpersona.engine import DuckDBEngine
    >>> with DuckDBEngine() as engine:
    ...     engine.execute("CREATE TABLE log AS SELECT range AS x FROM range(5)")
    ...     print(table_rows(engine, "log"), table_rows(engine, "absent"))
    5 0
    """
    if not engine.has_table(table):
        return 0
    return int(engine.fetch_scalar(f"SELECT count(*) FROM {_quoted(table)}"))


def summarise_files(
    paths,
    mapping,
    engine,
    *,
    quarantine: str | Path | None = None,
    progress: Progress = Progress(),
) -> tuple[LogSummary, ReadSummary]:
    """Read access-log files into ``engine`` and summarise them (``netpersona logs summary``).

    Returns the summary and what the read found (rows rejected, where they were written).

    >>> import tempfile
    >>> from pathlib import Path
    >>> log = Path(tempfile.mkdtemp()) / 'log.csv'
    >>> _ = log.write_text('user_id,ts,url\\n'
    ...                    '1771234,2024-05-01 08:00:00,http://a.cn/x\\n'
    ...                    '1771234,yesterday,http://b.cn/\\n'  # a time nobody can read
    ...                    '1885678,2024-05-02 09:30:00,http://b.cn/y\\n')
    >>> from netpersona.engine import DuckDBEngine
    >>> from netpersona.io import LogMapping
    >>> with DuckDBEngine() as engine:
    ...     summary, read = summarise_files([log], LogMapping(max_bad_fraction=0.5), engine)
    >>> summary.rows, summary.rejected, summary.users, read.quarantine.name
    (2, 1, 2, 'log.rejected.csv')
    """
    from netpersona.io._read_log import read_log

    read = read_log(paths, mapping, engine, quarantine=quarantine, progress=progress)
    return summarise_log(engine, read.table, rejected=read.rejected), read


def summarise_ingested(workspace, table: str = "access_log") -> LogSummary:
    """Summarise a table ingested into a workspace (:class:`netpersona.engine.Workspace`),
    counting the rows its ingests rejected.

    >>> import tempfile
    >>> from pathlib import Path
    >>> log = Path(tempfile.mkdtemp()) / 'log.csv'
    >>> _ = log.write_text('user_id,ts,url\\n'
    ...                    '1771234,2024-05-01 08:00:00,http://a.cn/x\\n'
    ...                    '1771234,yesterday,http://b.cn/\\n'  # a time nobody can read
    ...                    '1885678,2024-05-02 09:30:00,http://b.cn/y\\n')
    >>> from netpersona.engine import Workspace
    >>> from netpersona.io import LogMapping
    >>> with Workspace(log.parent / 'ws.duckdb') as ws:
    ...     _ = ws.ingest([log], LogMapping(max_bad_fraction=0.5))
    ...     summary = summarise_ingested(ws)
    >>> summary.rows, summary.rejected, summary.first_day
    (2, 1, '2024-05-01')
    """
    if not workspace.has_table(table):
        raise InputError(f"the workspace has no table {table!r}", path=workspace.path)
    rejected = sum(row["rejected"] for row in workspace.ingested(table))
    return summarise_log(workspace, table, rejected=rejected)
