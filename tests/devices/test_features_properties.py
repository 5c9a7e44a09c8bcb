"""Monthly features against a brute-force oracle that marks every online minute (hypothesis)."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpersona.devices import extract_features, read_sessions

START = dt.datetime(2024, 4, 29)  # sessions fall in Apr 29 .. May 3: across a month end
MINUTES = 5 * 24 * 60
MONTH_START = int((dt.datetime(2024, 5, 1) - START).total_seconds() // 60)

session = st.tuples(
    st.integers(0, MINUTES - 1),  # start minute
    st.integers(1, 40 * 60),  # length in minutes
    st.integers(0, 500),  # MB
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sessions=st.lists(session, min_size=1, max_size=6, unique_by=lambda s: s[0]))
def test_features_match_a_minute_by_minute_oracle(tmp_path_factory, sessions):
    path = tmp_path_factory.mktemp("prop") / "r.jsonl"
    lines = []
    online = np.zeros(MINUTES + 41 * 60, dtype=bool)
    flow_in_may = 0.0
    for begin, length, megabytes in sessions:
        logon = START + dt.timedelta(minutes=begin)
        lines.append(
            json.dumps(
                {
                    "username": "13800001111",
                    "logontime": f"{logon:%Y-%m-%d %H:%M:%S}",
                    "logofftime": f"{logon + dt.timedelta(minutes=length):%Y-%m-%d %H:%M:%S}",
                    "upflow": 0,
                    "downflow": megabytes,
                    "reporttime": None,
                }
            )
        )
        online[begin : begin + length] = True
        inside = max(0, begin + length - max(begin, MONTH_START))
        flow_in_may += megabytes * inside / length
    path.write_text("\n".join(lines) + "\n")
    # the oracle: May minutes online, and May days with any online minute
    may = online[MONTH_START:]
    days = may[: len(may) // 1440 * 1440].reshape(-1, 1440).any(axis=1).sum()
    days += bool(may[len(may) // 1440 * 1440 :].any())
    rows = extract_features(path, "2024-05", fields=_fields()).features.to_pylist()
    if not may.any():
        assert rows == []
        return
    (row,) = rows
    assert row["online_days"] == days
    assert row["online_hours"] == pytest.approx(may.sum() / 60)
    assert row["avgontime"] <= 24
    assert row["avguseflow"] == pytest.approx(flow_in_may / days)


def _fields():
    from netpersona.devices import ReportFields

    return ReportFields(flow_unit="MB")


@settings(max_examples=20, deadline=None)
@given(
    n_reports=st.lists(st.integers(1, 6), min_size=1, max_size=5),
    order=st.randoms(use_true_random=False),
)
def test_the_latest_report_wins_whatever_the_file_order(tmp_path_factory, n_reports, order):
    # each session: periodic reports every 10 minutes, cumulative flows, the last one final
    lines, expected = [], {}
    for s, count in enumerate(n_reports):
        logon = dt.datetime(2024, 5, 2, 8) + dt.timedelta(hours=3 * s)
        for k in range(1, count + 1):
            sent = logon + dt.timedelta(minutes=10 * k)
            final = k == count
            lines.append(json.dumps({
                "username": "13800001111", "logontime": f"{logon:%Y-%m-%d %H:%M:%S}",
                "logofftime": f"{sent:%Y-%m-%d %H:%M:%S}" if final else None,
                "upflow": k, "downflow": 10 * k,
                "reporttime": int(sent.replace(tzinfo=dt.UTC).timestamp()),
            }))  # fmt: skip
        expected[logon] = (logon + dt.timedelta(minutes=10 * count), count, 10 * count)
    order.shuffle(lines)
    path = tmp_path_factory.mktemp("order") / "r.jsonl"
    path.write_text("\n".join(lines) + "\n")
    sessions = read_sessions(path).to_pylist()
    got = {s["logon"]: (s["logoff"], s["up"], s["down"]) for s in sessions}
    assert got == expected
