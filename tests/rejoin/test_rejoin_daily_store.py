"""The daily store beside the workspace (``W.store``): what lives where, the running sums a
daily batch moves, a workspace of the old layout (everything in ``W``) moved over by its first
``add-day``, and a store left one batch ahead of the library file caught up by the next build."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from _daily_data import MAPPING, canonical, in_window, oracle, write_log

from netpersona._core import InputError
from netpersona.engine import DuckDBEngine, Workspace
from netpersona.rejoin import Library

DAY0 = dt.date(2024, 3, 1)
PARTIALS = ("rejoin_day_users", "rejoin_day_cells", "rejoin_day_minutes", "rejoin_day_items")
STORE_ONLY = ("library_log", *PARTIALS, "rejoin_sum_sites", "rejoin_sum_cells", "rejoin_site_ids")


def _rows(days: list[int], users: int = 4) -> list[tuple]:
    start = dt.datetime.combine(DAY0, dt.time())
    return [
        (f"u{u}", start + dt.timedelta(days=d, hours=h, minutes=m), "abcdef"[(u * d + m) % 6])
        for d in days for u in range(users) if (u + d) % 3 for h in (8, 21) for m in range(4)
    ]  # fmt: skip


def _tables(path) -> set[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()


def _library(workspace) -> dict:
    with Workspace.reader(workspace) as ws:
        return canonical(ws, "library")


def _sums(workspace) -> list[tuple]:
    with DuckDBEngine(Workspace.store_path(workspace), read_only=True) as store:
        return sorted(
            store.fetch_arrow(
                "SELECT user_id, site, days FROM rejoin_sum_sites JOIN rejoin_site_ids USING (sid)"
            )
            .to_pylist(),
            key=lambda r: (r["user_id"], r["site"]),
        )  # fmt: skip


def test_readers_file_holds_the_library_the_store_the_rows_and_sums_follow_the_days(tmp_path):
    workspace = tmp_path / "w.duckdb"
    rows = _rows(list(range(9)))
    for d in range(9):
        day = DAY0 + dt.timedelta(days=d)
        batch = write_log([r for r in rows if r[1].date() == day], tmp_path / f"d{d}.csv")
        Library.add_day(workspace, batch, MAPPING, window_days=4)
        assert _library(workspace) == oracle(in_window([r for r in rows if r[1].date() <= day], 4))
    # the raw rows, partials and sums are only in the store; the readers' file holds the
    # library (sequences per day of the window) and no row of the log
    assert not set(STORE_ONLY) & _tables(workspace)
    assert set(STORE_ONLY) <= _tables(Workspace.store_path(workspace))
    days = sorted(t for t in _tables(workspace) if t.startswith("library_items_"))
    assert days == [f"library_items_{DAY0 + dt.timedelta(days=d):%Y%m%d}" for d in range(5, 9)]
    # the requests per (user, site, day, hour) the learned matcher counts, kept per day too
    with Workspace.reader(workspace) as ws:
        events = ws.fetch_arrow(
            "SELECT u.user_id, s.site, e.day, e.h, e.events FROM library_window_events AS e "
            "JOIN library_users AS u USING (uid) JOIN library_sites AS s USING (site_id)"
        ).to_pylist()
    counted: dict[tuple, int] = {}
    for user, ts, site in in_window(rows, 4):
        key = (user, site, ts.date(), ts.hour)
        counted[key] = counted.get(key, 0) + 1
    assert {(e["user_id"], e["site"], e["day"], e["h"]): e["events"] for e in events} == counted
    # the sums moved day by day are those of the window summed at once
    window = in_window(rows, 4)
    want = {}
    for user, ts, site in window:
        want.setdefault((user, site), set()).add(ts.date())
    assert _sums(workspace) == sorted(
        ({"user_id": u, "site": s, "days": len(d)} for (u, s), d in want.items()),
        key=lambda r: (r["user_id"], r["site"]),
    )


def _to_old_layout(workspace) -> None:
    """Rewrite a workspace the way the layout before ``W.store`` kept it: every table of the
    store inside ``W``, the sequences as a table, no per-day tables, no store file."""
    store = Workspace.store_path(workspace)
    con = duckdb.connect(str(workspace))
    con.execute(f"ATTACH '{store}' AS s (READ_ONLY)")
    for table in ("library_log", *PARTIALS, "rejoin_links_applied", "rejoin_days", "rejoin_daily"):
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM s.main.{table}")
    con.execute("ALTER TABLE rejoin_daily DROP COLUMN token")
    con.execute("ALTER TABLE rejoin_daily DROP COLUMN rows")
    con.execute("CREATE TABLE _netpersona_ingested AS SELECT * FROM s.main._netpersona_ingested")
    con.execute("CREATE TABLE seq AS SELECT * FROM library_sequences")
    con.execute("DROP VIEW library_sequences")
    con.execute("DROP VIEW library_window_events")
    con.execute("ALTER TABLE seq RENAME TO library_sequences")
    for (table,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'w' AND (table_name LIKE "
        "'library_items%' OR table_name LIKE 'library_events%' OR table_name IN "
        "('library_site_lookup', 'library_item_skips', 'library_sequence_lengths'))"
    ).fetchall():
        con.execute(f"DROP TABLE {table}")
    con.execute("DETACH s")
    con.close()
    store.unlink()


def test_an_old_layout_workspace_moves_to_the_store_on_its_first_add_day(tmp_path):
    workspace = tmp_path / "w.duckdb"
    rows = _rows(list(range(6)))
    first = [r for r in rows if r[1].date() < DAY0 + dt.timedelta(days=5)]
    Library.add_day(workspace, write_log(first, tmp_path / "a.csv"), MAPPING, window_days=4)
    _to_old_layout(workspace)
    assert "library_log" in _tables(workspace)
    assert Library.status(workspace).rows == len(in_window(first, 4))  # the old layout read
    assert _library(workspace) == oracle(in_window(first, 4))
    again = Library.add_day(workspace, tmp_path / "a.csv", MAPPING)  # its ledger came along
    assert again.read.skipped
    last = [r for r in rows if r not in first]
    Library.add_day(workspace, write_log(last, tmp_path / "b.csv"), MAPPING)
    assert _library(workspace) == oracle(in_window(rows, 4))
    assert "library_log" not in _tables(workspace)
    assert "library_log" in _tables(Workspace.store_path(workspace))
    assert Library.status(workspace).rows == len(in_window(rows, 4))


@pytest.mark.parametrize("window", [None, 3])
def test_a_store_ahead_of_the_library_file_is_caught_up_by_the_next_build(tmp_path, window):
    workspace = tmp_path / "w.duckdb"
    rows = _rows(list(range(5)))
    first = [r for r in rows if r[1].date() < DAY0 + dt.timedelta(days=3)]
    Library.add_day(workspace, write_log(first, tmp_path / "a.csv"), MAPPING,
                    window_days=window or 60)  # fmt: skip
    before = _library(workspace)
    # a build whose store committed and whose library file never came (killed between them)
    with Workspace.store_build(workspace, what="rejoin add-day") as ws:
        from netpersona.rejoin._daily_run import _read_batch, apply_batch, read_state
        from netpersona.rejoin._daily_run import _write_state as write_state

        ws.execute("BEGIN TRANSACTION")
        state = read_state(ws)
        ahead = [r for r in rows if r[1].date() == DAY0 + dt.timedelta(days=3)]
        rest = write_log(ahead, tmp_path / "b.csv")
        _read_batch(ws, rest, MAPPING, None, workspace)
        done = apply_batch(ws, state["window_days"], state["window_days"], previous=state,
                           in_sync=True)  # fmt: skip
        write_state(ws, state["window_days"], None, done["days"][-1], done, "ahead", 0)
        ws.execute("COMMIT")
    assert _library(workspace) == before  # readers: the previous library, whole
    # the next day: the tokens differ, so the library is written from the store whole (its
    # per-day sequences too), not moved by the day alone
    last = [r for r in rows if r[1].date() == DAY0 + dt.timedelta(days=4)]
    Library.add_day(workspace, write_log(last, tmp_path / "c.csv"), MAPPING)
    assert _library(workspace) == oracle(in_window(rows, window))


def test_a_store_left_beside_a_new_workspace_is_not_taken_for_its_own(tmp_path):
    workspace = tmp_path / "w.duckdb"
    Library.add_day(workspace, write_log(_rows([0, 1]), tmp_path / "a.csv"), MAPPING)
    workspace.unlink()  # the workspace file removed, its store left behind
    other = _rows([5], users=2)
    Library.index(workspace, write_log(other, tmp_path / "b.csv"), MAPPING)
    assert _library(workspace) == oracle(other)
    assert Library.status(workspace).rows == len(other)


def test_a_workspace_file_without_its_store_is_refused_not_rebuilt_from_the_new_rows(tmp_path):
    workspace = tmp_path / "w.duckdb"
    Library.add_day(workspace, write_log(_rows([0, 1]), tmp_path / "a.csv"), MAPPING)
    before = _library(workspace)
    Workspace.store_path(workspace).unlink()  # e.g. W copied somewhere without W.store
    day = write_log(_rows([2]), tmp_path / "b.csv")
    with pytest.raises(InputError, match=r"daily store .* is missing"):
        Library.add_day(workspace, day, MAPPING)
    assert _library(workspace) == before and not Workspace.store_path(workspace).exists()
    Library.index(workspace, day, MAPPING, force=True)  # or built afresh
    assert _library(workspace) == oracle(_rows([2]))


def test_a_build_leaves_duckdb_less_of_its_limit_as_the_store_grows(tmp_path, monkeypatch):
    """DuckDB's metadata of the store's tables lies outside its own memory limit: while a
    batch is read, DuckDB gets its limit less a reserve for the rows the store held; while it
    is derived and the library written, less one for the rows held with the batch's. What is
    built does not change with it."""
    from netpersona._core import parse_size
    from netpersona.rejoin import _daily_run
    from netpersona.rejoin._daily_run import engine_share

    seen: dict[str, list[float]] = {"read": [], "write": []}
    limit = parse_size("4GB")  # DuckDB shows its setting to 0.1 GiB: compared to 0.03

    def watch(name, real):
        def watched(ws, *args, **kwargs):
            setting = str(ws.fetch_scalar("SELECT current_setting('memory_limit')"))
            seen[name].append(parse_size(setting.replace(" ", "")) / limit)
            return real(ws, *args, **kwargs)

        return watched

    monkeypatch.setattr(_daily_run, "_read_batch", watch("read", _daily_run._read_batch))
    monkeypatch.setattr(_daily_run, "write_library", watch("write", _daily_run.write_library))
    monkeypatch.setenv("NETPERSONA_MEMORY_LIMIT", "4GB")
    # a reserve of 8 MiB a row makes the few rows here count like a billion
    monkeypatch.setattr(_daily_run, "OUTSIDE_BYTES_PER_ROW", 8 * 2**20)
    rows = _rows(list(range(4)))
    reserved, whole = tmp_path / "reserved.duckdb", tmp_path / "whole.duckdb"
    held = [0]
    for d in range(4):
        day = DAY0 + dt.timedelta(days=d)
        batch = write_log([r for r in rows if r[1].date() == day], tmp_path / f"d{d}.csv")
        held.append(Library.add_day(reserved, batch, MAPPING).rows)
    assert held == sorted(held) and held[-1] == len(rows)
    for got, want in zip(seen["read"], held[:-1], strict=True):
        assert got == pytest.approx(engine_share(limit, want), abs=0.03)
    for got, want in zip(seen["write"], held[1:], strict=True):
        assert got == pytest.approx(engine_share(limit, want), abs=0.03)
    assert seen["write"][-1] < seen["write"][0] < seen["read"][0] < 1
    assert engine_share(limit, 10**12) == _daily_run.MIN_ENGINE_SHARE  # never below the floor
    monkeypatch.setattr(_daily_run, "MIN_ENGINE_SHARE", 0.999)  # no reserve at all
    monkeypatch.setattr(_daily_run, "OUTSIDE_BYTES", 0)
    monkeypatch.setattr(_daily_run, "OUTSIDE_BYTES_PER_ROW", 0.0)
    log = write_log(rows, tmp_path / "all.csv")
    Library.add_day(whole, log, MAPPING)
    assert _library(reserved) == _library(whole)
