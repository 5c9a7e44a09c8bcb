"""Re-join on every real log of ../shared/data/access_logs and the synthetic presets (issue 16).

``python -m benchmarks real_data`` writes docs/real-data.md. On each log one split (the paper's
``time`` protocol, or ``last-days`` / ``first-seen`` where the log calls for it), then every
method on that same split: always "new", the paper's defaults, the paper calibrated on the
library alone (objective balanced), TF-IDF with its threshold, TF-IDF one-to-one, the learned
matcher and ``auto``. TF-IDF, learned and auto come from ONE learned-matcher fit on the split's
library (thresholds from its own simulation; no method sees the queries or the truth before it
answers). Beside each real figure: the simulation's size and the simulated figure's gap.

Results are kept per log in ``benchmarks/.data/real_data.json`` (a rerun of some logs keeps
the others); ``REAL_DATA_LOGS`` picks logs by key (comma-separated), ``REAL_DATA_CALIBRATE``
the seconds of the calibration search per log (default 90), ``REAL_DATA_RESULTS`` another results
file (for a second run in parallel) and ``REAL_DATA_MERGE`` results files to merge in.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

from benchmarks._common import DATA, ROOT, SHARED_DATA, machine, peak_rss_mb, today
from benchmarks._real_ceilings import data_ceiling, method_ceilings, pct, render_ceilings
from benchmarks._real_targets import targets_table

OUT = ROOT / "docs" / "real-data.md"
RESULTS = Path(os.environ.get("REAL_DATA_RESULTS", DATA / "real_data.json"))
KEYS = ("balanced_accuracy", "acc_absent", "acc_present", "rank1_present")
METHODS = (
    "always new",
    "paper defaults",
    "paper calibrated",
    "tfidf",
    "tfidf_one_to_one",
    "learned",
    "learned_one_to_one",
    "auto",
)


def shared_data() -> Path:
    """../shared/data of the project, looked for upwards (a worktree sits deeper)."""
    for base in (SHARED_DATA.parent.parent, *ROOT.parents):
        if (base / "shared" / "data" / "access_logs").exists():
            return base / "shared" / "data"
    return SHARED_DATA


def _git(name: str) -> dict:
    return {
        "file": f"access_logs/git_{name}_events.csv.gz",
        "mapping": {"site_col": "site"},
        "split": "first-seen",
        "pairs": f"access_logs/git_{name}_identity_pairs.csv",
        "cut": dt.date(2016, 1, 1),
        "query_days": 90,
    }


LOGS: dict[str, dict] = {
    "collegemsg": {
        "title": "CollegeMsg, 60 days",
        "file": "access_logs/collegemsg.txt",
        "mapping": {
            "columns": ("sender", "recipient", "ts"),
            "no_header": True,
            "user_col": "sender",
            "url_col": None,
            "site_col": "recipient",
            "time_unit": "s",
        },
        "split": "time",
        "window": (dt.date(2004, 4, 15), dt.date(2004, 6, 13)),
        "query_days": 5,
    },
    "wikipedia": {
        "title": "Wikipedia edits",
        "file": "access_logs/jodie_wikipedia.txt.gz",
        "mapping": {
            "columns": ("user", "page", "ts"),
            "no_header": True,
            "user_col": "user",
            "url_col": None,
            "site_col": "page",
            "time_unit": "s",
        },
        "split": "time",
        "query_days": 5,
    },
    "gesis": {
        "title": "GESIS web tracking (10 panelists)",
        "file": "access_logs/gesis_web_tracking_urls.csv",
        "mapping": {
            "user_col": "panelist_id",
            "time_col": "used_at",
            "site_col": "domain",
            "url_col": None,
        },
        "split": "time",
        "query_days": 5,
    },
    "gowalla": {
        "title": "Gowalla check-ins (each user's last 14 days)",
        "file": "access_logs/gowalla_u1000.csv.gz",
        "mapping": {"site_col": "site"},
        "split": "last-days",
        "query_days": 14,
    },
    "scipy": {"title": "scipy commits (identity changes)", **_git("scipy")},
    "astropy": {"title": "astropy commits (identity changes)", **_git("astropy")},
    "synthetic paper": {
        "title": "Synthetic, preset paper (1,000 users x 60 days)",
        "synthetic": ("paper", 1_000, 60),
        "split": "time",
        "query_days": 5,
        "library_fraction": 20_809 / 25_809,
    },
    "synthetic sparse": {
        "title": "Synthetic, preset sparse (1,000 users x 60 days)",
        "synthetic": ("sparse", 1_000, 60),
        "split": "time",
        "query_days": 5,
    },
}


def _engine():
    from netpersona.engine import DuckDBEngine

    engine = DuckDBEngine(threads=2, memory_limit="3GB")
    engine.execute("SET preserve_insertion_order = true")
    return engine


def _figures(metrics: dict | None) -> dict | None:
    return None if metrics is None else {k: metrics.get(k) for k in KEYS}


def _load(engine, spec: dict) -> None:
    from netpersona.io import LogMapping, read_access_log

    if "synthetic" in spec:
        _synthetic(engine, *spec["synthetic"])
        return
    mapping = LogMapping(**spec["mapping"])
    read_access_log(shared_data() / spec["file"], mapping, engine, table="log")


def _synthetic(engine, preset: str, users: int, days: int) -> None:
    """Table ``log`` (user_id, ts, site) of a synthetic preset, generated batch by batch."""
    import pyarrow as pa

    from benchmarks._rejoin_data import sites_of_urls
    from netpersona.synth import generate_access_logs, preset_settings

    engine.execute("CREATE OR REPLACE TABLE log (user_id VARCHAR, ts TIMESTAMP, site VARCHAR)")
    known: dict = {}
    settings = preset_settings(preset)
    for batch in generate_access_logs(users, days, seed=0, settings=settings, encoded=True):
        url = batch.column("url")
        site = pa.DictionaryArray.from_arrays(url.indices, sites_of_urls(url.dictionary, known))
        engine.register_arrow(
            "synthetic_batch",
            pa.table({"user_id": batch.column("user_id").cast(pa.string()),
                      "ts": batch.column("ts"), "site": site.cast(pa.string())}),
        )  # fmt: skip
        engine.execute("INSERT INTO log SELECT user_id, CAST(ts AS TIMESTAMP), site "
                       "FROM synthetic_batch")  # fmt: skip


def _split(engine, spec: dict):
    from netpersona.rejoin._splits import make_split, read_identity_pairs

    pairs = read_identity_pairs(shared_data() / spec["pairs"]) if "pairs" in spec else None
    return make_split(
        engine, "log", spec["split"], query_days=spec["query_days"],
        library_fraction=spec.get("library_fraction", 0.8), seed=0,
        window=spec.get("window"), prefix="ev", pairs=pairs, cut=spec.get("cut"),
    )  # fmt: skip


def one_log(key: str, spec: dict, calibrate_seconds: float) -> dict:
    from netpersona.rejoin import RejoinSettings
    from netpersona.rejoin._calibrate import calibrate
    from netpersona.rejoin._evaluate import PaperMethod, evaluate_split, score_matches
    from netpersona.rejoin._learned import LearnedMatcher, build_side
    from netpersona.rejoin._learned._methods import identify_sides
    from netpersona.rejoin._protocol import fetch_truth

    engine = _engine()
    _load(engine, spec)
    split = _split(engine, spec)
    truth = fetch_truth(engine, split)
    rows: dict[str, dict] = {}
    n_present = split.n_queries - split.n_absent
    rows["always new"] = {
        "real": {"balanced_accuracy": 0.5 if n_present and split.n_absent else None,
                 "acc_absent": 1.0 if split.n_absent else None,
                 "acc_present": 0.0 if n_present else None, "rank1_present": None},
    }  # fmt: skip
    began = time.perf_counter()
    ev = evaluate_split(engine, split, settings=RejoinSettings(), method=PaperMethod(), top_k=1,
                        truth=truth)  # fmt: skip
    rows["paper defaults"] = {"real": _figures(ev.metrics),
                              "seconds": time.perf_counter() - began}  # fmt: skip
    print(f"  {key} / paper defaults: {rows['paper defaults']['real']}", flush=True)
    settings = RejoinSettings()
    if calibrate_seconds > 0:
        began = time.perf_counter()
        try:
            cal = calibrate(
                engine, split.library_table, objective="balanced", query_days=split.query_days,
                library_fraction=0.8, seed=0, max_seconds=calibrate_seconds, max_trials=80,
            )  # fmt: skip
            settings = cal.settings
            ev = evaluate_split(engine, split, settings=settings, method=PaperMethod(), top_k=1,
                                truth=truth)  # fmt: skip
            rows["paper calibrated"] = {
                "real": _figures(ev.metrics),
                "simulated_calibration": _figures(cal.calibrated_metrics),
                "trials": len(cal.trials),
                "seconds": time.perf_counter() - began,
            }
        except Exception as exc:  # a benchmark reports what failed and goes on
            rows["paper calibrated"] = {"real": None, "error": str(exc)}
        print(f"  {key} / paper calibrated: {rows['paper calibrated']['real']}", flush=True)
    began = time.perf_counter()
    matcher = LearnedMatcher(
        objective="balanced", query_days=split.query_days, seed=0,
        split_by=spec["split"],
    )  # fmt: skip
    try:
        matcher.fit(engine, split.library_table, settings)
    except Exception as exc:  # reported in the table
        rows["learned"] = {"real": None, "error": str(exc)}
        engine.close()
        return {"title": spec["title"], "protocol": split.describe(), "rows": rows}
    fit_seconds = time.perf_counter() - began
    lib = build_side(engine, split.library_table, "bl", settings)
    qry = build_side(engine, split.query_table, "bq", settings, lib)
    sims = matcher.simulated_
    simulated = {"tfidf": sims.get("tfidf"), "tfidf_one_to_one": sims.get("tfidf_one_to_one"),
                 "learned": sims.get(matcher.model_name_), "paper calibrated": sims.get("paper"),
                 "learned_one_to_one": sims.get("learned_one_to_one"),
                 "auto": sims.get(matcher.model_name_ if matcher.auto_ == "learned" else
                                  matcher.auto_)}  # fmt: skip
    for method in ("tfidf", "tfidf_one_to_one", "learned", "learned_one_to_one", "auto"):
        began = time.perf_counter()
        result = identify_sides(method, matcher, lib, qry, engine=engine, top_k=1)
        real = _figures(score_matches(result.matches, truth))
        rows[method] = {"real": real, "simulated": _figures(simulated.get(method)),
                        "seconds": time.perf_counter() - began}  # fmt: skip
        print(f"  {key} / {method}: {real}", flush=True)
    if "paper calibrated" in rows and sims.get("paper"):
        rows["paper calibrated"]["simulated"] = _figures(sims["paper"])
    rows["auto"]["chose"] = matcher.auto_
    rows["auto"]["reason"] = matcher.auto_reason_
    rows["learned"]["model"] = matcher.model_name_
    rows["learned"]["reliability"] = sims[matcher.model_name_].get("reliability")
    out = {
        "title": spec["title"],
        "protocol": split.describe(),
        "split_by": spec["split"],
        "rows": rows,
        "simulation": matcher.simulation_,
        "fit_seconds": fit_seconds,
        "candidate_recall_simulated": matcher.training_.recall,
        "ceilings": {"methods": method_ceilings(matcher, lib, qry, truth, rows),
                     "data": data_ceiling(engine, split)},  # DIAGNOSTIC: uses the truth
    }  # fmt: skip
    print(f"  {key} / ceilings: {out['ceilings']}", flush=True)
    engine.close()
    return out


def render(results: dict, notes: str = "") -> str:
    lines = [
        "# Re-join on real logs (and the synthetic presets)",
        "",
        "Written by `python -m benchmarks real_data` (benchmarks/bench_real_data.py); "
        f"{machine()}. Figures are percentages: balanced accuracy (mean of absent and present "
        "accuracy), absent accuracy (new users answered 'new'), present accuracy (returning "
        "users matched to their own earlier identity) and rank-1 (the true user ranked first, "
        "whatever the verdict). Every method runs on the same split; thresholds come from the "
        "library alone (no method sees the queries or the truth). 'sim.' is the figure the "
        "method saw on its simulation inside the library, 'gap' real minus simulated "
        "balanced accuracy.",
        "",
        *targets_table(results),
        *render_ceilings(results),
    ]
    for r in results.values():
        p = r["protocol"]
        lines += [
            f"## {r['title']}",
            "",
            f"Split `{r.get('split_by', 'time')}`: library {p['n_library']:,} users, "
            f"{p['n_queries']:,} queries ({p['n_present']:,} returning, {p['n_absent']:,} new), "
            f"query period {p['query_days']} days.",
        ]
        size = r.get("simulation") or {}
        if size:
            ci = size.get("acc_absent_ci95")
            lines.append(
                f"Simulation: {size['n_simulated_queries']:,} simulated queries "
                f"({size['n_present']:,} returning, {size['n_absent']:,} new) from "
                f"{size['time_cuts']} time cuts x draws = {size['simulations']} simulated "
                "re-joins"
                + (f"; absent accuracy 95% interval {pct(ci[0])}-{pct(ci[1])}%" if ci else "")
                + (f". **Warning**: {size['warning']}" if size.get("warning") else "")
                + "."
            )
        lines += [
            "",
            "| method | balanced | absent | present | rank-1 | sim. balanced | gap |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for method in METHODS:
            row = r["rows"].get(method)
            if row is None:
                continue
            real = row.get("real") or {}
            sim = row.get("simulated") or {}
            gap = (
                f"{100 * (real['balanced_accuracy'] - sim['balanced_accuracy']):+.1f}"
                if real.get("balanced_accuracy") is not None
                and sim.get("balanced_accuracy") is not None
                else "–"
            )
            label = method + (f" (chose {row['chose']})" if "chose" in row else "")
            if row.get("error"):
                label += f" — failed: {row['error'][:80]}"
            lines.append(
                f"| {label} | {pct(real.get('balanced_accuracy'))} | "
                f"{pct(real.get('acc_absent'))} | {pct(real.get('acc_present'))} | "
                f"{pct(real.get('rank1_present'))} | {pct(sim.get('balanced_accuracy'))} | "
                f"{gap} |"
            )
        if "auto" in r["rows"] and r["rows"]["auto"].get("reason"):
            lines += ["", f"auto: {r['rows']['auto']['reason']}."]
        rel = r["rows"].get("learned", {}).get("reliability")
        if rel:
            lines.append(
                f"Calibrated match probabilities (out-of-fold on the simulation): Brier "
                f"{rel['brier']:.4f}, ECE {rel['ece']:.4f}."
            )
        lines.append("")
    if notes:
        lines += [notes, ""]
    return "\n".join(lines)


def main(quick: bool = False) -> None:
    chosen = [k for k in os.environ.get("REAL_DATA_LOGS", "").split(",") if k] or list(LOGS)
    seconds = float(os.environ.get("REAL_DATA_CALIBRATE", "30" if quick else "90"))
    DATA.mkdir(parents=True, exist_ok=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for extra in [p for p in os.environ.get("REAL_DATA_MERGE", "").split(",") if p]:
        results.update(json.loads(Path(extra).read_text()))  # results of a parallel run
    for key in chosen:
        print(f"-- {key}", flush=True)
        began = time.perf_counter()
        results[key] = one_log(key, LOGS[key], seconds)
        results[key]["seconds"] = time.perf_counter() - began
        results[key]["measured"] = today()
        results[key]["peak_rss_mb"] = peak_rss_mb()
        RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    ordered = {k: results[k] for k in LOGS if k in results}
    notes_file = ROOT / "benchmarks" / "real_data_notes.md"
    notes = notes_file.read_text() if notes_file.exists() else ""
    OUT.write_text(render(ordered, notes), encoding="utf-8")
    print(f"wrote {OUT}", flush=True)
