"""Background app traffic: what a subscriber's installed apps send while the phone is on.

A smartphone talks to the network far more often than its owner opens web pages: messaging
and push services keep a connection alive with periodic heartbeats (operators' NAT tables
forget an idle connection after a few minutes, so Chinese IM apps of 2013 pinged every few
minutes; push, weather, news and app-store services poll every quarter of an hour or so), and
while the phone is in use the apps on screen and in the background poll for new content every
minute or two. This module adds those requests to one subscriber's foreground browsing:

1. **Installed apps.** A few chatty apps per user (``background_apps``), drawn without
   replacement from the back ends of the ``background_app_pool`` most popular sites by a Zipf
   law (``background_app_zipf``): nearly everyone has the big messengers and portals' apps,
   a few users have a rarer one. Each app talks to its site's first few resource URLs (the
   same API endpoints for everyone), so back ends are shared across users and add to the
   audience V(d) of common sites rather than identifying anyone.
2. **Phone-on hours.** A personal waking day: from ``background_on_margin_h`` hours before
   the user's usual first browsing session (the 5% quantile of session start hours) to as
   long after the usual last one (the 95% quantile of session ends), with half an hour of
   day-to-day noise, never before 4h and never past midnight. Sessions outside it still get
   their polls. Offline days get no background traffic (the phone is off or has no data), so
   the online days are the same with and without it.
3. **Heartbeats.** While the phone is on, each app sends one request every personal period
   (log-uniform in ``background_heartbeat_min`` minutes, +-25% jitter). A share of users
   (``background_overnight_share``) leaves mobile data on overnight: their apps keep
   heartbeating between bed and wake, ``background_night_slowdown`` times less often (the
   system batches wake-ups while the screen is off); the others are silent at night.
4. **Polling.** During a browsing session each app also polls every personal period
   (``background_poll_s`` seconds, +-25% jitter).

Everything is drawn from the user's own background stream, separate from its browsing stream,
so the foreground requests are identical with and without background traffic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from netpersona.synth._settings import AccessLogSettings
from netpersona.synth._sites import SiteUniverse

_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000
_JITTER = 0.25  # a period varies +-25% from one request to the next
_ENDPOINTS = 3  # API endpoints per app back end (its site's first resource URLs)


@dataclass(frozen=True)
class BackgroundRequests:
    """One user's background requests, unordered: ms since the window start, URL ids."""

    ts_ms: np.ndarray
    url_id: np.ndarray


