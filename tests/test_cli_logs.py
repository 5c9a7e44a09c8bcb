"""``netpersona logs summary`` and ``netpersona logs ingest`` from the command line."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

import netpersona
from netpersona.cli import app

runner = CliRunner()

LOG = (
    "msisdn,time,url\n"
    "17712343461,1383552900,http://m.news.sina.com.cn/x\n"
    "17712343461,1383639300,https://a.b.example.co.uk/\n"
    "17799990000,1383639301,example.co.uk:8080\n"
    "17799990000,oops,example.co.uk:8080\n"
)
FLAGS = ["--user-col", "msisdn", "--time-col", "time", "--time-unit", "s"]


def _log(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text(LOG)
    return path


def test_summary_json_has_exactly_the_documented_keys(tmp_path):
    result = runner.invoke(
        app, ["logs", "summary", str(_log(tmp_path)), *FLAGS, "--max-bad-fraction", "0.5", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert list(summary) == [
        "rows", "rejected", "users", "sites", "first_day", "last_day", "active_days",
        "requests_per_day",
    ]  # fmt: skip
    assert (summary["rows"], summary["rejected"], summary["users"], summary["sites"]) == (
        3,
        1,
        2,
        2,
    )
    assert (summary["first_day"], summary["last_day"]) == ("2013-11-04", "2013-11-05")
    assert set(summary["active_days"]) == {"min", "p25", "median", "p75", "max", "mean"}
    assert (
        (tmp_path / "log.rejected.csv")
        .read_text()
        .splitlines()[2]  # 0: the columns, 1: "# run <time> pid <pid>: 1 rows"
        .startswith(f"{tmp_path / 'log.csv'},5,bad time,")
    )


def test_summary_table_for_people(tmp_path):
    result = runner.invoke(
        app,
        ["logs", "summary", str(_log(tmp_path)), *FLAGS, "--max-bad-fraction", "0.5",
         "--timezone", "Asia/Shanghai"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for text in ("rows read", "rows rejected", "active days", "requests per active day"):
        assert text in result.stdout
    assert "17712343461" not in result.stdout  # no subscriber id printed
    assert "log.rejected.csv" in _flat(result.stdout)


def test_missing_column_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["logs", "summary", str(_log(tmp_path)), "--json"])
    assert isinstance(result.exception, netpersona.ColumnNotFoundError)
    assert "'msisdn', 'time', 'url'" in str(result.exception)


def test_errors_reach_people_as_one_message_and_exit_code_1(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "from netpersona.cli import main; main()", "logs", "summary",
         str(_log(tmp_path)), *FLAGS],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1  # bad input
    assert "error:" in result.stderr and "line 5" in result.stderr
    assert "Traceback" not in result.stderr


def test_ingest_twice_is_a_no_op_the_second_time(tmp_path):
    ws = tmp_path / "ws.duckdb"
    args = ["logs", "ingest", str(_log(tmp_path)), "--workspace", str(ws), "--table", "lib",
            *FLAGS, "--max-bad-fraction", "0.5"]  # fmt: skip
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "3 rows added to table lib" in _flat(first.stdout)
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    said = _flat(second.stdout)
    assert "0 rows added" in said and "1 file(s) skipped" in said and "(3 in all)" in said


def _flat(text: str) -> str:
    """Rich wraps long lines to the terminal width; compare with single spaces."""
    return " ".join(text.split())


def test_mapping_from_options_reads_the_flags_as_people_type_them():
    from netpersona.cli._options import TimeUnit, mapping_from_options, mapping_from_params

    mapping = mapping_from_options(
        columns="sender, recipient,ts", user_col="sender", site_col="recipient", sep="space",
        time_unit=TimeUnit.s,
    )  # fmt: skip
    assert mapping.no_header and mapping.columns == ("sender", "recipient", "ts")
    assert (mapping.sep, mapping.time_unit, mapping.url_col) == (" ", "s", None)
    assert mapping_from_options(sep="tab").sep == "\t"
    assert mapping_from_params({"user_col": "u", "force": True, "logs": []}).user_col == "u"


def test_summary_of_a_workspace_table(tmp_path):
    ws = tmp_path / "ws.duckdb"
    ingest = ["logs", "ingest", str(_log(tmp_path)), "--workspace", str(ws), "--table", "lib",
              *FLAGS, "--max-bad-fraction", "0.5"]  # fmt: skip
    assert runner.invoke(app, ingest).exit_code == 0
    result = runner.invoke(
        app, ["logs", "summary", "--workspace", str(ws), "--table", "lib", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["rows"], summary["rejected"], summary["users"]) == (3, 1, 2)
    nothing = runner.invoke(app, ["logs", "summary"])
    assert isinstance(nothing.exception, netpersona.InputError)


REAL_LOG_FLAGS = {  # exactly as in docs/input-formats.md
    "gesis_web_tracking_urls.csv": (
        ["--user-col", "panelist_id", "--time-col", "used_at", "--site-col", "domain"],
        (18_878, 10),
    ),
    "collegemsg.txt": (
        ["--columns", "sender,recipient,ts", "--user-col", "sender", "--site-col", "recipient",
         "--time-unit", "s", "--timezone", "America/Los_Angeles"],
        (59_835, 1_350),
    ),
    "jodie_wikipedia.txt.gz": (
        ["--columns", "user,page,ts", "--user-col", "user", "--site-col", "page",
         "--time-unit", "s"],
        (157_474, 8_227),
    ),
}  # fmt: skip


def test_the_documented_invocations_read_the_real_logs(shared_data):
    for name, (flags, (n_rows, n_users)) in REAL_LOG_FLAGS.items():
        path = shared_data / "access_logs" / name
        if not path.exists():
            continue  # each file is optional on a machine; the others still run
        result = runner.invoke(app, ["logs", "summary", str(path), *flags, "--json"])
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        assert (summary["rows"], summary["rejected"], summary["users"]) == (n_rows, 0, n_users)


def test_the_error_that_ends_a_run_is_printed_once(tmp_path):
    """In a real process, with and without -v: the library's logger has no handler of its own
    there, and a record nobody takes must not reach Python's last-resort printer as well."""
    missing = str(tmp_path / "missing.csv")
    for flags in ([], ["-v"]):
        done = subprocess.run(
            [sys.executable, "-m", "netpersona", *flags, "rejoin", "index", missing,
             "--workspace", str(tmp_path / "w.duckdb")],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 1, done.stderr
        assert done.stderr.count("no such file") == 1, done.stderr
