"""`netpersona demo`: every capability runs on synthetic data and lands in one folder."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from netpersona import OutputExistsError
from netpersona._demo import run_demo
from netpersona.cli import app


@pytest.mark.slow
def test_demo_writes_every_part_and_refuses_to_reuse_its_folder(tmp_path):
    out = tmp_path / "demo"
    results = run_demo(out, users=80, days=12, seed=3)

    assert (out / "access_log.parquet").exists()
    assert results["logs"]["users"] == 80
    assert results["logs"]["rejected"] == 0
    rejoin = results["rejoin"]
    assert rejoin["n_queries"] > 0 and rejoin["n_library"] > 0
    assert 0.0 <= rejoin["acc_overall"] <= 1.0
    assert (out / "rejoin" / "evaluation.html").exists()
    html = (out / "rejoin" / "evaluation.html").read_text()
    assert "http://" not in html and "https://" not in html
    for name in ("devices", "customers"):
        if results[name] is not None:
            assert (out / name).is_dir()
    assert json.loads((out / "summary.json").read_text())["logs"]["users"] == 80

    with pytest.raises(OutputExistsError):
        run_demo(out, users=80, days=12, seed=3)


@pytest.mark.slow
def test_demo_command_prints_a_readable_summary(tmp_path):
    result = CliRunner().invoke(
        app, ["demo", "--out", str(tmp_path / "d"), "--users", "60", "--days", "10"]
    )
    assert result.exit_code == 0, result.output
    assert "Synthetic access log" in result.output
    assert "present users matched" in result.output
    assert "98.32%" in result.output  # the paper's figure, side by side
