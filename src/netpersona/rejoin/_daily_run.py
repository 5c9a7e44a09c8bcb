"""``Library.add_day`` (and ``index``, the same path on a fresh or growing workspace): one
batch of log into the daily store (``W.store``, changed in place inside one transaction), then
the library written into the next state of the workspace file and swapped in (see
:func:`netpersona.engine.Workspace.store_build`: a kill leaves the previous state whole)."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa

from netpersona._core import ConfigError, InputError, Progress
from netpersona.engine import Engine, Workspace
from netpersona.io import LogMapping, LogSource, LogTable, ReadSummary, read_log
from netpersona.rejoin._daily import (
    APPLIED,
    DAYS,
    LIBRARY,
    LIBRARY_LOG,
    PARTIALS,
    STATE,
    WINDOW_LOG,
    ensure_tables,
    link_segments,
    mapped_rows,
    rederive,
    relink,
    window_view,
)
from netpersona.rejoin._daily_library import write_library
from netpersona.rejoin._daily_sql import date_literal
from netpersona.rejoin._daily_store import (
    INCOMING,
    copy_status,
    migrate,
    old_layout,
    read_state,
    reset,
)
from netpersona.rejoin._daily_sums import ensure_sums, sums_daily, sums_full
from netpersona.rejoin._settings import RejoinSettings

#: the library's window in days when none was set: the paper's 60
DEFAULT_WINDOW_DAYS = 60

#: What a build holds outside DuckDB's own memory limit (which bounds only its buffer
#: manager): Python and the libraries, plus DuckDB's metadata of the tables the build writes,
#: which grows with the rows they hold. Measured at the peak of ``rejoin index`` on the paper
#: preset (2026-12-07, docs/daily-operation.md "Cost"): 350-460 MiB above the limit at 34M
#: rows, 1,078 MiB at 1.05 billion rows (25,809 users) and 1,349 MiB at 1.02 billion rows
#: (100,000 users), about 0.9 B a row. While a build reads its batch, derives and writes the
#: library, DuckDB gets its limit less this much (:func:`engine_share`), so the process stays
#: within the limit.
OUTSIDE_BYTES = 512 * 2**20
#: ... and this much more for every row the store holds after the batch (its raw log)
OUTSIDE_BYTES_PER_ROW = 1.0
#: the least share of its limit DuckDB keeps, however large the window
MIN_ENGINE_SHARE = 0.4
#: ... and the least memory: a limit up to this much is DuckDB's whole (no reserve)
MIN_ENGINE_BYTES = 2**30


def engine_share(limit_bytes: int, rows: int) -> float:
    """The share of DuckDB's memory limit a build lets it use once the store holds ``rows``
    rows: the limit less :data:`OUTSIDE_BYTES` and :data:`OUTSIDE_BYTES_PER_ROW` per row, but
    at least :data:`MIN_ENGINE_SHARE` of it and :data:`MIN_ENGINE_BYTES`.

    >>> engine_share(3 * 10**9, 0)
    0.821...
    >>> round(engine_share(3 * 10**9, 1_000_000_000), 2)
    0.49
    >>> engine_share(4 * 10**9, 10**10), engine_share(10**9, 10**9)
    (0.4, 1.0)
    """
    limit = max(1, limit_bytes)
    outside = OUTSIDE_BYTES + OUTSIDE_BYTES_PER_ROW * max(0, rows)
    floor = max(MIN_ENGINE_SHARE, min(1.0, MIN_ENGINE_BYTES / limit))
    return max(floor, min(1.0, 1.0 - outside / limit))


def _engine_limit(ws: Engine) -> int:
    """DuckDB's memory limit in bytes (1 TiB if it cannot be read: no reserve to speak of)."""
    return ws.memory_limit_bytes() or 2**40


