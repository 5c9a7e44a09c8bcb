"""Device tiers' monthly features (``devices._features``) on every engine.

:func:`monthly_features` runs through the Engine API, so the one query (DuckDB's ``epoch`` of
intervals, ``generate_series``/``unnest``, ``::`` casts and interval arithmetic) runs on Spark
translated, with no second version.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from netpersona.devices._features import FEATURES_TABLE, monthly_features
from netpersona.devices._reports import SESSIONS_TABLE

MB = 1024.0 * 1024.0


def _sessions() -> pa.Table:
    t = dt.datetime
    rows = [
        # two overlapping sessions count once: 22:00-01:00 across midnight, 23:00-23:30
        ("u1", t(2024, 5, 1, 22), t(2024, 5, 2, 1), 2 * MB, 1 * MB),
        ("u1", t(2024, 5, 1, 23), t(2024, 5, 1, 23, 30), 0.0, 1 * MB),
        # crossing into June: only May's share of its traffic counts
        ("u2", t(2024, 5, 31, 23), t(2024, 6, 1, 1), 4 * MB, 0.0),
        # April only: no row for May
        ("u3", t(2024, 4, 3, 10), t(2024, 4, 3, 11), 1 * MB, 0.0),
    ]
    cols = list(zip(*rows, strict=True))
    return pa.table(
        {
            "user_id": pa.array(cols[0], pa.string()),
            "logon": pa.array(cols[1], pa.timestamp("us")),
            "logoff": pa.array(cols[2], pa.timestamp("us")),
            "up": pa.array(cols[3], pa.float64()),
            "down": pa.array(cols[4], pa.float64()),
        }
    )


def test_monthly_features_run_alike_on_every_engine(engine):
    engine.register_arrow(SESSIONS_TABLE, _sessions())
    assert monthly_features(engine, "2024-05") == 2
    rows = engine.fetch_arrow(
        f"SELECT user, online_days, online_hours, avgontime, avguseflow, buycounts "
        f"FROM {FEATURES_TABLE} ORDER BY user"
    ).to_pylist()
    assert [r["user"] for r in rows] == ["u1", "u2"]
    u1, u2 = rows
    assert u1["online_days"] == 2 and u1["online_hours"] == pytest.approx(3.0)
    assert u1["avgontime"] == pytest.approx(1.5)
    assert u1["avguseflow"] == pytest.approx(4.0 / 2)
    assert u2["online_days"] == 1 and u2["online_hours"] == pytest.approx(1.0)
    assert u2["avguseflow"] == pytest.approx(2.0)
    assert u1["buycounts"] == u2["buycounts"] == 0
