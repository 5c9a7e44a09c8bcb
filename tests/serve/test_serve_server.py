"""The real server process over HTTP: every endpoint, auth, limits, bad input, duplicates."""

from __future__ import annotations

import json
import time

import pytest
from serve_support import GOOD_REPORT, cli, report_lines

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def reports_dir(server):
    return server.log_path.parent / "w.duckdb.reports"


def test_healthz_needs_no_token_and_counts_the_library(server, corpus):
    with server.client() as c:
        r = c.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "library_users": corpus.n_library}
    assert corpus.n_library == 48


@pytest.mark.parametrize(
    "header, status, code",
    [
        (None, 401, "unauthorized"),
        ("Bearer", 401, "unauthorized"),
        ("Basic dXNlcjpwYXNz", 401, "unauthorized"),
        ("Bearer np_not-a-real-token", 401, "unauthorized"),
    ],
)
def test_requests_without_a_valid_token_are_refused(server, header, status, code):
    headers = {"Authorization": header} if header else {}
    with server.client() as c:
        r = c.post("/v1/device-reports", json=GOOD_REPORT, headers=headers)
    assert r.status_code == status
    assert r.json()["error"]["code"] == code
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_a_token_without_the_scope_is_forbidden(server, corpus):
    with server.client(corpus.tokens["reader"]) as c:
        r = c.post("/v1/device-reports", json=GOOD_REPORT)
        assert r.status_code == 403
        assert "ingest" in r.json()["error"]["message"]
        assert c.post("/v1/rejoin/identify", json={"events": corpus.events}).status_code == 403
        assert c.get("/v1/devices/13800001111/tier").status_code == 200  # read: allowed
    with server.client(corpus.tokens["ingest"]) as c:
        assert c.get("/v1/devices/13800001111/tier").status_code == 403
        assert c.get("/metrics").status_code == 403


def test_a_revoked_token_stops_working_within_five_seconds(server):
    workspace = str(server.log_path.parent / "w.duckdb")
    token = cli("tokens", "create", "short-lived", "--scope", "read", "--workspace",
                workspace).stdout.strip()  # fmt: skip
    with server.client(token) as c:
        deadline = time.monotonic() + 5
        while c.get("/v1/devices/13800001111/tier").status_code != 200:  # picked up the new file
            assert time.monotonic() < deadline
            time.sleep(0.1)
        cli("tokens", "revoke", "short-lived", "--workspace", workspace)
        revoked_at = time.monotonic()
        while c.get("/v1/devices/13800001111/tier").status_code == 200:
            assert time.monotonic() - revoked_at < 5, "revoked token still accepted after 5 s"
            time.sleep(0.1)
        r = c.get("/v1/devices/13800001111/tier")
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "unknown or revoked token"


def test_a_report_is_stored_once_and_acknowledged_as_duplicate_after(server, corpus):
    report = {**GOOD_REPORT, "username": "13900002222", "report_id": "dev-7/0001"}
    with server.client(corpus.tokens["ingest"]) as c:
        first = c.post("/v1/device-reports", json=report)
        again = c.post("/v1/device-reports", json=report)
        # no report_id: the content's hash is the key, whatever the key order or spacing
        plain = {**GOOD_REPORT, "username": "13900003333"}
        third = c.post("/v1/device-reports", json=plain)
        reordered = json.dumps(dict(reversed(list(plain.items()))), indent=2)
        fourth = c.post(
            "/v1/device-reports", content=reordered, headers={"content-type": "application/json"}
        )
    assert first.json() == {"accepted": 1, "duplicates": 0}
    assert again.json() == {"accepted": 0, "duplicates": 1}
    assert third.json() == {"accepted": 1, "duplicates": 0}
    assert fourth.json() == {"accepted": 0, "duplicates": 1}
    stored = [json.loads(line) for line in report_lines(reports_dir(server))]
    assert stored.count(report) == 1 and stored.count(plain) == 1


def test_array_and_ndjson_batches_with_duplicates_inside(server, corpus):
    batch = [{**GOOD_REPORT, "username": f"1370000{i:04d}"} for i in range(5)]
    ndjson = "\n".join(json.dumps({**GOOD_REPORT, "username": f"1360000{i:04d}"}) for i in range(3))
    with server.client(corpus.tokens["ingest"]) as c:
        r1 = c.post("/v1/device-reports", json=[*batch, batch[0]])
        r2 = c.post(
            "/v1/device-reports", content=ndjson + "\n\n",
            headers={"content-type": "application/x-ndjson"},
        )  # fmt: skip
    assert r1.json() == {"accepted": 5, "duplicates": 1}
    assert r2.json() == {"accepted": 3, "duplicates": 0}


