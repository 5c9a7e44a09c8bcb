"""Reading device reports: dedup of periodic reports, open sessions, midnight, units, quarantine."""

from __future__ import annotations

import gzip
import json

import pytest

from netpersona import ColumnNotFoundError, ConfigError, TooManyBadRowsError
from netpersona.devices import ReportFields, extract_features, read_sessions
from netpersona.io import read_quarantine

MB = 1024 * 1024


def write_jsonl(path, reports, gz=False):
    lines = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in reports)
    if gz:
        with gzip.open(path, "wt") as handle:
            handle.write(lines)
    else:
        path.write_text(lines)
    return path


def report(user="13800001111", logon="2024-05-03 10:00:00", logoff=None, up=0, down=0, **extra):
    return {
        "username": user,
        "logontime": logon,
        "logofftime": logoff,
        "upflow": up,
        "downflow": down,
        **extra,
    }


def features_of(path, month="2024-05", **kwargs):
    table = extract_features(path, month, **kwargs).features.to_pylist()
    return {row["user"]: row for row in table}


def test_periodic_reports_of_one_session_keep_the_latest(tmp_path):
    path = write_jsonl(
        tmp_path / "r.jsonl",
        [
            report(logoff=None, up=1 * MB, down=2 * MB, reporttime="2024-05-03 10:30:00"),
            report(logoff=None, up=2 * MB, down=4 * MB, reporttime="2024-05-03 11:00:00"),
            report(
                logoff="2024-05-03 12:00:00",
                up=3 * MB,
                down=7 * MB,
                reporttime="2024-05-03 12:00:00",
            ),
            report(logoff=None, up=1 * MB, down=1 * MB, reporttime="2024-05-03 10:15:00"),  # late
        ],
    )
    sessions = read_sessions(path).to_pylist()
    assert len(sessions) == 1
    assert sessions[0]["up"] == 3 * MB and sessions[0]["down"] == 7 * MB
    assert sessions[0]["line"] == 3
    row = features_of(path)["13800001111"]
    assert row["avgontime"] == pytest.approx(2.0)
    assert row["avguseflow"] == pytest.approx(10.0)
    assert row["online_days"] == 1


def test_an_open_session_keeps_its_last_report(tmp_path):
    path = write_jsonl(
        tmp_path / "r.jsonl",
        [
            report(up=MB, down=MB, reporttime="2024-05-03 10:30:00"),
            report(up=2 * MB, down=2 * MB, reporttime="2024-05-03 11:30:00"),  # still online
        ],
    )
    (session,) = read_sessions(path).to_pylist()
    assert str(session["logoff"]) == "2024-05-03 11:30:00"
    assert features_of(path)["13800001111"]["avgontime"] == pytest.approx(1.5)


def test_a_session_across_midnight_counts_on_both_days(tmp_path):
    path = write_jsonl(
        tmp_path / "r.jsonl",
        [
            # 22:00 -> 02:00 next day: 2 h on each of two days; 40 MB spread over them
            report(
                logon="2024-05-03 22:00:00", logoff="2024-05-04 02:00:00", up=10 * MB, down=30 * MB
            ),
        ],
    )
    row = features_of(path)["13800001111"]
    assert row["online_days"] == 2
    assert row["online_hours"] == pytest.approx(4.0)
    assert row["avgontime"] == pytest.approx(2.0)
    assert row["avguseflow"] == pytest.approx(20.0)


def test_a_session_into_the_next_month_counts_its_share_there(tmp_path):
    path = write_jsonl(
        tmp_path / "r.jsonl",
        [
            report(logon="2024-05-31 23:00:00", logoff="2024-06-01 02:00:00", up=0, down=30 * MB),
        ],
    )
    may, june = features_of(path, "2024-05"), features_of(path, "2024-06")
    assert may["13800001111"]["online_hours"] == pytest.approx(1.0)
    assert may["13800001111"]["avguseflow"] == pytest.approx(10.0)
    assert june["13800001111"]["online_hours"] == pytest.approx(2.0)
    assert june["13800001111"]["avguseflow"] == pytest.approx(20.0)


