"""`netpersona rejoin identify|explain --method learned|tfidf` use the matcher `rejoin train`
saved beside the workspace; the paper's method needs none."""

from __future__ import annotations

import csv

import pyarrow.csv as pacsv
import pytest
from _core_data import habitual_log, split_log
from typer.testing import CliRunner

from netpersona import ConfigError
from netpersona.cli import app

runner = CliRunner()
SITE = ["--site-col", "site"]
COLUMNS = [
    "query_user", "decision", "rank", "library_user", "score", "answer",
    "simi_one", "simi_two", "simi_three", "simi_four",
]  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("method")
    library, queries, _ = split_log(habitual_log(30, 15, seed=5, noise=0.3), query_days=3)
    pacsv.write_csv(library, folder / "library.csv")
    pacsv.write_csv(queries, folder / "queries.csv")
    ws = folder / "ws.duckdb"
    result = runner.invoke(
        app,
        ["rejoin", "train", str(folder / "library.csv"), *SITE, "--workspace", str(ws),
         "--query-days", "3", "--cuts", "2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return folder, ws, sorted(set(queries["user_id"].to_pylist()))


def _identify(folder, ws, out, *extra):
    return runner.invoke(
        app,
        ["rejoin", "identify", "--queries", str(folder / "queries.csv"), *SITE,
         "--workspace", str(ws), "--out", str(out), *extra],
    )  # fmt: skip


@pytest.mark.parametrize("method", ["learned", "tfidf", "paper"])
def test_identify_by_each_method_answers_every_query(trained, tmp_path, method):
    folder, ws, query_users = trained
    out = tmp_path / f"{method}.csv"
    result = _identify(folder, ws, out, "--method", method, "--top-k", "2")
    assert result.exit_code == 0, result.output
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == COLUMNS
    assert sorted({r["query_user"] for r in rows}) == query_users
    for user in query_users:
        verdicts = {r["decision"] for r in rows if r["query_user"] == user}
        assert len(verdicts) == 1 and verdicts <= {"match", "ambiguous", "new"}


def test_learned_matches_most_returning_users_on_habitual_logs(trained, tmp_path):
    folder, ws, _ = trained
    out = tmp_path / "learned.csv"
    assert _identify(folder, ws, out, "--method", "learned", "--one-to-one").exit_code == 0
    with open(out, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["answer"] == "1"]
    # split_log's query ids are "q" + the library id, so a right answer is easy to see
    right = sum(r["query_user"] == f"q{r['library_user']}" for r in rows)
    assert right >= 0.5 * len({r["query_user"] for r in rows})
    library_users = [r["library_user"] for r in rows if r["library_user"]]
    assert len(library_users) == len(set(library_users))  # one-to-one


def test_explain_learned_shows_features_with_masked_ids(trained):
    folder, ws, query_users = trained
    result = runner.invoke(
        app,
        ["rejoin", "explain", query_users[0], "--queries", str(folder / "queries.csv"), *SITE,
         "--workspace", str(ws), "--method", "learned"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert query_users[0] not in result.output or len(query_users[0]) < 8


def test_learned_without_a_trained_workspace_says_what_to_run(trained, tmp_path):
    folder, _, _ = trained
    ws = tmp_path / "untrained.duckdb"
    assert (
        runner.invoke(
            app, ["rejoin", "index", str(folder / "library.csv"), *SITE, "--workspace", str(ws)]
        ).exit_code
        == 0
    )
    result = _identify(folder, ws, tmp_path / "m.csv", "--method", "learned")
    assert isinstance(result.exception, ConfigError)
    assert "rejoin train" in str(result.exception)
    result = _identify(folder, ws, tmp_path / "m.csv", "--method", "magic")
    assert isinstance(result.exception, ConfigError) and "paper, learned or tfidf" in str(
        result.exception
    )
