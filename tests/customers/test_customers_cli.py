"""The command line: `netpersona customers ...` and `netpersona synth customers`."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from customers_helpers import MARKETING_SYSTEM, ROOT, shared_file
from typer.testing import CliRunner

from netpersona import ColumnNotFoundError, ConfigError
from netpersona.cli import app
from netpersona.customers import load_run

runner = CliRunner()


def _ok(args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return " ".join(result.output.split())


def test_run_on_the_real_file_says_weights_are_equal_and_writes_every_customer(tmp_path):
    data = shared_file("customers/marketing_campaign.tsv")
    out = tmp_path / "tiers.csv"
    text = _ok(["customers", "run", "--data", data, "--system", MARKETING_SYSTEM, "--out", out])
    assert "no weights given: all 9 indicators weigh equally" in text
    assert "24 empty 'basic_properties' values scored 3" in text
    assert "indicator 'rating' dropped" in text
    tiers = pd.read_csv(out)
    assert len(tiers) == 2240
    assert list(tiers.columns[-4:]) == ["C", "pre_class", "K", "tier"]
    assert tiers.columns[0] == "customer"
    result = runner.invoke(app, ["customers", "run", "--data", str(data), "--system",
                                 str(MARKETING_SYSTEM), "--out", str(out)])  # fmt: skip
    assert "--force" in str(result.exception)


def test_synth_train_predict_report_round_trip(tmp_path):
    questionnaires = tmp_path / "q.csv"
    text = _ok(["synth", "customers", "--n", "548", "--seed", "3", "--out", questionnaires])
    assert "102 / 150 / 110 / 105 / 81" in text
    model = tmp_path / "model"
    text = _ok(["customers", "train", "--data", questionnaires, "--model", model, "--seed", "3",
                "--ensemble", "1"])  # the paper's single network: its own errors  # fmt: skip
    assert "14-29-1" in text and "18.61%" in text and "27.37%" in text
    tiers = tmp_path / "tiers.csv"
    _ok(["customers", "predict", "--model", model, "--data", questionnaires, "--out", tiers])
    assert len(pd.read_csv(tiers)) == 548
    report = tmp_path / "report.html"
    _ok(["customers", "report", "--model", model, "--out", report, "--tiers", tiers])
    html = report.read_text()
    assert "Pre-classification by current value" in html and "test MSE" in html
    assert not re.search(r"(src|href)=\"https?:", html)  # self-contained
    for fig in ("pre_classes", "weights", "training", "k_histogram", "tiers"):
        assert (tmp_path / f"report_{fig}.png").stat().st_size > 1000


def test_score_writes_scores_pre_classes_and_target(tmp_path):
    questionnaires = tmp_path / "q.csv"
    _ok(["synth", "customers", "--n", "100", "--seed", "1", "--out", questionnaires])
    scores = tmp_path / "scores.csv"
    weights = ROOT / "examples" / "customers" / "paper14_ahp.toml"
    text = _ok(["customers", "score", "--data", questionnaires, "--weights", weights,
                "--out", scores])  # fmt: skip
    assert "expert weights (ahp, 3 experts)" in text
    frame = pd.read_csv(scores)
    truth = pd.read_csv(questionnaires)
    assert (frame["pre_class"] == truth["true_pre_class"]).all()
    assert frame["K_target"].between(0, 1).all()


def test_system_file_errors_reach_the_user_as_netpersona_errors(tmp_path):
    data = shared_file("customers/marketing_campaign.tsv")
    broken = tmp_path / "broken.toml"
    broken.write_text(MARKETING_SYSTEM.read_text().replace('recency = "recency"', 'recency = "R"'))
    result = runner.invoke(app, ["customers", "run", "--data", str(data), "--system", str(broken),
                                 "--out", str(tmp_path / "t.csv")])  # fmt: skip
    assert isinstance(result.exception, ConfigError)
    assert "recency = 'R' is not an indicator" in str(result.exception)
    failing = tmp_path / "failing.toml"
    failing.write_text(MARKETING_SYSTEM.read_text().replace(
        'column = "Rating"                 # lacking in this table\non_missing = "drop"',
        'column = "Rating"'))  # fmt: skip
    result = runner.invoke(app, ["customers", "score", "--data", str(data), "--system",
                                 str(failing), "--out", str(tmp_path / "s.csv")])  # fmt: skip
    assert isinstance(result.exception, ColumnNotFoundError)
    assert "indicator 'rating' needs column(s) ['Rating']" in str(result.exception)
    assert str(data) in str(result.exception)
    assert not (tmp_path / "s.csv").exists() and not (tmp_path / "t.csv").exists()


@pytest.mark.parametrize("split", ["order", "random", "sideways"])
def test_split_option(tmp_path, split):
    questionnaires = tmp_path / "q.csv"
    _ok(["synth", "customers", "--n", "120", "--out", questionnaires])
    result = runner.invoke(app, ["customers", "run", "--data", str(questionnaires), "--split",
                                 split, "--out", str(tmp_path / "t.csv"), "--model",
                                 str(tmp_path / "m"), "--ensemble", "2"])  # fmt: skip
    assert (result.exit_code == 0) == (split != "sideways"), result.output
    if split == "sideways":
        assert "'order' or 'random'" in result.output
        return
    # the flag reaches the run: the saved model says which split trained it
    assert load_run(tmp_path / "m").summary["sample"]["split"] == split
