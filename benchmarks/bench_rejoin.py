"""Re-join identification by the paper's protocol: accuracy, per-step funnel, speed, memory.

Parts (``REJOIN_BENCH_PARTS=paper,growth,real`` picks some; default all). Each part's figures
are kept in ``benchmarks/.data/rejoin_results[_quick].json`` and the whole section of
docs/benchmarks.md is re-rendered from them, so parts can be measured at different times.

- ``paper``: a synthetic log at the paper's scale (25,809 users x 60 days; ``--quick``: 1,200 x
  30) evaluated with t = 5 and a library of 20,809 users (the same share with ``--quick``): the
  three accuracies, the per-step funnel and time, the time to identify all queries, the profile
  build rate against DuckDB's bare ``GROUP BY user_id, site`` over the same table in the same
  run, and the peak memory of the process.
- ``growth``: step 2's candidates and time as the library grows (5k / 10k / 20,809 users).
- ``load`` (only when named): generate and load the synthetic log, measure nothing.
- ``identify`` (only when named): the default ``identify`` at the paper's scale re-timed on
  its own (median of 5), for a quiet machine after the long parts; its profiles are built once
  into their own DuckDB file and kept.
- ``large`` (only when named): 100,000 users, 80,000 in the library, identification time
  (a lighter log per day, so that it can be generated here).
- ``real``: CollegeMsg (60-day window, t = 5) and Wikipedia (whole month, t = 5) with the
  paper's defaults and with settings calibrated on the evaluation's own library log (no truth),
  on the same split; the simulated figures calibration saw are shown beside the real ones.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import time
from pathlib import Path

from benchmarks._common import DATA, SHARED_DATA, machine, peak_rss_mb, today, write_section
from benchmarks._rejoin_data import bench_engine, prepared, synthetic_log
from benchmarks._rejoin_markdown import render

PAPER_USERS, PAPER_DAYS, PAPER_LIBRARY = 25_809, 60, 20_809
QUICK_USERS, QUICK_DAYS = 1_200, 30
LARGE_USERS, LARGE_LIBRARY = 100_000, 80_000


def _scale(quick: bool) -> tuple[int, int, int]:
    if quick:
        return QUICK_USERS, QUICK_DAYS, round(QUICK_USERS * PAPER_LIBRARY / PAPER_USERS)
    return PAPER_USERS, PAPER_DAYS, PAPER_LIBRARY


def _results_path(quick: bool) -> Path:
    return DATA / ("rejoin_results_quick.json" if quick else "rejoin_results.json")


# --------------------------------------------------------------------------------------------
# data


def _bare_group_by(engine, repeat: int = 2) -> float:
    """Median seconds of DuckDB's bare per-user-per-site count over the whole log."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        engine.fetch_scalar(
            "SELECT count(*) FROM (SELECT user_id, site, count(*) AS n FROM log "
            "GROUP BY user_id, site)"
        )
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def _plain_identify(engine, tag: str, repeat: int = 3) -> dict:
    """``identify`` as ``netpersona rejoin identify`` runs it by default (no ``--top-k``, no
    per-step candidate lists) on the evaluation's profile set ``tag``: the median of
    ``repeat`` runs, each opening the profiles afresh (so loading them into arrays counts),
    the loading alone, and the process's CPU time (robust to other load on the machine)."""
    from netpersona.rejoin import Profiles, identify

    runs, loads, steps, cpu = [], [], [], []
    for _ in range(repeat):
        lib = Profiles.open(engine, f"{tag}_lib")
        qry = Profiles.open(engine, f"{tag}_qry")
        began, cpu_began = time.perf_counter(), time.process_time()
        lib.arrays(sequences=False), qry.arrays(sequences=False)  # as identify loads them
        loads.append(time.perf_counter() - began)
        res = identify(engine, lib, qry, lib.settings)
        runs.append(time.perf_counter() - began)
        cpu.append(time.process_time() - cpu_began)
        steps.append(sum(x["seconds"] for x in res.steps))
    return {
        "seconds": statistics.median(runs),
        "load_seconds": statistics.median(loads),
        "steps_seconds": statistics.median(steps),
        "cpu_seconds": statistics.median(cpu),
        "runs": runs,
        "load_average": os.getloadavg()[0],
    }


# --------------------------------------------------------------------------------------------
# parts


