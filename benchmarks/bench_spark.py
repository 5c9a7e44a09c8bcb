"""DuckDB vs Spark local[2]: re-join profiles and identification on the same synthetic log, and
how step 2's candidate pairs grow with the library (measured, then projected to 10M users).

The synthetic URL log is read once into a canonical Parquet file (user_id, ts, site); each
engine then reads that file itself, as it would read its own storage. Spark runs with
``materialize="checkpoint"`` so every statement is timed when it runs, and its driver memory is
capped (``spark.driver.memory``).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from benchmarks._common import DATA, write_section

#: the synthetic URL log to use, the synth engineer's if present (users x days)
FULL = (1200, 30)
QUICK = (300, 20)
#: a larger (lighter) synthetic log, if the synth engineer left one: more library sizes
GROWTH_LOG = "access_5000x60_seed0_light.parquet"
QUERY_DAYS = 5
LIBRARY_FRACTION = 0.8
SPARK_CONF = {
    "spark.driver.memory": "3g",
    "spark.sql.shuffle.partitions": "8",
    "spark.ui.enabled": "false",
}


def _url_log(users: int, days: int) -> Path:
    DATA.mkdir(parents=True, exist_ok=True)
    found = sorted(DATA.glob(f"access_{users}x{days}_seed0.parquet"))
    if found:
        return found[0]
    from netpersona.synth.access_logs import write_access_logs

    path = DATA / f"access_{users}x{days}_seed0.parquet"
    write_access_logs(path, users, days, seed=0)
    return path


def _canonical_split(url_log: Path) -> tuple[Path, Path, int]:
    """Library and query logs as canonical Parquet files (the paper's protocol: the last
    ``QUERY_DAYS`` days are queries under fresh ids, a random 80% of users form the library)."""
    from netpersona.engine import DuckDBEngine
    from netpersona.io import LogMapping, read_access_log

    lib_path = DATA / f"spark_lib_{url_log.stem}.parquet"
    qry_path = DATA / f"spark_qry_{url_log.stem}.parquet"
    meta = DATA / f"spark_split_{url_log.stem}.json"
    if lib_path.exists() and qry_path.exists() and meta.exists():
        return lib_path, qry_path, json.loads(meta.read_text())["rows"]
    with DuckDBEngine(threads=2, memory_limit="3GB") as duck:
        summary = read_access_log(url_log, LogMapping(), duck, table="log")
        duck.execute(
            f"""CREATE TABLE cut AS SELECT CAST(max(ts) AS DATE) - {QUERY_DAYS - 1} AS day
            FROM log"""
        )
        duck.execute(
            f"""CREATE TABLE kept AS SELECT user_id FROM (SELECT DISTINCT user_id FROM log)
            WHERE hash(user_id || 'seed0') % 1000 < {int(LIBRARY_FRACTION * 1000)}"""
        )
        duck.execute(
            f"""COPY (SELECT l.* FROM log AS l JOIN kept USING (user_id)
                WHERE CAST(l.ts AS DATE) < (SELECT day FROM cut))
            TO '{lib_path}' (FORMAT parquet)"""
        )
        duck.execute(
            f"""COPY (SELECT 'q' || user_id AS user_id, ts, site FROM log
                WHERE CAST(ts AS DATE) >= (SELECT day FROM cut))
            TO '{qry_path}' (FORMAT parquet)"""
        )
    meta.write_text(json.dumps({"rows": summary.rows}))
    return lib_path, qry_path, summary.rows


def _run_engine(engine, lib_path: Path, qry_path: Path, spark: bool) -> dict:
    """Profiles (library + queries, loaded as arrays) and identification on one engine."""
    from netpersona.rejoin import RejoinSettings, build_profiles, identify

    if spark:
        from netpersona.engine._spark import read_canonical_log

        for name, path in (("lib_log", lib_path), ("qry_log", qry_path)):
            read_canonical_log(engine, str(path), name, url_col=None, site_col="site")
    else:
        for name, path in (("lib_log", lib_path), ("qry_log", qry_path)):
            engine.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM '{path}'")
    rows = int(engine.fetch_scalar("SELECT count(*) FROM lib_log")) + int(
        engine.fetch_scalar("SELECT count(*) FROM qry_log")
    )
    settings = RejoinSettings()
    started = time.perf_counter()
    lib = build_profiles(engine, "lib_log", "lib", settings)
    qry = build_profiles(engine, "qry_log", "qry", settings, reference=lib)
    lib.arrays(), qry.arrays()
    profiles_s = time.perf_counter() - started
    result = identify(engine, lib, qry, settings)  # the first run also compiles (numba)
    started = time.perf_counter()
    identify(engine, lib, qry, settings)
    identify_s = time.perf_counter() - started
    out = {
        "rows": rows,
        "n_library": lib.n_users,
        "n_queries": qry.n_users,
        "profiles_s": profiles_s,
        "identify_s": identify_s,
        "matches": result.matches,
        "lib": lib,
        "qry": qry,
    }
    if spark:
        out.update(_spark_steps(engine, lib, qry, settings))
    return out


def _spark_steps(engine, lib, qry, settings) -> dict:
    """Spark's own distributed step 2 (exact and MinHash) and step 5, timed."""
    from netpersona.rejoin._spark_join import minhash_recall, spark_simi_one
    from netpersona.rejoin._spark_runs import spark_simi_four_scores
    from netpersona.rejoin._steps import (
        simi_four_scores,
        simi_one,
        simi_three_trim,
        simi_two_trim,
    )

    exact = spark_simi_one(engine, lib, qry, settings.jaccard_min)
    minhash = spark_simi_one(
        engine, lib, qry, settings.jaccard_min, candidates="minhash", out="qry_minhash"
    )
    recall = minhash_recall(exact, minhash)
    la, qa = lib.arrays(), qry.arrays()
    mine, core = exact.candidates(), simi_one(qa, la, settings.jaccard_min)
    identical = (
        len(mine) == len(core)
        and all(np.array_equal(getattr(mine, f), getattr(core, f)) for f in ("query", "library"))
        and all(
            np.allclose(getattr(mine, f), getattr(core, f), rtol=0, atol=1e-9)
            for f in ("simi_one", "simi_two")
        )
    )
    three = simi_two_trim(mine, settings.simitwo_keep)
    four = simi_three_trim(three, qa, la, settings.hour_cosine_min, settings.site_hour_cosine_min)
    core_four = simi_four_scores(four.take(np.arange(len(four))), qa, la, settings.min_run)
    started = time.perf_counter()
    mine_four = spark_simi_four_scores(engine, four, lib, qry, settings.min_run)
    return {
        "spark_join_identical": identical,
        "spark_step5_identical": bool(
            np.array_equal(mine_four.simi_four_raw, core_four.simi_four_raw)
        ),
        "spark_join_s": exact.seconds,
        "spark_join_pairs": exact.n_pairs,
        "spark_join_candidates": exact.n_candidates,
        "minhash_s": minhash.seconds,
        "minhash_candidates": minhash.n_candidates,
        "minhash_recall": recall.recall,
        "spark_step5_pairs": len(four),
        "spark_step5_s": time.perf_counter() - started,
    }