def test_one_bad_report_in_a_batch_stores_nothing(server, corpus):
    before = report_lines(reports_dir(server))
    batch = [
        {**GOOD_REPORT, "username": "13500000001"},
        {**GOOD_REPORT, "username": "13500000002", "upflow": "lots"},
        {**GOOD_REPORT, "username": "13500000003", "logontime": None},
        "not an object",
    ]
    with server.client(corpus.tokens["ingest"]) as c:
        r = c.post("/v1/device-reports", json=batch[:3])
        r2 = c.post("/v1/device-reports", json=batch)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_reports"
    assert error["details"] == [
        {"index": 1, "reason": "unreadable upflow 'lots': expected a number, optionally with a "
                               "unit (B, KB, MB, GB)"},
        {"index": 2, "reason": "missing logontime"},
    ]  # fmt: skip
    assert r2.status_code == 422
    assert r2.json()["error"]["details"] == [{"index": 3, "reason": "not a JSON object"}]
    assert report_lines(reports_dir(server)) == before


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b'{"username": "1380000', "application/json"),
        (b"\xff\xfe", "application/json"),
        (b'{"username": "1"}\n{oops', "application/x-ndjson"),
    ],
)
def test_malformed_json_is_400(server, corpus, body, content_type):
    with server.client(corpus.tokens["all"]) as c:
        r = c.post("/v1/device-reports", content=body, headers={"content-type": content_type})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "bad_json"


def test_limits_body_size_and_events(server, corpus):
    big = [{**GOOD_REPORT, "username": f"1330000{i:04d}", "pad": "x" * 400} for i in range(2000)]
    events = [{"user_id": "x", "ts": "2024-03-01T08:00:00", "site": "a.cn"}] * 5001
    with server.client(corpus.tokens["all"]) as c:
        r_body = c.post("/v1/device-reports", json=big)
        r_events = c.post("/v1/rejoin/identify", json={"events": events})
    assert r_body.status_code == 413 and r_body.json()["error"]["code"] == "too_large"
    assert r_events.status_code == 413
    assert r_events.json()["error"]["code"] == "too_many_events"


def test_tiers_by_id_and_404_for_unknown(server, corpus):
    with server.client(corpus.tokens["reader"]) as c:
        device = c.get("/v1/devices/13800001111/tier")
        customer = c.get("/v1/customers/C-0001/tier")
        unknown = c.get("/v1/devices/13899998888/tier")
    assert device.json() == {
        "id": "13800001111", "tier": "vip", "p_vip": 0.8, "p_growth": 0.15,
        "p_ordinary": 0.05, "out_of_range": False,
    }  # fmt: skip
    assert customer.json() == {"id": "C-0001", "K": 0.81, "tier": "A"}
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == "no tier for 138****8888"  # masked


def test_metrics_count_requests_and_reports(server, corpus):
    with server.client(corpus.tokens["all"]) as c:
        c.post("/v1/device-reports", json={**GOOD_REPORT, "username": "13100000042"})
        text = c.get("/metrics").text
    assert (
        'netpersona_http_requests_total{method="POST",route="/v1/device-reports",status="200"}'
        in text
    )
    assert 'route="/v1/devices/{user}/tier"' in text  # templates, never raw ids
    assert "13800001111" not in text
    stored = [
        line for line in text.splitlines() if line.startswith("netpersona_reports_stored_total")
    ]
    assert float(stored[0].split()[-1]) >= 1
    assert "netpersona_reports_fsync_seconds_count" in text
    assert f"netpersona_library_users {float(corpus.n_library)}" in text


def test_unknown_route_and_method_answer_in_the_error_shape(server):
    with server.client() as c:
        missing = c.get("/v2/nothing")
        wrong = c.get("/v1/device-reports")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


def test_the_log_masks_subscriber_ids(server, corpus):
    with server.client(corpus.tokens["reader"]) as c:
        c.get("/v1/devices/13912345678/tier")
    log = server.log()
    assert "13912345678" not in log
    assert "13800001111" not in log
