"""The paper's evaluation protocol: cut one log in time into a library and re-joining queries.

Over a window of days (default: the whole log), the last ``query_days`` days are the query
period and the days before it the library period (the paper: 60 days, t = 5). The library is a
random ``library_fraction`` of the users active in the library period, with their
library-period rows only. The queries are every user active in the query period, with their
query-period rows only, under fresh ids that say nothing about the original id; a query whose
user is not in the library must be answered "new". The truth table links each fresh id back.

Everything is deterministic for a seed: which users enter the library and which fresh id each
query gets come from a keyed hash of the seed and the user id, not from row order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import pyarrow as pa

from netpersona._core import ConfigError, InputError
from netpersona.engine import Engine

#: prefix of the fresh query ids (``q-000001``); the paper calls a new number ``v``
QUERY_ID_PREFIX = "q-"


@dataclass(frozen=True)
class Split:
    """One cut of a log into a library and queries, materialised as engine tables.

    ``library_table`` and ``query_table`` are canonical log tables (``user_id, ts, site``);
    ``truth_table`` has ``query_user, true_user, in_library`` (one row per query).
    """

    #: prefix of every table of this split (``<prefix>_library_log`` ...)
    prefix: str
    library_table: str
    query_table: str
    truth_table: str
    window: tuple[dt.date, dt.date]
    library_period: tuple[dt.date, dt.date]
    query_period: tuple[dt.date, dt.date]
    query_days: int
    library_fraction: float
    seed: int
    n_library: int
    n_queries: int
    n_absent: int
    #: users active in the library period, before the random library_fraction draw
    n_library_active: int
    #: how the log was cut: ``time`` (this module), ``first-seen`` or ``last-days``
    #: (:mod:`netpersona.rejoin._splits`)
    split_by: str = "time"

    def describe(self) -> dict:
        """The protocol's figures as JSON-serialisable values."""
        return {
            "split_by": self.split_by,
            "window": [self.window[0].isoformat(), self.window[1].isoformat()],
            "library_period": [d.isoformat() for d in self.library_period],
            "query_period": [d.isoformat() for d in self.query_period],
            "query_days": self.query_days,
            "library_fraction": self.library_fraction,
            "seed": self.seed,
            "n_library_active": self.n_library_active,
            "n_library": self.n_library,
            "n_queries": self.n_queries,
            "n_present": self.n_queries - self.n_absent,
            "n_absent": self.n_absent,
        }


def parse_window(text: str | None) -> tuple[dt.date, dt.date] | None:
    """Parse ``START..END`` (ISO dates, both included) into a pair of dates."""
    if text is None or not text.strip():
        return None
    parts = text.split("..")
    try:
        if len(parts) != 2:
            raise ValueError
        start, end = (dt.date.fromisoformat(p.strip()) for p in parts)
    except ValueError:
        raise ConfigError(
            f"window {text!r} is not START..END; expected two ISO dates such as "
            "2004-04-15..2004-06-13 (both days included)"
        ) from None
    if end < start:
        raise ConfigError(f"window {text!r} ends before it starts; give START..END in order")
    return start, end


def user_rank_key(seed: int, purpose: str, user_id: str) -> bytes:
    """A keyed hash of a user id: the random order in which users are drawn for ``purpose``.

    BLAKE2b keyed by the seed, so the order is the same on every machine and engine for a seed,
    and unrelated across seeds or purposes.
    """
    key = f"netpersona-protocol:{seed}".encode()
    return hashlib.blake2b(
        f"{purpose}\x00{user_id}".encode(), key=key[:64], digest_size=16
    ).digest()


def draw_library(users: list[str], fraction: float, seed: int) -> list[str]:
    """The ``round(fraction * len(users))`` users drawn into the library for ``seed``."""
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(
            f"library_fraction must be in (0, 1], got {fraction}; it is the share of the "
            "library period's users kept in the library (the paper: 20,809 of 25,809 = 0.806)"
        )
    size = round(fraction * len(users))
    ranked = sorted(users, key=lambda u: user_rank_key(seed, "library", u))
    return ranked[:size]


def fresh_query_ids(users: list[str], seed: int) -> dict[str, str]:
    """Map each query user to a fresh id ``q-000001``..: numbered in a seeded random order.

    The number carries nothing of the original id (not its order, not its text); only the truth
    table links them.
    """
    ranked = sorted(users, key=lambda u: user_rank_key(seed, "query", u))
    width = max(6, len(str(len(ranked))))
    return {u: f"{QUERY_ID_PREFIX}{i:0{width}d}" for i, u in enumerate(ranked, start=1)}


def log_part(engine: Engine, name: str, select: str) -> None:
    """``name`` as the rows ``select`` picks from a log: on an engine of this machine (DuckDB)
    a view (each use reads the log again, no copy of it is held or spilled), on a cluster a
    table."""
    if engine.distributed:
        engine.create_table(name, select)
        return
    _drop(engine, f"table_name = '{name}'")  # a table or view of that name, from before
    engine.execute(f"CREATE VIEW {name} AS {select}")


def _day_bounds(engine: Engine, log_table: str) -> tuple[dt.date, dt.date] | None:
    row = engine.fetch_arrow(
        f"SELECT min(CAST(ts AS DATE)) AS first_day, max(CAST(ts AS DATE)) AS last_day "
        f"FROM {log_table}"
    ).to_pylist()[0]
    if row["first_day"] is None:
        return None
    return row["first_day"], row["last_day"]


