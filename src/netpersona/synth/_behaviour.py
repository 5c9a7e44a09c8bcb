"""One subscriber's browsing over the window: habits, rhythm, sessions, page loads, requests.

Everything about user ``i`` is drawn from its own random stream, so a user's log does not
depend on how many users are generated or how they are batched. The model, in order:

1. **Traits**: light or regular user, mean page loads per day, chance of a day off, a personal
   24-hour profile (a mix of the population's diurnal curve and one to three personal peaks,
   shifted on weekends), interests over site categories, pause between page loads, session size.
2. **Habits**: a set of habitual sites (popular portals, sites of the user's interests, and a
   few rare sites), each with a personal weight, a daily chance of being used, a place in the
   user's personal routine, and the user's own pages there. Interests drift: now and then a
   habitual site is replaced by another from one day on.
3. **Days**: days off and spells away; the page loads of an active day split into sessions
   that start at personal hours and run as continuous browsing (so busy hours reach many
   distinct active minutes).
4. **Page loads**: a session starts at the routine's start or at a habitual site by weight;
   each next load stays on the site, moves to the next site of the day's routine, explores a
   site outside the habits (Zipf popularity within the user's interests) or jumps to a
   habitual site by weight.
5. **Requests**: a page load fires the page URL then resource URLs, all on the same site,
   milliseconds apart.
6. **Background**: the user's installed apps add heartbeats and polls (see
   :mod:`netpersona.synth._background`), drawn from a separate stream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from netpersona.synth._background import background_requests
from netpersona.synth._rhythm import DAY_MS, sessions
from netpersona.synth._settings import AccessLogSettings
from netpersona.synth._sites import N_CATEGORIES, SiteUniverse, zipf_index
from netpersona.synth._vocab import CATEGORY_SHARE

_CATEGORY_SHARE = np.array(CATEGORY_SHARE, dtype=np.float64) / sum(CATEGORY_SHARE)
_SESSION_BREAK_MS = 60_000  # at least a minute between two sessions
_MIN_THINK_MS = 2_000
_REQUEST_SPACING_MS = 250.0


@dataclass
class UserLog:
    """One user's requests in time order: milliseconds since the window start, URL ids."""

    ts_ms: np.ndarray
    url_id: np.ndarray


