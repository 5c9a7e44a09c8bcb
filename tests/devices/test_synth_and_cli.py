"""Synthetic device months and the command line, end to end (issue 5, item 5)."""

from __future__ import annotations

import csv
import gzip
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from netpersona.cli import app
from netpersona.devices import extract_features, read_labels
from netpersona.synth.devices import TIERS, hidden_tier, write_device_reports

runner = CliRunner()


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "d"
    counts = write_device_reports(out, users=400, month="2024-05", seed=5)
    return out, counts


def test_synthetic_reports_repeat_sessions_and_are_deterministic(month, tmp_path):
    out, counts = month
    lines = gzip.decompress((out / "reports.jsonl.gz").read_bytes()).decode().splitlines()
    assert len(lines) == counts["reports"]
    reports = [json.loads(line) for line in lines[:2000]]
    kinds = {r["type"] for r in reports}
    assert kinds == {"periodic", "on_demand", "logoff"}
    assert any(r["logofftime"] is None for r in reports)
    assert isinstance(reports[0]["device"], dict)
    sessions = {(r["username"], r["logontime"]) for r in reports}
    assert len(sessions) < len(reports)  # periodic duplicates
    again = write_device_reports(tmp_path / "again", users=400, month="2024-05", seed=5)
    assert again == counts
    for name in ("reports.jsonl.gz", "purchases.csv", "labels.csv"):
        one = (out / name).read_bytes()
        two = (tmp_path / "again" / name).read_bytes()
        if name.endswith(".gz"):
            one, two = gzip.decompress(one), gzip.decompress(two)
        assert one == two


def test_labels_follow_the_hidden_rule_on_the_extracted_features(month):
    out, _ = month
    features = extract_features(
        out / "reports.jsonl.gz", "2024-05", purchases=out / "purchases.csv"
    ).features
    labels = dict(
        zip(
            *(read_labels(out / "labels.csv").column(c).to_pylist() for c in ("user", "tier")),
            strict=True,
        )
    )
    assert len(features) == len(labels) == 400
    rule = np.array(TIERS)[
        hidden_tier(
            *(features.column(n).to_numpy() for n in ("avgontime", "avguseflow", "buycounts"))
        )
    ]
    truth = [labels[u] for u in features.column("user").to_pylist()]
    agreement = float(np.mean(rule == np.array(truth)))
    # 5 % label noise, each flip to another tier; the features are exactly the rule's inputs
    assert 0.90 <= agreement < 1.0
    # paper Table 1 ranges: 2.5-4.3 h, 180-350 MB, 1-2 purchases for typical users
    assert 2.5 <= np.median(features.column("avgontime").to_numpy()) <= 4.3
    assert 180 <= np.median(features.column("avguseflow").to_numpy()) <= 350
    assert 1 <= np.median(features.column("buycounts").to_numpy()) <= 2
    shares = {t: truth.count(t) / len(truth) for t in TIERS}
    assert shares["ordinary"] > 0.5 and shares["vip"] < shares["growth"]


def test_cli_pipeline_on_synthetic_data(tmp_path):
    d, f, m = tmp_path / "d", tmp_path / "f.parquet", tmp_path / "m"
    steps = [
        [
            "synth",
            "device-reports",
            "--users",
            "130",
            "--month",
            "2024-05",
            "--seed",
            "2",
            "--out",
            str(d),
        ],
        [
            "devices",
            "features",
            "--reports",
            str(d / "reports.jsonl.gz"),
            "--purchases",
            str(d / "purchases.csv"),
            "--month",
            "2024-05",
            "--out",
            str(f),
        ],
        [
            "devices",
            "train",
            "--features",
            str(f),
            "--labels",
            str(d / "labels.csv"),
            "--model",
            str(m),
            "--epochs",
            "800",
        ],
        [
            "devices",
            "predict",
            "--model",
            str(m),
            "--features",
            str(f),
            "--out",
            str(tmp_path / "tiers.csv"),
        ],
        [
            "devices",
            "report",
            "--model",
            str(m),
            "--features",
            str(f),
            "--tiers",
            str(tmp_path / "tiers.csv"),
            "--out",
            str(tmp_path / "report.html"),
        ],
    ]
    outputs = []
    for args in steps:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    assert "Test accuracy" in outputs[2] and "104 users" in outputs[2]
    assert pq.read_table(f).num_rows == 130
    rows = list(csv.DictReader((tmp_path / "tiers.csv").open()))
    assert len(rows) == 130
    assert list(rows[0]) == ["user", "tier", "p_vip", "p_growth", "p_ordinary", "out_of_range"]
    assert (tmp_path / "report_shares.png").exists()
    # people see masked ids only
    html = (tmp_path / "report.html").read_text()
    assert not any(row["user"] in html for row in rows)
    # outputs are never overwritten without --force
    again = runner.invoke(app, steps[3])
    assert again.exit_code != 0 and "--force" in str(again.exception)


def test_cli_reads_the_hostel_export_with_the_radius_preset(tmp_path):
    from shared_data import shared_file

    path = shared_file("device_sessions/hostel_wifi_sessions.csv")
    out = tmp_path / "hostel.csv"
    result = runner.invoke(
        app,
        [
            "devices",
            "features",
            "--reports",
            str(path),
            "--radius-export",
            "--month",
            "2022-07",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "u****" in result.output and "user6" not in result.output  # masked warning
    assert len(list(csv.DictReader(out.open()))) == 9


def test_cli_bad_flow_unit_is_a_clear_error(tmp_path, month):
    out, _ = month
    result = runner.invoke(
        app,
        [
            "devices",
            "features",
            "--reports",
            str(out / "reports.jsonl.gz"),
            "--month",
            "2024-05",
            "--flow-unit",
            "furlongs",
            "--out",
            str(tmp_path / "f.csv"),
        ],
    )
    assert result.exit_code != 0
    assert "unknown flow unit" in str(result.exception)


def test_cli_purchases_from_a_database_query(tmp_path, month):
    import sqlite3

    out, _ = month
    db = tmp_path / "billing.db"
    rows = list(csv.reader((out / "purchases.csv").open()))[1:]
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE orders (msisdn TEXT, paid_at TEXT)")
        con.executemany("INSERT INTO orders VALUES (?, ?)", [(u, t) for u, t, _ in rows])
    from_db, from_csv = tmp_path / "db.csv", tmp_path / "file.csv"
    common = ["devices", "features", "--reports", str(out / "reports.jsonl.gz"), "--month",
              "2024-05"]  # fmt: skip
    result = runner.invoke(app, [*common, "--purchases", f"sqlite:///{db}", "--purchases-query",
                                 "SELECT msisdn, paid_at FROM orders", "--purchases-user-col",
                                 "msisdn", "--purchases-time-col", "paid_at", "--out",
                                 str(from_db)])  # fmt: skip
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, [*common, "--purchases", str(out / "purchases.csv"), "--out",
                                 str(from_csv)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert from_db.read_text() == from_csv.read_text()
    assert sum(int(r["buycounts"]) for r in csv.DictReader(from_db.open())) > 0
