"""Synthetic access logs: schema, determinism, volumes, realism of the browsing model, CLI."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import itertools
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from netpersona import ConfigError, OutputExistsError
from netpersona.cli import app
from netpersona.io import read_access_log, site_of_url
from netpersona.synth import (
    AccessLogSettings,
    generate_access_logs,
    write_access_logs,
)
from netpersona.synth._phones import PREFIXES, phone_numbers
from netpersona.synth._sites import SiteUniverse
from netpersona.synth.access_logs import SCHEMA

START = dt.date(2013, 11, 4)
#: the model's own defaults (preset ``dense``), which these tests describe; the library's
#: default is the ``paper`` preset (tests/synth/test_presets.py)
SMALL = {
    "page_loads_per_day": (5, 20),
    "requests_per_load": (1, 3),
    "settings": AccessLogSettings(),
}


def table(users, days, seed=0, **kwargs) -> pa.Table:
    kwargs.setdefault("settings", AccessLogSettings())  # the model's own defaults (dense)
    return pa.Table.from_batches(
        list(generate_access_logs(users, days, START, seed, **kwargs)), schema=SCHEMA
    )


def with_sites(t: pa.Table) -> pd.DataFrame:
    """The log as a DataFrame with the site of each URL, by the product's own PSL rule."""
    df = t.to_pandas()
    hosts = df["url"].str.extract(r"^[a-z]+://([^/:?]+)", expand=False)
    sites = {h: site_of_url(h) for h in hosts.unique()}
    df["site"] = hosts.map(sites)
    df["day"] = df["ts"].dt.floor("D")
    df["hour"] = df["ts"].dt.hour
    return df


@pytest.fixture(scope="module")
def medium() -> pd.DataFrame:
    """300 subscribers over 21 days with lighter volumes: enough for population statistics."""
    t = table(300, 21, seed=7, page_loads_per_day=(30, 80), requests_per_load=(1, 4))
    return with_sites(t)


@pytest.fixture(scope="module")
def dense() -> pd.DataFrame:
    """40 subscribers over 7 days at the default (operator-like) density."""
    return with_sites(table(40, 7, seed=11))


# -- schema, ids, time ----------------------------------------------------------------------


def test_schema_ids_and_time_order():
    t = table(25, 5, **SMALL)
    assert t.schema == SCHEMA
    df = t.to_pandas()
    ids = df["user_id"].unique()
    assert len(ids) == 25  # everyone is online at least once
    assert all(re.fullmatch(r"1[3-8]\d{9}", u) and int(u[:3]) in PREFIXES for u in ids)
    # rows come user by user (each user contiguous), each user's requests in time order
    runs = (df["user_id"] != df["user_id"].shift()).sum()
    assert runs == 25
    assert df.groupby("user_id", sort=False)["ts"].apply(lambda s: s.is_monotonic_increasing).all()
    assert df["ts"].min() >= pd.Timestamp(START)
    assert df["ts"].max() < pd.Timestamp(START) + pd.Timedelta(days=5)
    assert df["url"].str.match(r"^https?://[a-z0-9.\-]+(:\d+)?/").all()


def test_phone_numbers_are_distinct_and_keyed_by_seed():
    a = phone_numbers(0, 200_000, seed=1).to_pylist()
    assert len(set(a)) == len(a)
    assert phone_numbers(1000, 5, seed=1).to_pylist() == a[1000:1005]
    assert phone_numbers(0, 1000, seed=2).to_pylist() != a[:1000]