def test_overlapping_sessions_count_online_time_once(tmp_path):
    path = write_jsonl(
        tmp_path / "r.jsonl",
        [
            report(logon="2024-05-03 10:00:00", logoff="2024-05-03 12:00:00", down=MB),
            report(logon="2024-05-03 11:00:00", logoff="2024-05-03 13:00:00", down=MB),
            report(logon="2024-05-03 20:00:00", logoff="2024-05-03 20:30:00", down=MB),
        ],
    )
    row = features_of(path)["13800001111"]
    assert row["online_hours"] == pytest.approx(3.5)
    assert row["avguseflow"] == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("unit", "value", "megabytes"),
    [
        ("B", 5 * MB, 5.0),
        ("KB", 2048, 2.0),
        ("MB", 1.5, 1.5),
        ("KB", "512B", 0.5 / 1024),
        ("B", "3 MB", 3.0),
        ("MB", "1GB", 1024.0),
    ],
)
def test_flow_units(tmp_path, unit, value, megabytes):
    path = write_jsonl(
        tmp_path / "r.jsonl",
        [
            report(logoff="2024-05-03 11:00:00", up=value, down=0),
        ],
    )
    fields = ReportFields(flow_unit=unit)
    assert features_of(path, fields=fields)["13800001111"]["avguseflow"] == pytest.approx(megabytes)


def test_epoch_and_iso_times_with_offsets_agree(tmp_path):
    # 2024-05-03 10:00 UTC, written four ways
    path = write_jsonl(
        tmp_path / "r.jsonl",
        [
            report(user="a1234567", logon=1714730400, logoff=1714734000),
            report(user="b1234567", logon=1714730400000, logoff=1714734000000),
            report(
                user="c1234567",
                logon="2024-05-03T18:00:00+08:00",
                logoff="2024-05-03T19:00:00+08:00",
            ),
            report(user="d1234567", logon="2024-05-03T10:00:00Z", logoff="2024-05-03 11:00:00"),
        ],
    )
    sessions = {s["user_id"]: s for s in read_sessions(path).to_pylist()}
    assert {str(s["logon"]) for s in sessions.values()} == {"2024-05-03 10:00:00"}
    assert {str(s["logoff"]) for s in sessions.values()} == {"2024-05-03 11:00:00"}


def test_days_are_counted_in_the_chosen_time_zone(tmp_path):
    # 20:00-22:00 UTC is 04:00-06:00 next day in Shanghai: one day either way, but which day
    path = write_jsonl(
        tmp_path / "r.jsonl",
        [
            report(logon="2024-05-31T20:00:00Z", logoff="2024-05-31T22:00:00Z", down=MB),
        ],
    )
    assert "13800001111" in features_of(path, "2024-05")
    shanghai = ReportFields(timezone="Asia/Shanghai")
    assert features_of(path, "2024-05", fields=shanghai) == {}
    assert features_of(path, "2024-06", fields=shanghai)["13800001111"]["avgontime"] == 2.0
    with pytest.raises(ConfigError, match="time zone"):
        read_sessions(path, ReportFields(timezone="Mars/Olympus"))


def test_nested_fields_are_mapped_by_path(tmp_path):
    path = write_jsonl(
        tmp_path / "r.jsonl.gz",
        [
            {
                "data": {
                    "username": "u-0001",
                    "session": {"on": "2024-05-03 10:00:00", "off": "2024-05-03 10:30:00"},
                },
                "traffic": {"up": 1, "down": 2},
            },
        ],
        gz=True,
    )
    fields = ReportFields(
        user="data.username",
        logon="data.session.on",
        logoff="data.session.off",
        upflow="traffic.up",
        downflow="traffic.down",
        flow_unit="MB",
    )
    row = features_of(path, fields=fields)["u-0001"]
    assert row["avgontime"] == pytest.approx(0.5)
    assert row["avguseflow"] == pytest.approx(3.0)


