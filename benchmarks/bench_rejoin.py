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
import itertools
import json
import os
import statistics
import time
from pathlib import Path

from benchmarks._common import DATA, SHARED_DATA, machine, peak_rss_mb, today, write_section

PAPER_USERS, PAPER_DAYS, PAPER_LIBRARY = 25_809, 60, 20_809
QUICK_USERS, QUICK_DAYS = 1_200, 30
LARGE_USERS, LARGE_LIBRARY = 100_000, 80_000
#: the 100,000-user log is lighter per day than the default (50-200 loads x 1-12 requests)
LIGHT_LOADS, LIGHT_REQUESTS = (10, 40), (1, 3)
MEMORY_LIMIT = "4GB"  # DuckDB's own share; the process peak is measured and reported


def _bench_synth():
    """The generator's settings for benchmark logs: browsing only, without the background app
    traffic added later (the figures in docs/benchmarks.md were measured on such logs, and the
    paper-scale log would double to ~1G rows with it)."""
    from dataclasses import replace

    from netpersona.synth.access_logs import AccessLogSettings

    return replace(AccessLogSettings(), background_apps=(0, 0))


def _scale(quick: bool) -> tuple[int, int, int]:
    if quick:
        return QUICK_USERS, QUICK_DAYS, round(QUICK_USERS * PAPER_LIBRARY / PAPER_USERS)
    return PAPER_USERS, PAPER_DAYS, PAPER_LIBRARY


def _results_path(quick: bool) -> Path:
    return DATA / ("rejoin_results_quick.json" if quick else "rejoin_results.json")


def _engine(path: str | Path = ":memory:"):
    from netpersona.engine import DuckDBEngine

    engine = DuckDBEngine(path, threads=2, memory_limit=MEMORY_LIMIT)
    engine.execute(f"SET temp_directory = '{DATA / 'duckdb_tmp'}'")
    return engine


# --------------------------------------------------------------------------------------------
# data


def _synthetic_log(users: int, days: int, light: bool = False) -> Path:
    """The synthetic log (Parquet), the synth engineer's if present, else generated; ``light``
    = fewer page loads per day (for the 100,000-user run)."""
    DATA.mkdir(parents=True, exist_ok=True)
    tag = "_light" if light else ""
    for found in sorted(DATA.glob(f"*{users}*{days}*{tag}.parquet")):
        if light or "light" not in found.name:
            return found
    from netpersona._core import RichProgress
    from netpersona.synth.access_logs import write_access_logs

    path = DATA / f"access_{users}x{days}_seed0{tag}.parquet"
    print(f"generating {path.name} ...", flush=True)
    volume = {"page_loads_per_day": LIGHT_LOADS, "requests_per_load": LIGHT_REQUESTS}
    summary = write_access_logs(
        path,
        users,
        days,
        seed=0,
        progress=RichProgress(transient=True),
        settings=_bench_synth(),
        **(volume if light else {}),
    )
    print(f"  {summary.rows:,} rows in {summary.seconds:.0f} s", flush=True)
    return path


def _load_canonical(engine, parquet: Path) -> dict:
    """Table ``log`` (user_id, ts, site) from the synthetic URL log, streamed in batches.

    URLs are read dictionary-encoded, so each distinct URL of a batch is cut to its host once
    (vectorised) and each distinct host mapped to its registrable domain once (as the reader
    does); a 500M-row log loads in minutes instead of the reader's hour.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    started = time.perf_counter()
    engine.execute("CREATE OR REPLACE TABLE log (user_id VARCHAR, ts TIMESTAMP, site VARCHAR)")
    known: dict[str, str | None] = {}
    last: tuple[int, pa.Array] | None = None  # batches of one row group share its dictionary
    source = pq.ParquetFile(parquet, read_dictionary=["user_id", "url"])
    for batch in source.iter_batches(batch_size=2_000_000, columns=["user_id", "ts", "url"]):
        url = batch.column("url")
        address = url.dictionary.buffers()[-1].address
        if last is None or last[0] != address:
            last = (address, _sites_of_urls(url.dictionary, known))
        site = pa.DictionaryArray.from_arrays(url.indices, last[1])
        engine.register_arrow(
            "log_batch",
            pa.table({"user_id": batch.column("user_id"), "ts": batch.column("ts"), "site": site}),
        )
        engine.execute(
            "INSERT INTO log SELECT CAST(user_id AS VARCHAR), CAST(ts AS TIMESTAMP), "
            "CAST(site AS VARCHAR) FROM log_batch WHERE site IS NOT NULL"
        )
    rows = int(engine.fetch_scalar("SELECT count(*) FROM log"))
    return {"rows": rows, "hosts": len(known), "seconds": time.perf_counter() - started}


def _sites_of_urls(urls, known: dict):
    """The registrable domain of each URL of a dictionary (``known``: host cache)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from netpersona.io._sites import host_of, sites_for_hosts

    pattern = r"^(?:[A-Za-z][A-Za-z0-9+.\-]*://)?(?P<a>[^/?#]*)"
    authority = pc.struct_field(pc.extract_regex(urls, pattern), [0])
    distinct = pc.unique(authority)
    values = distinct.to_pylist()
    fresh = [a for a in values if a not in known]
    known.update(zip(fresh, sites_for_hosts([host_of(a) for a in fresh]), strict=True))
    sites = pa.array([known[a] for a in values], pa.string())
    return pc.take(sites, pc.index_in(authority, distinct))


