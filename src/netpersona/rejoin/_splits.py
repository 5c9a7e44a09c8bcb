"""Other ways to cut a log into a library and re-joining queries (issue 16, item 6).

:func:`netpersona.rejoin._protocol.split_log` is the paper's protocol (``time``): one calendar
cut, the last t days are the queries. Two more, for logs where that does not fit:

- ``first-seen`` — the natural protocol for logs with real identity changes and a truth file
  of (old, new) identity pairs (a project's ``.mailmap``): the library is every row before a
  cut day; the queries are the identities first seen on or after the cut, each with its first
  ``query_days`` days; a query is "present" when it is the new identity of a pair whose old
  identity is in the library (the old identity with the latest library activity is its true
  user when it has several), every other query must be answered "new". Without ``cut``, the
  day by which half of all identities have been seen (no truth used).
- ``last-days`` — each user's own last ``query_days`` days are their query and the days
  before them their library history; a random ``library_fraction`` of users is kept in the
  library (the others must be answered "new"). For logs over years where users come and go
  (check-ins), one calendar cut would leave few users on both sides.

Each returns a :class:`~netpersona.rejoin._protocol.Split` (the same tables and truth), so
every method is scored on it exactly as on the paper's protocol.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pyarrow as pa

from netpersona._core import ConfigError, InputError
from netpersona.engine import Engine
from netpersona.rejoin._protocol import (
    Split,
    draw_library,
    fresh_query_ids,
    log_part,
    split_log,
)

SPLITS = ("time", "first-seen", "last-days")


def read_identity_pairs(path: str | Path) -> list[tuple[str, str]]:
    """(old, new) identity pairs from a CSV file with the columns ``old_user,new_user``."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = {"old_user", "new_user"} - set(reader.fieldnames or [])
            if missing:
                raise InputError(
                    f"{path}: line 1: the header lacks {', '.join(sorted(missing))}",
                    hint="give a CSV with the columns old_user,new_user (one identity change "
                    "per line)",
                )
            pairs = []
            for line, row in enumerate(reader, start=2):
                old, new = (row.get("old_user") or "").strip(), (row.get("new_user") or "").strip()
                if not old or not new:
                    raise InputError(
                        f"{path}: line {line}: old_user and new_user must both be given",
                        hint="remove the line or fill in both identities",
                    )
                pairs.append((old, new))
    except OSError as exc:
        raise InputError(f"{path}: cannot read the truth file ({exc.strerror})") from exc
    return pairs


def _users_first_last(engine: Engine, log_table: str) -> pa.Table:
    return engine.fetch_arrow(
        f"SELECT user_id, min(ts) AS first_ts, max(ts) AS last_ts FROM {log_table} "
        "GROUP BY user_id ORDER BY user_id"
    )


def _ts(value: dt.date | dt.datetime) -> str:
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    return f"TIMESTAMP '{value.isoformat()} 00:00:00'"


def _materialise(
    engine: Engine,
    log_table: str,
    prefix: str,
    truth: pa.Table,
    library_where: str,
    query_where: str,
    extra_views: dict[str, pa.Table],
) -> tuple[str, str, str]:
    """Create ``<prefix>_library_log``, ``_query_log`` and ``_truth``."""
    lib_name, qry_name, truth_name = (
        f"{prefix}_{s}" for s in ("library_log", "query_log", "truth")
    )
    for name, table in extra_views.items():
        engine.register_arrow(f"{prefix}__{name}", table)
    engine.register_arrow(f"{prefix}__truth_view", truth)
    engine.create_table(truth_name, f"SELECT * FROM {prefix}__truth_view")
    log_part(
        engine,
        lib_name,
        f"SELECT l.user_id, l.ts, l.site FROM {log_table} AS l WHERE {library_where}",
    )
    log_part(
        engine,
        qry_name,
        f"SELECT t.query_user AS user_id, l.ts, l.site FROM {log_table} AS l "
        f"JOIN {truth_name} AS t ON l.user_id = t.true_query_user WHERE {query_where}",
    )
    return lib_name, qry_name, truth_name


