"""Step 1 for a few query users, in this process: the same profiles as the engine's SQL.

Identifying one new number (the service's case, a CLI run on a small file) spends most of its
time on the dozen statements of the SQL step 1, each paying the engine's fixed cost. Below
:data:`LOCAL_MAX_ROWS` rows the query log is fetched once and profiled here with NumPy, against
the library's site codes and V(d), into the very :class:`ProfileArrays` the SQL path loads —
``tests/test_rejoin_profiles_local.py`` checks the two agree on random logs, part by part. The
SQL in :mod:`netpersona.rejoin._sql` stays the definition (and the path for libraries and for
large query sets); this is its small-input twin.
"""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from netpersona.rejoin._profiles import HOURS, ProfileArrays, Profiles
from netpersona.rejoin._settings import RejoinSettings

__all__ = ["LOCAL_MAX_ROWS", "local_query_profiles", "query_arrays"]

#: query logs up to this many rows are profiled in this process, larger ones by the engine
LOCAL_MAX_ROWS = 200_000

_US_MINUTE = 60_000_000
_US_HOUR = 60 * _US_MINUTE
_US_DAY = 24 * _US_HOUR


def local_query_profiles(
    rows: pa.Table, library: Profiles, settings: RejoinSettings, name: str
) -> Profiles:
    """Profiles of the canonical log ``rows`` (``user_id``, ``ts``, ``site``) against
    ``library``: what :func:`netpersona.rejoin.build_profiles` with ``reference=library`` builds,
    held in memory (no engine tables)."""
    started = time.perf_counter()
    arrays = query_arrays(rows, library.arrays(sequences=False), _library_sites(library), settings)
    return Profiles(
        engine=library.engine,
        name=name,
        settings=settings,
        n_users=arrays.n_users,
        n_sites=int(np.count_nonzero(pc.is_valid(arrays.site_names).to_numpy(False))),
        seconds=time.perf_counter() - started,
        reference=library.name,
        _arrays=arrays,
    )


def _library_sites(library: Profiles) -> dict[str, int]:
    """site -> code of the library (built once per library, kept with its arrays)."""
    arrays = library.arrays(sequences=False)
    codes = arrays._join_cache.get("site_codes")
    if codes is None:
        names = arrays.site_names.to_pylist()
        codes = arrays._join_cache["site_codes"] = {s: i for i, s in enumerate(names) if s}
    return codes


