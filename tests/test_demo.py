"""The demos: what they write and print must agree with what they computed.

Each assertion checks a relation a broken demo would not satisfy: counts that must add up, the
paper's split and pre-class counts, accuracies above what guessing gives, and printed figures
equal to the ones in ``summary.json``.
"""

from __future__ import annotations

import csv
import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from netpersona import OutputExistsError
from netpersona.cli import app
from netpersona.customers import load_run
from netpersona.demo import run_customers_demo, run_demo, run_devices_demo
from netpersona.synth.customers import class_counts


def test_devices_demo_headlines_follow_from_what_it_wrote(tmp_path):
    figures = run_devices_demo(tmp_path / "demo", users=130, seed=1)
    out = tmp_path / "demo"
    # the paper's split of 130 labelled users: 104 train, 26 test
    assert (figures["train_users"], figures["test_users"]) == (104, 26)
    # every report is either the first of its session or a repeat of it
    assert figures["sessions"] + figures["duplicate_reports"] == figures["reports"]
    # 5 % label noise: a network that learned the rule beats "everyone is ordinary" (~62 %)
    assert figures["test_accuracy"] >= 0.75
    with (out / "tiers.csv").open() as f:
        tiers = [row["tier"] for row in csv.DictReader(f)]
    assert len(tiers) == 130
    assert figures["tier_shares"] == {
        t: round(tiers.count(t) / 130, 4) for t in ("vip", "growth", "ordinary")
    }
    assert json.loads((out / "model" / "tiers.json").read_text())["tiers"] == [
        "vip",
        "growth",
        "ordinary",
    ]
    assert "Fig" in (out / "report.html").read_text()


def test_customers_demo_headlines_follow_from_what_it_wrote(tmp_path):
    headline = run_customers_demo(tmp_path / "demo", n=200, seed=2)
    out = tmp_path / "demo"
    assert headline["customers"] == 200 and headline["network"] == "14-29-1"
    # pre-classes drawn with the paper's Table 2 shares, exact by largest remainder
    assert headline["pre_class_counts"] == class_counts(200) == [37, 55, 40, 38, 30]
    # four tiers: guessing gets about a quarter right; the paper's method most
    assert headline["tier_accuracy_vs_truth"] >= 0.6
    if headline["epochs"] < 1000:  # stopped early: it reached the paper's goal
        assert headline["train_mse"] <= headline["goal"] == 0.01
    with (out / "customer_tiers.csv").open() as f:
        tiers = [row["tier"] for row in csv.DictReader(f)]
    assert headline["tier_shares"] == pytest.approx({t: tiers.count(t) / 200 for t in "ABCD"})
    assert load_run(out / "customer_model").summary["n_customers"] == 200
    assert (out / "customers_report.html").exists()


@pytest.mark.slow
def test_demo_summary_agrees_with_its_files_and_refuses_to_reuse_its_folder(tmp_path):
    out = tmp_path / "demo"
    results = run_demo(out, users=80, days=12, seed=3)

    log = pq.read_table(out / "access_log.parquet")
    assert results["logs"]["rows"] == log.num_rows
    assert results["logs"]["users"] == len(set(log.column("user_id").to_pylist())) == 80
    assert results["logs"]["rejected"] == 0
    assert (results["logs"]["first_day"], results["logs"]["last_day"]) == (
        "2013-11-04",
        "2013-11-15",
    )
    rejoin = results["rejoin"]
    present = rejoin["n_queries"] - rejoin["n_absent"]
    # overall accuracy is the query-weighted mean of the absent and present accuracies
    assert rejoin["acc_overall"] == pytest.approx(
        (rejoin["acc_absent"] * rejoin["n_absent"] + rejoin["acc_present"] * present)
        / rejoin["n_queries"]
    )
    assert rejoin["n_library"] < 80 and rejoin["n_absent"] > 0
    assert (
        json.loads((out / "rejoin" / "evaluation.json").read_text())["acc_overall"]
        == (rejoin["acc_overall"])
    )
    html = (out / "rejoin" / "evaluation.html").read_text()
    assert "http://" not in html and "https://" not in html
    assert results["devices"]["train_users"] == 104
    assert results["customers"]["customers"] == 548
    summary = json.loads((out / "summary.json").read_text())
    assert summary["logs"] == results["logs"]
    assert summary["rejoin"]["acc_present"] == rejoin["acc_present"]

    with pytest.raises(OutputExistsError):
        run_demo(out, users=80, days=12, seed=3)


@pytest.mark.slow
def test_demo_command_prints_the_figures_it_wrote(tmp_path):
    out = tmp_path / "d"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--users", "60", "--days", "10"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    # the words and numbers of the output, without the tables' borders
    text = " ".join(result.output.translate({ord(c): " " for c in "│┃║┌┐└┘─━┏┓┗┛╭╮╰╯"}).split())
    assert "Synthetic access log" in text
    assert f"rows read {summary['logs']['rows']:,}" in text
    rejoin = summary["rejoin"]
    for label, key, paper in (
        ("absent users answered 'new'", "acc_absent", "99.06%"),
        ("present users matched", "acc_present", "98.14%"),
        ("all queries", "acc_overall", "98.32%"),
    ):
        assert f"{label} {100 * rejoin[key]:.2f}% {paper}" in text
    assert f"library {rejoin['n_library']:,} subscribers" in text
    # it says which generator preset it ran and what to expect of it
    assert rejoin["preset"] == "paper"
    assert "preset 'paper'" in text and "98% overall" in text
    assert f"devices: users 130, reports {summary['devices']['reports']}" in text
    assert "customers: customers 548" in text
