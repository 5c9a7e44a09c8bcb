"""Daily operation: a library built day by day equals the library of the window at once.

The oracle is step 1's direct path (``build_profiles`` on all the rows at once); profiles are
compared by user id and site string. Batches come in any order, carry several days, late rows
of days already held and exact duplicates.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import subprocess
import sys

import pytest
from _core_data import habitual_log, split_log
from _daily_data import (
    MAPPING,
    add_links,
    canonical,
    in_window,
    linked,
    oracle,
    write_log,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpersona._core import ConfigError
from netpersona.engine import DuckDBEngine, Workspace
from netpersona.rejoin import Library, RejoinSettings, _profiles_parts, forget_daily

DAY0 = dt.date(2024, 3, 1)


def _row(user: int, day: int, hour: int, minute: int, second: int, site: str) -> tuple:
    start = dt.datetime.combine(DAY0, dt.time()) + dt.timedelta(days=day)
    return (f"u{user}", start + dt.timedelta(hours=hour, minutes=minute, seconds=second), site)


rows_strategy = st.lists(
    st.builds(
        _row,
        st.integers(0, 3),
        st.integers(0, 5),
        st.sampled_from([0, 1, 23]),  # hours next to a day boundary
        st.integers(0, 2),
        st.integers(0, 1),  # equal timestamps: ties broken by site
        st.sampled_from("abc"),
    ),
    min_size=1,
    max_size=60,
)


def _store(workspace) -> DuckDBEngine:
    """The daily store beside the workspace, read-only (no build runs in these tests)."""
    return DuckDBEngine(Workspace.store_path(workspace), read_only=True)


def _library(workspace) -> dict:
    with Workspace.reader(workspace) as ws:
        return canonical(ws, "library")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=rows_strategy,
    data=st.data(),
    ratio=st.sampled_from([0.3, 0.7]),
    minutes=st.sampled_from([1, 2]),
    window=st.one_of(st.none(), st.integers(2, 5)),
    parts=st.sampled_from([None, 1, 4]),
)
def test_day_by_day_equals_the_window_at_once(
    tmp_path_factory, rows, data, ratio, minutes, window, parts
):
    # parts: rows a re-derivation sorts at once (None: the memory limit's, one part here; 1 and
    # 4: every day its own part, a day cut into buckets of users)
    folder = tmp_path_factory.mktemp("days")
    workspace = folder / "w.duckdb"
    n_batches = data.draw(st.integers(1, 4), label="batches")
    # each row goes to a random batch (days arrive in any order, late rows, several days per
    # batch); some rows come twice
    batches: list[list[tuple]] = [[] for _ in range(n_batches)]
    for row in rows:
        batches[data.draw(st.integers(0, n_batches - 1))].append(row)
    for row in data.draw(st.lists(st.sampled_from(rows), max_size=10), label="duplicates"):
        batches[data.draw(st.integers(0, n_batches - 1))].append(row)
    chosen = RejoinSettings(frequent_ratio=ratio, active_minutes=minutes)
    try:
        _profiles_parts.PART_ROWS = parts
        for i, batch in enumerate(batches):
            Library.add_day(workspace, write_log(batch, folder / f"b{i}.csv"), MAPPING,
                            chosen if i == 0 else None, window_days=window or 60)  # fmt: skip
    finally:
        _profiles_parts.PART_ROWS = None
    assert _library(workspace) == oracle(in_window(rows, window), chosen)


@pytest.fixture(scope="module")
def habitual(tmp_path_factory):
    folder = tmp_path_factory.mktemp("habitual")
    library, queries, _ = split_log(habitual_log(30, 15, seed=3), query_days=4)
    rows = list(zip(*(library[c].to_pylist() for c in ("user_id", "ts", "site")), strict=True))
    write_log(list(zip(*(queries[c].to_pylist() for c in ("user_id", "ts", "site")),
                       strict=True)), folder / "queries.csv")  # fmt: skip
    write_log(rows, folder / "library.csv")
    return folder, rows


def _verdicts(library: Library, queries) -> list[tuple]:
    result = library.identify(queries, MAPPING)
    return sorted(
        (r["query_user"], r["decision"], r["library_user"], round(r["score"] or 0, 9))
        for r in result.matches.to_pylist()
    )


def test_identify_verdicts_of_a_day_by_day_library_are_those_of_the_whole_log(habitual, tmp_path):
    folder, rows = habitual
    days = sorted({r[1].date() for r in rows})
    rng = random.Random(7)
    rng.shuffle(days)
    workspace = tmp_path / "w.duckdb"
    late = rng.sample(rows, 40)  # rows that come again, a day later than their day
    for i, day in enumerate(days):
        batch = [r for r in rows if r[1].date() == day] + late[i * 4 : i * 4 + 4]
        Library.add_day(workspace, write_log(batch, tmp_path / f"d{i}.csv"), MAPPING)
    with Library.from_log(folder / "library.csv", MAPPING) as whole:
        want = _verdicts(whole, folder / "queries.csv")
    with Library.open(workspace) as daily:
        got = _verdicts(daily, folder / "queries.csv")
    assert got == want
    assert sum(1 for v in got if v[1] == "match") >= 20
    assert _library(workspace) == oracle(rows)


def _day_rows(days: list[int], users: int = 3) -> list[tuple]:
    return [_row(u, d, h, m, 0, "abcd"[(u + d + m) % 4])
            for d in days for u in range(users) for h in (9, 10) for m in range(3)]  # fmt: skip


def test_days_leave_the_window_and_are_deleted_after_keep_days(tmp_path):
    workspace = tmp_path / "w.duckdb"
    rows = _day_rows(list(range(8)))
    for d in range(8):
        batch = [r for r in rows if r[1].date() == DAY0 + dt.timedelta(days=d)]
        summary = Library.add_day(workspace, write_log(batch, tmp_path / f"d{d}.csv"), MAPPING,
                                  window_days=3, keep_days=5)  # fmt: skip
    assert summary.window_start == DAY0 + dt.timedelta(days=5)
    assert _library(workspace) == oracle(in_window(rows, 3))
    with _store(workspace) as ws:  # the raw rows and partials: in the store beside it
        held = ws.fetch_scalar("SELECT min(CAST(ts AS DATE)) FROM library_log")
        partial = ws.fetch_scalar("SELECT min(day) FROM rejoin_day_cells")
    assert held == partial == DAY0 + dt.timedelta(days=3)  # 5 days kept: days 3..7
    # a late row of a kept day outside the window: stored, the library unchanged
    before = _library(workspace)
    late = [_row(9, 4, 12, 0, 0, "z")]
    Library.add_day(workspace, write_log(late, tmp_path / "late4.csv"), MAPPING)
    assert _library(workspace) == before
    with _store(workspace) as ws:
        assert ws.fetch_scalar("SELECT count(*) FROM rejoin_day_users WHERE user_id = 'u9'") == 1
    # a row older than the days kept is left out, and said so
    old = Library.add_day(workspace, write_log([_row(1, 1, 9, 0, 0, "a")], tmp_path / "o.csv"),
                          MAPPING)  # fmt: skip
    assert old.too_old == 1 and "older than the days kept" in old.describe()
    assert _library(workspace) == before
    # the window stays what was stored; a later day moves it
    nxt = [r for r in _day_rows([8])]
    summary = Library.add_day(workspace, write_log(nxt, tmp_path / "d8.csv"), MAPPING)
    assert summary.window_days == 3 and summary.keep_days == 5
    assert _library(workspace) == oracle(in_window(rows + nxt, 3))
    with pytest.raises(ConfigError, match="shorter than the window"):
        Library.add_day(workspace, [], MAPPING, window_days=4, keep_days=2)


def test_index_holds_every_day_unless_given_a_window(tmp_path):
    rows = _day_rows(list(range(70)), users=2)
    log = write_log(rows, tmp_path / "all.csv")
    summary = Library.index(tmp_path / "w.duckdb", log, MAPPING)
    assert summary.users == 2
    status = Library.status(tmp_path / "w.duckdb")
    assert status.days_held == 70 and status.window_days is None
    assert _library(tmp_path / "w.duckdb") == oracle(rows)
    # the first add-day applies the default window, the paper's 60 days
    more = _day_rows([70], users=2)
    Library.add_day(tmp_path / "w.duckdb", write_log(more, tmp_path / "d70.csv"), MAPPING)
    assert Library.status(tmp_path / "w.duckdb").window_days == 60
    assert _library(tmp_path / "w.duckdb") == oracle(in_window(rows + more, 60))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netpersona", *args], capture_output=True,
                          text=True)  # fmt: skip


def test_status_shows_days_gaps_window_and_users(tmp_path):
    workspace = tmp_path / "w.duckdb"
    rows = _day_rows([0, 1, 4, 6])
    log = write_log(rows, tmp_path / "log.csv")
    done = _cli("rejoin", "add-day", str(log), "--site-col", "site", "--workspace",
                str(workspace), "--window-days", "10")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "3 users" in done.stdout and "4 day(s) touched" in done.stdout
    out = tmp_path / "status.json"
    shown = _cli("rejoin", "status", "--workspace", str(workspace), "--json", str(out))
    assert shown.returncode == 0, shown.stderr
    assert "gaps in the calendar: 2024-03-03 .. 2024-03-04, 2024-03-06" in shown.stdout
    status = json.loads(out.read_text())
    assert status["days_held"] == 4 and status["users"] == 3 and status["window_days"] == 10
    assert (status["first_day"], status["last_day"]) == ("2024-03-01", "2024-03-07")
    assert status["gaps"] == [["2024-03-03", "2024-03-04"], ["2024-03-06", "2024-03-06"]]
    assert status["rows"] == len(rows) and status["last_added"] == "2024-03-07"
    again = _cli("rejoin", "status", "--workspace", str(workspace), "--json", str(out))
    assert again.returncode != 0 and "Traceback" not in again.stderr  # no overwrite
    missing = _cli("rejoin", "status", "--workspace", str(tmp_path / "none.duckdb"))
    assert missing.returncode != 0 and "no such workspace" in " ".join(missing.stderr.split())


def test_identity_links_count_the_new_ids_later_days_as_the_old_ids(tmp_path):
    workspace = tmp_path / "w.duckdb"
    rows = _day_rows(list(range(6)), users=4)
    first = [r for r in rows if r[1].date() < DAY0 + dt.timedelta(days=3)]
    Library.add_day(workspace, write_log(first, tmp_path / "a.csv"), MAPPING)
    # u1 is u0 from day 2 on; u2 is u1 from day 4 on (a chain: u2's days 4.. are u0's)
    links = [("u0", "u1", DAY0 + dt.timedelta(days=2)), ("u1", "u2", DAY0 + dt.timedelta(days=4))]
    add_links(workspace, links)
    Library.add_day(workspace, [], MAPPING)  # links only: applied to the days held
    assert _library(workspace) == oracle(linked(first, links))
    rest = [r for r in rows if r not in first]
    Library.add_day(workspace, write_log(rest, tmp_path / "b.csv"), MAPPING)
    want = oracle(linked(rows, links))
    assert _library(workspace) == want
    # u1 keeps days 0-1 and u2 days 0-3 under their own ids
    days = {user: values[0] for user, values in want["users"].items()}
    assert days == {"u0": 6, "u1": 2, "u2": 4, "u3": 6}


def test_forget_daily_removes_the_id_and_what_it_fed(tmp_path):
    workspace = tmp_path / "w.duckdb"
    rows = _day_rows(list(range(4)), users=4)
    Library.add_day(workspace, write_log(rows, tmp_path / "a.csv"), MAPPING)
    links = [("u0", "u1", DAY0 + dt.timedelta(days=2))]
    add_links(workspace, links)
    Library.add_day(workspace, [], MAPPING)
    assert _library(workspace) == oracle(linked(rows, links))
    with Workspace.store_build(workspace, what="forget") as ws:
        ws.execute("BEGIN TRANSACTION")
        removed = forget_daily(ws, "u1", library=False)  # the store only: the library follows
        ws.execute("COMMIT")
        ws.execute(f"DELETE FROM {ws.next_catalog}.main.rejoin_links WHERE new_user = 'u1'")
    assert removed["library_log"] == sum(1 for r in rows if r[0] == "u1")
    assert _library(workspace) == oracle(linked(rows, links))  # not yet written again
    # the next build sees the store ahead of the library file (their tokens differ) and
    # writes the library from the store again
    Library.add_day(workspace, [], MAPPING)
    kept = [r for r in rows if r[0] != "u1"]
    assert _library(workspace) == oracle(kept)
    with _store(workspace) as ws:
        for table in ("library_log", "rejoin_day_users", "rejoin_day_cells",
                      "rejoin_day_minutes", "rejoin_day_items", "rejoin_sum_sites"):  # fmt: skip
            assert ws.fetch_scalar(f"SELECT count(*) FROM {table} WHERE user_id = 'u1'") == 0
    with Workspace.reader(workspace) as ws:
        assert ws.fetch_scalar("SELECT count(*) FROM library_users WHERE user_id = 'u1'") == 0


def test_a_file_added_before_is_skipped_and_index_force_starts_afresh(tmp_path):
    workspace = tmp_path / "w.duckdb"
    first = write_log(_day_rows([0, 1]), tmp_path / "a.csv")
    Library.index(workspace, first, MAPPING)
    again = Library.add_day(workspace, first, MAPPING)  # the same content: skipped
    assert again.read.skipped and again.rows == len(_day_rows([0, 1]))
    other = _day_rows([5], users=2)
    fresh = Library.index(workspace, write_log(other, tmp_path / "b.csv"), MAPPING, force=True)
    assert fresh.users == 2 and fresh.rows == len(other)
    assert Library.status(workspace).days_held == 1
    assert _library(workspace) == oracle(other)