def test_bad_reports_are_quarantined_with_reasons(tmp_path):
    good = [report(user=f"1380000{i:04d}", logoff="2024-05-03 11:00:00") for i in range(10)]
    bad = [
        report(user="", logoff="2024-05-03 11:00:00"),
        {"logontime": "2024-05-03 10:00:00", "upflow": 1, "downflow": 1},
        report(logoff="2024-05-03 09:00:00"),  # before logon
        report(logoff="2024-05-03 11:00:00", up=-5),
        report(logoff="2024-05-03 11:00:00", down="lots"),
        report(logon="yesterday", logoff="2024-05-03 11:00:00"),
        report(logoff=None),  # open, but no report time to end it
        "{not json",
    ]
    path = write_jsonl(tmp_path / "r.jsonl", [*good[:5], "", *bad, *good[5:]])
    quarantine = tmp_path / "q.rejected.csv"
    fields = ReportFields(max_bad_fraction=0.5)
    result = extract_features(path, "2024-05", fields=fields, quarantine=quarantine)
    assert result.reports.rejected == len(bad)
    assert result.reports.reports == len(good) + len(bad)
    rows = read_quarantine(quarantine)  # the "# run" line skipped
    assert [r["line"] for r in rows] == [str(n) for n in range(7, 7 + len(bad))]
    reasons = [r["reason"] for r in rows]
    assert reasons[0] == "missing username"
    assert reasons[1] == "missing username"
    assert reasons[2] == "logofftime before logontime"
    assert reasons[3].startswith("negative upflow")
    assert reasons[4].startswith("unreadable downflow 'lots'")
    assert reasons[5].startswith("unreadable logontime 'yesterday'")
    assert "no report time" in reasons[6]
    assert reasons[7] == "not a valid JSON object"
    assert rows[7]["raw"] == "{not json"
    assert {r["source_file"] for r in rows} == {str(path)}
    assert len(result.features) == 10


def test_too_many_bad_reports_stop_with_an_error_naming_the_first(tmp_path):
    path = write_jsonl(
        tmp_path / "r.jsonl",
        [
            *[report(user=f"1380000{i:04d}", logoff="2024-05-03 11:00:00") for i in range(50)],
            report(logoff="2024-05-03 11:00:00", up=-1),
        ],
    )
    quarantine = tmp_path / "q.csv"
    with pytest.raises(TooManyBadRowsError, match=r"line 51") as err:
        read_sessions(path, quarantine=quarantine)
    assert "negative upflow" in str(err.value)
    assert quarantine.exists()  # written before stopping, so the analyst can look
    assert len(read_sessions(path, ReportFields(max_bad_fraction=0.05))) == 50


def test_line_numbers_survive_gzip_and_many_chunks(tmp_path):
    reports = [report(user=f"u{i:07d}", logoff="2024-05-03 11:00:00") for i in range(30_000)]
    reports[23_456] = report(user="u-bad", logoff="2024-05-03 11:00:00", down=-1)
    path = write_jsonl(tmp_path / "r.jsonl.gz", reports, gz=True)
    quarantine = tmp_path / "q.csv"
    read_sessions(path, quarantine=quarantine)
    (row,) = read_quarantine(quarantine)
    assert row["line"] == "23457"
    assert json.loads(row["raw"])["username"] == "u-bad"


def test_a_csv_export_without_a_mapped_column_names_the_columns(tmp_path):
    path = tmp_path / "sessions.csv"
    path.write_text("who,start,length,up,down\nx,2024-05-03 10:00:00,00:01:00:00,1,2\n")
    with pytest.raises(ColumnNotFoundError, match="who, start, length"):
        read_sessions(path, ReportFields(logoff=None, duration="length"))
    fields = ReportFields(
        user="who",
        logon="start",
        logoff=None,
        duration="length",
        upflow="up",
        downflow="down",
        report_time=None,
        flow_unit="MB",
    )
    (session,) = read_sessions(path, fields).to_pylist()
    assert str(session["logoff"]) == "2024-05-03 11:00:00"