def _same_matches(a, b) -> tuple[bool, float]:
    """Whether two MATCHES tables agree (ids, verdicts, ranks exactly; scores within 1e-9)."""
    if a.num_rows != b.num_rows:
        return False, math.inf
    worst = 0.0
    for column in a.column_names:
        x, y = a[column].to_pylist(), b[column].to_pylist()
        if isinstance(next((v for v in x if v is not None), ""), float):
            xs = np.array([np.nan if v is None else v for v in x])
            ys = np.array([np.nan if v is None else v for v in y])
            if not np.array_equal(np.isnan(xs), np.isnan(ys)):
                return False, math.inf
            diff = np.abs(np.nan_to_num(xs) - np.nan_to_num(ys))
            worst = max(worst, float(diff.max(initial=0.0)))
        elif x != y:
            return False, math.inf
    return worst <= 1e-9, worst


def _growth(lib_arrays, qry_arrays, jaccard_min: float, fractions) -> list[dict]:
    """Step-2 candidates and pairs per query at several library sizes (random user subsets)."""
    from netpersona.rejoin._join import jaccard_join
    from netpersona.rejoin._steps import join_weights

    rng = np.random.default_rng(0)
    order = rng.permutation(lib_arrays.n_users)
    weights = join_weights(qry_arrays, lib_arrays)
    rows = []
    for fraction in fractions:
        keep = np.sort(order[: max(1, round(fraction * lib_arrays.n_users))])
        starts, stops = lib_arrays.frequent_indptr[keep], lib_arrays.frequent_indptr[keep + 1]
        indptr = np.zeros(len(keep) + 1, dtype=np.int64)
        np.cumsum(stops - starts, out=indptr[1:])
        sites = np.concatenate(
            [lib_arrays.frequent_sites[a:b] for a, b in zip(starts, stops, strict=True)]
        )
        started = time.perf_counter()
        joined = jaccard_join(
            qry_arrays.frequent_indptr, qry_arrays.frequent_sites, indptr, sites, jaccard_min,
            weights, threads=2,
        )  # fmt: skip
        rows.append(
            {
                "library": len(keep),
                "pairs_per_query": joined.n_pairs / max(qry_arrays.n_users, 1),
                "seconds": time.perf_counter() - started,
            }
        )
    return rows


