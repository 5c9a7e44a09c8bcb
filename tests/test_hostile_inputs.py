"""Hostile and broken inputs through the command line (issue #17): each case ends in a clean
result or a declared error with its exit status - never a traceback, never a partial output.

Parts: time bounds, quarantine files (modes, runs, pseudonyms, masked messages), inputs taken
literally, tracebacks turned into declared errors. Injection: test_hostile_injection.py;
exit statuses: test_hostile_errors.py; fuzzing: test_hostile_fuzz.py.
"""

from __future__ import annotations

import gzip
import json
import stat

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cli_run import run
from netpersona.io import LogMapping, read_access_log, read_quarantine

ID = "13812345678"
HEAD = "user_id,ts,url\n"
GOOD = "".join(f"{ID},2024-05-0{d} 10:00:00,http://a.com/\n" for d in range(1, 10))


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


# -- time bounds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "when", ["2099-01-01 00:00:00", "9999-12-31 23:59:59", "10000-01-01 00:00:00", "1969-12-31"]
)
@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
def test_a_row_outside_the_time_window_is_quarantined_with_its_reason(tmp_path, when, kind):
    rows = [(ID, f"2024-05-0{d} 10:00:00", "http://a.com/") for d in range(1, 10)]
    rows.append((ID, when, "http://b.com/"))
    if kind == "csv":
        path = write(tmp_path / "log.csv", HEAD + "".join(",".join(r) + "\n" for r in rows))
    elif kind == "jsonl":
        path = write(
            tmp_path / "log.jsonl",
            "".join(
                json.dumps(dict(zip(("user_id", "ts", "url"), r, strict=True))) + "\n" for r in rows
            ),
        )
    else:
        path = tmp_path / "log.parquet"
        pq.write_table(pa.table({k: [r[i] for r in rows] for i, k in
                                 enumerate(("user_id", "ts", "url"))}), path)  # fmt: skip
    summary = read_access_log(path, LogMapping(max_bad_fraction=0.2))
    assert (summary.rows, summary.rejected) == (9, 1)
    assert summary.reasons == {"time out of range": 1}
    (row,) = read_quarantine(summary.quarantine)
    assert row["reason"] == "time out of range" and row["line"] == ("11" if kind == "csv" else "10")


def test_min_and_max_time_are_settable_and_checked(tmp_path):
    path = write(tmp_path / "log.csv", HEAD + GOOD)
    narrow = LogMapping(min_time="2024-05-03", max_time="2024-05-05 23:59:59", max_bad_fraction=1)
    summary = read_access_log(path, narrow)
    assert (summary.rows, summary.rejected) == (3, 6)
    future = LogMapping(max_time="2100-01-01")
    assert future.time_bounds()[1].year == 2100
    from netpersona import ConfigError

    with pytest.raises(ConfigError, match="--min-time"):
        LogMapping(min_time="yesterday")
    with pytest.raises(ConfigError, match="is not before"):
        LogMapping(min_time="2024-05-05", max_time="2024-05-01")


def test_one_row_dated_2099_no_longer_shifts_the_summary(capsys, tmp_path):
    path = write(tmp_path / "log.csv", HEAD + GOOD + f"{ID},2099-01-01 00:00:00,http://b.com/\n")
    code, out, _ = run(capsys, "logs", "summary", str(path), "--json", "--max-bad-fraction", "0.2")
    assert code == 0
    summary = json.loads(out)
    assert (summary["first_day"], summary["last_day"]) == ("2024-05-01", "2024-05-09")
    code, _, err = run(capsys, "logs", "summary", str(path))  # 10% bad > the default 1%
    assert code == 1 and "time out of range" in err and "--max-time" in err


# -- quarantine files --------------------------------------------------------------------------


def test_quarantine_is_private_appended_per_run_and_headed(tmp_path):
    path = write(tmp_path / "log.csv", HEAD + GOOD + f"{ID},never,http://b.com/\n")
    target = tmp_path / "rejected.csv"
    for _ in range(2):
        read_access_log(path, LogMapping(max_bad_fraction=0.2), quarantine=target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    lines = target.read_text().splitlines()
    assert lines[0] == "source_file,line,reason,raw"
    assert sum(line.startswith("# run ") for line in lines) == 2  # both runs kept
    assert len(read_quarantine(target)) == 2


def test_an_old_world_readable_quarantine_becomes_private(tmp_path):
    target = write(tmp_path / "rejected.csv", "source_file,line,reason,raw\n")
    target.chmod(0o644)
    path = write(tmp_path / "log.csv", HEAD + GOOD + f"{ID},never,http://b.com/\n")
    read_access_log(path, LogMapping(max_bad_fraction=0.2), quarantine=target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_with_a_key_the_quarantine_holds_pseudonyms_not_ids(tmp_path, kind):
    from netpersona.io import pseudonymize

    key = write(tmp_path / "k.key", "a secret of at least sixteen bytes")
    if kind == "csv":
        body = HEAD + GOOD + f"{ID},never,http://b.com/\n{ID},x\n"
        path = write(tmp_path / "log.csv", body)
    else:
        lines = [
            {"user_id": ID, "ts": f"2024-05-0{d} 10:00:00", "url": "a.com"} for d in range(1, 9)
        ]
        lines.append({"user_id": ID, "ts": "never", "url": "a.com"})
        path = write(tmp_path / "log.jsonl", "".join(json.dumps(x) + "\n" for x in lines))
    target = tmp_path / "rejected.csv"
    mapping = LogMapping(pseudonymize_key_file=key, max_bad_fraction=0.3)
    read_access_log(path, mapping, quarantine=target)
    text = target.read_text()
    assert ID not in text
    alias = pseudonymize(ID, b"a secret of at least sixteen bytes")
    assert alias in text
    if kind == "csv":  # the short row cannot be split reliably: withheld
        assert "withheld" in text


def test_the_too_many_bad_rows_message_cuts_a_huge_value(capsys, tmp_path):
    path = write(tmp_path / "log.csv", HEAD + f"{ID},{'9' * 2_000_000},http://a.com/\n" + GOOD)
    code, _, err = run(capsys, "logs", "summary", str(path))
    assert code == 1 and len(err) < 2_000 and "line 2" in err


def test_a_file_without_header_shows_masked_ids_in_the_column_error(capsys, tmp_path):
    path = write(tmp_path / "log.csv", GOOD)  # no header: the first row is taken as names
    code, _, err = run(capsys, "logs", "summary", str(path))
    assert code == 1 and ID not in err
    assert "138****5678" in err and "lack a header" in err


def test_purchases_errors_mask_the_id(tmp_path):
    from netpersona import TooManyBadRowsError
    from netpersona.devices import PurchaseFields
    from netpersona.devices._purchases import load_purchases
    from netpersona.engine import DuckDBEngine

    path = write(tmp_path / "p.csv", "username,buytime\n" + f"{ID},not a time\n" * 3)
    with DuckDBEngine() as engine, pytest.raises(TooManyBadRowsError) as caught:
        load_purchases(engine, path, PurchaseFields())
    assert ID not in str(caught.value) and "138****5678" in str(caught.value)


def test_device_read_errors_show_no_raw_line(capsys, tmp_path):
    path = tmp_path / "r.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"username": "' + ID.encode() + b'"}\n' * 1000)[:200])
    code, _, err = run(capsys, "devices", "features", "--reports", str(path), "--month",
                       "2024-05", "--out", str(tmp_path / "f.csv"))  # fmt: skip
    assert code == 1, err
    assert ID not in err and len(err) < 1500
    assert not (tmp_path / "f.csv").exists()