def _truth(ids: dict[str, str], true_user: dict[str, str | None]) -> pa.Table:
    ordered = sorted(ids, key=ids.__getitem__)
    return pa.table(
        {
            "query_user": pa.array([ids[u] for u in ordered], pa.string()),
            "true_user": pa.array([true_user[u] or u for u in ordered], pa.string()),
            "in_library": pa.array([true_user[u] is not None for u in ordered], pa.bool_()),
            "true_query_user": pa.array(ordered, pa.string()),
        }
    )


def split_first_seen(
    engine: Engine,
    log_table: str,
    pairs: list[tuple[str, str]],
    *,
    cut: dt.date | None = None,
    query_days: int = 90,
    seed: int = 0,
    prefix: str = "eval",
) -> Split:
    """The ``first-seen`` protocol (see the module docstring)."""
    if query_days < 1:
        raise ConfigError(f"query_days must be at least 1, got {query_days}")
    users = _users_first_last(engine, log_table).to_pylist()
    if not users:
        raise InputError(f"the log table {log_table!r} has no rows")
    firsts = sorted(u["first_ts"] for u in users)
    start, end = firsts[0].date(), max(u["last_ts"] for u in users).date()
    cut = cut or firsts[len(firsts) // 2].date()
    if not start < cut <= end:
        raise ConfigError(
            f"the cut {cut} is not inside the log ({start}..{end}); choose a --cut after its "
            "first day and not after its last"
        )
    cut_ts = dt.datetime.combine(cut, dt.time())
    last_before: dict[str, dt.datetime] = {}
    for row in engine.fetch_arrow(
        f"SELECT user_id, max(ts) AS last_ts FROM {log_table} WHERE ts < {_ts(cut)} "
        "GROUP BY user_id"
    ).to_pylist():
        last_before[row["user_id"]] = row["last_ts"]
    queries = [u["user_id"] for u in users if u["first_ts"] >= cut_ts]
    if not queries:
        raise InputError(f"no identity of {log_table!r} is first seen on or after {cut}")
    olds: dict[str, list[str]] = {}
    for old, new in pairs:
        if old in last_before:
            olds.setdefault(new, []).append(old)
    true_user = {
        q: max(olds[q], key=lambda o: (last_before[o], o)) if q in olds else None for q in queries
    }
    ids = fresh_query_ids(queries, seed)
    truth = _truth(ids, true_user)
    window = f"l.ts < f.first_ts + INTERVAL '{query_days}' DAY"
    firsts_of = pa.table(
        {
            "user_id": pa.array(queries, pa.string()),
            "first_ts": pa.array([u["first_ts"] for u in users if u["first_ts"] >= cut_ts]),
        }
    )
    lib, qry, tr = _materialise(
        engine, log_table, prefix, truth,
        library_where=f"l.ts < {_ts(cut)}",
        query_where=f"EXISTS (SELECT 1 FROM {prefix}__firsts AS f "
        f"WHERE f.user_id = l.user_id AND {window})",
        extra_views={"firsts": firsts_of},
    )  # fmt: skip
    n_absent = sum(1 for q in queries if true_user[q] is None)
    return Split(
        prefix=prefix, library_table=lib, query_table=qry, truth_table=tr,
        window=(start, end), library_period=(start, cut - dt.timedelta(days=1)),
        query_period=(cut, end), query_days=query_days, library_fraction=1.0, seed=seed,
        n_library=len(last_before), n_queries=len(queries), n_absent=n_absent,
        n_library_active=len(last_before), split_by="first-seen",
    )  # fmt: skip


def split_after_cut(
    engine: Engine,
    log_table: str,
    cut: dt.date,
    *,
    query_days: int = 90,
    library_fraction: float = 0.8,
    seed: int = 0,
    prefix: str = "eval",
) -> Split:
    """A ``first-seen``-like split without a truth file, for simulating identity changes
    inside a library: the library is a random ``library_fraction`` of the users active before
    ``cut``, with those rows; every user active on or after ``cut`` is a query with its first
    ``query_days`` days from its first row on or after the cut (a user resuming after a long
    pause starts late, as a new identity does); it is present when it is in the library."""
    if query_days < 1:
        raise ConfigError(f"query_days must be at least 1, got {query_days}")
    before = engine.fetch_arrow(
        f"SELECT DISTINCT user_id FROM {log_table} WHERE ts < {_ts(cut)} ORDER BY user_id"
    )
    library = set(draw_library(before.column("user_id").to_pylist(), library_fraction, seed))
    after = engine.fetch_arrow(
        f"SELECT user_id, min(ts) AS first_ts FROM {log_table} WHERE ts >= {_ts(cut)} "
        "GROUP BY user_id ORDER BY user_id"
    )
    queries = after.column("user_id").to_pylist()
    if not queries:
        raise InputError(f"no user of {log_table!r} is active on or after {cut}")
    ids = fresh_query_ids(queries, seed)
    truth = _truth(ids, {q: q if q in library else None for q in queries})
    lib_view = pa.table({"user_id": pa.array(sorted(library), pa.string())})
    lib, qry, tr = _materialise(
        engine, log_table, prefix, truth,
        library_where=f"l.ts < {_ts(cut)} AND l.user_id IN (SELECT user_id FROM "
        f"{prefix}__library_users)",
        query_where=f"EXISTS (SELECT 1 FROM {prefix}__firsts AS f WHERE f.user_id = l.user_id "
        f"AND l.ts >= f.first_ts AND l.ts < f.first_ts + INTERVAL '{query_days}' DAY)",
        extra_views={"firsts": after, "library_users": lib_view},
    )  # fmt: skip
    rows = engine.fetch_arrow(
        f"SELECT min(CAST(ts AS DATE)) AS a, max(CAST(ts AS DATE)) AS b FROM {log_table}"
    ).to_pylist()[0]
    return Split(
        prefix=prefix, library_table=lib, query_table=qry, truth_table=tr,
        window=(rows["a"], rows["b"]), library_period=(rows["a"], cut - dt.timedelta(days=1)),
        query_period=(cut, rows["b"]), query_days=query_days,
        library_fraction=library_fraction, seed=seed, n_library=len(library),
        n_queries=len(queries), n_absent=sum(1 for q in queries if q not in library),
        n_library_active=before.num_rows, split_by="first-seen",
    )  # fmt: skip


def split_last_days(
    engine: Engine,
    log_table: str,
    *,
    query_days: int = 14,
    library_fraction: float = 0.8,
    seed: int = 0,
    prefix: str = "eval",
) -> Split:
    """The ``last-days`` protocol (see the module docstring)."""
    if query_days < 1:
        raise ConfigError(f"query_days must be at least 1, got {query_days}")
    users = _users_first_last(engine, log_table).to_pylist()
    if not users:
        raise InputError(f"the log table {log_table!r} has no rows")
    starts = {
        u["user_id"]: dt.datetime.combine(
            u["last_ts"].date() - dt.timedelta(days=query_days - 1), dt.time()
        )
        for u in users
    }
    with_history = [u["user_id"] for u in users if u["first_ts"] < starts[u["user_id"]]]
    library = set(draw_library(with_history, library_fraction, seed))
    queries = [u["user_id"] for u in users]
    ids = fresh_query_ids(queries, seed)
    truth = _truth(ids, {q: q if q in library else None for q in queries})
    query_start = pa.table(
        {
            "user_id": pa.array(list(starts), pa.string()),
            "query_start": pa.array(list(starts.values()), pa.timestamp("us")),
            "in_library": pa.array([u in library for u in starts], pa.bool_()),
        }
    )
    starts_view = f"{prefix}__starts"
    lib, qry, tr = _materialise(
        engine, log_table, prefix, truth,
        library_where=f"EXISTS (SELECT 1 FROM {starts_view} AS s WHERE s.user_id = l.user_id "
        "AND s.in_library AND l.ts < s.query_start)",
        query_where=f"EXISTS (SELECT 1 FROM {starts_view} AS s WHERE s.user_id = l.user_id "
        "AND l.ts >= s.query_start)",
        extra_views={"starts": query_start},
    )  # fmt: skip
    first = min(u["first_ts"] for u in users).date()
    last = max(u["last_ts"] for u in users).date()
    return Split(
        prefix=prefix, library_table=lib, query_table=qry, truth_table=tr,
        window=(first, last), library_period=(first, last), query_period=(first, last),
        query_days=query_days, library_fraction=library_fraction, seed=seed,
        n_library=len(library), n_queries=len(queries),
        n_absent=sum(1 for q in queries if q not in library), n_library_active=len(with_history),
        split_by="last-days",
    )  # fmt: skip


def query_days_of(engine: Engine, log_table: str) -> int:
    """How many calendar days a typical query's log spans: the median over its users of
    (last day - first day + 1), at least 1. For simulating queries as long as real ones."""
    spans = (
        engine.fetch_arrow(
            f"SELECT date_diff('day', min(CAST(ts AS DATE)), max(CAST(ts AS DATE))) + 1 AS days "
            f"FROM {log_table} GROUP BY user_id ORDER BY days"
        )
        .column("days")
        .to_pylist()
    )
    if not spans:
        raise InputError(f"the query log {log_table!r} has no rows")
    return max(1, int(spans[(len(spans) - 1) // 2]))


def make_split(
    engine: Engine,
    log_table: str,
    split_by: str = "time",
    *,
    query_days: int = 5,
    library_fraction: float = 0.8,
    seed: int = 0,
    window: tuple[dt.date, dt.date] | None = None,
    prefix: str = "eval",
    pairs: list[tuple[str, str]] | None = None,
    cut: dt.date | None = None,
) -> Split:
    """A split by ``split_by``: ``time`` (the paper's), ``first-seen`` (needs ``pairs``) or
    ``last-days``."""
    if split_by == "time":
        return split_log(
            engine, log_table, query_days=query_days, library_fraction=library_fraction,
            seed=seed, window=window, prefix=prefix,
        )  # fmt: skip
    if split_by == "first-seen":
        if pairs is None:
            raise ConfigError(
                "--split-by first-seen needs the truth: --truth FILE, a CSV of old_user,new_user "
                "identity pairs"
            )
        return split_first_seen(
            engine, log_table, pairs, cut=cut, query_days=query_days, seed=seed, prefix=prefix
        )
    if split_by == "last-days":
        return split_last_days(
            engine, log_table, query_days=query_days, library_fraction=library_fraction,
            seed=seed, prefix=prefix,
        )  # fmt: skip
    raise ConfigError(f"unknown --split-by {split_by!r}; choose one of {', '.join(SPLITS)}")


def split_options_from(
    split_by: str, truth: str | Path | None, cut: str | None, sweep: str | None = None
) -> dict:
    """``evaluate`` keyword arguments from the CLI's ``--split-by``, ``--truth`` and ``--cut``
    (checked before the log is read)."""
    if split_by not in SPLITS:
        raise ConfigError(f"unknown --split-by {split_by!r}; choose one of {', '.join(SPLITS)}")
    if sweep and split_by != "time":
        raise ConfigError("--sweep-days sweeps the paper's protocol: use it with --split-by time")
    if split_by != "first-seen" and (truth is not None or cut is not None):
        raise ConfigError("--truth and --cut go with --split-by first-seen")
    day = None
    if cut is not None:
        try:
            day = dt.date.fromisoformat(cut.strip())
        except ValueError:
            raise ConfigError(f"--cut {cut!r} is not a date; give YYYY-MM-DD") from None
    pairs = read_identity_pairs(truth) if truth is not None else None
    if split_by == "first-seen" and pairs is None:
        raise ConfigError(
            "--split-by first-seen needs the truth: --truth FILE, a CSV of old_user,new_user "
            "identity pairs"
        )
    return {"split_by": split_by, "pairs": pairs, "cut": day}
