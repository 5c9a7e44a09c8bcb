"""Step 1 (profiles) on every engine: the same SQL text, the same profiles.

Each engine's profiles are checked against a plain-Python reference of the paper's rules, and
Spark's tables against DuckDB's, row for row.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyarrow as pa
import pytest

from netpersona.rejoin import RejoinSettings
from netpersona.rejoin._sql import PARTS

SETTINGS = RejoinSettings()


def reference_profiles(log: pa.Table, settings: RejoinSettings, site_codes: dict[str, int]):
    """The paper's step 1 in plain Python, per user id."""
    rows = sorted(
        zip(
            log["user_id"].to_pylist(), log["ts"].to_pylist(), log["site"].to_pylist(), strict=True
        ),
        key=lambda r: (r[0], r[1], site_codes[r[2]]),
    )
    days, site_days, minutes = (defaultdict(set) for _ in range(3))
    for user, ts, site in rows:
        days[user].add(ts.date())
        site_days[user, site].add(ts.date())
        minutes[user, ts.date(), ts.hour].add(ts.minute)
    sequences: dict[str, list[int]] = defaultdict(list)
    for user, _ts, site in rows:
        code = site_codes[site]
        if not sequences[user] or sequences[user][-1] != code:
            sequences[user].append(code)
    out = {}
    for user in sorted(days):
        n = len(days[user])
        frequent = sorted(
            site_codes[s]
            for (u, s), d in site_days.items()
            if u == user and len(d) >= settings.frequent_ratio * n - 1e-9
        )
        hours = np.zeros(24)
        for (u, _day, hour), mins in minutes.items():
            if u == user and len(mins) >= settings.active_minutes:
                hours[hour] += 1
        out[user] = {
            "online_days": n,
            "frequent": frequent,
            "hours": hours,
            "sequence": sequences[user],
        }
    return out


def _site_codes(arrays) -> dict[str, int]:
    return {s: i for i, s in enumerate(arrays.site_names.to_pylist()) if s is not None}


def test_profiles_follow_the_papers_rules(built):
    for profiles, log in ((built.library, built.library_log), (built.queries, built.query_log)):
        arrays = profiles.arrays()
        expected = reference_profiles(log, SETTINGS, _site_codes(arrays))
        assert arrays.user_ids.to_pylist() == sorted(expected)
        for row, user in enumerate(arrays.user_ids.to_pylist()):
            want = expected[user]
            assert arrays.online_days[row] == want["online_days"], user
            assert arrays.frequent_of(row).tolist() == want["frequent"], user
            np.testing.assert_array_equal(arrays.hours[row], want["hours"], err_msg=user)
            assert arrays.sequence_of(row).tolist() == want["sequence"], user
        assert sum(len(v["frequent"]) for v in expected.values()) > len(expected)
        assert any(v["hours"].sum() for v in expected.values())


def _table(engine, name: str) -> pa.Table:
    table = engine.fetch_arrow(f"SELECT * FROM {name}")
    return table.sort_by([(c, "ascending") for c in table.column_names if c != "items"])


@pytest.mark.spark
def test_spark_profiles_equal_duckdb_profiles(duckdb_built, spark_built):
    for duck_set, spark_set in (
        (duckdb_built.library, spark_built.library),
        (duckdb_built.queries, spark_built.queries),
    ):
        for part in PARTS:
            if part == "meta":
                continue
            duck = _table(duckdb_built.engine, duck_set.table(part))
            spark = _table(spark_built.engine, spark_set.table(part))
            assert spark.column_names == duck.column_names, part
            assert spark.num_rows == duck.num_rows > 0, part
            for column in duck.column_names:
                assert spark[column].to_pylist() == duck[column].to_pylist(), (part, column)
        assert spark_set.n_users == duck_set.n_users
        assert spark_set.n_sites == duck_set.n_sites
