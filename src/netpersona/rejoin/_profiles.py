"""Step 1 — per-user profiles, built by SQL in the engine and loaded as integer-coded arrays.

A profile set ``<name>`` is a group of engine tables (see :mod:`netpersona.rejoin._sql`):
users (coded 0..n-1 in user-id order), sites (coded once, V(d) from the library), frequent
sites D(u), 24-hour vectors, per-frequent-site hour vectors and item sequences. Identification
works on :class:`ProfileArrays`, the same data as NumPy arrays in CSR layout.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pyarrow as pa

from netpersona._core import ConfigError, InputError, Progress
from netpersona.engine import Engine
from netpersona.rejoin._join import JaccardIndex, library_index
from netpersona.rejoin._profiles_parts import run_statements
from netpersona.rejoin._profiles_sequences import SequenceLoader
from netpersona.rejoin._settings import RejoinSettings
from netpersona.rejoin._sql import PARTS, TEMPORARY, table_name

HOURS = 24


@dataclass
class Profiles:
    """A profile set materialised in an engine: the tables ``<name>_*``.

    ``reference`` is the library profile set whose site codes and V(d) this set uses (``None``
    for a library). ``seconds`` is the time spent building it.

    >>> from netpersona.rejoin._examples import example_engine
    >>> engine = example_engine()
    >>> _ = build_profiles(engine, "library_log", "library")
    >>> Profiles.open(engine, "library").n_users
    6
    """

    engine: Engine
    name: str
    settings: RejoinSettings
    n_users: int
    n_sites: int
    seconds: float
    reference: str | None = None
    log_table: str | None = None
    _arrays: ProfileArrays | None = field(default=None, repr=False, compare=False)

    def table(self, part: str) -> str:
        """Engine table holding ``part`` (``users``, ``frequent``, ``hours`` ...)."""
        return table_name(self.name, part)

    def arrays(self, sequences: bool = True) -> ProfileArrays:
        """The profile set as integer-coded NumPy arrays (loaded once, then cached).

        ``sequences=False`` leaves the item sequences (by far the largest part) in the engine:
        :meth:`ProfileArrays.sequences_of` then fetches just the users it is asked for, as
        identification does for the few candidates that reach step 5.
        """
        if self._arrays is None:
            self._arrays = load_arrays(self, sequences=sequences)
        elif sequences:
            self._arrays.load_sequences()
        return self._arrays

    @classmethod
    def open(cls, engine: Engine, name: str) -> Profiles:
        """Re-open a profile set built earlier in ``engine`` (a workspace)."""
        meta_table = table_name(name, "meta")
        if not table_exists(engine, meta_table):
            raise InputError(
                f"no re-join profiles called {name!r} in this workspace",
                hint="build them first with `netpersona rejoin index LOGS --workspace W`",
            )
        meta = json.loads(engine.fetch_scalar(f"SELECT value FROM {meta_table}"))
        return cls(
            engine=engine,
            name=name,
            settings=RejoinSettings.from_mapping(meta["settings"], source=meta_table),
            n_users=int(meta["n_users"]),
            n_sites=int(meta["n_sites"]),
            seconds=float(meta["seconds"]),
            reference=meta.get("reference"),
            log_table=meta.get("log_table"),
        )

    def drop(self) -> None:
        """Remove the profile set's tables from the engine."""
        for part in PARTS:
            self.engine.execute(f"DROP TABLE IF EXISTS {self.table(part)}")


def table_exists(engine: Engine, name: str) -> bool:
    """Whether the engine has a table or view ``name`` (a fully read query, leaving no open
    result behind)."""
    literal = "'" + name.replace("'", "''") + "'"
    return bool(
        engine.fetch_scalar(
            f"SELECT count(*) FROM information_schema.tables WHERE table_name = {literal}"
        )
    )