def _paper_part(quick: bool) -> dict:
    from netpersona._core import RichProgress
    from netpersona.rejoin import evaluate
    from netpersona.rejoin._protocol import drop_tables

    users, days, library = _scale(quick)
    engine, parquet, load = prepared(users, days)
    try:
        bare = _bare_group_by(engine)
        ev = evaluate(
            engine,
            "log",
            query_days=5,
            library_fraction=library / users,
            seed=0,
            keep_tables=True,
            progress=RichProgress(transient=True),
        )
        counts = engine.fetch_arrow(
            "SELECT (SELECT count(*) FROM eval_library_log) AS lib, "
            "(SELECT count(*) FROM eval_query_log) AS qry"
        ).to_pylist()[0]
        plain = _plain_identify(engine, "eval_pf1")
    finally:
        # the growth part reuses the split; the evaluation's profiles are not needed again
        drop_tables(engine, "eval_pf1" if _wanted("growth") else "eval")
        engine.close()
    metrics = ev.metrics
    profile_seconds = metrics["steps"][0]["seconds"]
    profile_rows = counts["lib"] + counts["qry"]
    return {
        "date": today(),
        "machine": machine(),
        "users": users,
        "days": days,
        "file": parquet.name,
        "log_rows": load["rows"],
        "load_seconds": load["seconds"],
        "metrics": {k: v for k, v in metrics.items() if k != "decisions"},
        "decisions": metrics["decisions"],
        "profile_rows": profile_rows,
        "profile_seconds": profile_seconds,
        "profile_rows_per_s": profile_rows / profile_seconds,
        "bare_group_by_seconds": bare,
        "bare_rows_per_s": load["rows"] / bare,
        "identify_seconds": metrics["seconds_total"] - profile_seconds,
        "plain_identify": plain,
        "peak_rss_mb": peak_rss_mb(),
    }


def _identify_part(quick: bool) -> dict:
    """The default ``identify`` re-timed on its own (for a quiet machine, after the long
    parts): the paper-scale split's profiles, built once into their own DuckDB file from the
    prepared log (same split as the paper part: t = 5, the paper's library share, seed 0) and
    kept there."""
    from netpersona.rejoin import RejoinSettings, build_profiles, split_log

    users, days, library = _scale(quick)
    db = DATA / f"rejoin_profiles_{users}x{days}.duckdb"
    engine = bench_engine(db)
    try:
        if not engine.has_table("p_qry_meta"):
            parquet = synthetic_log(users, days)
            prepared(users, days)[0].close()  # the canonical log, loaded once
            source = DATA / f"rejoin_{parquet.stem}.duckdb"
            engine.execute(f"ATTACH '{source}' AS source (READ_ONLY)")
            split_log(
                engine,
                "source.log",
                query_days=5,
                library_fraction=library / users,
                seed=0,
                prefix="ev",
            )
            engine.execute("DETACH source")
            s = RejoinSettings()
            lib = build_profiles(engine, "ev_library_log", "p_lib", s)
            build_profiles(engine, "ev_query_log", "p_qry", s, reference=lib)
            engine.execute("CHECKPOINT")
        return {"date": today(), "file": db.name, **_plain_identify(engine, "p", repeat=5)}
    finally:
        engine.close()


def _growth_part(quick: bool, paper: dict) -> list[dict]:
    """Step 2's candidates and time for growing libraries against the paper part's queries
    (its split is still in the DuckDB file)."""
    from netpersona.rejoin._protocol import drop_tables

    engine = prepared(*_scale(quick)[:2])[0]
    try:
        return _growth(engine, paper["metrics"], quick)
    finally:
        drop_tables(engine, "eval")
        engine.close()


def _growth(engine, metrics: dict, quick: bool) -> list[dict]:
    """Step 2's candidates and time for growing libraries against the same queries."""
    import pyarrow as pa

    from netpersona.rejoin import RejoinSettings, build_profiles, identify
    from netpersona.rejoin._protocol import draw_library

    library_users = (
        engine.fetch_arrow("SELECT DISTINCT user_id FROM eval_library_log")
        .column("user_id")
        .to_pylist()
    )
    sizes = (250, 500) if quick else (5_000, 10_000)
    rows = []
    for size in sizes:
        kept = draw_library(library_users, size / len(library_users), seed=1)
        engine.register_arrow("growth_users", pa.table({"user_id": kept}))
        engine.create_table(
            "growth_log",
            "SELECT * FROM eval_library_log WHERE user_id IN (SELECT user_id FROM growth_users)",
        )
        s = RejoinSettings()
        lib = build_profiles(engine, "growth_log", "growth_lib", s)
        qry = build_profiles(engine, "eval_query_log", "growth_qry", s, reference=lib)
        res = identify(engine, lib, qry, s)
        step2 = next(x for x in res.steps if x["step"] == "2_simione")
        rows.append(
            {
                "library": len(kept),
                "step2_mean_candidates": step2["mean_candidates"],
                "step2_seconds": step2["seconds"],
                "identify_seconds": res.seconds,
            }
        )
        lib.drop()
        qry.drop()
        print(f"  growth: library {len(kept):,}: {rows[-1]}", flush=True)
    engine.execute("DROP TABLE IF EXISTS growth_log")
    # the whole library: the evaluation's own run (its profiles are not built again)
    step2 = metrics["steps"][1]
    rows.append(
        {
            "library": len(library_users),
            "step2_mean_candidates": step2["mean_candidates"],
            "step2_seconds": step2["seconds"],
            "identify_seconds": metrics["seconds_total"] - metrics["steps"][0]["seconds"],
        }
    )
    return rows