def _prepared(users: int, days: int, light: bool = False):
    """A DuckDB file holding the canonical synthetic log as table ``log`` (loaded once and
    kept in benchmarks/.data/ for later runs): ``(engine, parquet, load figures)``."""
    parquet = _synthetic_log(users, days, light)
    db = DATA / f"rejoin_{parquet.stem}.duckdb"
    marker = db.with_suffix(".json")
    source = {"parquet": parquet.name}  # the generator is deterministic: the name suffices
    if db.exists() and marker.exists():
        saved = json.loads(marker.read_text())
        if saved.get("source", {}).get("parquet") == source["parquet"]:
            return _engine(db), parquet, saved["load"]
    db.unlink(missing_ok=True)
    Path(f"{db}.wal").unlink(missing_ok=True)
    engine = _engine(db)
    load = _load_canonical(engine, parquet)
    engine.execute("CHECKPOINT")
    marker.write_text(json.dumps({"source": source, "load": load}))
    print(f"  canonical log: {load['rows']:,} rows in {load['seconds']:.0f} s", flush=True)
    return engine, parquet, load


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
    from netpersona.rejoin import identify
    from netpersona.rejoin._profiles import Profiles

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
    engine, parquet, load = _prepared(users, days)
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
    from netpersona.rejoin import RejoinSettings, build_profiles
    from netpersona.rejoin._profiles import table_exists
    from netpersona.rejoin._protocol import split_log

    users, days, library = _scale(quick)
    db = DATA / f"rejoin_profiles_{users}x{days}.duckdb"
    engine = _engine(db)
    try:
        if not table_exists(engine, "p_qry_meta"):
            parquet = _synthetic_log(users, days)
            _prepared(users, days)[0].close()  # the canonical log, loaded once
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

    engine = _prepared(*_scale(quick)[:2])[0]
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
    engine, parquet, load = _prepared(users, PAPER_DAYS, light=True)
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
        engine = _engine()
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
# rendering


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}%"


