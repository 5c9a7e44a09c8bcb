"""`rejoin evaluate --split-by first-seen --truth PAIRS` (issue 16, item 6)."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.csv as pacsv
from typer.testing import CliRunner

from netpersona._core import ConfigError
from netpersona.cli import app

runner = CliRunner()
START = dt.datetime(2016, 3, 1, 9)


def _log(folder):
    """Ten people; after the cut, three of them come back under a new id, two are new."""
    rows = []
    for p in range(10):
        sites = [f"p{p}/a", f"p{p}/b", "shared/c"]
        for d in range(0, 40, 3):
            rows.append((f"id{p}", START + dt.timedelta(days=d, minutes=p), sites[d % 3]))
    for p in range(3):
        for d in range(50, 70, 2):
            rows.append((f"new{p}", START + dt.timedelta(days=d), f"p{p}/a"))
    for p in range(2):
        rows.append((f"stranger{p}", START + dt.timedelta(days=55), f"x{p}"))
    pacsv.write_csv(
        pa.table({k: [r[i] for r in rows] for i, k in enumerate(("user_id", "ts", "site"))}),
        folder / "log.csv",
    )
    (folder / "pairs.csv").write_text(
        "old_user,new_user\n" + "".join(f"id{p},new{p}\n" for p in range(3))
    )


def test_evaluate_first_seen_with_a_truth_file(tmp_path):
    _log(tmp_path)
    out = tmp_path / "m.json"
    args = ["rejoin", "evaluate", str(tmp_path / "log.csv"), "--site-col", "site"]
    result = runner.invoke(
        app,
        [*args, "--split-by", "first-seen", "--truth", str(tmp_path / "pairs.csv"),
         "--cut", "2016-04-15", "--query-days", "10", "--json", str(out), "--method", "tfidf"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    p = doc["protocol"]
    assert p["split_by"] == "first-seen" and p["query_period"][0] == "2016-04-15"
    assert (doc["n_library"], doc["n_queries"], doc["n_present"]) == (10, 5, 3)
    assert doc["acc_present"] == 1.0  # each new id works on its old self's own site


def test_split_by_errors_are_clear(tmp_path):
    _log(tmp_path)
    base = ["rejoin", "evaluate", str(tmp_path / "log.csv"), "--site-col", "site",
            "--json", str(tmp_path / "x.json")]  # fmt: skip
    r = runner.invoke(app, [*base, "--split-by", "first-seen"])
    assert isinstance(r.exception, ConfigError) and "--truth" in str(r.exception)
    r = runner.invoke(app, [*base, "--truth", str(tmp_path / "pairs.csv")])
    assert isinstance(r.exception, ConfigError) and "first-seen" in str(r.exception)
    r = runner.invoke(app, [*base, "--split-by", "sideways"])
    assert isinstance(r.exception, ConfigError) and "time, first-seen, last-days" in str(
        r.exception
    )
    r = runner.invoke(
        app, [*base, "--split-by", "first-seen", "--truth", str(tmp_path / "pairs.csv"),
              "--cut", "15/04/2016"],
    )  # fmt: skip
    assert isinstance(r.exception, ConfigError) and "YYYY-MM-DD" in str(r.exception)
    assert not (tmp_path / "x.json").exists()
