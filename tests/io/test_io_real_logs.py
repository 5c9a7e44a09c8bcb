"""The three real logs in ../shared/data/access_logs read with the documented flags."""

from __future__ import annotations

from dataclasses import replace

import pytest

from netpersona.io import LogMapping, read_access_log


def _real_log(shared_data, name: str):
    path = shared_data / "access_logs" / name
    if not path.exists():
        pytest.skip(f"real data file {path} is absent on this machine")
    return path


COLLEGEMSG = LogMapping(
    no_header=True,
    columns=("sender", "recipient", "ts"),
    user_col="sender",
    url_col=None,
    site_col="recipient",
    time_unit="s",
    timezone="America/Los_Angeles",
)
GESIS = LogMapping(user_col="panelist_id", time_col="used_at", url_col=None, site_col="domain")
WIKIPEDIA = LogMapping(
    no_header=True,
    columns=("user", "page", "ts"),
    user_col="user",
    url_col=None,
    site_col="page",
    time_unit="s",
)


@pytest.mark.parametrize(
    ("name", "mapping", "n_rows", "n_users", "n_sites", "first", "last"),
    [
        ("collegemsg.txt", COLLEGEMSG, 59_835, 1_350, None, "2004-04-15 07:56:01", "2004-10-26"),
        (
            "gesis_web_tracking_urls.csv",
            GESIS,
            18_878,
            10,
            579,
            "2013-05-20 00:01:06",
            "2013-06-19",
        ),
        # seconds from the start of the month, counted from the Unix epoch (see docs)
        (
            "jodie_wikipedia.txt.gz",
            WIKIPEDIA,
            157_474,
            8_227,
            1_000,
            "1970-01-01 00:00:00",
            "1970-01-31",
        ),
    ],
)
def test_real_access_logs(
    engine, shared_data, name, mapping, n_rows, n_users, n_sites, first, last
):
    summary = read_access_log(_real_log(shared_data, name), mapping, engine)
    assert (summary.rows, summary.rejected, summary.quarantine) == (n_rows, 0, None)
    got = engine.fetch_arrow(
        "SELECT count(*) AS n, count(DISTINCT user_id) AS users, count(DISTINCT site) AS sites, "
        "min(ts) AS first, CAST(max(ts) AS DATE) AS last FROM access_log"
    ).to_pylist()[0]
    assert (got["n"], got["users"]) == (n_rows, n_users)
    if n_sites is not None:
        assert got["sites"] == n_sites
    assert (got["first"].isoformat(sep=" "), got["last"].isoformat()) == (first, last)


def test_active_day_counts_match_the_data_readme(engine, shared_data):
    # README: collegemsg 483 senders, wikipedia 824 editors with >= 10 active days (UTC days)
    for name, mapping, expected in (
        ("collegemsg.txt", replace(COLLEGEMSG, timezone="UTC"), 483),
        ("jodie_wikipedia.txt.gz", WIKIPEDIA, 824),
    ):
        read_access_log(_real_log(shared_data, name), mapping, engine)
        n = engine.fetch_scalar(
            "SELECT count(*) FROM (SELECT user_id FROM access_log GROUP BY user_id "
            "HAVING count(DISTINCT CAST(ts AS DATE)) >= 10)"
        )
        assert n == expected, name