def test_site_names_are_distinct_registrable_domains():
    universe = SiteUniverse(seed=3, n_sites=200_000)
    domains = universe.domains(np.arange(universe.n_sites)).to_pylist()
    assert len(set(domains)) == len(domains)
    sample = domains[:: len(domains) // 2000]
    assert all(site_of_url(f"http://m.{d}/x") == d for d in sample if not d[0].isdigit())
    ips = [d for d in domains if d[0].isdigit()]
    assert ips and all(site_of_url(f"http://{ip}:8080/api") == ip for ip in ips[:50])
    other_seed = SiteUniverse(seed=4, n_sites=200_000).domains(np.arange(1000, 1010))
    assert other_seed.to_pylist() != domains[1000:1010]  # the tail's names follow the seed


def test_encoded_batches_hold_the_same_values():
    plain = table(6, 3, seed=1, **SMALL)
    encoded = pa.Table.from_batches(
        list(generate_access_logs(6, 3, START, 1, encoded=True, **SMALL))
    )
    assert pa.types.is_dictionary(encoded.schema.field("url").type)
    assert encoded.cast(SCHEMA).equals(plain)


# -- determinism ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["parquet", "csv", "csv.gz"])
def test_same_seed_gives_byte_identical_files(tmp_path, suffix):
    paths = [tmp_path / f"{name}.{suffix}" for name in ("a", "b", "c")]
    write_access_logs(paths[0], 15, 4, START, seed=5, **SMALL)
    write_access_logs(paths[1], 15, 4, START, seed=5, **SMALL)
    write_access_logs(paths[2], 15, 4, START, seed=6, **SMALL)
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    assert digest[0] == digest[1]
    assert digest[0] != digest[2]


def test_parquet_reads_back_as_plain_columns(tmp_path):
    import duckdb

    out = tmp_path / "log.parquet"
    summary = write_access_logs(out, 10, 3, START, seed=2, batch_rows=500, **SMALL)
    assert pq.read_schema(out) == SCHEMA
    assert pq.ParquetFile(out).metadata.num_row_groups > 1  # one row group per batch
    types = duckdb.sql(f"DESCRIBE SELECT * FROM '{out}'").fetchall()
    assert [(name, kind) for name, kind, *_ in types] == [
        ("user_id", "VARCHAR"),
        ("ts", "TIMESTAMP"),
        ("url", "VARCHAR"),
    ]
    assert pq.read_table(out).equals(table(10, 3, seed=2, **SMALL))
    assert summary.rows == pq.ParquetFile(out).metadata.num_rows


def test_rows_do_not_depend_on_batch_size_or_user_count():
    whole = table(12, 4, seed=3, **SMALL)
    tiny_batches = table(12, 4, seed=3, batch_rows=1, **SMALL)
    assert tiny_batches.equals(whole)
    first = table(5, 4, seed=3, **SMALL)
    assert first.equals(whole.slice(0, first.num_rows))


# -- volumes --------------------------------------------------------------------------------


def test_page_loads_per_active_day_stay_in_the_documented_range():
    # one request per page load and no background app traffic, so rows are page loads
    s = AccessLogSettings(light_user_fraction=0.0, background_apps=(0, 0))
    df = table(30, 10, settings=s, page_loads_per_day=(20, 40), requests_per_load=(1, 1))
    per_day = df.to_pandas().groupby(["user_id", df["ts"].to_pandas().dt.floor("D")]).size()
    # a session running past midnight moves a few loads into the next day
    inside = per_day.between(20, 40).mean()
    assert inside > 0.9, per_day.describe()
    assert per_day.max() <= 2 * 40


def test_default_density_is_operator_like(dense):
    per_day = dense.groupby(["user_id", "day"]).size()
    # 50-200 page loads of 1-12 requests (mean 3.5): hundreds of requests per active day
    assert 150 < per_day.median() < 1000
    assert per_day.max() <= 2 * 200 * 12


def test_light_users_and_days_off():
    df = table(200, 30, seed=2, **SMALL).to_pandas()
    active = df.groupby("user_id")["ts"].apply(lambda s: s.dt.floor("D").nunique())
    assert (active < 30).mean() > 0.5  # most users skip some days
    assert (active <= 0.6 * 30).mean() > 0.04  # a minority is sparse
    assert (active == 30).any()  # ... and some never skip a day


# -- realism --------------------------------------------------------------------------------


def test_popularity_is_zipf_like_with_a_long_tail(medium):
    users_per_site = medium.groupby("site")["user_id"].nunique().sort_values(ascending=False)
    n_users = medium["user_id"].nunique()
    assert users_per_site.iloc[0] > 0.8 * n_users  # portals (nearly) everyone uses
    assert users_per_site.median() <= 2  # most sites are seen by one or two users
    assert len(users_per_site) > 5000
    rank = np.arange(1, len(users_per_site) + 1)
    slope = np.polyfit(np.log(rank[:2000]), np.log(users_per_site.to_numpy()[:2000]), 1)[0]
    assert -2.0 < slope < -0.3, slope


def test_multi_label_suffixes_make_the_psl_matter(medium):
    sites = pd.Series(medium["site"].unique())
    naive = sites.str.extract(r"([^.]+\.[^.]+)$", expand=False)
    assert (naive != sites).mean() > 0.1  # e.g. sina.com.cn, not com.cn
    assert sites.str.endswith((".com.cn", ".co.uk", ".net.cn")).any()
    assert sites.str.fullmatch(r"\d+\.\d+\.\d+\.\d+").any()  # app back ends by IP address
    hosts_per_site = (
        medium.assign(host=medium["url"].str.extract(r"^[a-z]+://([^/?]+)", expand=False))
        .groupby("site")["host"]
        .nunique()
    )
    assert hosts_per_site.max() >= 8  # portals: many hosts (m., news., img1. ...)


def frequent_sites(df: pd.DataFrame, ratio: float = 0.8) -> pd.Series:
    """The paper's D(u): sites on >= ratio of the user's online days."""
    online = df.groupby("user_id")["day"].nunique()
    site_days = df.groupby(["user_id", "site"])["day"].nunique().reset_index(name="days")
    site_days["online"] = site_days["user_id"].map(online)
    frequent = site_days[site_days["days"] >= ratio * site_days["online"]]
    return frequent.groupby("user_id")["site"].apply(set)


def test_users_have_habitual_sites_some_of_them_rare(medium):
    freq = frequent_sites(medium)
    n_users = medium["user_id"].nunique()
    assert len(freq) > 0.95 * n_users  # the paper's D(u) is non-empty for nearly everyone
    users_per_site = medium.groupby("site")["user_id"].nunique()
    rare = freq.apply(lambda sites: any(users_per_site[s] <= 0.02 * n_users for s in sites))
    assert 0.1 < rare.mean() < 0.9  # some users have a rare daily site, not all


def test_consecutive_requests_of_a_page_load_hit_the_same_site():
    # a property of browsing: background app requests (tests/synth/test_background.py)
    # interleave with page loads in the full log, so this looks at browsing alone
    browsing = AccessLogSettings(background_apps=(0, 0))
    df = with_sites(
        table(
            80, 14, seed=7, settings=browsing, page_loads_per_day=(30, 80), requests_per_load=(1, 4)
        )
    )
    same_user = df["user_id"].eq(df["user_id"].shift())
    same_site = df["site"].eq(df["site"].shift())
    repeat = (same_site & same_user).sum() / same_user.sum()
    assert repeat > 0.6  # several requests per page load, and stays on a site
    items = (~(same_site & same_user)).sum()  # item sequence: repeats collapsed
    assert items < 0.5 * len(df)


def test_activity_is_concentrated_in_personal_hours(medium):
    by_hour = medium.groupby(["user_id", "hour"]).size().unstack(fill_value=0)
    share = by_hour.to_numpy() / by_hour.to_numpy().sum(1, keepdims=True)
    top6 = np.sort(share, axis=1)[:, -6:].sum(1)
    # uniform would be 0.25; browsing alone gives ~0.7, background heartbeats spread over the
    # waking day bring it to ~0.48 (was > 0.5 before background app traffic)
    assert np.median(top6) > 0.4
    assert len(set(share.argmax(1))) >= 6  # people peak at different hours


def test_busy_hours_reach_twenty_active_minutes(dense):
    minutes = dense.assign(minute=dense["ts"].dt.floor("min"))
    per_hour = minutes.groupby(["user_id", "day", "hour"])["minute"].nunique()
    users_with_hours = per_hour[per_hour >= 20].reset_index()["user_id"].nunique()
    assert users_with_hours > 0.7 * dense["user_id"].nunique()


def test_habitual_visit_order_repeats(medium):
    """Site-to-site transitions of the first half recur in the second, beyond chance."""
    df = medium[
        medium["site"].ne(medium["site"].shift()) | medium["user_id"].ne(medium["user_id"].shift())
    ]
    half = df["day"] < df["day"].min() + pd.Timedelta(days=10)
    rng = np.random.default_rng(0)
    seen, chance = [], []
    for _, user in df.groupby("user_id"):
        first, second = user[half[user.index]], user[~half[user.index]]
        if len(first) < 50 or len(second) < 50:
            continue
        bigrams = set(itertools.pairwise(first["site"]))
        later = list(itertools.pairwise(second["site"]))
        control = list(itertools.pairwise(rng.permutation(second["site"].to_numpy())))
        seen.append(np.mean([b in bigrams for b in later]))
        chance.append(np.mean([b in bigrams for b in control]))
    assert len(seen) > 100
    assert np.median(seen) > np.median(chance) + 0.05


def test_habits_drift_and_vary_day_to_day(medium):
    first = frequent_sites(medium[medium["day"] < medium["day"].min() + pd.Timedelta(days=7)])
    last = frequent_sites(medium[medium["day"] >= medium["day"].max() - pd.Timedelta(days=6)])
    both = first.index.intersection(last.index)
    jaccard = np.array([len(first[u] & last[u]) / len(first[u] | last[u]) for u in both])
    assert 0.3 < np.median(jaccard) < 1.0  # recognisable, yet not identical period to period
    assert (jaccard < 1.0).mean() > 0.3


def test_users_are_recognisable_from_one_period_to_the_next(medium):
    """Dense logs: a user's last week looks most like the same user's first two weeks."""
    cut = medium["day"].min() + pd.Timedelta(days=14)
    counts = [
        part.groupby(["user_id", "site"])["day"].nunique().unstack(fill_value=0)
        for part in (medium[medium["day"] < cut], medium[medium["day"] >= cut])
    ]
    users = counts[0].index.intersection(counts[1].index)
    sites = counts[0].columns.union(counts[1].columns)
    before, after = (
        c.reindex(index=users, columns=sites, fill_value=0).to_numpy(float) for c in counts
    )
    idf = np.log(len(users) / (1.0 + (before > 0).sum(0)))
    vectors = []
    for m in (before, after):
        v = np.log1p(m) * idf
        vectors.append(v / (np.linalg.norm(v, axis=1, keepdims=True) + 1e-12))
    best = (vectors[1] @ vectors[0].T).argmax(1)
    assert len(users) > 250
    assert (best == np.arange(len(users))).mean() > 0.8


# -- reading it back with the product's reader ------------------------------------------------


@pytest.mark.parametrize("suffix", ["parquet", "csv.gz"])
def test_the_reader_accepts_every_row(tmp_path, suffix):
    out = tmp_path / f"log.{suffix}"
    summary = write_access_logs(out, 20, 3, START, seed=9, **SMALL)
    read = read_access_log(out)
    assert (read.rows, read.rejected) == (summary.rows, 0)


# -- properties -----------------------------------------------------------------------------


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    users=st.integers(1, 6),
    days=st.integers(1, 9),
    seed=st.integers(0, 2**40),
    lo=st.integers(1, 15),
    extra=st.integers(0, 15),
)
def test_any_small_log_is_well_formed(users, days, seed, lo, extra):
    # browsing alone, so the row count has a bound (background traffic: test_background.py)
    browsing = AccessLogSettings(background_apps=(0, 0))
    t = table(
        users,
        days,
        seed=seed,
        settings=browsing,
        page_loads_per_day=(lo, lo + extra),
        requests_per_load=(1, 2),
    )
    df = t.to_pandas()
    assert df["user_id"].nunique() == users
    assert df["ts"].min() >= pd.Timestamp(START)
    assert df["ts"].max() < pd.Timestamp(START) + pd.Timedelta(days=days)
    assert df.groupby("user_id", sort=False)["ts"].apply(lambda s: s.is_monotonic_increasing).all()
    assert len(df) <= users * days * (lo + extra) * 2  # at most hi loads a day, 2 requests each