def _ts(day: dt.date) -> str:
    return f"TIMESTAMP '{day.isoformat()} 00:00:00'"


def _distinct_users(engine: Engine, log_table: str, start: dt.date, end: dt.date) -> list[str]:
    """Users with at least one row on the days ``start``..``end`` (both included)."""
    table = engine.fetch_arrow(
        f"SELECT DISTINCT user_id FROM {log_table} "
        f"WHERE ts >= {_ts(start)} AND ts < {_ts(end + dt.timedelta(days=1))}"
    )
    return table.column("user_id").to_pylist()


def split_log(
    engine: Engine,
    log_table: str,
    *,
    query_days: int = 5,
    library_fraction: float = 0.8,
    seed: int = 0,
    window: tuple[dt.date, dt.date] | None = None,
    prefix: str = "eval",
) -> Split:
    """Cut ``log_table`` into ``<prefix>_library_log``, ``<prefix>_query_log`` and
    ``<prefix>_truth`` by the paper's protocol (see the module docstring)."""
    if query_days < 1:
        raise ConfigError(f"query_days must be at least 1, got {query_days}")
    bounds = _day_bounds(engine, log_table)
    if bounds is None:
        raise InputError(
            f"the log table {log_table!r} has no rows", hint="check the input files and mapping"
        )
    start, end = window or bounds
    days = (end - start).days + 1
    if query_days >= days:
        raise ConfigError(
            f"the window {start}..{end} has {days} day(s); query_days={query_days} leaves no "
            "library period; choose a longer --window or fewer --query-days"
        )
    query_start = end - dt.timedelta(days=query_days - 1)
    library_end = query_start - dt.timedelta(days=1)

    library_active = _distinct_users(engine, log_table, start, library_end)
    library_users = draw_library(library_active, library_fraction, seed)
    query_users = _distinct_users(engine, log_table, query_start, end)
    if not query_users:
        raise InputError(
            f"no user is active in the query period {query_start}..{end} of {log_table!r}",
            hint="choose a --window whose last days hold activity, or fewer --query-days",
        )
    ids = fresh_query_ids(query_users, seed)
    in_library = set(library_users)

    lib_name, qry_name, truth_name = (
        f"{prefix}_library_log",
        f"{prefix}_query_log",
        f"{prefix}_truth",
    )
    engine.register_arrow(
        f"{prefix}__library_users", pa.table({"user_id": pa.array(library_users, pa.string())})
    )
    log_part(
        engine,
        lib_name,
        f"SELECT user_id, ts, site FROM {log_table} "
        f"WHERE ts >= {_ts(start)} AND ts < {_ts(query_start)} "
        f"AND user_id IN (SELECT user_id FROM {prefix}__library_users)",
    )
    ordered = sorted(ids, key=ids.__getitem__)
    truth = pa.table(
        {
            "query_user": pa.array([ids[u] for u in ordered], pa.string()),
            "true_user": pa.array(ordered, pa.string()),
            "in_library": pa.array([u in in_library for u in ordered], pa.bool_()),
        }
    )
    engine.register_arrow(f"{prefix}__truth_view", truth)
    engine.create_table(truth_name, f"SELECT * FROM {prefix}__truth_view")
    log_part(
        engine,
        qry_name,
        f"SELECT t.query_user AS user_id, l.ts, l.site FROM {log_table} AS l "
        f"JOIN {truth_name} AS t ON l.user_id = t.true_user "
        f"WHERE l.ts >= {_ts(query_start)} AND l.ts < {_ts(end + dt.timedelta(days=1))}",
    )
    n_absent = sum(1 for u in query_users if u not in in_library)
    return Split(
        prefix=prefix,
        library_table=lib_name,
        query_table=qry_name,
        truth_table=truth_name,
        window=(start, end),
        library_period=(start, library_end),
        query_period=(query_start, end),
        query_days=query_days,
        library_fraction=library_fraction,
        seed=seed,
        n_library=len(library_users),
        n_queries=len(query_users),
        n_absent=n_absent,
        n_library_active=len(library_active),
    )


def drop_tables(engine: Engine, prefix: str) -> None:
    """Drop every table and view whose name starts with ``<prefix>_`` (a split, its profiles)."""
    _drop(engine, f"starts_with(table_name, '{prefix}_')")


def _drop(engine: Engine, where: str) -> None:
    """Drop the tables and views ``where`` picks, each as its kind (dropping a view as a
    table fails, and aborts an open transaction)."""
    names = engine.fetch_arrow(
        f"SELECT table_name, table_type FROM information_schema.tables WHERE {where}"
    ).to_pylist()
    for row in names:
        kind = "VIEW" if "VIEW" in str(row["table_type"]).upper() else "TABLE"
        engine.execute(f'DROP {kind} IF EXISTS "{row["table_name"]}"')


def fetch_truth(engine: Engine, split: Split) -> pa.Table:
    """The split's truth table: ``query_user, true_user, in_library``."""
    return engine.fetch_arrow(
        f"SELECT query_user, true_user, in_library FROM {split.truth_table} ORDER BY query_user"
    )