@dataclass
class DailySummary:
    """What one batch (``add-day`` or ``index``) did to a workspace's library."""

    workspace: str
    days: list[dt.date]
    users: int
    sites: int
    rows: int
    window_days: int | None
    keep_days: int | None
    window_start: dt.date | None
    last_day: dt.date | None
    pairs: int = 0
    too_old: int = 0
    seconds: float = 0.0
    read: ReadSummary = field(default_factory=ReadSummary)
    version: int = 0

    def to_dict(self) -> dict:
        """JSON-ready values (dates as ISO text; the read summary left out)."""
        return summary_dict(self)

    def describe(self) -> str:
        """One line for a person."""
        days = ", ".join(str(d) for d in self.days[:5]) + (" ..." if len(self.days) > 5 else "")
        window = "all days" if self.window_days is None else f"{self.window_days} days"
        span = f" ({self.window_start} .. {self.last_day})" if self.last_day else ""
        old = f"; {self.too_old:,} rows older than the days kept were left out" * bool(self.too_old)
        return (
            f"library of {self.workspace}: {self.users:,} users, {self.sites:,} sites, window "
            f"{window}{span}; {len(self.days)} day(s) touched [{days}], {self.pairs:,} "
            f"user-days re-derived; {self.rows:,} rows held{old}; {self.seconds:.1f} s "
            f"(version {self.version})"
        )


def _state(ws: Engine) -> dict:
    return read_state(ws)


def _write_state(
    ws: Engine, window: int | None, keep: int | None, last, done: dict, token: str, rows: int
) -> None:
    """The daily state (one row): window, retention, last day added, the window the library
    was aggregated over (what the next batch's running sums start from), the rows held and
    the batch's token (the library file written from this state carries the same)."""
    values = pa.table(
        {
            "window_days": pa.array([window], pa.int32()),
            "keep_days": pa.array([keep], pa.int32()),
            "last_added": pa.array([last], pa.date32()),
            "window_start": pa.array([done["window_start"]], pa.date32()),
            "library_end": pa.array([done["end"]], pa.date32()),
            "rows": pa.array([rows], pa.int64()),
            "token": pa.array([token], pa.string()),
        }
    )
    ws.register_arrow("_rejoin_daily_src", values)
    ws.create_table(STATE, "SELECT *, CAST(now() AS TIMESTAMP) AS added_at FROM _rejoin_daily_src")
    ws.execute("DROP VIEW IF EXISTS _rejoin_daily_src")