def background_requests(
    rng: np.random.Generator,
    universe: SiteUniverse,
    settings: AccessLogSettings,
    act: np.ndarray,
    sess_start: np.ndarray,
    sess_end: np.ndarray,
    sess_day: np.ndarray,
) -> BackgroundRequests:
    """Background requests of one user.

    ``act`` holds the user's online days (day numbers, increasing); ``sess_start``/``sess_end``
    the browsing sessions (ms since the window start) and ``sess_day`` each session's index
    into ``act``.
    """
    s = settings
    lo, hi = s.background_apps
    n_apps = int(rng.integers(lo, hi + 1)) if hi > 0 else 0
    if n_apps == 0 or len(act) == 0:
        return BackgroundRequests(np.empty(0, np.int64), np.empty(0, np.int64))
    apps = _installed_apps(rng, universe, s, n_apps)
    heartbeat = 60_000.0 * _log_uniform(rng, s.background_heartbeat_min, n_apps)
    poll = 1000.0 * _log_uniform(rng, s.background_poll_s, n_apps)

    # the phone's waking day: from a while before the user's usual first session to a while
    # after the usual last one (small hours count as the evening before), day-to-day noise
    n = len(act)
    day0 = act * _DAY_MS
    first_h = _hour_of_evening(sess_start, day0[sess_day])
    last_h = _hour_of_evening(sess_end, day0[sess_day])
    margin_lo, margin_hi = s.background_on_margin_h
    wake = np.quantile(first_h, 0.05) - rng.uniform(margin_lo, margin_hi) + rng.normal(0, 0.5, n)
    bed = np.quantile(last_h, 0.95) + rng.uniform(margin_lo, margin_hi) + rng.normal(0, 0.5, n)
    on_from = day0 + np.clip(wake, 4.0, 12.0) * _HOUR_MS
    on_to = np.maximum(day0 + np.clip(bed, 18.0, 24.0) * _HOUR_MS, on_from)

    seg_start = [on_from, sess_start]
    seg_end = [on_to, sess_end]
    seg_period = [
        np.broadcast_to(heartbeat, (n, n_apps)),
        np.broadcast_to(poll, (len(sess_start), n_apps)),
    ]
    if rng.random() < s.background_overnight_share:
        night = heartbeat * s.background_night_slowdown
        seg_start += [day0, on_to]
        seg_end += [on_from, day0 + _DAY_MS]
        seg_period += [np.broadcast_to(night, (n, n_apps))] * 2
    # every (segment, app) pair is a stream of ticks at that app's period
    starts = np.concatenate([np.repeat(x, n_apps) for x in seg_start]).astype(np.float64)
    ends = np.concatenate([np.repeat(x, n_apps) for x in seg_end]).astype(np.float64)
    periods = np.concatenate([p.ravel() for p in seg_period])
    app_of = np.tile(np.arange(n_apps), len(starts) // n_apps)
    ts, seg = _ticks(rng, starts, ends, periods)
    site = apps[app_of[seg]]
    endpoint = rng.integers(0, _ENDPOINTS, len(ts)) % universe.n_resources[site]
    url = universe.url_offset[site] + universe.n_pages[site] + endpoint
    return BackgroundRequests(ts.astype(np.int64), url)


def _hour_of_evening(ts: np.ndarray, day0: np.ndarray) -> np.ndarray:
    """Hour of the day of each time, with 0h-4h counted as 24h-28h (the evening before)."""
    h = (ts - day0) / _HOUR_MS
    return np.where(h < 4.0, h + 24.0, h)


def _installed_apps(rng, universe: SiteUniverse, s: AccessLogSettings, n: int) -> np.ndarray:
    """``n`` distinct popular sites whose apps the user has installed (Zipf over the pool)."""
    pool = min(s.background_app_pool, universe.n_sites)
    n = min(n, pool)
    w = np.arange(1, pool + 1, dtype=np.float64) ** -s.background_app_zipf
    # weighted sampling without replacement: the n smallest exponential keys / weight
    keys = rng.exponential(1.0, pool) / w
    return np.sort(np.argpartition(keys, n - 1)[:n]).astype(np.int64)


def _log_uniform(rng, bounds: tuple[float, float], n: int) -> np.ndarray:
    lo, hi = bounds
    return np.exp(rng.uniform(math.log(lo), math.log(hi), n))


def _ticks(rng, starts, ends, periods) -> tuple[np.ndarray, np.ndarray]:
    """Jittered periodic times in each interval ``[start, end)`` (random phase), and the index
    of the interval each time belongs to."""
    length = np.maximum(ends - starts, 0.0)
    # enough ticks to reach the end even if every gap is as short as the jitter allows
    n_max = np.ceil(length / (periods * (1.0 - _JITTER))).astype(np.int64) + 1
    seg = np.repeat(np.arange(len(starts)), n_max)
    gap = periods[seg] * rng.uniform(1.0 - _JITTER, 1.0 + _JITTER, len(seg))
    first = np.concatenate([[0], np.cumsum(n_max)[:-1]])
    gap[first] = periods * rng.random(len(starts))  # a random phase
    total = np.cumsum(gap)
    offset = total - np.repeat(total[first] - gap[first], n_max)
    ts = starts[seg] + offset
    keep = ts < ends[seg]
    return ts[keep], seg[keep]