# -- settings and errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"page_loads_per_day": (0, 10)},
        {"page_loads_per_day": (20, 10)},
        {"requests_per_load": (2, 1)},
        {"sites": 10},
        {"explore_range": (0.5, 0.9)},
        {"day_off_mean": 1.5},
    ],
)
def test_bad_settings_are_refused_with_the_setting_named(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ConfigError, match=name):
        AccessLogSettings(**kwargs)


def test_unknown_extension_and_existing_output_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"\.parquet, \.csv or \.csv\.gz"):
        write_access_logs(tmp_path / "log.txt", 2, 2, START, **SMALL)
    out = tmp_path / "log.csv"
    out.write_text("keep me")
    with pytest.raises(OutputExistsError):
        write_access_logs(out, 2, 2, START, **SMALL)
    assert out.read_text() == "keep me"


def test_a_failed_write_leaves_no_file(tmp_path, monkeypatch):
    from netpersona.synth import access_logs

    class Broken:
        def __init__(self, path):
            path.write_bytes(b"half")

        def write(self, batch):
            raise OSError("disk full")

        def close(self):
            pass

    monkeypatch.setitem(access_logs._WRITERS, "csv", Broken)
    with pytest.raises(OSError, match="disk full"):
        write_access_logs(tmp_path / "log.csv", 3, 2, START, **SMALL)
    assert list(tmp_path.iterdir()) == []


