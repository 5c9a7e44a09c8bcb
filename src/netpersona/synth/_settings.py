"""The knobs of the synthetic access-log model, one documented setting each."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from netpersona._core import ConfigError


@dataclass(frozen=True)
class AccessLogSettings:
    """How synthetic subscribers browse. Defaults give dense, operator-like logs.

    Volumes
        ``page_loads_per_day``: range of a regular user's page loads on an active day (each
        user has a personal mean, log-uniform in the range; days vary around it, clipped to it).
        ``requests_per_load``: range of HTTP requests one page load fires (the page, then
        images, scripts, API calls on the same site); ``requests_per_load_mean`` its mean.
    The web
        ``sites``: number of sites; ``site_zipf``: Zipf exponent of popularity for exploration;
        ``tail_start``: rank from which a site counts as rare (adopted by few users).
    Habits
        ``habitual_sites_median``: median size of a user's set of habitual sites;
        ``rare_habitual_mean``: mean number of rare sites among them;
        ``daily_sites``: range of the number of habitual sites that are daily habits (the
        user's top-ranked ones), each used on an active day with a chance in
        ``daily_engagement``; the other habitual sites are occasional, with a daily chance in
        ``occasional_engagement``;
        ``explore_range``: range of a user's share of page loads on non-habitual sites;
        ``routine_follow_range``: range of the chance that the next page load goes to the next
        site of the user's personal routine (habitual visit order);
        ``stay_range``: range of the chance that the next page load stays on the same site;
        ``personal_page_share``: share of habitual page loads on the user's own pages there;
        ``drift_per_day``: expected habitual sites replaced per user and day (interests drift).
    Rhythm
        ``session_loads_median``: median page loads per browsing session;
        ``think_time_median_s``: median of a user's mean pause between page loads in a session;
        session starts follow a personal 24-hour profile: ``rhythm_personal_share`` of it from
        ``rhythm_peaks`` personal peaks (each ``rhythm_peak_width`` hours wide), the rest from
        the population's diurnal curve;
        ``day_off_mean``: mean share of days a regular user is offline;
        ``away_spell_rate``: daily chance of starting a spell of several days offline
        (``away_spell_mean_days`` long on average).
    Population
        ``light_user_fraction``: share of sparse users (fewer loads, many days off), whose
        loads are ``light_volume`` times a regular user's and whose offline share lies in
        ``light_day_off_range``; ``partial_presence_fraction``: share of numbers that start
        or stop inside the window.
    Background app traffic (see ``_background.py``; ``background_apps=(0, 0)`` turns it off)
        ``background_apps``: range of the number of chatty installed apps per user;
        ``background_app_pool``: their back ends are among this many most popular sites,
        adopted by a Zipf law with exponent ``background_app_zipf``;
        ``background_heartbeat_min``: range of an app's keep-alive period (minutes) while
        the phone is on; ``background_poll_s``: range of its polling period (seconds) during
        a browsing session; ``background_on_margin_h``: range of how long the phone's waking
        day runs before the user's usual first session and after the usual last one;
        ``background_overnight_share``: share of users who leave data on at night, when
        heartbeats are ``background_night_slowdown`` times rarer.
    """

    page_loads_per_day: tuple[int, int] = (50, 200)
    requests_per_load: tuple[int, int] = (1, 12)
    requests_per_load_mean: float = 3.5
    sites: int = 200_000
    site_zipf: float = 1.0
    tail_start: int = 2000
    habitual_sites_median: float = 12.0
    rare_habitual_mean: float = 2.0
    daily_sites: tuple[int, int] = (3, 8)
    daily_engagement: tuple[float, float] = (0.9, 1.0)
    occasional_engagement: tuple[float, float] = (0.1, 0.6)
    explore_range: tuple[float, float] = (0.05, 0.2)
    routine_follow_range: tuple[float, float] = (0.25, 0.4)
    stay_range: tuple[float, float] = (0.2, 0.4)
    personal_page_share: float = 0.3
    drift_per_day: float = 0.02
    session_loads_median: float = 15.0
    think_time_median_s: float = 30.0
    rhythm_personal_share: float = 0.6
    rhythm_peaks: tuple[int, int] = (1, 3)
    rhythm_peak_width: tuple[float, float] = (0.6, 1.8)
    day_off_mean: float = 0.06
    away_spell_rate: float = 0.01
    away_spell_mean_days: float = 3.0
    light_user_fraction: float = 0.1
    light_volume: float = 0.25
    light_day_off_range: tuple[float, float] = (0.4, 0.8)
    partial_presence_fraction: float = 0.04
    background_apps: tuple[int, int] = (2, 6)
    background_app_pool: int = 300
    background_app_zipf: float = 1.2
    background_heartbeat_min: tuple[float, float] = (10.0, 30.0)
    background_poll_s: tuple[float, float] = (60.0, 180.0)
    background_on_margin_h: tuple[float, float] = (0.5, 2.0)
    background_overnight_share: float = 0.5
    background_night_slowdown: float = 3.0

    def __post_init__(self) -> None:
        def fail(name: str, expected: str) -> None:
            raise ConfigError(
                f"synthetic access-log setting {name}={getattr(self, name)!r}: expected {expected}"
            )

        for name in ("page_loads_per_day", "requests_per_load"):
            lo, hi = getattr(self, name)
            if not (1 <= lo <= hi):
                fail(name, "a range (low, high) of whole numbers with 1 <= low <= high")
        lo, hi = self.requests_per_load
        if not lo <= self.requests_per_load_mean <= hi:
            fail("requests_per_load_mean", f"a mean inside requests_per_load ({lo}..{hi})")
        if not 1000 <= self.sites <= 5_000_000:
            fail("sites", "between 1,000 and 5,000,000")
        if not 1 <= self.daily_sites[0] <= self.daily_sites[1]:
            fail("daily_sites", "a range (low, high) of whole numbers with 1 <= low <= high")
        for name in (
            "explore_range",
            "routine_follow_range",
            "stay_range",
            "light_day_off_range",
            "daily_engagement",
            "occasional_engagement",
        ):
            lo, hi = getattr(self, name)
            if not 0.0 <= lo <= hi <= 1.0:
                fail(name, "a range (low, high) with 0 <= low <= high <= 1")
        if self.explore_range[1] + self.routine_follow_range[1] + self.stay_range[1] > 1.0:
            fail("explore_range", "explore + routine_follow + stay upper bounds summing to <= 1")
        for name in (
            "personal_page_share",
            "day_off_mean",
            "away_spell_rate",
            "light_user_fraction",
            "partial_presence_fraction",
        ):
            if not 0.0 <= getattr(self, name) < 1.0:
                fail(name, "a probability in [0, 1)")
        for name in (
            "site_zipf",
            "habitual_sites_median",
            "session_loads_median",
            "think_time_median_s",
            "away_spell_mean_days",
            "light_volume",
            "background_app_zipf",
        ):
            if not getattr(self, name) > 0:
                fail(name, "a positive number")
        lo, hi = self.background_apps
        if not 0 <= lo <= hi <= 50:
            fail("background_apps", "a range (low, high) of whole numbers, 0 <= low <= high <= 50")
        if not 1 <= self.background_app_pool <= self.sites:
            fail("background_app_pool", f"a number of sites between 1 and sites ({self.sites})")
        for name, least in (("background_heartbeat_min", 0.5), ("background_poll_s", 5.0)):
            lo, hi = getattr(self, name)
            if not least <= lo <= hi:
                fail(name, f"a range (low, high) with {least} <= low <= high")
        lo, hi = self.background_on_margin_h
        if not 0.0 <= lo <= hi <= 12.0:
            fail("background_on_margin_h", "a range (low, high) of hours, 0 <= low <= high <= 12")
        if not 0.0 <= self.background_overnight_share <= 1.0:
            fail("background_overnight_share", "a share in [0, 1]")
        if not self.background_night_slowdown >= 1.0:
            fail("background_night_slowdown", "a factor >= 1")
        if not 0.0 <= self.rhythm_personal_share <= 1.0:
            fail("rhythm_personal_share", "a share in [0, 1]")
        if not 1 <= self.rhythm_peaks[0] <= self.rhythm_peaks[1] <= 6:
            fail("rhythm_peaks", "a range (low, high) of whole numbers, 1 <= low <= high <= 6")
        if not 0.1 <= self.rhythm_peak_width[0] <= self.rhythm_peak_width[1] <= 12.0:
            fail("rhythm_peak_width", "a range (low, high) of hours, 0.1 <= low <= high <= 12")
        for name in ("rare_habitual_mean", "drift_per_day"):
            if getattr(self, name) < 0:
                fail(name, "a number >= 0")

    def as_dict(self) -> dict:
        """The settings as plain data (for summaries and reports)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]