def _slope(rows: list[dict]) -> float:
    x = np.log([r["library"] for r in rows])
    y = np.log([max(r["pairs_per_query"], 1e-9) for r in rows])
    return float(np.polyfit(x, y, 1)[0]) if len(rows) > 1 else 1.0


def main(quick: bool) -> None:
    from netpersona.engine import DuckDBEngine
    from netpersona.engine._spark import SparkEngine, session, spark_available

    users, days = QUICK if quick else FULL
    lib_path, qry_path, url_rows = _canonical_split(_url_log(users, days))
    with DuckDBEngine(threads=2, memory_limit="3GB") as duck:
        d = _run_engine(duck, lib_path, qry_path, spark=False)
        growth = _growth(d["lib"].arrays(), d["qry"].arrays(), 0.6, (0.125, 0.25, 0.5, 1.0))
    for row in growth:
        row["log"] = f"{users}x{days}"
    bigger = DATA / GROWTH_LOG
    if not quick and bigger.exists():  # a larger library for the growth curve (DuckDB only)
        with DuckDBEngine(threads=2, memory_limit="3GB") as duck:
            g = _run_engine(duck, *_canonical_split(bigger)[:2], spark=False)
            larger = _growth(g["lib"].arrays(), g["qry"].arrays(), 0.6, (0.125, 0.25, 0.5, 1.0))
        for row in larger:
            row["log"] = bigger.stem.removeprefix("access_").removesuffix("_seed0_light")
            row["log"] += " (light)"
        growth += larger
    reason = spark_available()
    if reason:
        write_section("spark", f"Spark benchmark not run: {reason}.")
        return
    conf = {**SPARK_CONF, "spark.sql.warehouse.dir": str(DATA / "spark-warehouse")}
    started = time.perf_counter()
    spark = session("local[2]", conf, app_name="netpersona-bench")
    spark.sparkContext.setLogLevel("ERROR")
    start_s = time.perf_counter() - started
    engine = SparkEngine(spark, materialize="checkpoint")
    try:
        s = _run_engine(engine, lib_path, qry_path, spark=True)
        s["start_s"] = start_s
    finally:
        engine.close()
    same, worst = _same_matches(d["matches"], s["matches"])
    fitted = [r for r in growth if r["log"] == growth[-1]["log"]]  # the largest log's series
    slope = _slope(fitted)
    per_query_10m = fitted[-1]["pairs_per_query"] * (10_000_000 / fitted[-1]["library"]) ** slope
    write_section("spark", _markdown(users, days, url_rows, d, s, same, worst, growth, slope,
                                     per_query_10m, quick))  # fmt: skip


