"""A subscriber's daily rhythm: when sessions start (a personal 24-hour profile) and how the
page loads of an active day split into sessions."""

from __future__ import annotations

import numpy as np

from netpersona.synth._settings import AccessLogSettings

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
#: Share of mobile browsing per hour of day, 0h..23h (low at night, peaks at noon and evening).
DIURNAL = np.array(
    [
        *(2.2, 1.2, 0.7, 0.4, 0.3, 0.4, 1.0, 2.5, 4.0, 4.6, 4.8, 5.0),  # 0h..11h
        *(5.6, 5.4, 4.8, 4.6, 4.6, 4.7, 5.0, 5.6, 6.2, 6.8, 6.5, 4.4),  # 12h..23h
    ]
)
DIURNAL = DIURNAL / DIURNAL.sum()
_DIURNAL_CDF = np.cumsum(DIURNAL)


def hour_profiles(rng, s: AccessLogSettings) -> np.ndarray:
    """(2, 24) cumulative hour distributions of session starts: weekdays, weekends."""
    hours = np.arange(24)
    shift = int(rng.integers(-1, 3))  # early birds and night owls
    noisy = np.roll(DIURNAL, shift) * rng.lognormal(0.0, 0.5, 24)
    n_peaks = int(rng.integers(s.rhythm_peaks[0], s.rhythm_peaks[1] + 1))
    centres = np.searchsorted(_DIURNAL_CDF, rng.random(n_peaks)) + rng.normal(0.0, 0.5, n_peaks)
    widths = rng.uniform(s.rhythm_peak_width[0], s.rhythm_peak_width[1], n_peaks)
    dist = np.abs(hours[None, :] - centres[:, None])
    dist = np.minimum(dist, 24 - dist)
    peaks = (
        rng.dirichlet(np.ones(n_peaks))[:, None] * np.exp(-0.5 * (dist / widths[:, None]) ** 2)
    ).sum(0)
    share = s.rhythm_personal_share
    weekday = (1.0 - share) * noisy / noisy.sum() + share * peaks / peaks.sum()
    weekend = 0.7 * np.roll(weekday, 1) + 0.3 * DIURNAL
    prof = np.stack([weekday, weekend])
    cum = np.cumsum(prof / prof.sum(1, keepdims=True), axis=1)
    cum[:, -1] = 1.0
    return cum


def sessions(rng, s: AccessLogSettings, act, loads, weekend):
    """Sessions of the active days: their day (index into ``act``), page loads, start (ms)."""
    per_session = s.session_loads_median * rng.lognormal(0.0, 0.35)
    n_sess = np.maximum(1, np.rint(loads / per_session * rng.lognormal(0.0, 0.2, len(loads))))
    n_sess = np.minimum(n_sess, loads).astype(np.int64)
    width = int(n_sess.max())
    shares = rng.exponential(1.0, (len(loads), width))
    shares[np.arange(width)[None, :] >= n_sess[:, None]] = 0.0
    shares /= shares.sum(1, keepdims=True)
    counts = rng.multinomial(loads, shares)
    day_idx, slot = np.nonzero(counts)
    sess_loads = counts[day_idx, slot]
    cum = hour_profiles(rng, s)
    row = weekend[act[day_idx]].astype(np.int64)
    hour = (
        np.searchsorted(
            (cum + 2.0 * np.arange(2)[:, None]).ravel(),
            2.0 * row + rng.random(len(row)),
            side="right",
        )
        - 24 * row
    )
    start = act[day_idx] * DAY_MS + np.minimum(hour, 23) * HOUR_MS + rng.random(len(row)) * HOUR_MS
    order = np.argsort(start, kind="stable")
    return day_idx[order], sess_loads[order], start[order]
