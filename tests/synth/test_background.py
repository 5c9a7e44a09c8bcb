"""Background app traffic in synthetic access logs: heartbeats and polls of installed apps."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpersona import ConfigError
from netpersona.io import site_of_url
from netpersona.synth import AccessLogSettings, generate_access_logs
from netpersona.synth._sites import SiteUniverse
from netpersona.synth.access_logs import SCHEMA

START = dt.date(2013, 11, 4)
BROWSING = {"background_apps": (0, 0)}
KEY = ["user_id", "ts", "url"]


def log(users, days, seed=0, *, light=0.1, **changes) -> pd.DataFrame:
    s = AccessLogSettings(light_user_fraction=light, **changes)
    batches = list(generate_access_logs(users, days, START, seed, settings=s))
    df = pa.Table.from_batches(batches, schema=SCHEMA).to_pandas()
    df["day"] = df["ts"].dt.floor("D")
    df["hour"] = df["ts"].dt.hour
    df["minute"] = df["ts"].dt.floor("min")
    return df


def split(users, days, seed=0, **changes) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The full log, its browsing alone (background switched off) and the background rows
    (full minus browsing, as a multiset of rows)."""
    full = log(users, days, seed, **changes)
    browsing = log(users, days, seed, **{**changes, **BROWSING})
    n_full = full.groupby(KEY).size()
    n_browsing = browsing.groupby(KEY).size()
    extra = n_full.sub(n_browsing, fill_value=0)
    assert (extra >= 0).all(), "browsing must be unchanged by background traffic"
    extra = extra[extra > 0].astype(int)
    background = extra.index.to_frame(index=False).loc[np.repeat(np.arange(len(extra)), extra)]
    background["hour"] = background["ts"].dt.hour
    background["day"] = background["ts"].dt.floor("D")
    background["site"] = background["url"].map(_site)
    return full, browsing, background.reset_index(drop=True)


def _site(url: str) -> str:
    return site_of_url(url.split("://", 1)[1].split("/", 1)[0].split(":", 1)[0])


@pytest.fixture(scope="module")
def week() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """60 subscribers over 7 days at default density: full log, browsing, background."""
    return split(60, 7, seed=5)


def test_browsing_is_the_same_with_and_without_background(week):
    full, browsing, background = week
    assert len(full) == len(browsing) + len(background)
    assert len(background) > 0.3 * len(full)
    # background traffic only on the days the user is online anyway
    online = set(zip(browsing["user_id"], browsing["day"], strict=True))
    assert set(zip(background["user_id"], background["day"], strict=True)) <= online


def test_volume_stays_in_the_papers_order_of_magnitude(week):
    full, browsing, _ = week
    per_day = full.groupby(["user_id", "day"]).size()
    # the paper: ~110 GB of (user, time, url) for 25,809 users x 60 days, ~1,000 a user-day
    assert 300 < per_day.median() < 1500, per_day.describe()
    assert per_day.median() > 1.5 * browsing.groupby(["user_id", "day"]).size().median()


def _hours_at_20_minutes(df: pd.DataFrame) -> pd.Series:
    """Per user: hours with >= 20 distinct active minutes per online day (the paper's h)."""
    minutes = df.groupby(["user_id", "day", "hour"])["minute"].nunique()
    per_day = (minutes >= 20).groupby(level=["user_id", "day"]).sum()
    return per_day.groupby(level="user_id").mean()


def test_active_hours_reach_twenty_minutes_far_more_often(week):
    full, browsing, _ = week
    with_apps, alone = _hours_at_20_minutes(full), _hours_at_20_minutes(browsing)
    # docs/synthetic-data.md: median ~0.5 hours per online day from browsing alone, ~2.5
    # with background apps; the paper's rule needs many hours to reach 20 minutes
    assert alone.median() < 1.0
    assert 1.5 < with_apps.median() < 6.0, with_apps.describe()
    assert (with_apps >= alone).all()
    # ... and not every waking hour: the hour vector still follows the person
    assert with_apps.quantile(0.9) < 12


def test_heartbeats_follow_personal_on_hours():
    _, browsing, background = split(40, 7, seed=9, background_overnight_share=0.0)
    # nobody leaves data on overnight: at 1h-4h only apps of someone browsing are talking
    night = background[background["hour"].between(1, 3)]
    night_browsing = browsing[browsing["hour"].between(1, 3)]
    assert len(night) < 0.02 * len(background)
    assert set(night["user_id"]) <= set(night_browsing["user_id"])
    # with everyone's data on overnight, the night is quieter but not silent
    _, _, always_on = split(40, 7, seed=9, background_overnight_share=1.0)
    share = always_on["hour"].between(1, 3).mean()
    daytime = always_on["hour"].between(10, 12).mean()
    assert 0.02 < share < daytime
    # the waking day is personal: users' usual first request of the day differs, and the
    # apps wake early for those who browse early
    usual = _usual_first_hour(background)
    assert usual.quantile(0.9) - usual.quantile(0.1) > 1.0
    assert usual.corr(_usual_first_hour(browsing), method="spearman") > 0.5