# -- command line ---------------------------------------------------------------------------

runner = CliRunner()


def test_cli_writes_parquet_and_csv_and_refuses_to_overwrite(tmp_path):
    args = ["synth", "access-logs", "--users", "8", "--days", "3", "--seed", "4"]
    args += ["--start", "2013-11-04", "--page-loads", "5-10", "--requests-per-load", "1-2"]
    pq_out, csv_out = tmp_path / "log.parquet", tmp_path / "log.csv.gz"
    for out in (pq_out, csv_out):
        result = runner.invoke(app, [*args, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert "wrote" in result.output
    parquet_rows = pq.read_table(pq_out)
    with gzip.open(csv_out, "rt") as fh:
        csv_rows = pd.read_csv(fh, dtype={"user_id": str}, parse_dates=["ts"])
    assert parquet_rows.num_rows == len(csv_rows) > 0
    assert parquet_rows.column("user_id").to_pylist() == csv_rows["user_id"].tolist()
    assert parquet_rows.column("url").to_pylist() == csv_rows["url"].tolist()

    before = pq_out.read_bytes()
    result = runner.invoke(app, [*args, "--seed", "5", "--out", str(pq_out)])
    assert result.exit_code != 0
    assert isinstance(result.exception, OutputExistsError)
    assert pq_out.read_bytes() == before
    result = runner.invoke(app, [*args, "--seed", "5", "--out", str(pq_out), "--force"])
    assert result.exit_code == 0, result.output
    assert pq_out.read_bytes() != before


def test_cli_explains_a_bad_range(tmp_path):
    result = runner.invoke(
        app, ["synth", "access-logs", "--out", str(tmp_path / "x.csv"), "--page-loads", "lots"]
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigError)
    assert "--page-loads" in str(result.exception)