def build_profiles(
    engine: Engine,
    log_table: str,
    name: str,
    settings: RejoinSettings = RejoinSettings(),
    reference: Profiles | None = None,
    progress: Progress = Progress(),
) -> Profiles:
    """Step 1: build profile set ``name`` from the canonical log table ``log_table``.

    With ``reference`` (the library), V(d) and W(d) = 1/V(d) come from the library and site
    codes are shared with it, as identification needs. Tables ``<name>_*`` are replaced.

    >>> from netpersona.rejoin._examples import example_engine
    >>> engine = example_engine()
    >>> library = build_profiles(engine, "library_log", "library")
    >>> library.n_users, library.n_sites
    (6, 18)
    """
    if reference is not None and reference.settings.profile_key() != settings.profile_key():
        raise ConfigError(
            f"the library profiles {reference.name!r} were built with frequent_ratio="
            f"{reference.settings.frequent_ratio} and active_minutes="
            f"{reference.settings.active_minutes}, the queries would use "
            f"{settings.frequent_ratio} and {settings.active_minutes}; rebuild one of them"
        )
    if not table_exists(engine, log_table):
        raise InputError(f"no log table {log_table!r} in the engine")
    started = time.perf_counter()
    run_statements(engine, log_table, name, settings,
                   reference.name if reference is not None else None, progress)  # fmt: skip
    for part in TEMPORARY:
        engine.execute(f"DROP TABLE IF EXISTS {table_name(name, part)}")
    n_users = int(engine.fetch_scalar(f"SELECT count(*) FROM {table_name(name, 'users')}"))
    n_sites = int(engine.fetch_scalar(f"SELECT count(*) FROM {table_name(name, 'sites')}"))
    seconds = time.perf_counter() - started
    profiles = Profiles(
        engine=engine,
        name=name,
        settings=settings,
        n_users=n_users,
        n_sites=n_sites,
        seconds=seconds,
        reference=reference.name if reference is not None else None,
        log_table=log_table,
    )
    meta = {
        "settings": settings.to_dict(),
        "n_users": n_users,
        "n_sites": n_sites,
        "seconds": seconds,
        "reference": profiles.reference,
        "log_table": log_table,
    }
    engine.register_arrow(f"{name}__meta_src", pa.table({"value": [json.dumps(meta)]}))
    engine.create_table(table_name(name, "meta"), f"SELECT value FROM {name}__meta_src")
    engine.execute(f"DROP VIEW IF EXISTS {name}__meta_src")
    return profiles


