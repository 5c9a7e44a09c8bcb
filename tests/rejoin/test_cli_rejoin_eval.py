"""`netpersona rejoin evaluate` and `netpersona rejoin calibrate` from the command line."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from netpersona._core import ConfigError, OutputExistsError
from netpersona.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def habitual_csv(tmp_path_factory):
    from _core_data import habitual_log

    path = tmp_path_factory.mktemp("logs") / "habitual.csv"
    log = habitual_log(24, 12, seed=7)
    import pyarrow.csv as pv

    pv.write_csv(log, path)
    return path


def _evaluate(*args):
    return runner.invoke(app, ["rejoin", "evaluate", *map(str, args)], catch_exceptions=True)


def test_evaluate_writes_json_and_report(habitual_csv, tmp_path):
    out = tmp_path / "metrics.json"
    result = _evaluate(
        habitual_csv,
        "--site-col",
        "site",
        "--query-days",
        "3",
        "--library-fraction",
        "0.75",
        "--seed",
        "4",
        "--sweep-days",
        "2-3",
        "--json",
        out,
        "--report-dir",
        tmp_path / "rep",
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    # habitual users with personal rare sites and peak hours: every verdict right
    accuracies = ("acc_absent", "acc_present", "acc_present_any", "acc_overall", "rank1_present")
    assert [doc[key] for key in accuracies] == [1.0] * 5
    assert doc["balanced_accuracy"] == 1.0 and doc["seconds_total"] > 0
    assert (doc["n_library"], doc["n_queries"], doc["n_absent"]) == (18, 24, 6)
    assert doc["steps"][0]["step"] == "1_profiles"
    assert [r["query_days"] for r in doc["sweep"]] == [2, 3]
    assert doc["sweep"][1]["acc_overall"] == doc["acc_overall"]
    assert "98.32%" in result.output  # the paper's figure printed beside ours
    html = (tmp_path / "rep" / "evaluation.html").read_text()
    assert not re.search(r"https?://", html)
    assert (tmp_path / "rep" / "evaluation_sweep.png").exists()
    # never over an existing result without --force
    again = _evaluate(habitual_csv, "--site-col", "site", "--json", out)
    assert again.exit_code != 0 and isinstance(again.exception, OutputExistsError)


def test_evaluate_scores_a_matcher_that_finds_no_one(habitual_csv, tmp_path):
    # jaccard_min = 1.0 keeps no pair at step 2 (SimiOne must be strictly above it): every
    # query is answered "new", right for the 6 absent users only -> 6 / 24 overall
    strict = tmp_path / "strict.toml"
    strict.write_text("[rejoin]\njaccard_min = 1.0\n")
    out = tmp_path / "m.json"
    result = _evaluate(habitual_csv, "--site-col", "site", "--query-days", "3",
                       "--library-fraction", "0.75", "--seed", "4", "--settings", strict,
                       "--json", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert (doc["acc_absent"], doc["acc_present"], doc["acc_overall"]) == (1.0, 0.0, 0.25)
    assert doc["balanced_accuracy"] == 0.5 and doc["rank1_present"] == 0.0
    assert doc["settings"]["jaccard_min"] == 1.0
    assert "25.00%" in result.output


def test_calibrate_then_evaluate_with_its_settings(habitual_csv, tmp_path):
    toml = tmp_path / "settings.toml"
    result = runner.invoke(
        app,
        [
            "rejoin",
            "calibrate",
            str(habitual_csv),
            "--site-col",
            "site",
            "--query-days",
            "3",
            "--objective",
            "balanced",
            "--max-trials",
            "6",
            "--out",
            str(toml),
            "--json",
            str(tmp_path / "trials.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "paper defaults" in result.output and "calibrated" in result.output
    from netpersona.rejoin import RejoinSettings

    settings = RejoinSettings.from_toml(toml)  # the file is a valid settings file
    trials = json.loads((tmp_path / "trials.json").read_text())
    assert len(trials["trials"]) == 6
    assert trials["settings"] == settings.to_dict()
    out = tmp_path / "m.json"
    result = _evaluate(
        habitual_csv,
        "--site-col",
        "site",
        "--query-days",
        "3",
        "--settings",
        toml,
        "--json",
        out,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["settings"] == settings.to_dict()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--window", "2024-03-09"], "START..END"),
        (["--sweep-days", "x"], "sweep-days"),
        (["--method", "telepathy"], "unknown method"),
        (["--query-days", "40"], "no library period"),
    ],
)
def test_bad_options_are_clear_errors(habitual_csv, tmp_path, flags, message):
    result = _evaluate(habitual_csv, "--site-col", "site", "--json", tmp_path / "m.json", *flags)
    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigError)
    assert message in str(result.exception)
    assert not (tmp_path / "m.json").exists()


def test_collegemsg_through_the_reader(shared_data, tmp_path):
    """The data README's figures through the real reader and the CLI's flags."""
    path = shared_data / "access_logs" / "collegemsg.txt"
    if not path.exists():
        pytest.skip(f"real data file {path} is absent on this machine")
    out = tmp_path / "college.json"
    result = _evaluate(
        path,
        "--columns",
        "sender,recipient,ts",
        "--user-col",
        "sender",
        "--site-col",
        "recipient",
        "--time-unit",
        "s",
        "--window",
        "2004-04-15..2004-06-13",
        "--query-days",
        "5",
        "--library-fraction",
        "1.0",
        "--json",
        out,
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert (doc["n_library"], doc["n_queries"], doc["n_absent"]) == (1196, 390, 34)
    assert doc["protocol"]["query_period"] == ["2004-06-09", "2004-06-13"]
