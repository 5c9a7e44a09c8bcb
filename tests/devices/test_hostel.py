"""The real hostel Wi-Fi export (../shared/data/device_sessions): parsing and features by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from netpersona.devices import RADIUS_EXPORT, extract_features, read_sessions
from shared_data import shared_file

HOSTEL = "device_sessions/hostel_wifi_sessions.csv"


@pytest.fixture(scope="module")
def sessions():
    table = read_sessions(shared_file(HOSTEL), RADIUS_EXPORT)
    return table.to_pylist()


@pytest.fixture(scope="module")
def july():
    result = extract_features(shared_file(HOSTEL), "2022-07", fields=RADIUS_EXPORT)
    return result, {row["user"]: row for row in result.features.to_pylist()}


def test_every_session_is_read(sessions):
    assert len(sessions) == 4712
    assert len({s["user_id"] for s in sessions}) == 9
    assert all(s["logoff"] >= s["logon"] for s in sessions)


def test_a_session_longer_than_a_day(sessions):
    # line 2025: user4, 2022-09-02 22:43:25, usage 01:00:21:07 (1 day 21 min 7 s)
    (s,) = [s for s in sessions if s["line"] == 2025]
    assert s["user_id"] == "user4"
    assert s["logon"] == dt.datetime(2022, 9, 2, 22, 43, 25)
    assert s["logoff"] == dt.datetime(2022, 9, 3, 23, 4, 32)


def test_kilobytes_and_byte_suffixed_cells(sessions):
    # line 1645: upload '240B', download '904B' (bytes, though the column is in KB)
    (tiny,) = [s for s in sessions if s["line"] == 1645]
    assert (tiny["up"], tiny["down"]) == (240.0, 904.0)
    # line 1654: upload '508B', download 12.95 KB
    (mixed,) = [s for s in sessions if s["line"] == 1654]
    assert mixed["up"] == 508.0
    assert mixed["down"] == pytest.approx(12.95 * 1024)
    # line 2: plain KB
    (first,) = [s for s in sessions if s["line"] == 2]
    assert first["up"] == pytest.approx(15861.76 * 1024)


def test_the_near_duplicate_user_is_found(july):
    result, _ = july
    ((a, b, share),) = result.reports.near_duplicate_users
    assert (a, b) == ("user1", "user6")
    assert share == pytest.approx(673 / 674)


def test_one_session_user_by_hand(july):
    # user3 has one July session, line 1297: 2022-07-01 00:32:54, 00:01:07:15,
    # upload 16711.68 KB, download 523520.0 KB
    _, rows = july
    row = rows["user3"]
    assert row["online_days"] == 1
    assert row["avgontime"] == pytest.approx((1 * 3600 + 7 * 60 + 15) / 3600)
    assert row["avguseflow"] == pytest.approx((16711.68 + 523520.0) / 1024)
    assert row["buycounts"] == 0


def test_midnight_and_overlap_user_by_hand(july):
    # user8's five July sessions (lines 4067-4071):
    #   A 07-04 22:04:56 + 12:10:19 -> 07-05 10:15:15   (crosses midnight)
    #   B 07-05 04:16:25 + 00:52:02 -> 05:08:27          (inside A, another device)
    #   C 07-05 13:10:21 + 00:40:29 -> 13:50:50
    #   D 07-05 14:06:24 + 02:02:46 -> 16:09:10
    #   E 07-05 20:10:56 + 08:01:53 -> 07-06 04:12:49   (crosses midnight)
    path = shared_file(HOSTEL)
    lines = path.read_text().splitlines()
    assert lines[4066].startswith("user8,2022-07-04 22:04:56,00:12:10:19,")
    assert lines[4070].startswith("user8,2022-07-05 20:10:56,00:08:01:53,")
    _, rows = july
    row = rows["user8"]
    july_4 = (24 * 3600) - (22 * 3600 + 4 * 60 + 56)  # A before midnight
    july_5 = (
        (10 * 3600 + 15 * 60 + 15)  # A after midnight; B lies inside it
        + (40 * 60 + 29)  # C
        + (2 * 3600 + 2 * 60 + 46)  # D
        + (24 * 3600 - (20 * 3600 + 10 * 60 + 56))  # E before midnight
    )
    july_6 = 4 * 3600 + 12 * 60 + 49  # E after midnight
    assert row["online_days"] == 3
    assert row["avgontime"] == pytest.approx((july_4 + july_5 + july_6) / 3600 / 3)
    kilobytes = (
        349696.0
        + 1027328.0
        + 57856.0
        + 815380.48
        + 5365.76
        + 79360.0
        + 16281.6
        + 846684.16
        + 38410.24
        + 597370.88
    )
    assert row["avguseflow"] == pytest.approx(kilobytes / 1024 / 3)
