"""Identify through the service = `netpersona rejoin identify`; a new workspace version is
picked up while serving, without a failed request."""

from __future__ import annotations

import csv
import shutil
import threading
import time

import pytest
from serve_support import cli, start_server


def _cli_verdicts(
    corpus, tmp_path, top_k: int, method: str = "paper", workspace=None
) -> dict[str, tuple]:
    out = tmp_path / f"matches_{method}_{top_k}.csv"
    cli("rejoin", "identify", "--queries", str(corpus.queries), "--workspace",
        str(workspace or corpus.workspace), "--out", str(out), "--top-k", str(top_k),
        "--method", method)  # fmt: skip
    rows: dict[str, list[dict]] = {}
    with open(out, newline="") as f:
        for row in csv.DictReader(f):
            rows.setdefault(row["query_user"], []).append(row)
    verdicts = {}
    for user, group in rows.items():
        ranked = sorted((r for r in group if r["library_user"]), key=lambda r: int(r["rank"]))
        verdicts[user] = (
            group[0]["decision"],
            [(int(r["rank"]), r["library_user"], r["answer"] == "1", round(float(r["score"]), 6))
             for r in ranked],
        )  # fmt: skip
    return verdicts


def _service_verdicts(found: list[dict]) -> dict[str, tuple]:
    out = {}
    for v in found:
        candidates = [
            (c["rank"], c["library_user"], c["answer"], round(c["score"], 6))
            for c in v["candidates"]
        ]
        out[v["query_user"]] = (v["verdict"], candidates)
        if v["verdict"] == "match":
            assert v["library_user"] == v["candidates"][0]["library_user"]
        else:
            assert v["library_user"] is None
    return out


@pytest.mark.parametrize("top_k", [0, 2])
def test_identify_gives_the_cli_verdicts(server, corpus, tmp_path, top_k):
    expected = _cli_verdicts(corpus, tmp_path, top_k)
    with server.client(corpus.tokens["all"]) as c:
        r = c.post("/v1/rejoin/identify", json={"events": corpus.events, "top_k": top_k})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["library_users"] == corpus.n_library
    got = _service_verdicts(body["verdicts"])
    assert got == expected
    decisions = [v[0] for v in got.values()]
    assert len(got) == 12
    assert decisions.count("match") >= 6 and decisions.count("new") >= 3  # a telling corpus
    # the users really are the renamed ones: a match names the query's own library id
    for user, (decision, candidates) in got.items():
        if decision == "match":
            assert candidates[0][1] == user.removeprefix("q-")


def test_identify_refuses_bad_events_with_their_index(server, corpus):
    good = corpus.events[:3]
    cases = [
        ([*good, {"user_id": "x", "ts": "2013-11-04T08:00:00"}], 3, "exactly one of url or"),
        ([{"user_id": "x", "ts": "not a time", "url": "http://a.com/"}], 0, "bad time"),
        ([*good, {"user_id": "x", "ts": "2013-11-04T08:00:00", "site": "a.com"}], 3, "mixes"),
    ]  # fmt: skip
    with server.client(corpus.tokens["all"]) as c:
        for events, index, reason in cases:
            r = c.post("/v1/rejoin/identify", json={"events": events})
            assert r.status_code == 422, r.text
            detail = r.json()["error"]["details"][0]
            assert detail["index"] == index and reason in detail["reason"]
        r = c.post("/v1/rejoin/identify", json={"events": good, "method": "learned"})
        assert r.status_code == 422 and "rejoin train" in r.json()["error"]["message"]
        r = c.post("/v1/rejoin/identify", json={"events": good, "top_k": -1})
        assert r.status_code == 422


def test_a_new_workspace_version_is_served_without_a_restart(corpus, tmp_path):
    workspace = tmp_path / "w.duckdb"
    shutil.copy(corpus.workspace, workspace)
    shutil.copy(corpus.workspace.with_name("w.duckdb.store"), tmp_path / "w.duckdb.store")
    shutil.copy(
        corpus.workspace.with_name("w.duckdb.tokens.json"), tmp_path / "w.duckdb.tokens.json"
    )
    server = start_server(workspace, tmp_path / "server.log", "--reload-check-seconds", "0.3")
    failures: list[str] = []
    stop = threading.Event()

    def keep_asking() -> None:  # requests during the reload must all be answered
        with server.client(corpus.tokens["all"]) as c:
            while not stop.is_set():
                r = c.post("/v1/rejoin/identify", json={"events": corpus.events[:200]})
                if r.status_code != 200:
                    failures.append(r.text)

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        cli("rejoin", "index", str(corpus.extra_library), "--workspace", str(workspace))
        deadline = time.monotonic() + 60
        with server.client() as c:
            while c.get("/healthz").json()["library_users"] == corpus.n_library:
                assert time.monotonic() < deadline, server.log()
                time.sleep(0.2)
            grown = c.get("/healthz").json()["library_users"]
    finally:
        stop.set()
        asker.join()
        code = server.stop()
    assert grown == corpus.n_library + 6
    assert failures == []
    assert code == 0
    assert "loaded: " + str(grown) + " users" in server.log()


@pytest.mark.slow
def test_learned_and_tfidf_give_the_cli_verdicts(corpus, tmp_path):
    """With a matcher trained on the workspace (`rejoin train`, ~20 CPU-s), the service's
    learned, TF-IDF and auto verdicts are the CLI's, and auto is the default of both."""
    workspace = tmp_path / "w.duckdb"
    shutil.copy(corpus.workspace, workspace)
    shutil.copy(corpus.workspace.with_name("w.duckdb.store"), tmp_path / "w.duckdb.store")
    cli("rejoin", "train", "--workspace", str(workspace))
    methods = ("learned", "tfidf", "auto")
    expected = {m: _cli_verdicts(corpus, tmp_path, 1, m, workspace) for m in methods}
    server = start_server(workspace, tmp_path / "server.log", "--no-auth")
    try:
        with server.client() as c:
            got = {
                m: _service_verdicts(c.post("/v1/rejoin/identify",
                                            json={"events": corpus.events, "method": m,
                                                  "top_k": 1}).json()["verdicts"])
                for m in methods
            }  # fmt: skip
            default = c.post("/v1/rejoin/identify", json={"events": corpus.events, "top_k": 1})
    finally:
        server.stop()
    assert got == expected
    assert _service_verdicts(default.json()["verdicts"]) == got["auto"]  # the CLI's default too
    assert all(len(v) == 12 for v in got.values())
    assert sum(v[0] == "match" for v in got["tfidf"].values()) >= 4
