"""Small habitual-user access logs for the re-join core tests (canonical table rows).

Each user has a few portal sites everyone visits plus personal rare sites, a personal route
through them, and personal peak hours in which requests fall in ~30 distinct minutes (so the
20-active-minutes rule fires). Library = first days of a random 80% of users; queries = every
user's last days under a fresh id ``q<id>``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

START = dt.datetime(2024, 3, 1)


def habitual_log(
    n_users: int = 40, days: int = 20, seed: int = 0, n_personal: int = 5, noise: float = 0.05
) -> pa.Table:
    """A canonical log (user_id, ts, site) of ``n_users`` habitual users over ``days`` days."""
    rng = np.random.default_rng(seed)
    portals = [f"portal{i}.com" for i in range(6)]
    users, stamps, sites = [], [], []
    for u in range(n_users):
        own = [f"site{u}_{k}.cn" for k in range(n_personal)]
        favourites = list(rng.choice(portals, 2, replace=False)) + own
        route = list(rng.permutation(favourites))
        peaks = rng.choice(24, 3, replace=False)
        for d in range(days):
            for h in peaks:
                if rng.random() < 0.1:
                    continue
                offset = int(rng.integers(len(route)))
                for m in range(0, 60, 2):
                    site = route[(m // 6 + offset) % len(route)]
                    if rng.random() < noise:
                        site = str(rng.choice(portals))
                    second = int(rng.integers(60))
                    users.append(f"user{u:04d}")
                    stamps.append(
                        START + dt.timedelta(days=d, hours=int(h), minutes=m, seconds=second)
                    )
                    sites.append(site)
    return pa.table(
        {
            "user_id": pa.array(users, pa.string()),
            "ts": pa.array(stamps, pa.timestamp("us")),
            "site": pa.array(sites, pa.string()),
        }
    )


def split_log(log: pa.Table, query_days: int, library_fraction: float = 0.8, seed: int = 0):
    """(library rows, query rows, set of query users absent from the library)."""
    import pyarrow.compute as pc

    last = pc.max(log["ts"]).as_py()
    cut = dt.datetime.combine(last.date(), dt.time()) - dt.timedelta(days=query_days - 1)
    users = sorted(set(log["user_id"].to_pylist()))
    rng = np.random.default_rng(seed)
    kept = set(rng.choice(users, round(library_fraction * len(users)), replace=False))
    early = log.filter(pc.less(log["ts"], pa.scalar(cut, pa.timestamp("us"))))
    library = early.filter(pc.is_in(early["user_id"], pa.array(sorted(kept))))
    late = log.filter(pc.greater_equal(log["ts"], pa.scalar(cut, pa.timestamp("us"))))
    query = late.set_column(0, "user_id", pc.binary_join_element_wise("q", late["user_id"], ""))
    absent = {f"q{u}" for u in users if u not in kept}
    return library, query, absent