def simulate_user(
    rng: np.random.Generator,
    universe: SiteUniverse,
    settings: AccessLogSettings,
    n_days: int,
    first_weekday: int,
    background_rng: np.random.Generator | None = None,
) -> UserLog:
    """Simulate one subscriber over ``n_days`` days (``first_weekday``: 0 = Monday).

    ``background_rng`` is the user's stream for background app traffic; without it the log
    holds browsing only."""
    s = settings
    light = rng.random() < s.light_user_fraction
    days = _active_days(rng, s, n_days, light)
    weekend = ((first_weekday + np.arange(n_days)) % 7) >= 5
    loads_per_day = _loads_per_day(rng, s, days, weekend, light)
    habits = _habits(rng, universe, s, n_days)

    act = np.flatnonzero(loads_per_day > 0)  # active days
    loads = loads_per_day[act]
    sess_day, sess_loads, sess_start = sessions(rng, s, act, loads, weekend)
    n_loads = int(loads.sum())

    # -- page loads: timing inside sessions -------------------------------------------------
    load_sess = np.repeat(np.arange(len(sess_loads)), sess_loads)
    first_of_sess = np.zeros(n_loads, dtype=bool)
    first_of_sess[np.concatenate([[0], np.cumsum(sess_loads)[:-1]])] = True
    lo, hi = s.requests_per_load
    req_mean = np.clip(s.requests_per_load_mean * rng.lognormal(0.0, 0.25), lo, hi)
    n_req = _requests_per_load(rng, req_mean, lo, hi, n_loads)
    req_gap = _REQUEST_SPACING_MS * rng.exponential(1.0, int(n_req.sum())) + 30.0
    req_first = np.concatenate([[0], np.cumsum(n_req)[:-1]])
    req_gap[req_first] = 0.0  # the page itself comes first
    req_off = _segmented_cumsum(req_gap, req_first, n_req)
    span = req_off[req_first + n_req - 1]  # how long each page load's requests take
    think_mean = 1000.0 * s.think_time_median_s * rng.lognormal(0.0, 0.4)
    step = np.empty(n_loads)
    step[0] = 0.0
    step[1:] = span[:-1] + _MIN_THINK_MS + rng.exponential(think_mean, n_loads - 1)
    step[first_of_sess] = 0.0
    sess_first = np.flatnonzero(first_of_sess)
    within = _segmented_cumsum(step, sess_first, sess_loads)
    duration = within[sess_first + sess_loads - 1] + span[sess_first + sess_loads - 1]
    # sessions run one after another: a session starts at its drawn time or, if the previous
    # one is still going, right after it (max-plus scan, vectorised by a running maximum)
    gap_before = np.concatenate([[0.0], np.cumsum(duration + _SESSION_BREAK_MS)[:-1]])
    start = gap_before + np.maximum.accumulate(sess_start - gap_before)
    load_ts = start[load_sess] + within

    # -- page loads: which site -------------------------------------------------------------
    load_day = np.repeat(sess_day, sess_loads)  # index into the active days
    site, entry = _visit_sites(rng, universe, habits, s, load_day, act, first_of_sess)

    # -- requests -----------------------------------------------------------------------------
    n_pages = universe.n_pages[site]
    page = zipf_index(n_pages, rng.random(n_loads))
    own = (entry >= 0) & (rng.random(n_loads) < s.personal_page_share)
    own_pick = habits.own_pages[np.maximum(entry, 0), rng.integers(0, 3, n_loads)]
    page = np.where(own, own_pick % n_pages, page)
    req_site = np.repeat(site, n_req)
    base = universe.url_offset[req_site]
    # resources: a steep power law, so a site's common scripts and logos dominate
    u = rng.random(len(req_site))
    res = (universe.n_resources[req_site] * (u * u * u)).astype(np.int64)
    url = base + universe.n_pages[req_site] + res
    url[req_first] = base[req_first] + page
    ts = np.repeat(load_ts, n_req) + req_off
    if background_rng is not None:
        bg = background_requests(
            background_rng, universe, s, act, start, start + duration, sess_day
        )
        if len(bg.ts_ms):
            ts = np.concatenate([ts.astype(np.int64), bg.ts_ms])
            url = np.concatenate([url, bg.url_id])
            order = np.argsort(ts, kind="stable")  # browsing first at equal times
            ts, url = ts[order], url[order]
    keep = ts < n_days * DAY_MS  # a session running past the window's end is cut there
    return UserLog(ts_ms=ts[keep].astype(np.int64), url_id=url[keep])


# -- days -----------------------------------------------------------------------------------


def _active_days(rng, s: AccessLogSettings, n_days: int, light: bool) -> np.ndarray:
    """Boolean per day: is the user online at all."""
    if light:
        p_off = rng.uniform(*s.light_day_off_range)
    elif s.day_off_mean > 0:
        a = 1.5
        p_off = rng.beta(a, a * (1 - s.day_off_mean) / s.day_off_mean)
    else:
        p_off = 0.0
    first, last = 0, n_days
    if n_days > 1 and rng.random() < s.partial_presence_fraction:
        cut = int(rng.integers(1, n_days))
        if rng.random() < 0.5:
            first = cut  # a number that joins inside the window
        else:
            last = cut  # ... or stops
    on = rng.random(n_days) >= p_off
    spell = rng.random(n_days) < s.away_spell_rate
    length = rng.geometric(1.0 / max(s.away_spell_mean_days, 1.0), n_days)
    away = np.zeros(n_days + 1, dtype=np.int64)
    np.add.at(away, np.flatnonzero(spell), 1)
    np.add.at(away, np.minimum(np.flatnonzero(spell) + length[spell], n_days), -1)
    on &= np.cumsum(away[:-1]) == 0
    on[:first] = False
    on[last:] = False
    if not on.any():  # everyone in the log is online at least once
        on[int(rng.integers(first, last))] = True
    return on


def _loads_per_day(rng, s: AccessLogSettings, on, weekend, light: bool) -> np.ndarray:
    lo, hi = s.page_loads_per_day
    if light:
        lo, hi = max(1, round(lo * s.light_volume)), max(1, round(hi * s.light_volume))
    mean = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    weekend_factor = rng.uniform(0.8, 1.4)
    daily = mean * rng.lognormal(0.0, 0.3, len(on)) * np.where(weekend, weekend_factor, 1.0)
    return np.where(on, np.clip(np.rint(daily), lo, hi), 0).astype(np.int64)


