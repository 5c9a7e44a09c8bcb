"""Rows that cannot be read go to a quarantine file with their exact physical line numbers."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from io_logs import rows, write_log

import netpersona
from netpersona.io import LogMapping, read_access_log, read_quarantine
from netpersona.io._quarantine import RejectedRow, write_quarantine

ALL = LogMapping(max_bad_fraction=1.0)

# physical lines: 1 header, 5-6 one record (a quoted id with a line break), 9 blank
BAD_CSV = (
    b"user_id,ts,url\n"  # 1
    b"u1,2013-11-04 08:00:00,http://a.com/x\n"  # 2
    b"u2,not a time,http://b.com\n"  # 3 bad time
    b"u3,2013-11-04 09:00:00\n"  # 4 wrong field count
    b'"u4\nsecond line",2013-11-04 10:00:00,http://c.com\n'  # 5-6 good
    b"u5,2013-11-04 11:00:00,http://\xff.com\n"  # 7 invalid UTF-8
    b",2013-11-04 12:00:00,d.com\n"  # 8 missing user
    b"\n"  # 9 blank
    b"u7,2013-11-04 13:00:00,http://\n"  # 10 unparsable URL
    b"u8,2013-11-04 14:00:00,e.com,extra\n"  # 11 wrong field count
    b"u9,2013-11-04 15:00:00,e.com\n"  # 12 good
)
BAD_LINES = [
    (3, "bad time"),
    (4, "wrong field count"),
    (7, "invalid UTF-8"),
    (8, "missing user"),
    (10, "unparsable URL"),
    (11, "wrong field count"),
]


def _quarantine(path):
    return read_quarantine(path)  # every run's rows, its "# run" lines skipped


@pytest.mark.parametrize("name", ["bad.csv", "bad.csv.gz"])
def test_bad_rows_go_to_quarantine_with_exact_lines(tmp_path, engine, name):
    path = write_log(tmp_path / name, BAD_CSV)
    summary = read_access_log(path, ALL, engine)
    assert (summary.rows, summary.rejected) == (3, 6)
    assert summary.quarantine == tmp_path / "bad.rejected.csv"
    quarantined = _quarantine(summary.quarantine)
    assert [(int(r["line"]), r["reason"]) for r in quarantined] == BAD_LINES
    assert {r["source_file"] for r in quarantined} == {str(path)}
    assert quarantined[0]["raw"] == "u2,not a time,http://b.com"
    assert quarantined[4]["raw"] == "u7,2013-11-04 13:00:00,http://"
    assert summary.reasons == {
        "bad time": 1,
        "wrong field count": 2,
        "invalid UTF-8": 1,
        "missing user": 1,
        "unparsable URL": 1,
    }
    assert [r[0] for r in rows(engine)] == ["u1", "u4\nsecond line", "u9"]


def test_bad_epoch_times_and_chosen_quarantine_path(tmp_path, engine):
    text = "a 1383552900 x.com\nb 99999999999999 x.com\nc NaN x.com\nd 1383552901 y.com\n"
    mapping = LogMapping(
        no_header=True, columns=("user_id", "ts", "url"), time_unit="s", max_bad_fraction=0.5
    )
    target = tmp_path / "out" / "rejects.csv"
    summary = read_access_log(
        write_log(tmp_path / "log.txt", text), mapping, engine, quarantine=target
    )
    assert summary.quarantine == target
    assert [(int(r["line"]), r["reason"]) for r in _quarantine(target)] == [
        (2, "bad time"),
        (3, "bad time"),
    ]
    assert [r[0] for r in rows(engine)] == ["a", "d"]


def test_no_quarantine_file_without_bad_rows(tmp_path, engine):
    path = write_log(tmp_path / "ok.csv", "user_id,ts,url\na,2013-11-04 08:00:00,x.com\n")
    assert read_access_log(path, engine=engine).quarantine is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.csv"]


def test_json_lines_bad_lines(tmp_path, engine):
    good = {"user_id": "a", "ts": "2013-11-04 08:00:00", "url": "x.com"}
    lines = [
        json.dumps(good),  # 1
        "{not json",  # 2
        json.dumps({**good, "user_id": None}),  # 3
        "",  # 4 blank: not a row
        json.dumps({**good, "ts": "yesterday"}),  # 5
        json.dumps({**good, "url": "http://"}),  # 6
        json.dumps(good),  # 7
        "[1, 2]",  # 8 JSON, not an object: no user
    ]
    path = write_log(tmp_path / "log.jsonl", "\n".join(lines) + "\n")
    summary = read_access_log(path, ALL, engine)
    assert (summary.rows, summary.rejected) == (2, 5)
    assert [(int(r["line"]), r["reason"]) for r in _quarantine(summary.quarantine)] == [
        (2, "invalid JSON"),
        (3, "missing user"),
        (5, "bad time"),
        (6, "unparsable URL"),
        (8, "missing user"),
    ]


def test_parquet_bad_rows_are_numbered_by_row(tmp_path, engine):
    path = tmp_path / "log.parquet"
    pq.write_table(
        pa.table(
            {
                "user_id": ["a", None, "c", "d"],
                "ts": ["2013-11-04 08:00:00", "2013-11-04 09:00:00", "bad", "2013-11-04 10:00:00"],
                "url": ["x.com", "x.com", "x.com", "::::"],
            }
        ),
        path,
    )
    summary = read_access_log(path, ALL, engine)
    assert (summary.rows, summary.rejected) == (1, 3)
    assert [(int(r["line"]), r["reason"], r["raw"]) for r in _quarantine(summary.quarantine)] == [
        (2, "missing user", ",2013-11-04 09:00:00,x.com"),
        (3, "bad time", "c,bad,x.com"),
        (4, "unparsable URL", "d,2013-11-04 10:00:00,::::"),
    ]


def test_too_many_bad_rows_names_file_first_line_and_expectation(tmp_path, engine):
    path = write_log(tmp_path / "bad.csv", BAD_CSV)
    with pytest.raises(netpersona.TooManyBadRowsError) as error:
        read_access_log(path, LogMapping(), engine)
    exc = error.value
    assert (exc.path, exc.line, exc.column) == (str(path), 3, "ts")
    message = str(exc)
    assert "6 of 9 rows" in message and "--max-bad-fraction" in message
    assert "expected a time" in message and "found 'not a time'" in message
    assert "u2" not in message  # the row's subscriber id is not shown
    assert not engine.has_table("access_log")  # nothing half-written
    assert not (tmp_path / "bad.rejected.csv").exists()


def test_threshold_is_a_fraction_of_the_file(tmp_path, engine):
    good = "".join(f"u{i},2013-11-04 08:00:00,x.com\n" for i in range(99))
    path = write_log(tmp_path / "log.csv", "user_id,ts,url\n" + good + "bad,never,x.com\n")
    assert read_access_log(path, LogMapping(max_bad_fraction=0.01), engine).rejected == 1
    with pytest.raises(netpersona.TooManyBadRowsError, match="line 101"):
        read_access_log(path, LogMapping(max_bad_fraction=0.005), engine)


def test_epoch_times_read_as_iso_explain_the_time_unit(tmp_path, engine):
    path = write_log(tmp_path / "log.txt", "1 2 1082040961\n3 4 1082155839\n")
    mapping = LogMapping(no_header=True, columns=("user_id", "url", "ts"))
    with pytest.raises(netpersona.TooManyBadRowsError, match="--time-unit"):
        read_access_log(path, mapping, engine)


def test_quarantine_is_written_atomically(tmp_path):
    target = tmp_path / "x.rejected.csv"

    class Exploding:  # a row whose text cannot be had: the writer dies mid-file
        source_file, line, reason = "f", 2, "bad time"

        @property
        def raw(self):
            raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        write_quarantine(target, [RejectedRow("f", 1, "bad time", "x"), Exploding()])
    assert list(tmp_path.iterdir()) == []


_GOOD = st.sampled_from(
    [
        "u1,2013-11-04 08:00:00,http://a.com/x",
        '"u,2",2013-11-04 08:00:00,b.com',
        '"multi\nline",2013-11-04 09:00:00,c.co.uk',
        "u4,2013-11-04T10:00:00Z,d.com:80",
        "",  # a blank line: not a row, but a line
    ]
)
_BAD = st.sampled_from(
    [
        ("u5,later,a.com", "bad time"),
        (",2013-11-04 08:00:00,a.com", "missing user"),
        ("u6,2013-11-04 08:00:00,http://", "unparsable URL"),
        ("u7,2013-11-04 08:00:00", "wrong field count"),
        ("u8,2013-11-04 08:00:00,a.com,more", "wrong field count"),
    ]
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.one_of(_GOOD, _BAD), min_size=1, max_size=30))
def test_quarantine_lines_are_exact_for_any_mix_of_rows(tmp_path_factory, engine, records):
    path = tmp_path_factory.mktemp("mix") / "log.csv"
    line, expected, good = 2, [], 0
    for record in records:
        text = record if isinstance(record, str) else record[0]
        if isinstance(record, tuple):
            expected.append((line, record[1], text))
        elif text:
            good += 1
        line += text.count("\n") + 1
    path.write_text(
        "user_id,ts,url\n" + "\n".join(r if isinstance(r, str) else r[0] for r in records) + "\n"
    )
    summary = read_access_log(path, ALL, engine)
    assert (summary.rows, summary.rejected) == (good, len(expected))
    got = (
        [(int(r["line"]), r["reason"], r["raw"]) for r in _quarantine(summary.quarantine)]
        if expected
        else []
    )
    assert got == expected


def test_parser_rejects_are_bounded_and_never_dropped_silently(tmp_path, engine, monkeypatch):
    # past the limit DuckDB stops recording rejects; reaching it must stop the read
    import netpersona.io._checks as reader
    import netpersona.io._sources as sources

    monkeypatch.setattr(sources, "rejects_limit", lambda *a: 3)
    monkeypatch.setattr(reader, "rejects_limit", lambda *a: 3)
    good = "".join(f"u{i},2013-11-04 08:00:00,x.com\n" for i in range(1000))
    path = write_log(tmp_path / "log.csv", "user_id,ts,url\n" + "a,b\n" * 5 + good)
    with pytest.raises(netpersona.TooManyBadRowsError, match="at least 3 of") as error:
        read_access_log(path, ALL, engine)
    assert error.value.line == 2


def test_a_failed_read_leaves_the_previous_table_as_it_was(tmp_path, engine):
    good = write_log(tmp_path / "good.csv", "user_id,ts,url\na,2013-11-04 08:00:00,x.com\n")
    read_access_log(good, engine=engine)
    with pytest.raises(netpersona.TooManyBadRowsError):
        read_access_log([good, write_log(tmp_path / "bad.csv", BAD_CSV)], engine=engine)
    assert rows(engine) == [("a", "2013-11-04 08:00:00", "x.com")]
    shown = engine.fetch_arrow("SELECT table_name FROM information_schema.tables").to_pylist()
    assert [t["table_name"] for t in shown] == ["access_log"]  # no staging left behind