def query_arrays(
    rows: pa.Table, lib: ProfileArrays, lib_codes: dict[str, int], settings: RejoinSettings
) -> ProfileArrays:
    """The profile arrays of ``rows`` with site codes from ``lib_codes`` (unseen sites: codes
    after the library's, in site order, V = 0), exactly as the SQL step 1 loads them."""
    valid = pc.and_(
        pc.and_(pc.is_valid(rows["user_id"]), pc.is_valid(rows["ts"])), pc.is_valid(rows["site"])
    )
    rows = rows.filter(valid)
    ids = rows["user_id"].to_pylist()
    users = sorted(set(ids))  # code-point order = UTF-8 byte order, as the engine sorts
    user_code = {u: i for i, u in enumerate(users)}
    names = rows["site"].to_pylist()
    seen = sorted(set(names))
    n_lib = len(lib.site_names)
    fresh = [s for s in seen if s not in lib_codes]
    code_of = {s: n_lib + i for i, s in enumerate(fresh)}
    code_of.update({s: lib_codes[s] for s in seen if s in lib_codes})
    n = len(users)
    uid = np.fromiter((user_code[u] for u in ids), dtype=np.int64, count=len(ids))
    site = np.fromiter((code_of[s] for s in names), dtype=np.int64, count=len(names))
    ts_type = rows.schema.field("ts").type
    ts = pc.cast(rows["ts"], pa.timestamp("us")).to_numpy(False).astype(np.int64)

    order = np.lexsort((site, ts, uid))  # per user by (time, site code), as the SQL orders
    uid, ts, site = uid[order], ts[order], site[order]
    day, slot, minute = ts // _US_DAY, ts // _US_HOUR, ts // _US_MINUTE  # slot: absolute hour
    first = np.ones(len(uid), dtype=bool)
    first[1:] = uid[1:] != uid[:-1]
    starts = np.flatnonzero(first)
    ends = np.append(starts[1:], len(uid))[: len(starts)] - 1
    online_days = np.bincount(_unique(uid, day)[0], minlength=n)

    # cells (user, site, hour slot); D(u): sites on >= frequent_ratio of the online days
    c_uid, c_site, c_slot = _unique(uid, site, slot)
    d_uid, d_site, _ = _unique(c_uid, c_site, c_slot // HOURS)
    p_uid, p_site, p_days = _counts(d_uid, d_site)
    keep = p_days >= settings.frequent_ratio * online_days[p_uid] - 1e-9
    f_uid, f_site = p_uid[keep], p_site[keep]
    frequent_indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(f_uid, minlength=n), out=frequent_indptr[1:])
    size = max(code_of.values(), default=-1) + 1
    f_key = f_uid * size + f_site  # ascending: (user, site) order
    c_key = c_uid * size + c_site
    at = np.searchsorted(f_key, c_key)
    hit = at < len(f_key)
    hit[hit] = f_key[at[hit]] == c_key[hit]
    site_hours = np.zeros((len(f_key), HOURS), dtype=np.float64)
    np.add.at(site_hours, (at[hit], c_slot[hit] % HOURS), 1.0)

    # 24-hour vectors: h_i = days with requests in >= active_minutes distinct minutes of hour i
    m_uid, m_minute = _unique(uid, minute)
    a_uid, a_slot, a_minutes = _counts(m_uid, m_minute // 60)
    active = a_minutes >= max(int(settings.active_minutes), 1)
    hours = np.zeros((n, HOURS), dtype=np.float64)
    np.add.at(hours, (a_uid[active], a_slot[active] % HOURS), 1.0)

    # item sequences: the ordered sites with consecutive repeats collapsed
    new_item = first.copy()
    new_item[1:] |= site[1:] != site[:-1]
    seq_indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(uid[new_item], minlength=n), out=seq_indptr[1:])

    # the sites this log saw: the library's V(d), 0 for unseen ones; other codes stay empty
    site_weight = np.ones(size, dtype=np.float64)
    site_names: list[str | None] = [None] * size
    for s, c in code_of.items():
        site_names[c] = s
        if c < n_lib:
            site_weight[c] = lib.site_weight[c]
    stamps = pa.array(ts, pa.timestamp("us"))
    return ProfileArrays(
        user_ids=pa.array(users, pa.string()),
        online_days=online_days.astype(np.int64),
        first_ts=pc.cast(stamps.take(pa.array(starts)), ts_type),
        last_ts=pc.cast(stamps.take(pa.array(ends)), ts_type),
        frequent_indptr=frequent_indptr,
        frequent_sites=f_site.astype(np.int32),
        site_hours=site_hours,
        hours=hours,
        sequence_indptr=seq_indptr,
        sequence_items=site[new_item].astype(np.int32),
        site_names=pa.array(site_names, pa.string()),
        site_weight=site_weight,
    )


def _unique(*columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """The distinct rows of ``columns`` (int arrays of one length), sorted by them."""
    if not len(columns[0]):
        return columns
    order = np.lexsort(columns[::-1])
    sorted_cols = [c[order] for c in columns]
    change = np.zeros(len(order), dtype=bool)
    change[0] = True
    for c in sorted_cols:
        change[1:] |= c[1:] != c[:-1]
    return tuple(c[change] for c in sorted_cols)


def _counts(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (a, b) pairs of the sorted distinct rows given, with how many rows each has."""
    if not len(a):
        return a, b, np.zeros(0, dtype=np.int64)
    change = np.ones(len(a), dtype=bool)
    change[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    starts = np.flatnonzero(change)
    counts = np.diff(np.append(starts, len(a)))
    return a[starts], b[starts], counts
