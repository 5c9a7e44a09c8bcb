"""Step 1 (profiles): build rate against DuckDB's bare ``GROUP BY user_id, site``, same run.

Issue 3's target: profiles built at >= 4M rows/s and within 3x of DuckDB's bare
``GROUP BY user_id, site`` over the same table, measured in the same run. Two inputs, each a
canonical log table ``log (user_id, ts, site)`` in a DuckDB file of its own (2 threads, 4 GB):

- ``light``: the 5,000-user x 60-day synthetic URL log, loaded as canonical by the re-join
  benchmark's loader (12.7M rows; ``--quick``: the 300 x 20 log);
- ``paper``: a 50M-row slice of the paper-scale canonical log (its first 2,500 users by
  ``user_id``), when ``canonical_25809x60_seed0.parquet`` is there.

Per round, in this order: the bare GROUP BY (a count of its groups), the *ordered pass alone*
(the per-user sort every exact item sequence needs: the rows joined to integer user and site
codes made beforehand, ``row_number()`` over ``PARTITION BY uid ORDER BY ts, site_id``, nothing
kept) and the library build
(``build_profiles``, no reference). Medians of 3 rounds of wall and CPU seconds (CPU time is far
less sensitive to other work on a shared machine); one more build is timed per statement to show
where the time goes. Load averages are taken before and after each input.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import time
from pathlib import Path

from benchmarks._common import DATA, machine, today, write_section

THREADS, MEMORY_LIMIT, ROUNDS = 2, "4GB", 3
PAPER_LOG = "canonical_25809x60_seed0.parquet"
PAPER_SLICE_USERS = 2_500

BARE = "SELECT count(*) FROM (SELECT user_id, site, count(*) AS n FROM log GROUP BY user_id, site)"
#: integer codes for users and sites (made before the rounds, not timed)
CODES = (
    (
        "prof_user_code",
        "SELECT user_id, CAST(row_number() OVER (ORDER BY user_id) AS INTEGER) AS uid "
        "FROM (SELECT DISTINCT user_id FROM log) AS d",
    ),
    (
        "prof_site_code",
        "SELECT site, CAST(row_number() OVER (ORDER BY site) AS INTEGER) AS site_id "
        "FROM (SELECT DISTINCT site FROM log) AS d",
    ),
)
#: the sort an exact item sequence cannot avoid: rows coded to integers, ordered per user
ORDERED_PASS = """SELECT count(*) FROM (
    SELECT row_number() OVER (PARTITION BY u.uid ORDER BY r.ts, s.site_id) AS rn
    FROM log AS r
    JOIN prof_user_code AS u ON u.user_id = r.user_id
    JOIN prof_site_code AS s ON s.site = r.site) AS o
WHERE rn < 0"""
#: rows a deduplication could drop before that sort: exact (user, ts, site) repeats, and
#: same-site repeats within one second (what a log with whole-second times would repeat)
REPEATS = """SELECT count(*) FILTER (WHERE previous_ts = ts AND previous_site = site_id) AS exact,
    count(*) FILTER (WHERE date_trunc('second', previous_ts) = date_trunc('second', ts)
                     AND previous_site = site_id) AS same_second
