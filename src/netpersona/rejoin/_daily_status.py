"""What a workspace's daily store holds (``rejoin status``), and forgetting ids in it."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from netpersona._core import Progress
from netpersona.engine import Engine, Workspace
from netpersona.rejoin._daily import (
    APPLIED,
    DAYS,
    LIBRARY,
    LIBRARY_LOG,
    PARTIALS,
    WINDOW_LOG,
    aggregate,
    ensure_tables,
    mapped_rows,
    rederive,
    window_view,
)
from netpersona.rejoin._daily_run import _state, require_library, summary_dict
from netpersona.rejoin._profiles import Profiles


@dataclass
class DailyStatus:
    """A workspace's library as the daily cycle sees it (``netpersona rejoin status``)."""

    workspace: str
    version: int
    built_at: str | None
    first_day: dt.date | None
    last_day: dt.date | None
    days_held: int
    window_days: int | None
    keep_days: int | None
    window_start: dt.date | None
    users: int
    sites: int
    rows: int
    last_added: dt.date | None
    added_at: str | None
    #: runs of days missing between the first and the last day held, as (first, last)
    gaps: list[tuple[dt.date, dt.date]] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready values (dates as ISO text, gaps as [first, last] pairs)."""
        return summary_dict(self)

    def describe(self) -> str:
        """Lines for a person."""
        window = "all days held" if self.window_days is None else f"{self.window_days} days"
        gaps = ", ".join(a.isoformat() if a == b else f"{a} .. {b}" for a, b in self.gaps)
        return "\n".join(
            [
                f"workspace {self.workspace} (version {self.version}, built {self.built_at})",
                f"days held: {self.days_held} ({self.first_day} .. {self.last_day})",
                f"window: {window}, from {self.window_start or self.first_day}; raw rows and "
                f"partials kept {self.keep_days or self.window_days or 'all'} days",
                f"library: {self.users:,} users, {self.sites:,} sites; {self.rows:,} rows held",
                f"last day added: {self.last_added} (at {self.added_at})",
                f"gaps in the calendar: {gaps or 'none'}",
            ]
        )


def gaps_of(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Runs of calendar days missing between sorted ``days``.

    >>> d = dt.date
    >>> gaps_of([d(2024, 1, 1), d(2024, 1, 2), d(2024, 1, 5), d(2024, 1, 7)])
    [(datetime.date(2024, 1, 3), datetime.date(2024, 1, 4)), (datetime.date(2024, 1, 6), datetime.date(2024, 1, 6))]
    """  # noqa: E501
    one = dt.timedelta(days=1)
    return [(a + one, b - one) for a, b in itertools.pairwise(days) if b - a > one]


def status(path: str | Path) -> DailyStatus:
    """:meth:`Library.status`: read from the last complete state (beside a running build)."""
    with Workspace.reader(path) as ws:
        require_library(ws, path)
        state = Workspace.state_of(ws)
        daily = _state(ws)
        days = []
        if ws.has_table(DAYS):
            days = ws.fetch_arrow(f"SELECT day FROM {DAYS}").column("day").to_pylist()
        days.sort()
        profiles = Profiles.open(ws, LIBRARY)
        rows = daily.get("rows")  # the old layout's state has no count: its rows are here
        if rows is None:
            rows = int(ws.fetch_scalar(f"SELECT count(*) FROM {LIBRARY_LOG}"))
        window = daily.get("window_days")
        start = None
        if window is not None and days:
            start = max(days[-1] - dt.timedelta(days=window - 1), days[0])
        added = daily.get("added_at")
        return DailyStatus(
            str(path), state.version, state.built_at, days[0] if days else None,
            days[-1] if days else None, len(days), window, daily.get("keep_days") or window,
            start, profiles.n_users, profiles.n_sites, rows, daily.get("last_added"),
            None if added is None else str(added), gaps_of(days),
        )  # fmt: skip


def forget_daily(
    ws: Engine,
    user_ids: str | Iterable[str],
    progress: Progress | None = None,
    library: bool = True,
) -> dict[str, int]:
    """Remove stored ids ``user_ids`` from the daily store of an open writable workspace
    (raw rows, partials, the link segments) and derive again what they were part of: the
    (user, day) pairs their rows fed (their own, or a linked subscriber's) and the library.
    Returns the rows removed per table (``library=False``: the library is not aggregated, the
    caller writes it from the store). The deleted bytes stay in the file's free pages until
    the file is rewritten (``netpersona forget`` copies the state into a fresh file)."""
    ids = sorted({user_ids} if isinstance(user_ids, str) else {str(u) for u in user_ids})
    ensure_tables(ws)
    ws.register_arrow("_forget_daily_ids_src", pa.table({"id": pa.array(ids, pa.string())}))
    ws.create_table("_forget_daily_ids", "SELECT id FROM _forget_daily_ids_src")
    ws.execute("DROP VIEW IF EXISTS _forget_daily_ids_src")
    ids_sql = "(SELECT id FROM _forget_daily_ids)"
    removed: dict[str, int] = {}
    try:
        # their rows, and the rows of ids linked into theirs: the (user, day) pairs those fed
        # under the links before and after the ids leave are derived again
        affected = (
            f"(SELECT id FROM {ids_sql} AS i UNION SELECT user_id FROM {APPLIED} "
            f"WHERE eff_user IN {ids_sql})"
        )
        raw = f"(SELECT * FROM {LIBRARY_LOG} WHERE user_id IN {affected})"
        pairs = "SELECT DISTINCT m.user_id, CAST(m.ts AS DATE) AS day FROM {} AS m"
        ws.create_table("_forget_daily_affected", f"SELECT * FROM {affected} AS a")
        ws.create_table("_forget_daily_touched", pairs.format(mapped_rows(raw, APPLIED)))
        targets = [(t, "user_id") for t in (LIBRARY_LOG, *PARTIALS.values(), APPLIED)]
        for table, column in [*targets, (APPLIED, "eff_user")]:
            gone = int(ws.fetch_scalar(f"SELECT count(*) FROM {table} WHERE {column} IN {ids_sql}"))
            if gone:
                ws.execute(f"DELETE FROM {table} WHERE {column} IN {ids_sql}")
                removed[table] = removed.get(table, 0) + gone
        raw = (
            f"(SELECT * FROM {LIBRARY_LOG} WHERE user_id IN (SELECT * FROM _forget_daily_affected))"
        )
        ws.execute(f"INSERT INTO _forget_daily_touched {pairs.format(mapped_rows(raw, APPLIED))}")
        rederive(ws, "_forget_daily_touched", APPLIED)
        days = ws.fetch_arrow(f"SELECT day FROM {DAYS} ORDER BY day").column("day").to_pylist()
        # days whose every user left: no longer held
        ws.execute(f"DELETE FROM {DAYS} WHERE day NOT IN (SELECT day FROM {PARTIALS['days']})")
        if library and ws.has_table(f"{LIBRARY}_meta"):
            before = Profiles.open(ws, LIBRARY)
            daily = _state(ws)
            window = daily.get("window_days")
            start = None
            if window is not None and days:
                start = days[-1] - dt.timedelta(days=window - 1)
            after = aggregate(
                ws, LIBRARY, before.settings, start, None, WINDOW_LOG, progress=progress
            )
            window_view(ws, APPLIED, start)
            if before.n_users - after.n_users:
                removed[f"{LIBRARY}_users"] = before.n_users - after.n_users
    finally:
        for table in ("_forget_daily_ids", "_forget_daily_touched", "_forget_daily_affected"):
            ws.execute(f"DROP TABLE IF EXISTS {table}")
    return removed