def _paper_markdown(r: dict) -> str:
    m = r["metrics"]
    lines = [
        f"### Synthetic log: {r['users']:,} users x {r['days']} days, t = 5, "
        f"library {m['n_library']:,}",
        "",
        f"`{r['file']}` ({r['log_rows']:,} canonical rows; loading it into DuckDB took "
        f"{r['load_seconds']:.0f} s, not counted below). Queries: {m['n_queries']:,} "
        f"({m['n_queries'] - m['n_absent']:,} present, {m['n_absent']:,} absent). The library "
        f"is the paper's share ({PAPER_LIBRARY:,} / {PAPER_USERS:,}) of the users active before "
        "the query period, and the queries are the users active in it, so both counts fall a "
        f"little short of the paper's when some synthetic users are idle. Measured {r['date']}.",
        "",
        "| accuracy | this run | paper |",
        "|---|---:|---:|",
        f"| absent users answered 'new' | {_pct(m['acc_absent'])} | 99.06% |",
        f"| present users, right user first | {_pct(m['acc_present'])} | 98.14% |",
        f"| all queries | {_pct(m['acc_overall'])} | 98.32% |",
        f"| present users, right user anywhere in the output | {_pct(m['acc_present_any'])} | |",
        f"| balanced | {_pct(m['balanced_accuracy'])} | |",
        f"| present users, right user ranked first | {_pct(m['rank1_present'])} | |",
        "",
        "| step | mean candidates | % of library | paper % | recall | seconds (all queries) "
        "| paper s / query |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    paper = {
        "2_simione": ("14.12%", "4.9"),
        "3_simitwo": ("0.007%", "1.1"),
        "4_simithree": ("0.003%", "0.067"),
        "5_simifour": ("0.000429%", "0.032"),
    }
    for s in m["steps"]:
        share = 100 * s["mean_candidates"] / m["n_library"] if s["mean_candidates"] else 0.0
        p = paper.get(s["step"], ("", ""))
        lines.append(
            f"| {s['step']} | {s['mean_candidates']:,.2f} | {share:.4g}% | {p[0]} | "
            f"{_pct(s['recall'])} | {s['seconds']:.2f} | {p[1]} |"
        )
    recalls = [(s["step"], s["recall"]) for s in m["steps"] if s["recall"] is not None]
    drops = [(a[1] - b[1], b[0], a[1], b[1]) for a, b in itertools.pairwise(recalls)]
    if drops:
        _, step, before, after = max(drops)
        lines += [
            "",
            f"The true user is lost mostly at {step} (recall {_pct(before)} -> {_pct(after)}); "
            "`rank1_present` shows how often the true user was the best candidate before any "
            "threshold said 'new'.",
        ]
    steps_seconds = sum(s["seconds"] for s in m["steps"][1:])
    lines += [
        "",
        "| speed and memory | this run | target |",
        "|---|---:|---:|",
        *_plain_rows(r, m, "< 3 s", r.get("identify_again")),
        f"| the evaluation's own identification (`--top-k 1` and each step's candidates kept "
        f"for the funnel) | {r['identify_seconds']:.2f} s | |",
        f"| of which steps 2-6 | {steps_seconds:.2f} s | |",
        f"| profile build (step 1, library + queries, {r['profile_rows']:,} rows) | "
        f"{r['profile_seconds']:.1f} s = {r['profile_rows_per_s'] / 1e6:.2f} M rows/s "
        f"| >= 4 M rows/s |",
        f"| DuckDB bare `GROUP BY user_id, site` over the whole log, same run | "
        f"{r['bare_group_by_seconds']:.1f} s = {r['bare_rows_per_s'] / 1e6:.2f} M rows/s | |",
        f"| profile build rate vs the bare GROUP BY (the per-user time sort any exact item "
        f"sequence needs is ~5x on its own: see the profiles section) | "
        f"{r['bare_rows_per_s'] / r['profile_rows_per_s']:.1f}x slower | within 3x |",
        f"| peak memory of the process (DuckDB limit {MEMORY_LIMIT}) | "
        f"{r['peak_rss_mb'] / 1024:.2f} GB | < 8 GB |",
    ]
    if r.get("growth"):
        lines += [
            "",
            "Step 2 (the exact prefix-filter Jaccard join) as the library grows, same queries:",
            "",
            "| library users | step-2 mean candidates per query | step-2 seconds | "
            "identification seconds |",
            "|---:|---:|---:|---:|",
        ]
        for g in r["growth"]:
            lines.append(
                f"| {g['library']:,} | {g['step2_mean_candidates']:,.2f} | "
                f"{g['step2_seconds']:.2f} | {g['identify_seconds']:.2f} |"
            )
        lines += [
            "",
            "The smaller libraries were identified without `top_k` and without keeping each "
            "step's candidates; the whole library's row is the evaluation's own run, which keeps "
            "both (for the funnel's recall), so its identification time is not comparable.",
        ]
    return "\n".join(lines)


def _plain_rows(r: dict, m: dict, target: str, again: dict | None = None) -> list[str]:
    """Table rows for the default ``identify`` run (absent from results measured before it);
    ``again``: the same re-timed on its own by the ``identify`` part."""
    p = r.get("plain_identify")
    if not p:
        return []
    rows = []
    if again:
        rows.append(
            f"| the same, re-timed on its own (`REJOIN_BENCH_PARTS=identify`, {again['date']}; "
            f"median of {len(again['runs'])}, load average {again['load_average']:.1f}; "
            f"loading {again['load_seconds']:.2f} s, steps 2-6 {again['steps_seconds']:.2f} s, "
            f"CPU {again['cpu_seconds']:.2f} s) | **{again['seconds']:.2f} s** | {target} |"
        )
    return [
        f"| identification of all {m['n_queries']:,} queries (`netpersona rejoin identify`'s "
        f"default: loading the profiles into arrays, then steps 2-6; median of "
        f"{len(p['runs'])}, load average {p['load_average']:.1f}) | {p['seconds']:.2f} s | "
        f"{target} |",
        f"| of which loading the profiles / steps 2-6 | {p['load_seconds']:.2f} s / "
        f"{p['steps_seconds']:.2f} s | |",
        f"| CPU time of that identification, all threads (DuckDB's included): what it needs "
        f"of the 2 cores whatever else runs | {p['cpu_seconds']:.2f} s | |",
        *rows,
    ]


