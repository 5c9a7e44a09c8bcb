"""Identity-change features (issue 16, item 5): what a change of account looks like.

A person who changes number (or e-mail address) stops using the old identity when the new one
starts, and goes on working on the same things. Per (query, candidate) pair:

- ``log_gap_days``: days from the candidate's last activity to the query's first, signed and
  on a log scale (``sign(g) log(1 + |g|)``; ``gap_days`` clips the same at 60 days, too short
  for commit histories where a change can take years);
- ``active_after_query_start``: ``log(1 + days)`` the candidate was still active after the
  query's first activity (0: it went quiet before the new identity appeared, as a re-joiner's
  old identity does);
- ``period_overlap``: the share of the query's active period (first to last activity) that
  the candidate's active period covers;
- ``candidate_recency``: ``log(1 + days)`` from the candidate's last activity to the end of
  the library (an identity that went quiet long ago is a less likely old self of a new one);
- ``candidate_span``: ``log(1 + days)`` from the candidate's first to its last activity;
- ``shared_sites``: ``log(1 + n)`` of the sites (items) both visited, and ``shared_rarity``
  the mean weight 1/V(d) of those shared items (shared *rare* items: the same corner of a
  project, not the portal everyone visits).
"""

from __future__ import annotations

import numpy as np

from netpersona.rejoin._learned._activity import Activity

DAY = 86_400.0


def _signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def change_features(
    pq: np.ndarray,
    pl: np.ndarray,
    qa: Activity,
    la: Activity,
    shared: np.ndarray,
    w_shared: np.ndarray,
) -> dict[str, np.ndarray]:
    """The identity-change features of the pairs (``pq[e]``, ``pl[e]``), see the module
    docstring; ``shared``/``w_shared`` are the pairs' shared-site count and Σ 1/V(d)."""
    q_first, q_last = qa.first_seconds[pq], qa.last_seconds[pq]
    l_first, l_last = la.first_seconds[pl], la.last_seconds[pl]
    gap = np.nan_to_num((q_first - l_last) / DAY, nan=0.0)
    after = np.clip(np.nan_to_num((l_last - q_first) / DAY, nan=0.0), 0.0, None)
    q_span = np.maximum(np.nan_to_num((q_last - q_first) / DAY, nan=0.0), 1.0)
    covered = np.minimum(q_last, l_last) - np.maximum(q_first, l_first)
    covered = np.clip(np.nan_to_num(covered / DAY, nan=0.0), 0.0, None)
    library_end = np.nanmax(la.last_seconds) if len(la.last_seconds) else 0.0
    recency = np.clip(np.nan_to_num((library_end - l_last) / DAY, nan=0.0), 0.0, None)
    span = np.clip(np.nan_to_num((l_last - l_first) / DAY, nan=0.0), 0.0, None)
    shared = np.asarray(shared, dtype=np.float64)
    return {
        "log_gap_days": _signed_log(gap),
        "active_after_query_start": np.log1p(after),
        "period_overlap": np.clip(covered / q_span, 0.0, 1.0),
        "candidate_recency": np.log1p(recency),
        "candidate_span": np.log1p(span),
        "shared_sites": np.log1p(shared),
        "shared_rarity": np.divide(w_shared, shared, out=np.zeros(len(shared)), where=shared > 0),
    }