def _markdown(users, days, url_rows, d, s, same, worst, growth, slope, per_10m, quick) -> str:
    lines = [
        "## Spark vs DuckDB (re-join)",
        "",
        f"Synthetic log: {users:,} users x {days} days ({url_rows:,} URL rows; library "
        f"{d['n_library']:,} users, {d['n_queries']:,} query users, last {QUERY_DAYS} days), "
        f"{'quick run' if quick else 'full run'}. Both engines read the same canonical Parquet "
        f"files ({d['rows']:,} rows) and run the same SQL; DuckDB with 2 threads, Spark "
        f"`local[2]` with 3 GB driver memory. `python -m benchmarks spark`.",
        "",
        "| | DuckDB | Spark local[2] | Spark / DuckDB |",
        "|---|---:|---:|---:|",
        f"| profiles, library + queries (step 1, loaded as arrays) | {d['profiles_s']:.1f} s | "
        f"{s['profiles_s']:.1f} s | {s['profiles_s'] / d['profiles_s']:.1f}x |",
        f"| starting the engine | - | {s['start_s']:.1f} s | |",
        f"| identification, steps 2-6 on the driver | {d['identify_s']:.2f} s | "
        f"{s['identify_s']:.2f} s | {s['identify_s'] / max(d['identify_s'], 1e-9):.1f}x |",
        "",
        f"Same MATCHES on both engines: **{'yes' if same else 'NO'}** (largest score "
        f"difference {worst:.1e}). Identification runs the same driver code on the same "
        "arrays on both engines (timed after a warm-up run), so its ratio is noise; the "
        "engines differ in step 1 and in the distributed pieces below.",
        "",
        "Spark's distributed pieces on the same profiles:",
        "",
        f"- step 2 as Spark SQL (exact prefix join, hot sites salted): {s['spark_join_s']:.1f} s, "
        f"{s['spark_join_candidates']:,} prefix candidates verified to "
        f"{s['spark_join_pairs']:,} pairs "
        f"({'the same' if s['spark_join_identical'] else 'NOT the same'} as the numba "
        "join's pairs, scores within 1e-9, checked here);",
        f"- MinHash banding (32 x 4): {s['minhash_s']:.1f} s, {s['minhash_candidates']:,} "
        f"candidates, measured recall **{s['minhash_recall']:.4f}** of the exact pairs;",
        f"- step 5 via `mapInPandas` on {s['spark_step5_pairs']:,} surviving pairs: "
        f"{s['spark_step5_s']:.1f} s, scores "
        f"{'identical' if s['spark_step5_identical'] else 'NOT identical'} to core's.",
        "",
        "### Step-2 growth with the library (measured) and a projection to 10M users",
        "",
        "| log (users x days) | library users | pairs with J > 0.6 per query | "
        "join seconds (numba, 2 threads) |",
        "|---|---:|---:|---:|",
        *[
            f"| {r['log']} | {r['library']:,} | {r['pairs_per_query']:.2f} | {r['seconds']:.3f} |"
            for r in growth
        ],
        "",
        f"Pairs per query grow as library^{slope:.2f} over the {growth[-1]['log']} sizes "
        f"(log-log fit, random library subsets, the same queries). At that "
        f"rate a 10M-user library gives about {per_10m:,.0f} step-2 pairs per query, "
        f"{per_10m * 1e7:,.0f} for 10M queries. This is measured only up to "
        f"{growth[-1]['library']:,} library users on this machine (the 25k/100k/400k points "
        "of the issue were not run here), so the projection is an extrapolation of a "
        "clean power law, not a measurement. Linear growth (exponent ~1) means step 2's "
        "output, not its search, dominates, which is why it runs as a distributed join "
        "there and why steps 3-6 only ever see its trimmed survivors. The prefix join's work "
        "is its candidate count (above: candidates before verification); the MinHash mode "
        "bounds it by bands x bucket size at a measured recall cost. Local mode is slower "
        "than DuckDB on one machine (JVM start, stage scheduling); Spark pays off when the "
        "log does not fit one machine.",
    ]
    return "\n".join(lines)
