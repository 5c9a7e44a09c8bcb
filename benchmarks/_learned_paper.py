"""The learned matcher at the paper's scale (25,809 users x 60 days, t = 5, library 20,809).

Part of ``bench_rejoin_learned``. The canonical synthetic log (``user_id, ts, site``; 510M rows)
is loaded once into ``benchmarks/.data/learned_paper.duckdb`` and split once by the paper's
protocol (kept in the file, with the split's figures in ``learned_paper_split.json``). The
library and query profiles (the paper's, plus the learned matcher's activity) are built once
and shared by every method, so each method's time below is its identification alone:

- the paper's defaults: steps 2-6 on the shared profiles;
- the paper calibrated (objective balanced) on a seeded sample of the library log (the same
  sample size the learned matcher simulates on), over the step thresholds only (the profile
  settings would need the 20,809-user profiles rebuilt per trial), with a capped search;
- the learned matcher, trained on the split's library log alone (time = training);
- the TF-IDF nearest neighbour with the cosine threshold chosen on the learned matcher's own
  simulation (the same seeded cut ``TfidfMatcher.fit`` would make).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

from benchmarks._common import DATA, peak_rss_mb

CANONICAL = DATA / "canonical_25809x60_seed0.parquet"
DATABASE = DATA / "learned_paper.duckdb"
SPLIT_JSON = DATA / "learned_paper_split.json"
PAPER_FRACTION = 20_809 / 25_809
#: the calibrated paper method's search at this scale: trials and seconds at most
CALIBRATE_TRIALS, CALIBRATE_SECONDS = 40, 420.0
#: ... and the lowest step-2 Jaccard threshold it may choose
JACCARD_FLOOR = 0.2


def _engine():
    from netpersona.engine import DuckDBEngine

    (DATA / "learned_tmp").mkdir(parents=True, exist_ok=True)
    engine = DuckDBEngine(str(DATABASE), threads=2, memory_limit="4GB")
    engine.execute(f"SET temp_directory = '{DATA / 'learned_tmp'}'")
    engine.execute("SET preserve_insertion_order = true")
    return engine


def _split(engine):
    """The evaluation split ``ev`` (loaded and cut once, then re-opened from the file)."""
    import datetime as dt

    from netpersona.rejoin._profiles import table_exists
    from netpersona.rejoin._protocol import Split, split_log

    if not table_exists(engine, "log"):
        began = time.perf_counter()
        engine.execute(
            f"CREATE TABLE log AS SELECT user_id, ts, site FROM read_parquet('{CANONICAL}')"
        )
        print(f"  loaded the canonical log in {time.perf_counter() - began:.0f} s", flush=True)
    if SPLIT_JSON.exists() and table_exists(engine, "ev_truth"):
        saved = json.loads(SPLIT_JSON.read_text())
        for key in ("window", "library_period", "query_period"):
            saved[key] = tuple(dt.date.fromisoformat(d) for d in saved[key])
        return Split(**saved)
    split = split_log(
        engine, "log", query_days=5, library_fraction=PAPER_FRACTION, seed=0, prefix="ev"
    )
    engine.execute("CHECKPOINT")
    fields = {k: v for k, v in split.__dict__.items()}
    for key in ("window", "library_period", "query_period"):
        fields[key] = [d.isoformat() for d in fields[key]]
    SPLIT_JSON.write_text(json.dumps(fields))
    return split


def paper_scale(figures) -> dict:
    """Run the four methods on the paper-scale split; results in the benchmark's layout."""
    from netpersona.rejoin import RejoinSettings
    from netpersona.rejoin._evaluate import score_matches
    from netpersona.rejoin._identify import identify_arrays
    from netpersona.rejoin._learned import LearnedMatcher, TfidfMatcher, build_side
    from netpersona.rejoin._learned._identify import identify_learned
    from netpersona.rejoin._protocol import drop_tables, fetch_truth

    engine = _engine()
    began = time.perf_counter()
    split = _split(engine)
    truth = fetch_truth(engine, split)
    settings = RejoinSettings()
    rows: dict[str, dict] = {}
    speed: dict[str, float] = {
        "split_seconds": time.perf_counter() - began,
        "load_average": os.getloadavg()[0],
    }

    def real(matches) -> dict:
        return figures(score_matches(matches, truth))

    def say(label: str) -> None:
        print(f"  paper scale / {label}: {rows[label]['real']}", flush=True)

    t = time.perf_counter()
    matcher = LearnedMatcher(objective="balanced", query_days=5).fit(
        engine, split.library_table, settings
    )
    speed["train_seconds"] = time.perf_counter() - t
    speed["train_peak_mb"] = peak_rss_mb()
    print(f"  paper scale: trained in {speed['train_seconds']:.0f} s", flush=True)
    t = time.perf_counter()
    lib = build_side(engine, split.library_table, "pl_lib", settings)
    speed["library_side_seconds"] = time.perf_counter() - t
    t = time.perf_counter()
    qry = build_side(engine, split.query_table, "pl_qry", settings, lib)
    speed["query_side_seconds"] = time.perf_counter() - t
    print(f"  paper scale: profiles and activity built: {speed}", flush=True)

    t = time.perf_counter()
    paper = identify_arrays(lib.arrays, qry.arrays, settings, top_k=1)
    rows["paper defaults"] = {
        "real": real(paper.matches),
        "simulated": None,
        "seconds": time.perf_counter() - t,
    }
    say("paper defaults")
    rows["paper, calibrated (balanced)"] = _calibrated(
        engine, split, lib, qry, real, figures, matcher
    )
    say("paper, calibrated (balanced)")

    tfidf = TfidfMatcher(objective="balanced", threshold_=matcher.tfidf_threshold_)
    t = time.perf_counter()
    result = tfidf.identify(lib, qry, top_k=1)
    rows["TF-IDF nearest neighbour"] = {
        "real": real(result.matches),
        "simulated": figures(matcher.simulated_["tfidf"]),
        "seconds": time.perf_counter() - t,
    }
    say("TF-IDF nearest neighbour")

    learned = identify_learned(matcher, lib, qry, top_k=1)
    # timed in a fresh process (its peak memory is the identification's own), after the
    # database is closed: DuckDB lets one process at a time open the file
    from netpersona.rejoin._learned import save_matcher

    saved = save_matcher(matcher, DATA / "learned_paper_matcher", force=True)
    del lib, qry
    engine.close()
    child = subprocess.run(
        [sys.executable, "-m", "benchmarks._learned_identify", str(DATABASE), str(saved)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    fresh = json.loads(child.stdout.strip().splitlines()[-1])
    engine = _engine()
    speed["identify_seconds"] = statistics.median(fresh["wall"])
    speed["identify_cpu_seconds"] = statistics.median(fresh["cpu"])
    speed["identify_runs"] = fresh
    speed["identify_peak_mb"] = fresh["peak_mb"]
    rows["learned"] = {
        "real": real(learned.matches),
        "simulated": figures(matcher.simulated_[matcher.model_name_]),
        "seconds": speed["train_seconds"] + speed["identify_seconds"],
        "model": matcher.model_name_,
        "models": {
            k: {**figures(v), "threshold": v["threshold"]} for k, v in matcher.simulated_.items()
        },
        "fit_seconds": matcher.fit_seconds_,
        "fit_timings": matcher.timings_,
        "candidate_recall_simulated": matcher.training_.recall,
        "identify_seconds": speed["identify_seconds"],
        "n_training_pairs": len(matcher.training_.label),
        "n_simulated_queries": matcher.training_.n_queries,
    }
    say("learned")
    for tag in ("pl_lib", "pl_qry"):
        drop_tables(engine, tag)
    engine.close()
    return {"protocol": split.describe(), "rows": rows, "speed": speed}


def _calibrated(engine, split, lib, qry, real, figures, matcher) -> dict:
    """The paper's method calibrated on a sample of the library log (step thresholds only)."""
    from netpersona.rejoin._calibrate import SEARCH_SPACE, calibrate
    from netpersona.rejoin._evaluate import PROFILE_SETTINGS
    from netpersona.rejoin._identify import identify_arrays
    from netpersona.rejoin._learned._selfsup import sample_users
    from netpersona.rejoin._protocol import drop_tables

    began = time.perf_counter()
    sample = sample_users(engine, split.library_table, matcher.simulated_users, 0, "calsample_log")
    space = {k: v for k, v in SEARCH_SPACE.items() if k not in PROFILE_SETTINGS}
    # a permissive step 2 joins every pair of 25,809 x 20,809 users: memory, not accuracy
    space["jaccard_min"] = tuple(v for v in space["jaccard_min"] if v >= JACCARD_FLOOR)
    try:
        cal = calibrate(
            engine,
            sample,
            objective="balanced",
            query_days=5,
            library_fraction=0.8,
            seed=0,
            space=space,
            max_trials=CALIBRATE_TRIALS,
            max_seconds=CALIBRATE_SECONDS,
        )
    finally:
        drop_tables(engine, "calsample")
    search = time.perf_counter() - began
    t = time.perf_counter()
    result = identify_arrays(lib.arrays, qry.arrays, cal.settings, top_k=1)
    return {
        "real": real(result.matches),
        "simulated": figures(cal.calibrated_metrics),
        "seconds": time.perf_counter() - t,
        "trials": len(cal.trials),
        "max_trials": CALIBRATE_TRIALS,
        "max_seconds": CALIBRATE_SECONDS,
        "sample_users": matcher.simulated_users,
        "jaccard_floor": JACCARD_FLOOR,
        "search_seconds": search,
        "stopped": cal.stopped,
        "settings": {k: v for k, v in cal.settings.to_dict().items()},
    }
