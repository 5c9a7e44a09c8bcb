"""Hostile input, part 4: the command line as a new user meets it (issue #17) - help text shows
its square brackets, --out is checked by its extension, customers read Excel and name every
column with missing values at once, and a near-empty tier is warned about."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).parent / "customers"))
from customers_helpers import system_writer

from cli_run import run
from netpersona import InputError
from netpersona._core import UsageError, table_format, write_table_file
from netpersona.customers import load_system, score_customers


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (["rejoin", "identify"], "netpersona[spark]"),
        (["rejoin", "evaluate"], "[rejoin] table"),
        (["rejoin", "identify"], "[rejoin] table"),
    ],
)
def test_help_text_keeps_its_square_brackets(capsys, command, shown):
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0
    flat = " ".join(out.replace("│", " ").split())
    assert shown in flat


@pytest.mark.parametrize("name", ["t.csv", "t.parquet", "t.jsonl", "T.CSV"])
def test_table_outputs_follow_their_extension(tmp_path, name):
    frame = pd.DataFrame({"customer": ["1", "2"], "tier": ["A", "B"]})
    out = write_table_file(frame, tmp_path / name)
    if name.endswith("parquet"):
        assert pq.read_table(out).column("tier").to_pylist() == ["A", "B"]
    elif name.endswith("jsonl"):
        assert out.read_text().splitlines()[1] == '{"customer":"2","tier":"B"}'
    else:
        assert out.read_text().splitlines() == ["customer,tier", "1,A", "2,B"]


@pytest.mark.parametrize(
    "name", ["t.xlsx", "t", "mysql://h/db?table=t", "sqlite:///f.db", "t.csv.bak"]
)
def test_an_unknown_output_form_is_a_usage_error_before_any_work(capsys, tmp_path, name):
    forms = r"\.csv, \.parquet, \.jsonl, duckdb:///f\.db\?table=t, sqlite:///"
    with pytest.raises(UsageError, match=r"\?table=NAME" if "sqlite" in name else forms):
        table_format(name)
    answers = tmp_path / "answers.csv"
    assert run(capsys, "synth", "customers", "--out", str(answers), "--n", "60")[0] == 0
    target = name if "://" in name else str(tmp_path / name)
    code, _, err = run(capsys, "customers", "score", "--data", str(answers), "--out", target)
    assert code == 2 and "--out" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.csv"]  # nothing written
    assert not Path("sqlite:").exists()


@pytest.mark.parametrize("name", ["matches.xlsx", "matches"])
def test_identify_checks_its_output_name_before_reading_anything(capsys, tmp_path, name):
    """The query file does not even exist: the usage error about --out comes first (exit 2),
    before any log is read or library opened."""
    missing = str(tmp_path / "none.csv")
    code, _, err = run(capsys, "rejoin", "identify", "--queries", missing, "--library", missing,
                       "--out", str(tmp_path / name))  # fmt: skip
    assert code == 2 and "--out" in err and ".csv, .parquet, .jsonl" in " ".join(err.split())
    assert list(tmp_path.iterdir()) == []


def test_the_force_message_names_only_the_flag(capsys, tmp_path):
    answers = tmp_path / "answers.csv"
    run(capsys, "synth", "customers", "--out", str(answers), "--n", "60")
    code, _, err = run(capsys, "synth", "customers", "--out", str(answers), "--n", "60")
    assert code == 2 and "--force" in err and "force=True" not in err


# -- customers --------------------------------------------------------------------------------


def _system(tmp_path):
    return load_system(system_writer(tmp_path)())


def test_every_column_with_missing_values_is_named_in_one_error(tmp_path):
    table = pd.DataFrame({"days": [1, None, 1], "buys": [1, 1, 1], "spend": [None, 1, 1]})
    with pytest.raises(InputError) as info:
        score_customers(table, _system(tmp_path), path="t.csv")
    text = str(info.value)
    assert "2 column(s)" in text and "'days'" in text and "'spend'" in text
    assert "first on line 3" in text and "first on line 2" in text


def test_an_xlsx_customer_table_is_read(capsys, tmp_path):
    answers = tmp_path / "answers.csv"
    run(capsys, "synth", "customers", "--out", str(answers), "--n", "80")
    book = tmp_path / "answers.xlsx"
    pd.read_csv(answers).to_excel(book, index=False)
    code, _, err = run(capsys, "customers", "score", "--data", str(book), "--out",
                       str(tmp_path / "scores.csv"))  # fmt: skip
    assert code == 0, err
    from_csv = run(capsys, "customers", "score", "--data", str(answers), "--out",
                   str(tmp_path / "scores2.csv"))  # fmt: skip
    assert from_csv[0] == 0
    assert (tmp_path / "scores.csv").read_text() == (tmp_path / "scores2.csv").read_text()


def test_a_broken_xlsx_is_a_declared_error(capsys, tmp_path):
    book = tmp_path / "answers.xlsx"
    book.write_text("not a workbook")
    code, _, err = run(capsys, "customers", "score", "--data", str(book), "--out",
                       str(tmp_path / "s.csv"))  # fmt: skip
    assert code == 1 and "xlsx" in err


def test_a_tier_under_2_percent_is_warned_about():
    from netpersona.customers._tiers import small_tier_warnings

    warnings = small_tier_warnings({"A": 0.019, "B": 0.5, "C": 0.46, "D": 0.021})
    assert len(warnings) == 1 and "tier A holds 1.9%" in warnings[0]
    assert small_tier_warnings({"A": 0.02, "B": 0.5, "C": 0.46, "D": 0.02}) == []


# -- -q, -v, --log-file ------------------------------------------------------------------------


def _log(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("user_id,ts,url\n13812345678,2024-05-01 10:00:00,http://a.com/\n")
    return path


def test_quiet_prints_results_but_no_progress(capsys, tmp_path):
    code, out, err = run(capsys, "-q", "logs", "summary", str(_log(tmp_path)), "--json")
    assert code == 0 and '"rows": 1' in out
    assert "reading log.csv" not in err and "━" not in err


def test_verbose_shows_each_step_and_log_file_keeps_a_private_timed_record(capsys, tmp_path):
    record = tmp_path / "run.log"
    code, _, err = run(capsys, "-v", "--log-file", str(record), "logs", "summary",
                       str(_log(tmp_path)), "--json")  # fmt: skip
    assert code == 0 and "reading log.csv:" in err and " s" in err
    text = record.read_text()
    assert "DEBUG netpersona: reading log.csv:" in text
    assert oct(record.stat().st_mode & 0o777) == "0o600"
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,ts,url\n13812345678,never,http://a.com/\n")
    code, _, _ = run(capsys, "--log-file", str(record), "logs", "summary", str(bad))
    assert code == 1
    assert "ERROR netpersona: error:" in record.read_text()  # the error that ended the run
    assert "13812345678" not in record.read_text()
