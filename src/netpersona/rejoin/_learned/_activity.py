"""What the learned matcher reads besides the paper's profiles: every user's raw activity.

The paper's profiles (:mod:`netpersona.rejoin._profiles`) keep only frequent sites and hours
with 20 active minutes, which are empty for sparse logs. The matcher also needs, per user, the
count of events on *every* site (TF-IDF, rare-site overlap), hour-of-day and day-of-week event
counts (any event counts), its *core* sites (the most regular sites relative to the user's own
activity, never empty) with their hour vectors, and its site bigrams (visit order). One pass of
engine-neutral SQL over the canonical log, keyed by the profile set's user and site codes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import pyarrow as pa

from netpersona.rejoin._daily import WINDOW_LOG
from netpersona.rejoin._daily_library import WINDOW_EVENTS
from netpersona.rejoin._profiles import HOURS, ProfileArrays, Profiles, table_exists
from netpersona.rejoin._steps import STEP5_ITEMS

DAYS_OF_WEEK = 7
#: visit order (SimiFour) is compared over each user's last this many items: the cost of the
#: common-run search grows with the sequences, dense logs have thousands per user
SEQUENCE_ITEMS = 100


@dataclass
class Activity:
    """Per-user activity, user ``i`` = row ``i`` of the profile set, sites coded like it.

    CSR sets (``*_indptr``/``*_ids``) hold ids ascending per user:
    ``sites`` every site with ``site_events`` (events) and ``site_days`` (active days);
    ``core`` the core sites with ``core_hours`` (events per hour of day, one row per entry);
    ``bigrams`` the distinct consecutive site pairs of the item sequence (``a * n_codes + b``).
    """

    site_indptr: np.ndarray
    site_ids: np.ndarray
    site_events: np.ndarray
    site_days: np.ndarray
    hour_events: np.ndarray
    dow_events: np.ndarray
    n_events: np.ndarray
    online_days: np.ndarray
    first_seconds: np.ndarray
    last_seconds: np.ndarray
    core_indptr: np.ndarray
    core_ids: np.ndarray
    core_hours: np.ndarray
    bigram_indptr: np.ndarray
    bigram_ids: np.ndarray
    #: the last :data:`SEQUENCE_ITEMS` items of each item sequence, in CSR (visit order)
    recent_indptr: np.ndarray
    recent_items: np.ndarray

    @property
    def n_users(self) -> int:
        return len(self.n_events)


def _indptr(rows: np.ndarray, n: int) -> np.ndarray:
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return indptr


def _seconds(stamps: pa.Array) -> np.ndarray:
    """Timestamps as float seconds since the epoch (NaN where missing)."""
    ints = stamps.cast(pa.timestamp("us")).cast(pa.int64())
    return ints.to_numpy(zero_copy_only=False).astype(np.float64) / 1e6


def core_sites(
    indptr: np.ndarray, days: np.ndarray, events: np.ndarray, core_ratio: float, core_max: int
) -> np.ndarray:
    """Mask of each user's core sites: active days >= ``core_ratio`` x the user's busiest site's
    days, at most ``core_max`` of them (most days, then most events, then lowest code first).

    Relative to the user's own activity, so a sparse user still has some (the paper's 80 % of
    online days leaves them empty)."""
    n = len(indptr) - 1
    rows = np.repeat(np.arange(n), np.diff(indptr))
    if len(rows) == 0:
        return np.zeros(0, dtype=bool)
    top = np.zeros(n)
    np.maximum.at(top, rows, days)
    keep = days >= core_ratio * top[rows] - 1e-9
    order = np.lexsort((np.arange(len(rows)), -events, -days, rows))
    position = np.empty(len(rows), dtype=np.int64)
    position[order] = np.arange(len(rows)) - indptr[rows[order]]
    return keep & (position < core_max)


def load_activity(
    profiles: Profiles,
    arrays: ProfileArrays | None = None,
    *,
    core_ratio: float = 0.5,
    core_max: int = 20,
) -> Activity:
    """Read :class:`Activity` for a profile set from its canonical log table."""
    eng = profiles.engine
    arrays = arrays if arrays is not None else profiles.arrays(sequences=False)
    n = arrays.n_users
    users, sites = profiles.table("users"), profiles.table("sites")
    # one pass over the raw rows: events per (user, site, day, hour); the rest derives from it
    cells = f"{profiles.name}__activity_cells"
    kept = f"{profiles.name}_window_events"  # a daily library keeps them (its rows are apart)
    if profiles.log_table == WINDOW_LOG:  # profiles of its window with other step-1 settings
        kept = WINDOW_EVENTS  # have the same users and sites, so the same codes
    eng.create_table(
        cells,
        f"SELECT uid, site_id, day, h, events FROM {kept}"
        if table_exists(eng, kept)
        else f"SELECT u.uid, s.site_id, CAST(l.ts AS DATE) AS day, CAST(hour(l.ts) AS INTEGER) "
        f"AS h, count(*) AS events FROM {profiles.log_table} AS l "
        f"JOIN {users} AS u ON u.user_id = l.user_id JOIN {sites} AS s ON s.site = l.site "
        "WHERE l.ts IS NOT NULL GROUP BY u.uid, s.site_id, CAST(l.ts AS DATE), "
        "CAST(hour(l.ts) AS INTEGER)",
    )
    try:
        return _from_cells(eng, cells, arrays, n, core_ratio, core_max)
    finally:
        eng.execute(f"DROP TABLE IF EXISTS {cells}")


def _from_cells(
    eng, cells: str, arrays: ProfileArrays, n: int, core_ratio: float, core_max: int
) -> Activity:
    """:class:`Activity` from the table of events per (user, site, day, hour)."""
    per_site = eng.fetch_arrow(
        f"SELECT uid, site_id, sum(events) AS events, count(DISTINCT day) AS days "
        f"FROM {cells} GROUP BY uid, site_id ORDER BY uid, site_id"
    )
    s_uid = per_site.column("uid").to_numpy().astype(np.int64)
    s_ids = per_site.column("site_id").to_numpy().astype(np.int64)
    s_events = per_site.column("events").to_numpy().astype(np.float64)
    s_days = per_site.column("days").to_numpy().astype(np.float64)
    site_indptr = _indptr(s_uid, n)

    hour_events = np.zeros((n, HOURS))
    hours = eng.fetch_arrow(f"SELECT uid, h, sum(events) AS events FROM {cells} GROUP BY uid, h")
    hour_events[hours.column("uid").to_numpy(), hours.column("h").to_numpy()] = hours.column(
        "events"
    ).to_numpy()
    dow_events = np.zeros((n, DAYS_OF_WEEK))
    dows = eng.fetch_arrow(
        f"SELECT uid, CAST(dayofweek(day) AS INTEGER) AS d, sum(events) AS events FROM {cells} "
        "GROUP BY uid, CAST(dayofweek(day) AS INTEGER)"
    )
    dow_events[dows.column("uid").to_numpy(), dows.column("d").to_numpy() % 7] = dows.column(
        "events"
    ).to_numpy()

    core = core_sites(site_indptr, s_days, s_events, core_ratio, core_max)
    c_uid, c_ids = s_uid[core], s_ids[core]
    core_hours = np.zeros((len(c_uid), HOURS))
    if len(c_uid):
        name = f"{cells}__core"
        eng.register_arrow(name, pa.table({"uid": c_uid, "site_id": c_ids}))
        try:
            ch = eng.fetch_arrow(
                f"SELECT r.uid, r.site_id, r.h, sum(r.events) AS events "
                f"FROM {cells} AS r JOIN {name} AS c ON c.uid = r.uid AND c.site_id = r.site_id "
                "GROUP BY r.uid, r.site_id, r.h"
            )
        finally:
            eng.execute(f"DROP VIEW IF EXISTS {name}")
        width = int(max(s_ids.max(), 0)) + 1
        key = c_uid * width + c_ids
        ch_key = ch.column("uid").to_numpy().astype(np.int64) * width + ch.column(
            "site_id"
        ).to_numpy().astype(np.int64)
        core_hours[np.searchsorted(key, ch_key), ch.column("h").to_numpy()] = ch.column(
            "events"
        ).to_numpy()

    bigram_indptr, bigram_ids, recent_indptr, recent = sequence_features(arrays)
    return Activity(
        site_indptr=site_indptr,
        site_ids=s_ids,
        site_events=s_events,
        site_days=s_days,
        hour_events=hour_events,
        dow_events=dow_events,
        n_events=np.add.reduceat(np.append(s_events, 0.0), site_indptr[:-1])
        * (np.diff(site_indptr) > 0),
        online_days=arrays.online_days.astype(np.float64),
        first_seconds=_seconds(arrays.first_ts),
        last_seconds=_seconds(arrays.last_ts),
        core_indptr=_indptr(c_uid, n),
        core_ids=c_ids,
        core_hours=core_hours,
        bigram_indptr=bigram_indptr,
        bigram_ids=bigram_ids,
        recent_indptr=recent_indptr,
        recent_items=recent,
    )


#: bigram keys are ``a * BIGRAM_BASE + b`` (site codes stay far below 2**31)
BIGRAM_BASE = np.int64(1) << 31


@numba.njit(cache=True)
def _distinct_bigrams(indptr, items, base):
    """Per user (``indptr`` over ``items``): the sorted distinct keys ``a * base + b`` of its
    consecutive item pairs, as (indptr, keys)."""
    n = len(indptr) - 1
    out_indptr = np.zeros(n + 1, dtype=np.int64)
    out = np.empty(max(len(items) - 1, 0), dtype=np.int64)
    pos = 0
    for u in range(n):
        start, m = indptr[u], indptr[u + 1] - indptr[u] - 1
        if m > 0:
            keys = np.empty(m, dtype=np.int64)
            for i in range(m):
                keys[i] = items[start + i] * base + items[start + i + 1]
            keys.sort()
            for i in range(m):
                if i == 0 or keys[i] != keys[i - 1]:
                    out[pos] = keys[i]
                    pos += 1
        out_indptr[u + 1] = pos
    return out_indptr, out[:pos]


def last_items(indptr: np.ndarray, items: np.ndarray, keep: int) -> tuple[np.ndarray, ...]:
    """Each CSR row of ``(indptr, items)`` cut to its last ``keep`` items."""
    lengths = np.diff(indptr)
    kept = np.minimum(lengths, keep)
    out = np.zeros(len(kept) + 1, dtype=np.int64)
    np.cumsum(kept, out=out[1:])
    stop = np.repeat(np.asarray(indptr[1:], dtype=np.int64), kept)
    offset = np.arange(out[-1]) - np.repeat(out[:-1], kept)
    return out, items[stop - np.repeat(kept, kept) + offset]


def _by_row(parts: list[tuple[np.ndarray, ...]], n: int, dtype) -> tuple[np.ndarray, ...]:
    """One CSR over rows ``0..n-1`` of ``(rows, indptr, values)`` parts (each row in at most
    one part; a row in none is empty)."""
    lengths = np.zeros(n, dtype=np.int64)
    for rows, indptr, _ in parts:
        lengths[rows] = np.diff(indptr)
    out = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    values = np.empty(out[-1], dtype=dtype)
    for rows, indptr, part in parts:
        counts = np.diff(indptr)
        offsets = np.arange(len(part)) - np.repeat(indptr[:-1], counts)
        values[np.repeat(out[rows], counts) + offsets] = part
    return out, values


def sequence_features(
    arrays: ProfileArrays, keep: int = SEQUENCE_ITEMS, chunk_items: int = STEP5_ITEMS
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct consecutive site pairs of each user's item sequence (sorted int64 keys
    ``a * BIGRAM_BASE + b``) and its last ``keep`` items, as two CSR sets
    ``(bigram_indptr, bigram_ids, recent_indptr, recent_items)``.

    One pass over batches of users of about ``chunk_items`` items
    (:meth:`ProfileArrays.sequence_chunks`): a side whose sequences were left in the engine
    never holds them all (a library of the paper's size has 645 million items)."""
    bigrams, recent = [], []
    for rows, indptr, items in arrays.sequence_chunks(chunk_items):
        indptr = np.ascontiguousarray(indptr, dtype=np.int64)
        b_indptr, keys = _distinct_bigrams(
            indptr, np.ascontiguousarray(items, dtype=np.int64), BIGRAM_BASE
        )
        bigrams.append((rows, b_indptr, keys.copy()))  # the keys alone, not the batch's buffer
        recent.append((rows, *last_items(indptr, items, keep)))
        del indptr, items, keys
    n = arrays.n_users
    return (*_by_row(bigrams, n, np.int64), *_by_row(recent, n, np.int32))