FROM (SELECT ts, site_id, lag(ts) OVER w AS previous_ts, lag(site_id) OVER w AS previous_site
      FROM log AS r
      JOIN prof_user_code AS u ON u.user_id = r.user_id
      JOIN prof_site_code AS s ON s.site = r.site
      WINDOW w AS (PARTITION BY uid ORDER BY ts, site_id)) AS o"""


#: the alternative tried (issue 3's suggestion): every order-free part by hash aggregates over
#: the rows deduplicated on (user, ts, site), and only the item sequence from a sorted pass
ALTERNATIVE = "alt"
_ALT_ROWS = (
    "SELECT DISTINCT u.uid, s.site_id, r.ts FROM log AS r "
    "JOIN alt_user_code AS u ON u.user_id = r.user_id JOIN alt_sites AS s ON s.site = r.site "
    "WHERE r.user_id IS NOT NULL AND r.ts IS NOT NULL AND r.site IS NOT NULL"
)
_ALT_REPLACED = {
    "marks": _ALT_ROWS,
    "cells": "SELECT uid, site_id, CAST(ts AS DATE) AS day, CAST(hour(ts) AS INTEGER) AS hour "
    "FROM alt_marks GROUP BY uid, site_id, CAST(ts AS DATE), CAST(hour(ts) AS INTEGER)",
    "users": "SELECT c.uid, c.user_id, CAST(d.online_days AS INTEGER) AS online_days, "
    "t.first_ts, t.last_ts FROM alt_user_code AS c "
    "JOIN (SELECT uid, count(DISTINCT day) AS online_days FROM alt_cells GROUP BY uid) AS d "
    "ON d.uid = c.uid "
    "JOIN (SELECT uid, min(ts) AS first_ts, max(ts) AS last_ts FROM alt_marks GROUP BY uid) "
    "AS t ON t.uid = c.uid",
    "hours": "SELECT uid, hour, CAST(count(*) AS INTEGER) AS days FROM ("
    "SELECT uid, CAST(ts AS DATE) AS day, CAST(hour(ts) AS INTEGER) AS hour FROM alt_marks "
    "GROUP BY uid, CAST(ts AS DATE), CAST(hour(ts) AS INTEGER) "
    "HAVING count(DISTINCT minute(ts)) >= {active_minutes}) AS a GROUP BY uid, hour",
    "sequences": "SELECT uid, list(site_id ORDER BY ts, site_id) AS items FROM ("
    "SELECT uid, site_id, ts, lag(site_id) OVER (PARTITION BY uid ORDER BY ts, site_id) AS p "
    "FROM alt_marks) AS o WHERE p IS NULL OR p <> site_id GROUP BY uid",
}


def _alternative_statements() -> list[tuple[str, str]]:
    """The library build with the parts above replaced (the rest as in the library)."""
    from netpersona.rejoin import RejoinSettings
    from netpersona.rejoin._sql import profile_statements, render

    settings = RejoinSettings()
    out = []
    for table, select, lists in profile_statements("log", ALTERNATIVE, settings):
        part = table.removeprefix(f"{ALTERNATIVE}_")
        replaced = _ALT_REPLACED.get(part)
        if replaced is not None:
            select, lists = replaced.format(active_minutes=settings.active_minutes), ()
        out.append((table, render(select, "duckdb", lists)))
    return out


def _same_tables(engine, a: str, b: str) -> bool:
    """Whether profile sets ``a`` and ``b`` hold the same rows in every part."""
    from netpersona.rejoin._sql import PARTS

    for part in PARTS:
        if part == "meta":
            continue
        tables = [engine.fetch_arrow(f"SELECT * FROM {n}_{part}") for n in (a, b)]
        keys = [(c, "ascending") for c in tables[0].column_names if c != "items"]
        if not tables[0].sort_by(keys).equals(tables[1].sort_by(keys)):
            return False
    return True


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(fn) -> tuple[float, float]:
    """(wall, CPU) seconds of ``fn()``; DuckDB's threads run in this process, so CPU counts
    them all."""
    wall, cpu = time.perf_counter(), _cpu()
    fn()
    return time.perf_counter() - wall, _cpu() - cpu


def _engine(path: Path):
    from netpersona.engine import DuckDBEngine

    return DuckDBEngine(path, threads=THREADS, memory_limit=MEMORY_LIMIT)


# --------------------------------------------------------------------------------------------
# inputs


def _light_db(quick: bool) -> tuple[Path, str]:
    """The synthetic URL log as a canonical table (loaded once, kept in benchmarks/.data)."""
    from benchmarks._rejoin_data import load_canonical

    name = "access_300x20_seed0.parquet" if quick else "access_5000x60_seed0_light.parquet"
    parquet = DATA / name
    db = DATA / f"prof_{parquet.stem}.duckdb"
    if not db.exists():
        if not parquet.exists():
            raise SystemExit(f"{parquet} is missing: run `python -m benchmarks rejoin` first")
        partial = db.with_suffix(".partial.duckdb")
        partial.unlink(missing_ok=True)
        engine = _engine(partial)
        load = load_canonical(engine, parquet)
        engine.execute("CHECKPOINT")
        engine.close()
        partial.rename(db)
        print(f"  loaded {load['rows']:,} rows of {name} in {load['seconds']:.0f} s", flush=True)
    return db, name


def _paper_db() -> tuple[Path, str] | None:
    """The first users (by id) of the paper-scale canonical log, ~50M rows, or None."""
    source = DATA / PAPER_LOG
    db = DATA / f"prof_canonical_{PAPER_SLICE_USERS}users.duckdb"
    label = f"{PAPER_LOG}, first {PAPER_SLICE_USERS:,} users by user_id"
    if db.exists():
        return db, label
    if not source.exists():
        return None
    partial = db.with_suffix(".partial.duckdb")
    partial.unlink(missing_ok=True)
    engine = _engine(partial)
    literal = str(source).replace("'", "''")
    engine.execute(
        f"""CREATE TABLE log AS SELECT r.user_id, r.ts, r.site FROM read_parquet('{literal}') AS r
        WHERE r.user_id IN (SELECT DISTINCT user_id FROM read_parquet('{literal}')
                            ORDER BY user_id LIMIT {PAPER_SLICE_USERS})"""
    )
    engine.execute("CHECKPOINT")
    engine.close()
    partial.rename(db)
    return db, label


# --------------------------------------------------------------------------------------------
# measuring


def _statement_times(engine) -> list[dict]:
    """One library build, statement by statement (as ``build_profiles`` runs them)."""
    from netpersona.rejoin import RejoinSettings
    from netpersona.rejoin._sql import TEMPORARY, profile_statements, render, table_name

    out = []
    for table, select, lists in profile_statements("log", "split", RejoinSettings()):
        sql = render(select, engine.dialect, lists)
        wall, cpu = _timed(lambda t=table, s=sql: engine.create_table(t, s))
        out.append({"table": table.removeprefix("split_"), "wall": wall, "cpu": cpu})
    for part in TEMPORARY:
        engine.execute(f"DROP TABLE IF EXISTS {table_name('split', part)}")
    return out


def _measure(db: Path, label: str) -> dict:
    from netpersona.rejoin import build_profiles
    from netpersona.rejoin._sql import PARTS, TEMPORARY

    engine = _engine(db)
    rows = int(engine.fetch_scalar("SELECT count(*) FROM log"))
    users = int(engine.fetch_scalar("SELECT count(DISTINCT user_id) FROM log"))
    load_before = os.getloadavg()
    runs: dict[str, list[tuple[float, float]]] = {
        "bare": [],
        "ordered": [],
        "build": [],
        "alternative": [],
    }
    alternative = _alternative_statements()
    try:
        for table, select in CODES:
            engine.create_table(table, select)
        for _ in range(ROUNDS):
            runs["bare"].append(_timed(lambda: engine.fetch_scalar(BARE)))
            runs["ordered"].append(_timed(lambda: engine.fetch_scalar(ORDERED_PASS)))
            runs["build"].append(_timed(lambda: build_profiles(engine, "log", "bench")))
            runs["alternative"].append(
                _timed(lambda: [engine.create_table(t, q) for t, q in alternative])
            )
        same = _same_tables(engine, "bench", ALTERNATIVE)
        statements = _statement_times(engine)
        exact, same_second = engine.fetch_arrow(REPEATS).to_pylist()[0].values()
    finally:
        for table, _ in CODES:
            engine.execute(f"DROP TABLE IF EXISTS {table}")
        for name in ("bench", "split", ALTERNATIVE):  # keep the input file to its log
            for part in PARTS + TEMPORARY:
                engine.execute(f"DROP TABLE IF EXISTS {name}_{part}")
        engine.close()
    medians = {
        name: {
            "wall": statistics.median(w for w, _ in times),
            "cpu": statistics.median(c for _, c in times),
            "walls": [w for w, _ in times],
        }
        for name, times in runs.items()
    }
    return {
        "input": label,
        "rows": rows,
        "users": users,
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "medians": medians,
        "statements": statements,
        "exact_repeats": int(exact),
        "same_second_repeats": int(same_second),
        "alternative_equal": same,
    }


# --------------------------------------------------------------------------------------------
# report


def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds / 1e6:.2f}M"


def _render(results: list[dict], quick: bool) -> str:
    lines = [
        "Step 1 (`build_profiles`, library, paper settings) against DuckDB's bare "
        "`GROUP BY user_id, site` count over the same table, in the same run "
        f"(`python -m benchmarks profiles{' --quick' if quick else ''}`; DuckDB {THREADS} "
        f"threads, memory_limit {MEMORY_LIMIT}; medians of {ROUNDS} rounds). *Ordered pass "
        "alone* is the per-user sort by (time, site) that any exact item sequence needs: the "
        "rows joined to integer user and site codes made beforehand (not timed) and numbered "
        "per user in that order, nothing computed from it; the floor for step 1. CPU seconds "
        "count DuckDB's threads; they move much less than wall time when other work shares the "
        "machine. Target (issue 3): >= 4M rows/s and within 3x of the bare GROUP BY.",
        "",
    ]
    for r in results:
        m = r["medians"]
        bare, ordered, build = m["bare"], m["ordered"], m["build"]
        lines += [
            f"**{r['input']}**: {r['rows']:,} rows, {r['users']:,} users; load average "
            f"{r['load_before'][0]:.1f} before, {r['load_after'][0]:.1f} after "
            f"(1-minute; {os.cpu_count()} cores).",
            "",
            "| measure | wall s | rows/s | wall / bare | CPU s | CPU / bare |",
            "|---|---|---|---|---|---|",
        ]
        for name, row in (
            ("bare `GROUP BY user_id, site`", bare),
            ("ordered pass alone (sort floor)", ordered),
            ("profile build (`build_profiles`)", build),
            ("alternative: hash aggregates + sorted sequence only", m["alternative"]),
        ):
            lines.append(
                f"| {name} | {row['wall']:.2f} | {_rate(r['rows'], row['wall'])} | "
                f"{row['wall'] / bare['wall']:.1f}x | {row['cpu']:.2f} | "
                f"{row['cpu'] / bare['cpu']:.1f}x |"
            )
        rate_ok = r["rows"] / build["wall"] >= 4e6
        ratio = build["wall"] / bare["wall"]
        lines += [
            "",
            f"Target: {_rate(r['rows'], build['wall'])} rows/s "
            f"({'meets' if rate_ok else 'misses'} >= 4M), {ratio:.1f}x the bare GROUP BY "
            f"({'meets' if ratio <= 3 else 'misses'} 3x); the ordered pass alone is already "
            f"{ordered['wall'] / bare['wall']:.1f}x (CPU {ordered['cpu'] / bare['cpu']:.1f}x). "
            f"Rows a deduplication before the sort could drop: {r['exact_repeats']:,} exact "
            f"(user, ts, site) repeats ({r['exact_repeats'] / r['rows']:.1%}); requests repeating "
            f"the previous request's site within the same second (about what whole-second "
            f"times would make exact repeats): "
            f"{r['same_second_repeats']:,} ({r['same_second_repeats'] / r['rows']:.1%}).",
            "",
            "The alternative (issue 3's suggestion, kept in `benchmarks/bench_profiles.py`): "
            "rows deduplicated on (user, ts, site) by a DISTINCT, cells, online days, first and "
            "last times and the 20-active-minutes rule by GROUP BYs over them, only the item "
            "sequence from a sorted pass; its tables "
            + ("equal" if r["alternative_equal"] else "**differ from**")
            + " the library build's.",
            "",
            "Where one build's time goes (statements in order; `marks` is the ordered pass):",
            "",
            "| statement | wall s | CPU s | share of CPU |",
            "|---|---|---|---|",
        ]
        total = sum(s["cpu"] for s in r["statements"]) or 1.0
        lines += [
            f"| `{s['table']}` | {s['wall']:.2f} | {s['cpu']:.2f} | {s['cpu'] / total:.0%} |"
            for s in r["statements"]
        ]
        lines.append("")
    return "\n".join(lines)


def main(quick: bool = False) -> None:
    inputs = [_light_db(quick)]
    if not quick:
        paper = _paper_db()
        if paper is None:
            print(f"  {PAPER_LOG} not found: the paper-scale slice is skipped", flush=True)
        else:
            inputs.append(paper)
    results = []
    for db, label in inputs:
        print(f"  measuring {label} ...", flush=True)
        results.append(_measure(db, label))
        r = results[-1]["medians"]
        print(
            f"    bare {r['bare']['wall']:.2f} s, ordered {r['ordered']['wall']:.2f} s, "
            f"build {r['build']['wall']:.2f} s",
            flush=True,
        )
    out = DATA / ("prof_results_quick.json" if quick else "prof_results.json")
    out.write_text(json.dumps({"date": today(), "machine": machine(), "results": results}))
    write_section("profiles", _render(results, quick))