@dataclass
class ProfileArrays:
    """A profile set as arrays; user ``i`` is row ``i`` everywhere, sites are integer codes.

    - ``frequent_indptr``/``frequent_sites``: D(u) in CSR, site codes ascending per user;
      ``site_hours[k]`` is the 24-hour vector of the k-th (user, frequent site) entry.
    - ``hours``: the 24-hour vectors, one row per user.
    - ``sequence_indptr``/``sequence_items``: item sequences in CSR; ``None`` while they are
      left in the engine (``Profiles.arrays(sequences=False)``), when ``sequence_loader``
      fetches them on demand (:meth:`sequences_of`, :meth:`load_sequences`).
      ``sequence_lengths`` is always there.
    - ``site_weight[d]`` = W(d) = 1 / max(V(d), 1), V from the library.

    >>> from netpersona.rejoin import build_profiles
    >>> from netpersona.rejoin._examples import example_engine
    >>> arrays = build_profiles(example_engine(), "library_log", "library").arrays()
    >>> arrays.user_ids.to_pylist()
    ['a', 'b', 'c', 'd', 'e', 'f']
    """

    user_ids: pa.Array
    online_days: np.ndarray
    first_ts: pa.Array
    last_ts: pa.Array
    frequent_indptr: np.ndarray
    frequent_sites: np.ndarray
    site_hours: np.ndarray
    hours: np.ndarray
    sequence_indptr: np.ndarray | None
    sequence_items: np.ndarray | None
    site_names: pa.Array
    site_weight: np.ndarray
    sequence_lengths: np.ndarray | None = None
    sequence_loader: SequenceLoader | None = field(default=None, repr=False, compare=False)
    _join_cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.sequence_indptr is not None:  # the lengths always follow the sequences held
            self.sequence_lengths = np.diff(self.sequence_indptr)
        elif self.sequence_lengths is None:
            raise ValueError("ProfileArrays needs sequence_indptr or sequence_lengths")
        if self.sequence_indptr is None and self.sequence_loader is None:
            raise ValueError("ProfileArrays without sequences needs a sequence_loader")

    @property
    def n_users(self) -> int:
        return len(self.online_days)

    def load_sequences(self) -> None:
        """Fetch every item sequence now (a no-op when they are already here)."""
        if self.sequence_indptr is None:
            assert self.sequence_loader is not None
            self.sequence_indptr, self.sequence_items = self.sequence_loader(None)

    def sequence_chunks(self, max_items: int) -> Iterator[tuple[np.ndarray, np.ndarray, ...]]:
        """Every user's item sequence, in batches of about ``max_items`` items, as
        ``(rows, indptr, items)`` (user rows, distinct, in no particular order, and their
        sequences in CSR): runs of loaded sequences, else streamed from the engine in one
        pass, so that all of them are never in memory together. Users without a sequence
        may be left out."""
        if self.sequence_indptr is None:
            assert self.sequence_loader is not None
            yield from self.sequence_loader.batches(max_items)
            return
        ends = np.cumsum(self.sequence_lengths)
        a, n = 0, self.n_users
        while a < n:
            before = int(ends[a - 1]) if a else 0
            b = max(int(np.searchsorted(ends, before + max_items, side="right")), a + 1)
            lo, hi = self.sequence_indptr[a], self.sequence_indptr[b]
            rows = np.arange(a, b, dtype=np.int64)
            yield rows, self.sequence_indptr[a : b + 1] - lo, self.sequence_items[lo:hi]
            a = b

    def sequences_of(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The item sequences of ``users`` (rows, any order, repeats allowed) as CSR
        ``(indptr, items)`` in that order; fetched from the engine when not loaded."""
        users = np.asarray(users, dtype=np.int64)
        if self.sequence_indptr is None:
            assert self.sequence_loader is not None
            distinct, back = np.unique(users, return_inverse=True)
            indptr, items = self.sequence_loader(distinct)
            if len(distinct) == len(users) and np.array_equal(distinct, users):
                return indptr, items
            return gather_rows(indptr, items, back)
        return gather_rows(self.sequence_indptr, self.sequence_items, users)

    @cached_property
    def frequent_weight(self) -> np.ndarray:
        """Σ W(d) over each user's frequent sites (the denominator part of SimiOneTwo)."""
        sums = np.add.reduceat(
            np.append(self.site_weight[self.frequent_sites], 0.0), self.frequent_indptr[:-1]
        )
        sums[np.diff(self.frequent_indptr) == 0] = 0.0
        return sums

    @cached_property
    def user_index(self) -> dict[str, int]:
        """user id -> row."""
        return {uid: i for i, uid in enumerate(self.user_ids.to_pylist())}

    def join_index(self, threshold: float, n_tokens: int) -> tuple[JaccardIndex, np.ndarray]:
        """Step 2's index of this (library) set for ``threshold`` and W(d) over ``n_tokens``
        site codes: built on first use, then kept with the arrays."""
        return library_index(self.frequent_indptr, self.frequent_sites, self.site_weight,
                             threshold, n_tokens, self._join_cache)  # fmt: skip

    def frequent_of(self, user: int) -> np.ndarray:
        return self.frequent_sites[self.frequent_indptr[user] : self.frequent_indptr[user + 1]]

    def sequence_of(self, user: int) -> np.ndarray:
        return self.sequences_of(np.array([user]))[1]


def gather_rows(indptr: np.ndarray, items: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, ...]:
    """CSR rows ``rows`` of ``(indptr, items)``, in that order, as a new CSR."""
    starts, stops = indptr[rows], indptr[rows + 1]
    lengths = stops - starts
    out_indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out_indptr[1:])
    # index of every kept item: its row's start plus its offset within the row
    offsets = np.arange(out_indptr[-1]) - np.repeat(out_indptr[:-1], lengths)
    return out_indptr, items[np.repeat(starts, lengths) + offsets]