def _large_part(quick: bool) -> dict:
    """Identification time with 100,000 users (80,000 in the library), lighter daily volume."""
    from netpersona.rejoin import evaluate
    from netpersona.rejoin._protocol import drop_tables

    users = 5_000 if quick else LARGE_USERS
    library = round(users * LARGE_LIBRARY / LARGE_USERS)
    engine, parquet, load = prepared(users, PAPER_DAYS, light=True)
    try:
        ev = evaluate(
            engine,
            "log",
            query_days=5,
            library_fraction=library / users,
            seed=0,
            keep_tables=True,
        )
        plain = _plain_identify(engine, "eval_pf1")
    finally:
        drop_tables(engine, "eval")
        engine.close()
    m = ev.metrics
    return {
        "date": today(),
        "users": users,
        "file": parquet.name,
        "log_rows": load["rows"],
        "metrics": {k: v for k, v in m.items() if k != "decisions"},
        "identify_seconds": m["seconds_total"] - m["steps"][0]["seconds"],
        "profile_seconds": m["steps"][0]["seconds"],
        "plain_identify": plain,
        "peak_rss_mb": peak_rss_mb(),
    }


REAL_LOGS = {
    "CollegeMsg": (
        "access_logs/collegemsg.txt",
        {
            "columns": ("sender", "recipient", "ts"),
            "no_header": True,
            "user_col": "sender",
            "url_col": None,
            "site_col": "recipient",
            "time_unit": "s",
        },
        (dt.date(2004, 4, 15), dt.date(2004, 6, 13)),
    ),
    "Wikipedia": (
        "access_logs/jodie_wikipedia.txt.gz",
        {
            "columns": ("user", "page", "ts"),
            "no_header": True,
            "user_col": "user",
            "url_col": None,
            "site_col": "page",
            "time_unit": "s",
        },
        None,
    ),
}


def _real_part(quick: bool) -> dict:
    from netpersona.io import LogMapping, read_access_log
    from netpersona.rejoin import calibrate, evaluate

    out = {"date": today(), "machine": machine(), "logs": {}}
    budget = 60.0 if quick else 240.0
    for name, (relative, mapping, window) in REAL_LOGS.items():
        path = SHARED_DATA / relative
        if not path.exists():
            print(f"  {path} is absent: skipped", flush=True)
            continue
        engine = bench_engine()
        read_access_log(path, LogMapping(**mapping), engine, table="log")
        options = {"query_days": 5, "library_fraction": 0.8, "seed": 0, "window": window}
        default = evaluate(engine, "log", keep_tables=True, prefix="ev", **options)
        rows = {"paper defaults": {"real": default.metrics, "simulated": None, "settings": {}}}
        for objective in ("overall", "balanced"):
            # calibrated on the evaluation's own library log: the real queries stay unseen
            cal = calibrate(
                engine,
                "ev_library_log",
                objective=objective,
                query_days=5,
                library_fraction=0.8,
                seed=0,
                max_seconds=budget,
            )
            real = evaluate(engine, "log", settings=cal.settings, prefix="ev2", **options)
            rows[f"calibrated ({objective})"] = {
                "real": real.metrics,
                "simulated": cal.calibrated_metrics,
                "simulated_defaults": cal.default_metrics,
                "settings": {k: v[1] for k, v in cal.changed().items()},
                "trials": len(cal.trials),
                "search_seconds": cal.seconds,
                "stopped": cal.stopped,
            }
            print(f"  {name} calibrated ({objective}): {len(cal.trials)} trials", flush=True)
        out["logs"][name] = {
            "protocol": default.split.describe(),
            "rows": rows,
        }
        engine.close()
    return out


# --------------------------------------------------------------------------------------------


def _wanted(part: str) -> bool:
    chosen = os.environ.get("REJOIN_BENCH_PARTS", "paper,growth,real")
    return part in {p.strip() for p in chosen.split(",")}


def main(quick: bool) -> None:
    if _wanted("load"):  # only prepare the synthetic log (generate, load into DuckDB)
        prepared(*_scale(quick)[:2])[0].close()
    path = _results_path(quick)
    results = json.loads(path.read_text()) if path.exists() else {}
    DATA.mkdir(parents=True, exist_ok=True)
    parts = (
        ("paper", _paper_part),
        ("large", _large_part),
        ("real", _real_part),
        ("identify", _identify_part),
    )
    for part, run in parts:
        if not _wanted(part):
            continue
        print(f"rejoin: {part} ...", flush=True)
        if part == "identify":
            results.setdefault("paper", {})["identify_again"] = run(quick)
        else:
            results[part] = run(quick)  # a re-measured part drops an older re-timing
        if part == "paper" and _wanted("growth"):
            path.write_text(json.dumps(results, indent=1, default=str))
            write_section("rejoin", render(results, quick))
            print("rejoin: growth ...", flush=True)
            results["paper"]["growth"] = _growth_part(quick, results["paper"])
        path.write_text(json.dumps(results, indent=1, default=str))
        write_section("rejoin", render(results, quick))
    print(f"peak memory {peak_rss_mb():,.0f} MB", flush=True)
