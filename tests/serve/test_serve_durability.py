"""The acknowledgement is a promise: kill -9 under load, SIGTERM, a full queue, and the
reports folder read back by `devices features --reports`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time

import httpx
import pytest
from serve_support import GOOD_REPORT, cli, free_port, report_lines, start_server

CLIENTS, PER_CLIENT = 32, 25


@pytest.fixture
def workspace(corpus, tmp_path):
    shutil.copy(corpus.workspace, tmp_path / "w.duckdb")
    shutil.copy(
        corpus.workspace.with_name("w.duckdb.tokens.json"), tmp_path / "w.duckdb.tokens.json"
    )
    return tmp_path / "w.duckdb"


def _report(client: int, n: int) -> dict:
    return {
        **GOOD_REPORT,
        "username": f"1380{client:03d}{n:04d}",
        "report_id": f"c{client}-{n}",
        "upflow": n,
    }


def test_kill_9_under_load_loses_and_repeats_no_acknowledged_report(corpus, workspace):
    """32 clients send reports one by one; the server is killed (SIGKILL) mid-stream and
    restarted; clients retry what was not acknowledged. Every acknowledged report is in the
    files exactly once, every line is JSON, and a torn tail is cut off and said so."""
    port, folder = free_port(), workspace.with_name("w.duckdb.reports")
    log_path = workspace.with_name("server.log")
    token = corpus.tokens["ingest"]
    acked: list[set[str]] = [set() for _ in range(CLIENTS)]
    errors = [0] * CLIENTS
    deadline = time.monotonic() + 120

    def client(i: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5,
                          headers={"Authorization": f"Bearer {token}"}) as c:  # fmt: skip
            n = 0
            while n < PER_CLIENT and time.monotonic() < deadline:
                report = _report(i, n)
                try:
                    r = c.post("/v1/device-reports", json=report)
                except httpx.HTTPError:
                    errors[i] += 1
                    time.sleep(0.05)
                    continue
                if r.status_code == 200:
                    acked[i].add(report["report_id"])
                    n += 1
                else:
                    assert r.status_code == 503, r.text
                    time.sleep(0.05)

    first = start_server(workspace, log_path, port=port)
    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    while sum(map(len, acked)) < CLIENTS * PER_CLIENT // 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    first.process.send_signal(signal.SIGKILL)
    assert first.process.wait(10) == -signal.SIGKILL
    at_kill = sum(map(len, acked))
    # a write cut short leaves a torn last line; make sure there is one to repair
    day_file = sorted(folder.glob("*.jsonl"))[-1]
    if day_file.read_bytes().endswith(b"\n"):
        with open(day_file, "ab") as f:
            f.write(b'{"username":"1380000999","logontime":"2024-03-')
    second = start_server(workspace, log_path, port=port)
    for t in threads:
        t.join()
    assert second.stop() == 0

    assert all(len(a) == PER_CLIENT for a in acked), "clients did not finish in time"
    assert 0 < at_kill < CLIENTS * PER_CLIENT
    lines = report_lines(folder)
    stored = [json.loads(line) for line in lines]  # every line is JSON
    ids = [r["report_id"] for r in stored]
    assert len(ids) == len(set(ids))  # nothing stored twice
    assert set(ids) == set().union(*acked)  # every acknowledged report, and nothing else
    log = second.log()
    assert "its last line was torn" in log and "cut off and kept in" in log
    kept = list((folder / ".quarantine").glob("*.torn"))
    assert kept and kept[0].read_bytes().endswith(b"2024-03-")
    assert "1380000999" not in log  # the torn line's subscriber id is not printed

    out = workspace.with_name("features.csv")
    result = cli("devices", "features", "--reports", str(folder), "--month", "2024-03",
                 "--out", str(out))  # fmt: skip
    assert "reports read" in result.stdout
    features = out.read_text().splitlines()
    assert len(features) == 1 + CLIENTS * PER_CLIENT  # one user per report, all of them read


def test_sigterm_answers_what_is_in_flight_and_exits_0(corpus, workspace):
    """Clients send batches of 50 until the server stops; every batch answered 200 is
    stored whole, nothing else is, and the process exits 0."""
    server = start_server(workspace, workspace.with_name("server.log"))
    token = corpus.tokens["ingest"]
    answered: list[set[str]] = [set() for _ in range(8)]

    def send(i: int) -> None:
        with server.client(token) as c:
            for k in range(1000):
                batch = [_report(100 + i, 50 * k + n) for n in range(50)]
                try:
                    r = c.post("/v1/device-reports", json=batch)
                except httpx.HTTPError:
                    return  # the server stopped listening
                if r.status_code != 200:
                    return
                answered[i].update(b["report_id"] for b in batch)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while sum(map(len, answered)) < 1000 and time.monotonic() < deadline:
        time.sleep(0.01)
    code = server.stop(signal.SIGTERM)
    for t in threads:
        t.join()
    assert code == 0
    folder = workspace.with_name("w.duckdb.reports")
    stored = [json.loads(line)["report_id"] for line in report_lines(folder)]
    assert len(stored) == len(set(stored))
    assert set(stored) == set().union(*answered)
    assert len(stored) >= 1000 and len(stored) % 50 == 0  # whole batches only
    assert "every acknowledged report is on disk" in server.log()


def test_a_full_writer_queue_is_503_with_retry_after(corpus, workspace):
    server = start_server(workspace, workspace.with_name("server.log"), "--queue-max-reports", "3")
    try:
        with server.client(corpus.tokens["ingest"]) as c:
            r = c.post("/v1/device-reports", json=[_report(1, n) for n in range(4)])
            ok = c.post("/v1/device-reports", json=[_report(1, n) for n in range(3)])
    finally:
        server.stop()
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"
    assert r.json()["error"]["code"] == "busy"
    assert ok.json() == {"accepted": 3, "duplicates": 0}


def test_serve_refuses_to_start_without_tokens_unless_no_auth_on_loopback(tmp_path, corpus):
    workspace = tmp_path / "w.duckdb"
    shutil.copy(corpus.workspace, workspace)  # no token file beside this copy
    refused = cli("serve", "--workspace", str(workspace), check=False)
    assert refused.returncode == 1
    assert "no access token is defined" in refused.stderr
    public = cli("serve", "--workspace", str(workspace), "--no-auth", "--host", "0.0.0.0",
                 check=False)  # fmt: skip
    assert public.returncode == 1 and "binds to 127.0.0.1 only" in public.stderr
    server = start_server(workspace, tmp_path / "server.log", "--no-auth")
    try:
        with server.client() as c:
            r = c.post("/v1/device-reports", json=GOOD_REPORT)
    finally:
        server.stop()
    assert r.json() == {"accepted": 1, "duplicates": 0}


def test_a_second_server_on_the_same_reports_folder_is_refused(corpus, workspace):
    server = start_server(workspace, workspace.with_name("server.log"))
    try:
        other = cli("serve", "--workspace", str(workspace), "--port", str(free_port()),
                    check=False)  # fmt: skip
    finally:
        server.stop()
    assert other.returncode == 1
    assert "another netpersona serve is writing to" in other.stderr
    assert "Traceback" not in other.stderr
    assert os.path.exists(workspace.with_name("w.duckdb.reports"))