def _usual_first_hour(df: pd.DataFrame) -> pd.Series:
    """Per user: median hour of the first request of the day (0h-4h count as 24h-28h)."""
    first = df.groupby(["user_id", "day"])["ts"].min()
    hour = first.dt.hour + first.dt.minute / 60
    hour = hour.where(hour >= 4, hour + 24)
    return hour.groupby(level="user_id").median()


def test_app_back_ends_are_shared_popular_sites(week):
    full, _, background = week
    s = AccessLogSettings()
    universe = SiteUniverse(seed=5, n_sites=s.sites)
    pool = set(universe.domains(np.arange(s.background_app_pool)).to_pylist())
    assert set(background["site"]) <= pool
    apps = background.groupby("user_id")["site"].nunique()
    lo, hi = s.background_apps
    assert apps.between(lo, hi).all() and apps.nunique() > 1
    # not identifying on their own: most background requests go to sites many users visit
    users = full["user_id"].nunique()
    audience = full.assign(site=full["url"].map(_site)).groupby("site")["user_id"].nunique()
    assert (audience[background["site"]].to_numpy() >= 0.1 * users).mean() > 0.8


def test_polls_come_every_minute_or_two_during_browsing(week):
    _, browsing, background = week
    # in a minute with browsing, background requests are far denser than in one without
    busy = set(zip(browsing["user_id"], browsing["ts"].dt.floor("min"), strict=True))
    minute = zip(background["user_id"], background["ts"].dt.floor("min"), strict=True)
    in_busy = np.fromiter((m in busy for m in minute), dtype=bool, count=len(background))
    busy_rate = in_busy.sum() / len(busy)
    idle_minutes = browsing.groupby("user_id")["day"].nunique().sum() * 16 * 60 - len(busy)
    idle_rate = (~in_busy).sum() / idle_minutes
    assert busy_rate > 3 * idle_rate


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    users=st.integers(1, 4),
    days=st.integers(1, 6),
    seed=st.integers(0, 2**40),
    apps=st.tuples(st.integers(0, 4), st.integers(0, 4)).map(sorted),
    overnight=st.floats(0.0, 1.0),
)
def test_any_log_with_background_is_well_formed(users, days, seed, apps, overnight):
    changes = {"background_apps": tuple(apps), "background_overnight_share": overnight}
    full, browsing, background = split(users, days, seed, light=0.1, **changes)
    assert full["ts"].min() >= pd.Timestamp(START)
    assert full["ts"].max() < pd.Timestamp(START) + pd.Timedelta(days=days)
    assert (
        full.groupby("user_id", sort=False)["ts"].apply(lambda s: s.is_monotonic_increasing).all()
    )
    if apps[1] == 0:
        assert len(background) == 0
    # heartbeats at least every 30 min (+25% jitter) on each app while the phone is on
    per_day = background.groupby(["user_id", "day"]).size()
    assert per_day.to_numpy().max(initial=0) <= apps[1] * (24 * 60 / 7.5 + 2) + len(browsing) * 4


@pytest.mark.parametrize(
    "changes",
    [
        {"background_apps": (3, 2)},
        {"background_apps": (-1, 2)},
        {"background_app_pool": 0},
        {"background_heartbeat_min": (0.1, 30.0)},
        {"background_poll_s": (120.0, 60.0)},
        {"background_on_margin_h": (2.0, 1.0)},
        {"background_overnight_share": 1.5},
        {"background_night_slowdown": 0.5},
    ],
)
def test_bad_background_settings_are_refused_with_the_setting_named(changes):
    with pytest.raises(ConfigError, match=next(iter(changes))):
        AccessLogSettings(**changes)


def test_cli_switches_background_apps(tmp_path):
    from typer.testing import CliRunner

    from netpersona.cli import app

    args = ["synth", "access-logs", "--users", "4", "--days", "2", "--page-loads", "5-10"]
    args += ["--preset", "dense"]  # the generator's own defaults, whatever the CLI default
    for apps, expected in (("0", BROWSING), ("3", {"background_apps": (3, 3)})):
        out = tmp_path / f"apps{apps}.parquet"
        result = CliRunner().invoke(app, [*args, "--background-apps", apps, "--out", str(out)])
        assert result.exit_code == 0, result.output
        s = AccessLogSettings(**expected)
        batches = generate_access_logs(4, 2, START, 0, settings=s, page_loads_per_day=(5, 10))
        assert pa.Table.from_batches(list(batches), schema=SCHEMA).equals(
            pq.read_table(out).cast(SCHEMA)
        )
