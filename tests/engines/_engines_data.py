"""Small canonical access logs (``user_id, ts, site``) for the cross-engine suite.

Habitual users: a few shared portals plus personal sites, a personal route through them, and
peak hours with requests in ~30 distinct minutes (so the 20-active-minutes rule fires). Some
requests share a timestamp (ties the sequence order must break alike on every engine), and a
few users are sparse. Deterministic given the seed.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

START = dt.datetime(2024, 3, 1)


def habitual_log(n_users: int = 24, days: int = 12, seed: int = 0) -> pa.Table:
    """A canonical log of ``n_users`` users over ``days`` days."""
    rng = np.random.default_rng(seed)
    portals = [f"portal{i}.com" for i in range(5)]
    users, stamps, sites = [], [], []
    for u in range(n_users):
        own = [f"site{u}_{k}.cn" for k in range(int(rng.integers(2, 6)))]
        route = list(rng.permutation([*rng.choice(portals, 2, replace=False), *own]))
        peaks = rng.choice(24, 2, replace=False)
        sparse = u % 7 == 6
        for d in range(days):
            if sparse and rng.random() < 0.6:
                continue
            for h in peaks:
                if rng.random() < 0.15:
                    continue
                offset = int(rng.integers(len(route)))
                for m in range(0, 60, 2):
                    site = route[(m // 6 + offset) % len(route)]
                    if rng.random() < 0.08:
                        site = str(rng.choice(portals))
                    when = START + dt.timedelta(days=d, hours=int(h), minutes=m)
                    users.append(f"user{u:03d}")
                    stamps.append(when)
                    sites.append(site)
                    if rng.random() < 0.05:  # a second request in the same second
                        users.append(f"user{u:03d}")
                        stamps.append(when)
                        sites.append(str(rng.choice(route)))
    return pa.table(
        {
            "user_id": pa.array(users, pa.string()),
            "ts": pa.array(stamps, pa.timestamp("us")),
            "site": pa.array(sites, pa.string()),
        }
    )


def split(log: pa.Table, query_days: int = 4, library_fraction: float = 0.8, seed: int = 0):
    """(library rows, query rows): the first days of a random share of users, and every
    user's last ``query_days`` days under a fresh id ``q<id>``."""
    last = pc.max(log["ts"]).as_py()
    cut = dt.datetime.combine(last.date(), dt.time()) - dt.timedelta(days=query_days - 1)
    users = sorted(set(log["user_id"].to_pylist()))
    rng = np.random.default_rng(seed)
    kept = sorted(rng.choice(users, round(library_fraction * len(users)), replace=False))
    cut_ts = pa.scalar(cut, pa.timestamp("us"))
    early = log.filter(pc.less(log["ts"], cut_ts))
    library = early.filter(pc.is_in(early["user_id"], pa.array(kept)))
    late = log.filter(pc.greater_equal(log["ts"], cut_ts))
    query = late.set_column(0, "user_id", pc.binary_join_element_wise("q", late["user_id"], ""))
    return library, query


def random_sets(n_query: int, n_library: int, n_sites: int, seed: int, hot: int = 0):
    """Random frequent-site sets as (uid, site_id) tables for the join tests; ``hot`` sites are
    held by most users (the skew a real log has: portals everyone visits)."""
    rng = np.random.default_rng(seed)

    def sets(n: int, offset: int):
        uid, site = [], []
        for u in range(n):
            size = int(rng.integers(1, 7))
            chosen = set(rng.integers(hot, n_sites, size).tolist())
            chosen |= {int(h) for h in range(hot) if rng.random() < 0.8}
            for s in sorted(chosen):
                uid.append(u)
                site.append(s)
        return pa.table({"uid": pa.array(uid, pa.int32()), "site_id": pa.array(site, pa.int32())})

    return sets(n_query, 0), sets(n_library, 1)
