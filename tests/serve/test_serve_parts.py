"""The service's parts without a server: tokens, the torn-tail repair, the report rules."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import stat
import time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serve_support import GOOD_REPORT, cli

import netpersona.serve as serve
from netpersona._core import ConfigError
from netpersona.devices import ReportFields, read_sessions, report_problems
from netpersona.serve._rules import canonical, report_key, surely_valid
from netpersona.serve._store import repair_torn_tail
from netpersona.serve._tokens import TokenChecker


def test_public_names():
    assert set(serve.__all__) == {
        "SCOPES", "ServeSettings", "TokenRecord", "create_app", "create_token", "list_tokens",
        "make_settings", "revoke_token", "run", "tokens_path",
    }  # fmt: skip


def test_a_token_is_stored_as_its_hash_only_in_an_owner_only_file(tmp_path):
    workspace = tmp_path / "w.duckdb"
    token = serve.create_token(workspace, "probes", ["ingest", "read", "ingest"])
    path = serve.tokens_path(workspace)
    assert path == tmp_path / "w.duckdb.tokens.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert token not in text and token.startswith("np_") and len(token) > 40
    assert hashlib.sha256(token.encode()).hexdigest() in text
    (record,) = serve.list_tokens(workspace)
    assert (record.name, record.scopes) == ("probes", ("ingest", "read"))
    checker = TokenChecker(path, recheck_seconds=0.0)
    assert checker.scopes_of(token) == ("ingest", "read")
    assert checker.scopes_of(token + "x") is None
    with pytest.raises(ConfigError, match="exists already"):
        serve.create_token(workspace, "probes", ["read"])
    with pytest.raises(ConfigError, match="choose from ingest, identify, read"):
        serve.create_token(workspace, "other", ["admin"])
    serve.revoke_token(workspace, "probes")
    assert checker.scopes_of(token) is None
    with pytest.raises(ConfigError, match="no token called 'probes'"):
        serve.revoke_token(workspace, "probes")


def test_the_checker_rereads_the_file_only_after_its_interval(tmp_path):
    workspace = tmp_path / "w.duckdb"
    first = serve.create_token(workspace, "a", ["read"])
    checker = TokenChecker(serve.tokens_path(workspace), recheck_seconds=0.3)
    second = serve.create_token(workspace, "b", ["identify"])
    assert checker.scopes_of(second) is None  # not looked at yet
    time.sleep(0.35)
    assert checker.scopes_of(second) == ("identify",)
    assert checker.scopes_of(first) == ("read",)


def test_tokens_cli_prints_the_token_once_and_lists_without_it(tmp_path):
    workspace = tmp_path / "w.duckdb"
    made = cli("tokens", "create", "fleet", "--scope", "ingest", "--workspace", str(workspace))
    token = made.stdout.strip()
    assert token.startswith("np_") and "\n" not in token
    listed = cli("tokens", "list", "--workspace", str(workspace)).stdout
    assert "fleet" in listed and "ingest" in listed and token not in listed
    bad = cli("tokens", "create", "x y", "--scope", "ingest", "--workspace", str(workspace),
              check=False)  # fmt: skip
    assert bad.returncode == 1 and "token name" in bad.stderr


def test_a_torn_tail_is_cut_off_and_kept(tmp_path):
    path = tmp_path / "2024-03-01.jsonl"
    path.write_bytes(b'{"a":1}\n{"b":2}\n{"c":')
    assert repair_torn_tail(path, tmp_path / ".quarantine") == 5
    assert path.read_bytes() == b'{"a":1}\n{"b":2}\n'
    (kept,) = (tmp_path / ".quarantine").glob("2024-03-01.jsonl.*.torn")
    assert kept.read_bytes() == b'{"c":'
    assert repair_torn_tail(path, tmp_path / ".quarantine") == 0  # clean now
    one = tmp_path / "one.jsonl"
    one.write_bytes(b'{"only":')  # no newline at all: everything is torn
    assert repair_torn_tail(one, tmp_path / ".quarantine") == 8
    assert one.read_bytes() == b""


def test_the_key_is_the_report_id_or_the_canonical_hash():
    a = {"username": "1", "upflow": 2}
    b = {"upflow": 2, "username": "1"}
    assert canonical(a) == canonical(b) == '{"upflow":2,"username":"1"}'
    assert report_key(a, canonical(a)) == report_key(b, canonical(b))
    assert report_key(a, canonical(a)).startswith("sha256:")
    assert report_key({**a, "report_id": "r-1"}, "") == "id:r-1"
    assert report_key({**a, "upflow": 3}, canonical({**a, "upflow": 3})) != report_key(
        a, canonical(a)
    )


_values = st.one_of(
    st.none(),
    st.integers(-5, 10**13),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from([
        "", " ", "2024-03-01T08:00:00", "2024-03-01 09:30:00+08:00", "2024-03-01T07:00:00Z",
        "1709280000", "1709280000000", "12MB", "1.5 KB", "-3", "abc", "99:00:00", "2024-02-30",
    ]),
)  # fmt: skip
_report = st.fixed_dictionaries(
    {},
    optional={
        k: _values
        for k in ("username", "logontime", "logofftime", "upflow", "downflow", "reporttime")
    },
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(reports=st.lists(_report, min_size=1, max_size=12))
def test_report_problems_agree_with_the_file_reader(reports, tmp_path_factory):
    """What the service refuses is exactly what `devices features --reports` would
    quarantine from the same lines."""
    lines = [canonical(r) for r in reports]
    folder = tmp_path_factory.mktemp("reports")
    path = folder / "r.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    problems = report_problems(lines)
    quarantine = folder / "bad.csv"
    read_sessions(path, serve_fields(), quarantine=quarantine, force=True)
    rejected = {}
    if quarantine.exists():
        import csv

        with open(quarantine, newline="") as f:  # '# run ...' lines head each run's rows
            rows = csv.DictReader(line for line in f if not line.startswith("#"))
            rejected = {int(r["line"]): r["reason"] for r in rows}
    assert rejected == {i + 1: p for i, p in enumerate(problems) if p is not None}


def serve_fields():
    from dataclasses import replace

    from netpersona.devices import ReportFields

    return replace(ReportFields(), max_bad_fraction=1.0)


def test_a_good_report_has_no_problem():
    assert report_problems([json.dumps(GOOD_REPORT)]) == [None]


@st.composite
def _near_valid(draw, zone: str) -> dict:
    """A report close to valid: a logon, an end a little before or after it, each written
    one of several ways (text with T or space, epoch seconds), sometimes left out or broken."""
    logon = draw(st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2060, 1, 1)))
    logon = logon.replace(microsecond=0)
    end = logon + dt.timedelta(seconds=draw(st.integers(-7200, 90000)))

    def written(t: dt.datetime):
        epoch = int(t.replace(tzinfo=ZoneInfo(zone)).timestamp())
        return draw(st.sampled_from([t.isoformat(), t.isoformat(sep=" "), epoch, None, "x"]))

    report = {
        "username": draw(st.sampled_from(["13800001111", " ", "", "1", None, 7])),
        "logontime": written(logon),
        "logofftime": written(end),
        "upflow": draw(st.one_of(st.integers(-5, 10**12), st.sampled_from(["2MB", "-1", 1.5]))),
        "downflow": draw(st.one_of(st.integers(0, 10**12), st.floats(0, 1e9), st.none())),
        "reporttime": written(end + dt.timedelta(seconds=draw(st.integers(-60, 60)))),
    }
    drop = draw(st.sets(st.sampled_from(sorted(report))))
    return {k: v for k, v in report.items() if k not in drop}


@settings(max_examples=80, deadline=None)
@given(data=st.data(), zone=st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York"]))
def test_the_plain_check_vouches_only_for_what_the_reader_accepts(data, zone):
    """surely_valid spares the SQL only reports the reader's own rules find nothing wrong with."""
    reports = data.draw(st.lists(_near_valid(zone), min_size=1, max_size=40))
    fields = ReportFields(timezone=zone)
    vouched = [canonical(r) for r in reports if surely_valid(r, fields)]
    if vouched:
        assert report_problems(vouched, fields) == [None] * len(vouched)


def test_the_plain_check_vouches_for_the_common_report():
    fields = ReportFields()
    plain = {**GOOD_REPORT, "downflow": 2048}
    assert surely_valid(plain, fields)
    assert not surely_valid(GOOD_REPORT, fields)  # "2MB": a unit, left to the SQL
    assert not surely_valid({**plain, "logofftime": "2024-03-01T07:00:00"}, fields)
    assert not surely_valid({**plain, "username": " "}, fields)
    periodic = {**plain, "logofftime": None, "reporttime": 1709283600}  # 09:00 UTC
    assert surely_valid(periodic, fields)
    assert not surely_valid({**periodic, "reporttime": 1709280000 - 60}, fields)  # before logon
    assert not surely_valid({**periodic, "reporttime": None}, fields)  # no end at all