def _large_markdown(r: dict) -> str:
    m = r["metrics"]
    return "\n".join(
        [
            f"### {r['users']:,} users, library {m['n_library']:,}: identification time",
            "",
            f"`{r['file']}`: {r['log_rows']:,} rows — a lighter log than the paper-scale one "
            f"({LIGHT_LOADS[0]}-{LIGHT_LOADS[1]} page loads of {LIGHT_REQUESTS[0]}-"
            f"{LIGHT_REQUESTS[1]} requests per active day), t = 5, {m['n_queries']:,} queries. "
            f"Measured {r['date']}.",
            "",
            "| | this run | target |",
            "|---|---:|---:|",
            *_plain_rows(r, m, "< 40 s"),
            f"| the evaluation's own identification (`--top-k 1`, each step's candidates kept) "
            f"| {r['identify_seconds']:.1f} s | |",
            f"| of which steps 2-6 | {sum(s['seconds'] for s in m['steps'][1:]):.1f} s | |",
            f"| profiles (step 1) | {r['profile_seconds']:.1f} s | |",
            f"| step-2 mean candidates per query | {m['steps'][1]['mean_candidates']:,.2f} | |",
            f"| acc_overall / acc_present / acc_absent | {_pct(m['acc_overall'])} / "
            f"{_pct(m['acc_present'])} / {_pct(m['acc_absent'])} | |",
            f"| peak memory of the process | {r['peak_rss_mb'] / 1024:.2f} GB | < 8 GB |",
        ]
    )


def _real_markdown(r: dict) -> str:
    lines = [
        "### Real logs: paper defaults vs calibrated settings, same split",
        "",
        "Calibration ran on the evaluation's library log only (its last 5 days as simulated "
        "queries, 80% of its users as the simulated library); the real queries were never "
        "seen. 'sim.' is the figure calibration saw on that simulation. Measured "
        f"{r['date']}.",
    ]
    for name, log in r["logs"].items():
        p = log["protocol"]
        lines += [
            "",
            f"**{name}** — window {p['window'][0]}..{p['window'][1]}, t = 5: library "
            f"{p['n_library']:,} users, {p['n_queries']:,} queries ({p['n_present']:,} present, "
            f"{p['n_absent']:,} absent).",
            "",
            "| settings | rank1_present | acc_absent | acc_present | acc_overall (sim.) | "
            "balanced_accuracy (sim.) | changed settings |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for label, row in log["rows"].items():
            real, sim = row["real"], row["simulated"]
            changed = ", ".join(f"{k}={v}" for k, v in row["settings"].items()) or "–"

            def both(key: str, real=real, sim=sim) -> str:
                return _pct(real[key]) + (f" ({_pct(sim[key])})" if sim else "")

            lines.append(
                f"| {label} | {_pct(real['rank1_present'])} | {_pct(real['acc_absent'])} | "
                f"{_pct(real['acc_present'])} | {both('acc_overall')} | "
                f"{both('balanced_accuracy')} | {changed} |"
            )
        chosen = [row["settings"] for label, row in log["rows"].items() if "calibrated" in label]
        if len(chosen) == 2 and chosen[0] == chosen[1]:
            lines += [
                "",
                "Both objectives chose the same settings: the best trial of the search was best "
                "on both figures.",
            ]
    return "\n".join(lines)


def _render(results: dict, quick: bool) -> str:
    parts = [
        "## Re-join identification (paper A)",
        "",
        "`python -m benchmarks rejoin` (`REJOIN_BENCH_PARTS=paper,growth,real` picks parts). "
        "The protocol is the paper's: the last t days are queries under fresh ids, a random "
        "share of the earlier users the library (see docs/rejoin-evaluation.md). Timings were "
        "taken on a shared 2-core machine while other work ran on it: read them as orders of "
        "magnitude and ratios.",
    ]
    if quick:
        parts.append("\n**Quick run (`--quick`): small inputs, not the paper's scale.**")
    if "metrics" in results.get("paper", {}):
        parts += ["", _paper_markdown(results["paper"])]
    if "large" in results:
        parts += ["", _large_markdown(results["large"])]
    if "real" in results:
        parts += ["", _real_markdown(results["real"])]
    return "\n".join(parts)


def _wanted(part: str) -> bool:
    chosen = os.environ.get("REJOIN_BENCH_PARTS", "paper,growth,real")
    return part in {p.strip() for p in chosen.split(",")}


def main(quick: bool) -> None:
    if _wanted("load"):  # only prepare the synthetic log (generate, load into DuckDB)
        _prepared(*_scale(quick)[:2])[0].close()
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
            write_section("rejoin", _render(results, quick))
            print("rejoin: growth ...", flush=True)
            results["paper"]["growth"] = _growth_part(quick, results["paper"])
        path.write_text(json.dumps(results, indent=1, default=str))
        write_section("rejoin", _render(results, quick))
    print(f"peak memory {peak_rss_mb():,.0f} MB", flush=True)
