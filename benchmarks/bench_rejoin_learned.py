"""The learned re-join matcher against the paper's method and TF-IDF on real logs (issue 8).

On every log, one split by the paper's protocol (t = 5, library fraction 0.8, seed 0) and four
methods on it: the paper's defaults, the paper's method with settings calibrated (objective
balanced) on the split's library log alone, the TF-IDF nearest neighbour and the learned
matcher (both with thresholds chosen on their own simulation inside the library log). No
method sees the real queries or the truth before it answers. Beside each real figure: the one
the method saw on its simulation, and the gap between them.

Results are kept in ``benchmarks/.data/rejoin_learned[_quick].json`` and rendered into the
``rejoin_learned`` section of docs/benchmarks.md. ``LEARNED_BENCH_LOGS`` picks logs by name.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time

from benchmarks._common import DATA, SHARED_DATA, machine, peak_rss_mb, today, write_section

#: the synthetic log at the paper's scale, measured by :mod:`benchmarks._learned_paper`
PAPER_SCALE = "Synthetic, paper scale (25,809 users x 60 days)"
LOGS = {
    "CollegeMsg, 60 days": ("collegemsg", (dt.date(2004, 4, 15), dt.date(2004, 6, 13))),
    "CollegeMsg, whole log": ("collegemsg", None),
    "Wikipedia": ("wikipedia", None),
    "Synthetic, 1,200 users x 30 days": ("synthetic", None),
    "Synthetic, 5,000 users x 60 days (light)": ("synthetic_light", None),
    PAPER_SCALE: ("paper", None),
}
#: synthetic logs the re-join benchmark generates (dense, habitual users; "light": fewer loads)
SYNTHETIC = {
    "synthetic": "access_1200x30_seed0.parquet",
    "synthetic_light": "access_5000x60_seed0_light.parquet",
}
#: the paper's library share, 20,809 of 25,809
PAPER_FRACTION = 20_809 / 25_809
MAPPINGS = {
    "collegemsg": (
        "access_logs/collegemsg.txt",
        {
            "columns": ("sender", "recipient", "ts"),
            "no_header": True,
            "user_col": "sender",
            "url_col": None,
            "site_col": "recipient",
            "time_unit": "s",
        },
    ),
    "wikipedia": (
        "access_logs/jodie_wikipedia.txt.gz",
        {
            "columns": ("user", "page", "ts"),
            "no_header": True,
            "user_col": "user",
            "url_col": None,
            "site_col": "page",
            "time_unit": "s",
        },
    ),
}
KEYS = ("rank1_present", "acc_absent", "acc_present", "acc_overall", "balanced_accuracy")


def _engine():
    from netpersona.engine import DuckDBEngine

    engine = DuckDBEngine(threads=2, memory_limit="3GB")
    engine.execute("SET preserve_insertion_order = true")
    return engine


def _figures(metrics: dict | None) -> dict | None:
    return None if metrics is None else {k: metrics.get(k) for k in KEYS}


def _one_log(name: str, source: str, window, calibrate_seconds: float) -> dict:
    from netpersona.io import LogMapping, read_access_log
    from netpersona.rejoin import RejoinSettings
    from netpersona.rejoin._evaluate import PaperMethod, evaluate_split
    from netpersona.rejoin._learned import LearnedMethod, TfidfMethod
    from netpersona.rejoin._protocol import fetch_truth, split_log

    engine = _engine()
    synthetic = source in SYNTHETIC
    if synthetic:
        from benchmarks._rejoin_data import load_canonical

        load_canonical(engine, DATA / SYNTHETIC[source])
    else:
        relative, mapping = MAPPINGS[source]
        read_access_log(SHARED_DATA / relative, LogMapping(**mapping), engine, table="log")
    fraction = PAPER_FRACTION if synthetic else 0.8
    split = split_log(
        engine, "log", query_days=5, library_fraction=fraction, seed=0, window=window, prefix="ev"
    )
    truth = fetch_truth(engine, split)
    rows: dict[str, dict] = {}

    def run(label, method, settings, simulated, extra=None):
        began = time.perf_counter()
        ev = evaluate_split(engine, split, settings=settings, method=method, top_k=1, truth=truth)
        rows[label] = {
            "real": _figures(ev.metrics),
            "simulated": _figures(simulated() if simulated else None),
            "seconds": time.perf_counter() - began,
            **(extra or {}),
        }
        method.release(engine)
        print(f"  {name} / {label}: {rows[label]['real']}", flush=True)

    run("paper defaults", PaperMethod(), RejoinSettings(), None)
    if not synthetic:
        _calibrated(engine, split, run, calibrate_seconds)
    tfidf = TfidfMethod(objective="balanced")
    run("TF-IDF nearest neighbour", tfidf, None, lambda: tfidf.matcher.simulated_)
    learned = LearnedMethod(objective="balanced")
    run("learned", learned, None, lambda: learned.matcher.simulated_[learned.matcher.model_name_])
    m = learned.matcher
    rows["learned"]["model"] = m.model_name_
    rows["learned"]["models"] = {
        k: {**_figures(v), "threshold": v["threshold"]} for k, v in m.simulated_.items()
    }
    rows["learned"]["fit_seconds"] = m.fit_seconds_
    rows["learned"]["candidate_recall_simulated"] = m.training_.recall
    rows["learned"]["identify_seconds"] = learned.identify_seconds
    rows["learned"]["n_training_pairs"] = len(m.training_.label)
    engine.close()
    return {"protocol": split.describe(), "rows": rows}


def _calibrated(engine, split, run, calibrate_seconds: float) -> None:
    """The paper's method with settings calibrated on the split's library log alone."""
    from netpersona.rejoin._calibrate import calibrate
    from netpersona.rejoin._evaluate import PaperMethod

    began = time.perf_counter()
    cal = calibrate(
        engine,
        split.library_table,
        objective="balanced",
        query_days=5,
        library_fraction=0.8,
        seed=0,
        max_seconds=calibrate_seconds,
        max_trials=80,
    )
    run(
        "paper, calibrated (balanced)",
        PaperMethod(),
        cal.settings,
        lambda: cal.calibrated_metrics,
        {"trials": len(cal.trials), "search_seconds": time.perf_counter() - began},
    )


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.2f}%"


def _gap(real, sim) -> str:
    if real is None or sim is None:
        return "–"
    return f"{100 * (real - sim):+.1f}"


def render(results: dict) -> str:
    lines = [
        "## Re-join: the learned matcher vs the paper's method and TF-IDF (issue 8)",
        "",
        "`python -m benchmarks rejoin_learned`. One split per log by the paper's protocol "
        "(t = 5, library fraction 0.8, seed 0), four methods on it. The calibrated paper method "
        "(eval's `calibrate`, objective balanced), TF-IDF and the learned matcher chose their "
        "settings/thresholds on a simulation inside the split's library log alone (its last 5 "
        "days as simulated queries); the real queries and truth were never seen. 'sim.' is the "
        "figure the method saw on its simulation, 'gap' = real - sim. in points.",
        "",
    ]
    for name, r in results["logs"].items():
        p = r["protocol"]
        lines += [
            f"**{name}** — window {p['window'][0]}..{p['window'][1]}, t = 5: library "
            f"{p['n_library']:,} users, {p['n_queries']:,} queries ({p['n_present']:,} present, "
            f"{p['n_absent']:,} absent).",
            "",
            "| method | rank1_present | acc_absent | acc_present | acc_overall | "
            "balanced_accuracy | balanced, sim. | gap | seconds |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        best = max(row["real"]["balanced_accuracy"] or 0 for row in r["rows"].values())
        for label, row in r["rows"].items():
            real, sim = row["real"], row["simulated"] or {}
            bal = _pct(real["balanced_accuracy"])
            if (real["balanced_accuracy"] or 0) >= best:
                bal = f"**{bal}**"
            lines.append(
                f"| {label} | {_pct(real['rank1_present'])} | {_pct(real['acc_absent'])} | "
                f"{_pct(real['acc_present'])} | {_pct(real['acc_overall'])} | {bal} | "
                f"{_pct(sim.get('balanced_accuracy'))} | "
                f"{_gap(real['balanced_accuracy'], sim.get('balanced_accuracy'))} | "
                f"{row['seconds']:.1f} |"
            )
        if p["n_absent"] and p["n_absent"] < 50:
            lines += [
                "",
                f"_Only {p['n_absent']} absent and {p['n_present']} present queries: one query "
                f"moves acc_absent by {100 / p['n_absent']:.1f} points; differences here are "
                "within noise._",
            ]
        learned = r["rows"]["learned"]
        models = ", ".join(
            f"{k}: balanced {_pct(v['balanced_accuracy'])}, rank-1 {_pct(v['rank1_present'])}"
            for k, v in learned["models"].items()
        )
        lines += [
            "",
            f"Learned matcher: kept `{learned['model']}`; on the simulation {models}; "
            f"the true user was among the candidates for "
            f"{_pct(learned['candidate_recall_simulated'])} of simulated returning users; "
            f"training took {learned['fit_seconds']:.0f} s on "
            f"{learned.get('n_training_pairs', 0):,} simulated pairs; candidates, features and "
            f"decisions for all {p['n_queries']:,} queries "
            f"{learned.get('identify_seconds', float('nan')):.1f} s.",
            "",
        ]
        lines += _paper_scale_notes(r)
    lines.append(f"Measured {results['date']}, peak memory {results['peak_mb']:.0f} MB.")
    return "\n".join(lines)


def _paper_scale_notes(r: dict) -> list[str]:
    """What the paper-scale table needs said: shared profiles, capped calibration, speed."""
    speed = r.get("speed")
    if not speed:
        return []
    cal = r["rows"].get("paper, calibrated (balanced)", {})
    learned = r["rows"]["learned"]
    return [
        "At this scale the profiles of the library and the queries are built once "
        f"({speed['library_side_seconds']:.0f} s and {speed['query_side_seconds']:.0f} s, the "
        "paper's profiles plus the learned matcher's activity) and shared, so 'seconds' is "
        "each method's identification alone (the learned row adds its training). The paper "
        f"was calibrated on a seeded sample of {cal.get('sample_users', 0):,} library users, "
        f"step thresholds only (step-2 Jaccard at least {cal.get('jaccard_floor', 0)}: lower "
        "joins most pairs of the full library), capped at "
        f"{cal.get('max_trials', 0)} trials / "
        f"{cal.get('max_seconds', 0):.0f} s ({cal.get('trials', 0)} trials in "
        f"{cal.get('search_seconds', 0):.0f} s, {cal.get('stopped', '')}). TF-IDF's threshold "
        "comes from the learned matcher's simulation (the same seeded cut).",
        "",
        f"**Speed at the paper's scale**: training from the {r['protocol']['n_library']:,}-user "
        f"library {speed['train_seconds']:.0f} s ({learned.get('n_simulated_queries', 0):,} "
        f"simulated queries, {learned.get('n_training_pairs', 0):,} pairs"
        + "".join(f", {k} {v:.0f} s" for k, v in learned.get("fit_timings", {}).items())
        + "); candidates, "
        f"features and decisions for all {r['protocol']['n_queries']:,} queries "
        f"{speed['identify_seconds']:.1f} s"
        + (
            f" ({speed['identify_cpu_seconds']:.1f} CPU-seconds; median of 3 in a fresh "
            "process that loaded both sides and the saved matcher first, as `rejoin identify "
            f"--method learned` does: loading took {speed['identify_runs']['loading_seconds']:.0f}"
            " s); peak memory of that process "
            if "identify_cpu_seconds" in speed
            else " (median of 3); peak memory of the process "
        )
        + f"{speed['identify_peak_mb']:,.0f} MB (DuckDB's own limit 4 GB included). "
        f"Load average at the start: {speed.get('load_average', float('nan')):.1f}.",
        "",
    ] + ([speed["note"], ""] if speed.get("note") else [])


def main(quick: bool = False) -> None:
    picked = os.environ.get("LEARNED_BENCH_LOGS")
    names = [n for n in LOGS if not picked or any(p.strip() in n for p in picked.split(","))]
    if quick:
        names = names[:1]
    path = DATA / ("rejoin_learned_quick.json" if quick else "rejoin_learned.json")
    path = DATA / os.environ.get("LEARNED_BENCH_JSON", path.name)  # parallel runs: one each
    results = json.loads(path.read_text()) if path.exists() else {"logs": {}}
    for name in names:
        source, window = LOGS[name]
        if source == "paper":
            from benchmarks import _learned_paper

            where = _learned_paper.CANONICAL
        elif source in SYNTHETIC:
            where = DATA / SYNTHETIC[source]
        else:
            where = SHARED_DATA / MAPPINGS[source][0]
        if not where.exists() or (quick and source == "paper"):
            print(f"  {name}: data absent or too large for --quick, skipped", flush=True)
            continue
        if source == "paper":
            results["logs"][name] = _learned_paper.paper_scale(_figures)
        else:
            results["logs"][name] = _one_log(name, source, window, 60.0 if quick else 150.0)
        results.update(date=today(), machine=machine(), peak_mb=peak_rss_mb())
        DATA.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2, default=str))
    ordered = {n: results["logs"][n] for n in LOGS if n in results["logs"]}
    results["logs"] = ordered
    if ordered:
        write_section("rejoin_learned", render(results))


if __name__ == "__main__":
    main()
