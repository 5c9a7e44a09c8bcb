"""`netpersona rejoin train` and the methods it registers for `evaluate --method`."""

from __future__ import annotations

import json

import pyarrow.csv as pacsv
import pytest
from _core_data import habitual_log, split_log
from typer.testing import CliRunner

from netpersona._core import parse_size
from netpersona.cli import app
from netpersona.engine import Workspace
from netpersona.rejoin import Profiles
from netpersona.rejoin._evaluate import method_names
from netpersona.rejoin._learned import identify_method, load_matcher, workspace_matcher_dir

runner = CliRunner()
SITE = ["--site-col", "site"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("learned")
    library, queries, absent = split_log(habitual_log(30, 15, seed=3, noise=0.3), query_days=3)
    pacsv.write_csv(library, folder / "library.csv")
    pacsv.write_csv(queries, folder / "queries.csv")
    ws = folder / "ws.duckdb"
    args = ["rejoin", "train", str(folder / "library.csv"), *SITE, "--workspace", str(ws)]
    result = runner.invoke(app, [*args, "--query-days", "3", "--cuts", "2"])
    assert result.exit_code == 0, result.output
    return folder, ws, absent, result.output, args


def test_train_indexes_the_library_and_saves_the_matcher(trained):
    _, ws, _, output, _ = trained
    assert "(kept)" in output and "simulated queries" in output
    saved = workspace_matcher_dir(ws)
    meta = json.loads((saved / "matcher.json").read_text())
    assert meta["model"] in ("hgb", "bp") and {"hgb", "bp", "tfidf"} <= set(meta["simulated"])
    with Workspace(ws, read_only=True) as w:
        assert Profiles.open(w, "library").n_users == 24


def test_train_refuses_to_overwrite_without_force(trained):
    _, _, _, _, args = trained
    again = runner.invoke(app, [*args, "--query-days", "3", "--cuts", "1"])
    assert again.exit_code != 0
    assert "exists" in str(again.exception) + again.output


def test_bad_objective_is_refused_before_any_work(trained, tmp_path):
    folder, _, _, _, _ = trained
    ws = tmp_path / "other.duckdb"
    result = runner.invoke(
        app,
        ["rejoin", "train", str(folder / "library.csv"), *SITE, "--workspace", str(ws),
         "--objective", "far:7"],
    )  # fmt: skip
    assert result.exit_code != 0
    assert not ws.exists()


def test_identify_with_the_trained_matcher(trained):
    folder, ws, absent, _, _ = trained
    from netpersona.io import LogMapping, read_access_log
    from netpersona.rejoin import build_profiles

    matcher = load_matcher(workspace_matcher_dir(ws))
    with Workspace(ws) as w:
        read_access_log(folder / "queries.csv", LogMapping(site_col="site"), w, table="q_log")
        lib = Profiles.open(w, "library")
        qry = build_profiles(w, "q_log", "q", lib.settings, reference=lib)
        learned = identify_method("learned", w, lib, qry, matcher=matcher, top_k=1).matches
        tfidf = identify_method("tfidf", w, lib, qry, matcher=matcher, top_k=1).matches
        paper = identify_method("paper", w, lib, qry, lib.settings, top_k=1).matches
        qry.drop()
    for m in (learned, tfidf, paper):
        assert set(m.column("query_user").to_pylist()) == set(
            qry.arrays(sequences=False).user_ids.to_pylist()
        )
    right = 0
    for row in learned.to_pylist():
        if row["rank"] == 1 and row["query_user"] not in absent:
            right += row["library_user"] == row["query_user"].removeprefix("q")
    assert right >= 0.8 * (
        24 * 0 + len(set(learned.column("query_user").to_pylist())) - len(absent)
    )


def test_learned_identification_lends_the_engines_memory(trained, monkeypatch):
    """While the learned matcher holds the sides' arrays, DuckDB keeps a share of its memory
    limit (as the paper's identification does) and has its limit back afterwards."""
    from netpersona.rejoin._learned import _methods

    folder, ws, _, _, _ = trained
    from netpersona.io import LogMapping, read_access_log
    from netpersona.rejoin import build_profiles

    seen = []
    real = _methods.identify_learned

    def watched(*args, **kwargs):
        seen.append(w.fetch_scalar("SELECT current_setting('memory_limit')"))
        return real(*args, **kwargs)

    monkeypatch.setattr(_methods, "identify_learned", watched)
    matcher = load_matcher(workspace_matcher_dir(ws))
    with Workspace(ws) as w:
        w.execute("SET memory_limit = '1GB'")
        w.memory_limit = "1GB"
        read_access_log(folder / "queries.csv", LogMapping(site_col="site"), w, table="q_log")
        lib = Profiles.open(w, "library")
        qry = build_profiles(w, "q_log", "q", lib.settings, reference=lib)
        identify_method("learned", w, lib, qry, matcher=matcher, top_k=1)
        after = w.fetch_scalar("SELECT current_setting('memory_limit')")
        qry.drop()
    lent = parse_size(seen[0].replace(" ", ""))
    assert lent <= 0.35 * parse_size("1GB")
    assert parse_size(after.replace(" ", "")) >= 0.9 * parse_size("1GB")


def test_methods_are_registered_for_evaluate():
    assert {"paper", "learned", "tfidf"} <= set(method_names())


def test_train_reports_simulation_size_calibration_and_auto(trained):
    _, ws, _, output, _ = trained
    assert "simulated queries" in output and "time cut(s)" in output
    assert "Brier" in output and "ECE" in output
    meta = json.loads((workspace_matcher_dir(ws) / "matcher.json").read_text())
    assert f"--method auto will use {meta['auto']}" in " ".join(output.split())
    assert {"paper", "tfidf_one_to_one"} <= set(meta["simulated"])


def test_identify_defaults_to_auto_after_train(trained, tmp_path):
    folder, ws, _, _, _ = trained
    out = tmp_path / "auto.csv"
    args = ["rejoin", "identify", "--queries", str(folder / "queries.csv"), *SITE]
    result = runner.invoke(app, [*args, "--workspace", str(ws), "--out", str(out)])
    assert result.exit_code == 0, result.output
    auto = pacsv.read_csv(out).to_pylist()
    explicit = tmp_path / "explicit.csv"
    meta = json.loads((workspace_matcher_dir(ws) / "matcher.json").read_text())
    method = meta["auto"] if meta["auto"] != "new" else "auto"
    result = runner.invoke(
        app, [*args, "--workspace", str(ws), "--out", str(explicit), "--method", method]
    )
    assert result.exit_code == 0, result.output
    assert pacsv.read_csv(explicit).to_pylist() == auto


def test_train_infers_query_days_from_real_queries(tmp_path):
    import datetime as dt

    import pyarrow as pa

    from netpersona.engine import DuckDBEngine
    from netpersona.rejoin import query_days_of

    library, _, _ = split_log(habitual_log(30, 16, seed=3, noise=0.3), query_days=3)
    pacsv.write_csv(library, tmp_path / "library.csv")
    start = dt.datetime(2024, 1, 1, 8)
    spans = {"a": 4, "b": 4, "c": 1}  # a typical query spans 4 days
    rows = [(u, start + dt.timedelta(days=d), "x.com") for u, n in spans.items() for d in range(n)]
    qlog = pa.table({k: [r[i] for r in rows] for i, k in enumerate(("user_id", "ts", "site"))})
    pacsv.write_csv(qlog, tmp_path / "q.csv")
    engine = DuckDBEngine(threads=1)
    engine.register_arrow("q", qlog)
    assert query_days_of(engine, "q") == 4
    engine.close()
    ws = tmp_path / "ws.duckdb"
    result = runner.invoke(
        app,
        ["rejoin", "train", str(tmp_path / "library.csv"), *SITE, "--workspace", str(ws),
         "--queries", str(tmp_path / "q.csv"), "--cuts", "2", "--draws", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    meta = json.loads((workspace_matcher_dir(ws) / "matcher.json").read_text())
    assert meta["params"]["query_days"] == 4
    assert "query periods of 4 day(s)" in " ".join(result.output.split())
