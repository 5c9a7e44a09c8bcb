"""Daily partials on every engine: the same SQL text gives, on DuckDB and on Spark, the
profiles of the whole window at once (step 1's direct path, on DuckDB, is the oracle) — from
one batch of all days, and from batches of days derived apart and aggregated together."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from netpersona.rejoin import RejoinSettings
from netpersona.rejoin._daily import aggregate, build_from_log
from netpersona.rejoin._daily_sql import PARTIALS, partial_statements
from netpersona.rejoin._sql import render
from rejoin._daily_data import as_table, canonical, in_window, oracle

START = dt.datetime(2024, 5, 1)


def _rows(seed: int) -> list[tuple]:
    rnd = random.Random(seed)
    rows = []
    for _ in range(300):
        ts = START + dt.timedelta(days=rnd.randrange(6), hours=rnd.choice([0, 1, 12, 23]),
                                  minutes=rnd.randrange(3), seconds=rnd.randrange(2))  # fmt: skip
        rows.append((f"u{rnd.randrange(6)}", ts, rnd.choice("abcd")))
    return rows + rows[:20]  # exact duplicates


SETTINGS = RejoinSettings(frequent_ratio=0.5, active_minutes=2)


def _load(engine, name: str, rows: list[tuple]) -> None:
    engine.register_arrow(f"{name}_src", as_table(rows))
    engine.create_table(name, f"SELECT * FROM {name}_src")


def test_partials_of_all_days_aggregate_to_the_window_at_once(engine):
    rows = _rows(1)
    _load(engine, "daily_log", rows)
    start = (START + dt.timedelta(days=2)).date()
    build_from_log(engine, "daily_log", "daily", SETTINGS, start=start)
    assert canonical(engine, "daily") == oracle(in_window(rows, 4), SETTINGS)


@pytest.mark.parametrize("cut", [2, 4])
def test_batches_of_days_derived_apart_aggregate_to_the_whole(engine, cut):
    rows = _rows(cut)
    boundary = (START + dt.timedelta(days=cut)).date()
    batches = [[r for r in rows if r[1].date() < boundary],
               [r for r in rows if r[1].date() >= boundary]]  # fmt: skip
    for i, batch in enumerate(batches):
        _load(engine, f"batch{i}", batch)
        for table, select, lists in partial_statements(f"batch{i}", f"b{i}"):
            engine.create_table(table, render(select, engine.dialect, lists))
    partials = {}
    for part in PARTIALS:
        union = f"SELECT * FROM b0_{part} UNION ALL SELECT * FROM b1_{part}"
        engine.create_table(f"u_{part}", union)
        partials[part] = f"u_{part}"
    aggregate(engine, "joined", SETTINGS, None, None, "batch0", partials)
    assert canonical(engine, "joined") == oracle(rows, SETTINGS)