def _indptr(rows: np.ndarray, n: int) -> np.ndarray:
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return indptr


def load_arrays(profiles: Profiles, sequences: bool = True) -> ProfileArrays:
    """Fetch a profile set's tables into :class:`ProfileArrays` (the item sequences only
    on demand when ``sequences`` is false)."""
    eng, t = profiles.engine, profiles.table
    # rows are put in order here, not by ORDER BY: some engines (DuckDB without
    # preserve_insertion_order) may hand an ordered result back in parallel chunks
    users = eng.fetch_arrow(
        f"SELECT uid, user_id, online_days, first_ts, last_ts FROM {t('users')}"
    )
    users = users.take(np.argsort(users.column("uid").to_numpy(), kind="stable"))
    n = users.num_rows
    sites = eng.fetch_arrow(f"SELECT site_id, site, n_users FROM {t('sites')}")
    n_sites = sites.num_rows
    site_codes = sites.column("site_id").to_numpy().astype(np.int64)
    # query sets list only the sites they saw: codes keep the library's, gaps get V = 0
    size = int(site_codes.max()) + 1 if n_sites else 0
    v = np.zeros(size, dtype=np.float64)
    v[site_codes] = sites.column("n_users").to_numpy()
    if size == n_sites:
        names = sites.column("site").combine_chunks().take(pa.array(np.argsort(site_codes)))
    else:
        filled = pa.nulls(size, pa.string()).to_pylist()
        for code, site in zip(site_codes.tolist(), sites.column("site").to_pylist(), strict=True):
            filled[code] = site
        names = pa.array(filled, pa.string())
    site_weight = 1.0 / np.maximum(v, 1.0)

    freq = eng.fetch_arrow(f"SELECT uid, site_id FROM {t('frequent')}")
    f_uid = freq.column("uid").to_numpy().astype(np.int64)
    f_site = freq.column("site_id").to_numpy().astype(np.int32)
    order = np.lexsort((f_site, f_uid))
    f_uid, f_site = f_uid[order], f_site[order]
    frequent_indptr = _indptr(f_uid, n)

    site_hours = np.zeros((len(f_site), HOURS), dtype=np.float64)
    sh = eng.fetch_arrow(f"SELECT uid, site_id, hour, days FROM {t('site_hours')}")
    if sh.num_rows:
        key = f_uid * (size + 1) + f_site
        col = {c: sh.column(c).to_numpy().astype(np.int64) for c in sh.column_names}
        sh_key = col["uid"] * (size + 1) + col["site_id"]
        site_hours[np.searchsorted(key, sh_key), col["hour"]] = col["days"]

    hours = np.zeros((n, HOURS), dtype=np.float64)
    h = eng.fetch_arrow(f"SELECT uid, hour, days FROM {t('hours')}")
    if h.num_rows:
        hours[h.column("uid").to_numpy(), h.column("hour").to_numpy()] = h.column("days").to_numpy()

    lengths = np.zeros(n, dtype=np.int64)
    kept, seq = f"{profiles.name}_sequence_lengths", t("sequences")  # daily: kept apart
    of = f"n FROM {kept}" if table_exists(eng, kept) else f"array_length(items) AS n FROM {seq}"
    counted = eng.fetch_arrow(f"SELECT uid, {of}")
    lengths[counted.column("uid").to_numpy()] = counted.column("n").to_numpy()
    loader = SequenceLoader(profiles, lengths)
    sequence_indptr, values = loader(None) if sequences else (None, None)

    return ProfileArrays(
        user_ids=users.column("user_id").combine_chunks(),
        online_days=users.column("online_days").to_numpy().astype(np.int64),
        first_ts=users.column("first_ts").combine_chunks(),
        last_ts=users.column("last_ts").combine_chunks(),
        frequent_indptr=frequent_indptr,
        frequent_sites=f_site,
        site_hours=site_hours,
        hours=hours,
        sequence_indptr=sequence_indptr,
        sequence_items=values,
        site_names=names,
        site_weight=site_weight,
        sequence_lengths=lengths,
        sequence_loader=loader,
    )
