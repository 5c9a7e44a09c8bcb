"""Pseudonymisation at read time, the summary, and the workspace's ingest bookkeeping."""

from __future__ import annotations

import pytest
from io_logs import rows, write_log

import netpersona
from netpersona.engine import DuckDBEngine, Workspace
from netpersona.io import LogMapping, pseudonymize, read_access_log
from netpersona.io._summary import summarise_log

LOG = (
    "user_id,ts,url\n"
    "13800000001,2013-11-04 08:00:00,a.com\n"
    "13800000001,2013-11-04 09:00:00,b.com\n"
    "13800000001,2013-11-05 09:00:00,a.com\n"
    "13900000002,2013-11-06 23:30:00,c.com\n"
)


def _key(tmp_path, name: str, secret: bytes):
    path = tmp_path / name
    path.write_bytes(secret)
    return path


def test_pseudonyms_are_stable_per_key_and_differ_across_keys(tmp_path, engine):
    log = write_log(tmp_path / "log.csv", LOG)
    key1 = _key(tmp_path, "k1", b"0123456789abcdef-first")
    key2 = _key(tmp_path, "k2", b"0123456789abcdef-second")

    def ids(key):
        read_access_log(log, LogMapping(pseudonymize_key_file=key), engine)
        return [r[0] for r in rows(engine)]

    first, again, other = ids(key1), ids(key1), ids(key2)
    assert first == again
    assert set(first) == {
        pseudonymize("13800000001", b"0123456789abcdef-first"),
        pseudonymize("13900000002", b"0123456789abcdef-first"),
    }
    assert set(first).isdisjoint(other)
    assert len(set(first)) == 2  # one pseudonym per subscriber
    assert "13800000001" not in engine.fetch_arrow("SELECT * FROM access_log").to_pandas().values


def test_without_a_key_ids_stay_as_given(tmp_path, engine):
    read_access_log(write_log(tmp_path / "log.csv", LOG), engine=engine)
    assert {r[0] for r in rows(engine)} == {"13800000001", "13900000002"}


def test_short_key_is_refused(tmp_path, engine):
    log = write_log(tmp_path / "log.csv", LOG)
    with pytest.raises(netpersona.ConfigError, match="at least 16"):
        read_access_log(
            log, LogMapping(pseudonymize_key_file=_key(tmp_path, "k", b"short")), engine
        )


def test_summary_counts_and_distributions(tmp_path, engine):
    read_access_log(write_log(tmp_path / "log.csv", LOG), engine=engine)
    summary = summarise_log(engine, rejected=2).to_dict()
    assert list(summary) == [
        "rows", "rejected", "users", "sites", "first_day", "last_day", "active_days",
        "requests_per_day",
    ]  # fmt: skip
    assert summary["rows"] == 4 and summary["rejected"] == 2
    assert (summary["users"], summary["sites"]) == (2, 3)
    assert (summary["first_day"], summary["last_day"]) == ("2013-11-04", "2013-11-06")
    # user 1: 2 active days, 3 requests -> 1.5 per day; user 2: 1 day, 1 request
    assert summary["active_days"] == {
        "min": 1.0, "p25": 1.25, "median": 1.5, "p75": 1.75, "max": 2.0, "mean": 1.5,
    }  # fmt: skip
    assert summary["requests_per_day"]["min"] == 1.0
    assert summary["requests_per_day"]["max"] == 1.5
    assert summary["requests_per_day"]["mean"] == 1.25


def test_summary_uses_the_local_calendar(tmp_path, engine):
    # 23:30 UTC on the 6th is the 7th in Shanghai
    log = write_log(tmp_path / "log.csv", LOG.replace("23:30:00", "23:30:00Z"))
    read_access_log(log, LogMapping(timezone="Asia/Shanghai"), engine)
    assert summarise_log(engine).last_day == "2013-11-07"


def test_workspace_ingest_skips_content_seen_before(tmp_path):
    log = write_log(tmp_path / "log.csv", LOG)
    copy = write_log(tmp_path / "same-content-other-name.csv", LOG)
    more = write_log(tmp_path / "more.csv", "user_id,ts,url\nx,2013-11-07 10:00:00,d.com\n")
    path = tmp_path / "ws" / "netpersona.duckdb"
    with Workspace(path) as ws:
        assert isinstance(ws, DuckDBEngine)
        first = ws.ingest(log, table="library_log")
        assert (first.rows, first.skipped) == (4, ())
        again = ws.ingest([copy, more], table="library_log")
        assert again.skipped == (copy,) and again.rows == 1
        other_table = ws.ingest(log, table="query_log")  # per table
        assert other_table.rows == 4
    with Workspace(path) as ws:  # kept in the file
        assert ws.fetch_scalar("SELECT count(*) FROM library_log") == 5
        ledger = ws.ingested("library_log")
        assert [(r["rows"], r["rejected"]) for r in ledger] == [(4, 0), (1, 0)]
        skipped = ws.ingest(more, table="library_log")
        assert skipped.rows == 0 and skipped.skipped == (more,)
        assert ws.fetch_scalar("SELECT count(*) FROM library_log") == 5


def test_failed_ingest_changes_nothing(tmp_path):
    good = write_log(tmp_path / "good.csv", LOG)
    bad = write_log(tmp_path / "bad.csv", "user_id,ts,url\na,never,x.com\n")
    with Workspace(tmp_path / "w.duckdb") as ws:
        ws.ingest(good, table="t")
        with pytest.raises(netpersona.TooManyBadRowsError):
            ws.ingest(
                [write_log(tmp_path / "new.csv", LOG.replace("a.com", "e.com")), bad], table="t"
            )
        assert ws.fetch_scalar("SELECT count(*) FROM t") == 4
        assert len(ws.ingested("t")) == 1