# -- habits ---------------------------------------------------------------------------------


@dataclass
class Habits:
    """A user's habitual sites ("entries"; a drifted site is a new entry) and routine order."""

    site: np.ndarray  # site id per entry
    weight: np.ndarray  # personal weight (jumps pick entries by it)
    engage: np.ndarray  # daily chance of using the entry at all
    order: np.ndarray  # routine position key: the day's routine visits entries by this key
    valid_from: np.ndarray  # first day the entry is a habit
    valid_to: np.ndarray  # day after the last
    interests: np.ndarray  # cumulative distribution over categories (exploration)
    own_pages: np.ndarray  # (entries, 3) the user's own pages on each habitual site
    p_stay: float
    p_follow: float
    p_explore: float


def _distinct(candidates: np.ndarray, n: int, exclude: np.ndarray) -> np.ndarray:
    """The first ``n`` distinct candidates not in ``exclude``, in draw order."""
    # a few dozen values: plain Python beats numpy's set routines here
    seen = set(exclude.tolist())
    kept = [c for c in dict.fromkeys(candidates.tolist()) if c not in seen][:n]
    return np.array(kept, dtype=np.int64)


def _habits(rng, universe: SiteUniverse, s: AccessLogSettings, n_days: int) -> Habits:
    interests = 0.5 * rng.dirichlet(np.full(N_CATEGORIES, 0.3)) + 0.5 * _CATEGORY_SHARE
    icdf = np.cumsum(interests)
    icdf[-1] = 1.0

    def pick_categories(n: int) -> np.ndarray:
        return np.minimum(np.searchsorted(icdf, rng.random(n), side="right"), N_CATEGORIES - 1)

    k = int(np.clip(np.rint(s.habitual_sites_median * rng.lognormal(0.0, 0.35)), 4, 40))
    n_rare = min(k // 3, int(rng.poisson(s.rare_habitual_mean)))
    n_common = round(0.45 * (k - n_rare))
    n_personal = k - n_rare - n_common
    common = _distinct(universe.sample_head(rng, 4 * n_common + 4), n_common, np.empty(0))
    personal = _distinct(
        universe.sample_explore(rng, pick_categories(4 * n_personal + 4)), n_personal, common
    )
    chosen = np.concatenate([common, personal])
    rare = _distinct(universe.sample_tail(rng, pick_categories(4 * n_rare + 4)), n_rare, chosen)
    sites = np.concatenate([chosen, rare])
    k = len(sites)

    # personal rank: popular sites tend to come first, but a rare site can be a favourite
    is_common = np.arange(k) < len(common)
    rank = np.argsort(np.argsort(rng.random(k) - 0.3 * is_common))
    weight = (rank + 1.0) ** -0.8
    # the first few are daily habits (used nearly every active day), the rest occasional
    n_core = int(rng.integers(s.daily_sites[0], s.daily_sites[1] + 1))
    engage = np.where(
        rank < n_core, rng.uniform(*s.daily_engagement, k), rng.uniform(*s.occasional_engagement, k)
    )
    order = rng.random(k)
    valid_from = np.zeros(k, dtype=np.int64)
    valid_to = np.full(k, n_days, dtype=np.int64)

    # drift: an entry stops at a day and a new site takes over its role (rank, routine place)
    n_drift = int(rng.poisson(s.drift_per_day * n_days)) if n_days > 1 else 0
    if n_drift:
        victims = rng.integers(0, k, n_drift)
        when = rng.integers(1, n_days, n_drift)
        newcomers = np.where(
            rng.random(n_drift) < 0.5,
            universe.sample_explore(rng, pick_categories(n_drift)),
            universe.sample_tail(rng, pick_categories(n_drift)),
        )
        for v, d, new in zip(victims, when, newcomers, strict=True):
            if valid_to[v] <= d or valid_from[v] >= d or new in sites:
                continue
            valid_to = np.append(valid_to, valid_to[v])
            valid_to[v] = d
            valid_from = np.append(valid_from, d)
            sites = np.append(sites, new)
            weight = np.append(weight, weight[v])
            engage = np.append(engage, engage[v])
            order = np.append(order, order[v])
    own_pages = rng.integers(0, 1 << 30, (len(sites), 3))
    lo_s, hi_s = s.stay_range
    lo_f, hi_f = s.routine_follow_range
    return Habits(
        site=sites,
        weight=weight,
        engage=engage,
        order=order,
        valid_from=valid_from,
        valid_to=valid_to,
        interests=icdf,
        own_pages=own_pages,
        p_stay=rng.uniform(lo_s, hi_s),
        p_follow=rng.uniform(lo_f, hi_f),
        p_explore=rng.uniform(*s.explore_range),
    )


def _visit_sites(rng, universe, habits: Habits, s, load_day, act, first_of_sess):
    """Site of every page load, and its habit entry (-1 when exploring)."""
    n_loads = len(load_day)
    # the day's routine: entries in use that day (valid and engaged), in routine order
    by_order = np.argsort(habits.order, kind="stable")
    valid = (act[:, None] >= habits.valid_from[by_order]) & (
        act[:, None] < habits.valid_to[by_order]
    )
    used = valid & (rng.random(valid.shape) < habits.engage[by_order])
    none = ~used.any(1)
    if none.any():  # a day with no engaged habit falls back to its best valid one
        w = np.where(valid[none], habits.weight[by_order], -1.0)
        used[np.flatnonzero(none), np.argmax(w, axis=1)] = True
    compact = np.argsort(~used, axis=1, kind="stable")  # engaged entries first, in order
    day_len = used.sum(1)
    day_entry = by_order[compact]  # (days, entries): entry at routine position
    w = np.where(np.take_along_axis(used, compact, 1), habits.weight[day_entry], 0.0)
    wcum = np.cumsum(w, axis=1)
    wcum /= wcum[:, -1:]
    width = wcum.shape[1]

    u = rng.random(n_loads)
    stay = u < habits.p_stay
    follow = ~stay & (u < habits.p_stay + habits.p_follow)
    explore = ~stay & ~follow & (u < habits.p_stay + habits.p_follow + habits.p_explore)
    jump = ~(stay | follow | explore)
    stay[first_of_sess] = follow[first_of_sess] = explore[first_of_sess] = False
    jump[first_of_sess] = True
    # where a jump lands: a habitual site by weight, or (session starts, half the time) the
    # routine's first site
    ujump = rng.random(n_loads)
    target = (wcum[load_day, : width - 1] <= ujump[:, None]).sum(1)  # inverse CDF per day
    target = np.minimum(target, day_len[load_day] - 1)
    target[first_of_sess & (rng.random(n_loads) < 0.5)] = 0
    # routine position = position at the last jump + number of "follow" steps since
    idx = np.arange(n_loads)
    anchor = np.maximum.accumulate(np.where(jump, idx, 0))
    steps = np.cumsum(follow)
    pos = (target[anchor] + steps - steps[anchor]) % day_len[load_day]
    entry = day_entry[load_day, pos]
    site = habits.site[entry]
    if explore.any():
        cats = np.minimum(
            np.searchsorted(habits.interests, rng.random(int(explore.sum())), side="right"),
            N_CATEGORIES - 1,
        )
        site[explore] = universe.sample_explore(rng, cats)
        entry[explore] = -1
    # a "stay" is another page on the site of the previous load (habitual or explored)
    last = np.maximum.accumulate(np.where(stay, 0, idx))
    return site[last], entry[last]


def _requests_per_load(rng, mean: float, lo: int, hi: int, n: int) -> np.ndarray:
    """1 + Poisson(mean - 1) requests per page load, kept inside [lo, hi] (inverse CDF)."""
    k = np.arange(hi)
    lam = max(mean - 1.0, 1e-9)
    log_pmf = k * math.log(lam) - lam - np.array([math.lgamma(x + 1) for x in k])
    cdf = np.cumsum(np.exp(log_pmf))
    cdf[-1] = np.inf  # the tail beyond hi - 1 is clipped to hi
    return np.clip(1 + np.searchsorted(cdf, rng.random(n), side="right"), lo, hi)


def _segmented_cumsum(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Running sums that restart at each segment (segments are contiguous, in order)."""
    total = np.cumsum(values)
    before = np.concatenate([[0.0], total])[starts]
    return total - np.repeat(before, lengths)