def _check_days(name: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise ConfigError(f"{name} must be at least 1 day (got {value})")


def _read_batch(ws: Workspace, source, mapping, progress, path) -> ReadSummary:
    """The batch's rows into table INCOMING (files already read into the library skipped)."""
    ws.execute(f"DROP TABLE IF EXISTS {INCOMING}")
    if isinstance(source, LogTable):
        read = read_log(source, mapping, ws, INCOMING, progress=progress, where=f"workspace {path}")
        return ReadSummary(table=LIBRARY_LOG, rows=read.rows, rejected=read.rejected)
    files = [source] if isinstance(source, str | Path) else list(source)
    read = ws.ingest([Path(s) for s in files], mapping, INCOMING, progress=progress,
                     transaction=False)  # fmt: skip
    if not ws.has_table(INCOMING):
        ws.execute(f"CREATE TABLE {INCOMING} (user_id VARCHAR, ts TIMESTAMP, site VARCHAR)")
    return read


def apply_batch(
    ws: Workspace,
    window: int | None,
    keep: int | None,
    extra_touched: str | None = None,
    previous: dict | None = None,
    in_sync: bool = False,
) -> dict:
    """Fold table INCOMING into the store: rows kept, touched (user, day) pairs re-derived,
    the running sums brought to the ``window`` (by the days in and out when the batch only
    adds days after the last held and the store is ``in_sync`` with the library file, else
    summed again), days past ``keep`` deleted."""
    previous = previous or {}
    ensure_tables(ws)
    ensure_sums(ws)
    fresh_store = not ws.fetch_scalar(f"SELECT count(*) FROM {DAYS}")
    old_end = ws.fetch_scalar(f"SELECT max(day) FROM {DAYS}")
    batch = (
        ws.fetch_arrow(
            f"SELECT DISTINCT CAST(ts AS DATE) AS day FROM {INCOMING} WHERE ts IS NOT NULL "
            "ORDER BY day"
        )
        .column("day")
        .to_pylist()
    )
    held_end = None  # rows held without partials (a workspace from before them): their days
    if fresh_store:
        held_end = ws.fetch_scalar(f"SELECT max(CAST(ts AS DATE)) FROM {LIBRARY_LOG}")
    end = max([d for d in (old_end, held_end, *batch[-1:]) if d is not None], default=None)
    keep_start = None if keep is None or end is None else end - dt.timedelta(days=keep - 1)
    after = "" if keep_start is None else f"AND ts >= {date_literal(keep_start)}"
    after_l = after.replace("AND ts", "AND l.ts")
    too_old = 0
    if keep_start is not None:
        too_old = int(ws.fetch_scalar(
            f"SELECT count(*) FROM {INCOMING} WHERE ts < {date_literal(keep_start)}"
        ))  # fmt: skip
    ws.execute(
        f"INSERT INTO {LIBRARY_LOG} (user_id, ts, site) SELECT user_id, ts, site FROM {INCOMING} "
        f"WHERE user_id IS NOT NULL AND ts IS NOT NULL AND site IS NOT NULL {after}"
    )
    relinked = relink(ws, link_segments(ws))
    # a workspace built before partials existed: every held row is derived once
    source = LIBRARY_LOG if fresh_store else INCOMING
    pairs = [
        f"SELECT DISTINCT m.user_id, CAST(m.ts AS DATE) AS day FROM "
        f"{mapped_rows(source, APPLIED, after_l)} AS m"
    ]
    pairs += [f"SELECT user_id, day FROM {t}" for t in (relinked, extra_touched) if t]
    ws.create_table("_rejoin_touched", " UNION ".join(pairs))
    n_pairs = rederive(ws, "_rejoin_touched", APPLIED)
    window_start = None if window is None or end is None else end - dt.timedelta(days=window - 1)
    # only days after the library's last came (the daily case): the sums move with the days
    old_start = previous.get("window_start")
    daily = (
        in_sync
        and not fresh_store
        and relinked is None
        and extra_touched is None
        and bool(batch)
        and old_end is not None
        and previous.get("library_end") == old_end
        and batch[0] > old_end
        and (window_start is None) == (old_start is None)
        and (old_start is None or window_start >= old_start)
    )
    if daily:
        new = f"day > {date_literal(old_end)}"
        entering = new if window_start is None else f"{new} AND day >= {date_literal(window_start)}"
        leaving = None
        if window_start is not None and window_start > old_start:
            leaving = (f"day >= {date_literal(old_start)} AND day < {date_literal(window_start)} "
                       f"AND day <= {date_literal(old_end)}")  # fmt: skip
        sums_daily(ws, entering, leaving)
    else:
        sums_full(ws, window_start)
    window_view(ws, APPLIED, window_start)
    if keep_start is not None:
        cut = date_literal(keep_start)
        for table in (*PARTIALS.values(), DAYS):
            ws.execute(f"DELETE FROM {table} WHERE day < {cut}")
        ws.execute(f"DELETE FROM {LIBRARY_LOG} WHERE ts < {cut}")
    for table in ("_rejoin_touched", "_rejoin_relinked", "_rejoin_segments"):
        ws.execute(f"DROP TABLE IF EXISTS {table}")
    ws.execute(f"DELETE FROM {INCOMING}")
    new_days = None
    if daily:
        new_days = [d for d in batch if window_start is None or d >= window_start]
    return {"days": batch, "pairs": n_pairs, "too_old": too_old, "window_start": window_start,
            "end": end, "new_days": new_days}  # fmt: skip


def _settings_of(ws: Engine, lib: str) -> RejoinSettings:
    """The library file's settings (step 1's defaults where it holds no library yet)."""
    import json

    tables = set(ws.fetch_arrow(
        f"SELECT table_name FROM duckdb_tables() WHERE database_name = '{lib}'"
    ).column("table_name").to_pylist())  # fmt: skip
    if f"{LIBRARY}_meta" not in tables:
        return RejoinSettings()
    value = ws.fetch_scalar(f"SELECT value FROM {lib}.main.{LIBRARY}_meta")
    return RejoinSettings.from_mapping(json.loads(value)["settings"], source=f"{LIBRARY}_meta")


def add_day(
    path: str | Path,
    source: LogSource,
    mapping: LogMapping | None = None,
    settings: RejoinSettings | None = None,
    *,
    window_days: int | None = None,
    keep_days: int | None = None,
    force: bool = False,
    default_window: int | None = DEFAULT_WINDOW_DAYS,
    what: str = "rejoin add-day",
    progress: Progress | None = None,
) -> DailySummary:
    """One batch of log (one or more days) into workspace ``path``'s library, in one rebuild.

    The window (``window_days``, else the workspace's, else ``default_window``; ``None`` holds
    every day) ends on the latest day held; raw rows and partials older than ``keep_days``
    (else the workspace's, else the window) are deleted. ``settings`` that change step 1
    default to the library's own."""
    progress = progress or Progress()
    _check_days("--window-days", window_days)
    _check_days("--keep-days", keep_days)
    path = Path(path)
    started = time.perf_counter()
    moving, new = old_layout(path, force), not path.exists()
    with Workspace.store_build(path, what=what, fresh=moving) as ws:
        lib = ws.next_catalog  # type: ignore[attr-defined]
        if moving:
            migrate(ws, path)
        ws.execute("BEGIN TRANSACTION")
        if force or new:  # a new workspace: a store left beside the name is not its own
            reset(ws)
        state = _state(ws)
        token = read_state(ws, lib).get("token")
        in_sync = not force and state.get("token") is not None and state.get("token") == token
        window = window_days or state.get("window_days") or default_window
        keep = keep_days or state.get("keep_days")
        if keep is not None and window is not None and keep < window:
            raise ConfigError(f"--keep-days {keep} is shorter than the window ({window} days)")
        settings = settings or _settings_of(ws, lib)
        # DuckDB's metadata of the tables a build writes lies outside its memory limit: it
        # gets less of its limit as the store's rows grow (those held, then with the batch's)
        limit, held = _engine_limit(ws), int(state.get("rows") or 0)
        with ws.lend_memory(engine_share(limit, held)) as share:
            read = _read_batch(ws, source, mapping, progress, path)
            share(engine_share(limit, held + read.rows))
            done = apply_batch(ws, window, keep or window, previous=state, in_sync=in_sync)
            stored_keep = keep_days or state.get("keep_days")
            last = done["days"][-1] if done["days"] else state.get("last_added")
            rows = int(ws.fetch_scalar(f"SELECT count(*) FROM {LIBRARY_LOG}"))
            _write_state(ws, window, stored_keep, last, done, uuid.uuid4().hex, rows)
            ws.execute("COMMIT")
            # the store holds the batch: the library file follows it (a kill from here on
            # leaves the store ahead, which the next build sees by the token and derives again)
            users, sites = write_library(ws, lib, settings, done["window_start"],
                                         done["new_days"], WINDOW_LOG)  # fmt: skip
        copy_status(ws)
        version = int(ws.fetch_scalar(f"SELECT version FROM {lib}.main._netpersona_state"))
    return DailySummary(
        str(path), done["days"], users, sites, rows, window, keep or window,
        done["window_start"], done["end"], done["pairs"], done["too_old"],
        time.perf_counter() - started, read, version,
    )  # fmt: skip


def summary_dict(summary) -> dict:
    """A summary or status as JSON-ready values (dates as ISO text)."""
    out = asdict(summary)
    out.pop("read", None)

    def plain(value):
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    return {key: plain(value) for key, value in out.items()}


def require_library(ws: Engine, path) -> None:
    if not ws.has_table(f"{LIBRARY}_meta"):
        raise InputError(
            "the workspace holds no library",
            path=path,
            hint="build it with `netpersona rejoin add-day LOGS --workspace W`",
        )
