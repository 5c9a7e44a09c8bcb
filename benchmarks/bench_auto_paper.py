"""``--method auto`` at the paper's scale, phase by phase (issue 16: >= 0.99 with identification
under 15 s; issue 15: memory under the limit).

The paper-preset log of ``bench_scale --paper`` (25,809 users x 60 days, 1.05 billion rows,
``benchmarks/.data/scale_paper_25809x60.parquet``) is cut as ``rejoin evaluate`` cuts it
(t = 5 days, 80 % of the users in the library, seed 0) into ``benchmarks/.data/auto_paper.duckdb``.
Each phase then runs in a fresh process under ``--memory-limit 3GB`` with 2 threads, so that its
peak memory is its own, as a user would run them:

1. ``train``: the matcher trained on the split's library log as ``evaluate --method auto``
   trains it (its simulation chooses the method), saved beside the database;
2. ``sides``: the learned matcher's library and query sides built (the paper's profiles plus
   every user's activity), kept in the database;
3. ``identify``: both sides and the saved matcher loaded, every query identified by the chosen
   method ``REPEAT`` times: the median wall time (loading excluded), the peak memory, and the
   accuracies against the split's truth.

Phases whose output is in the database are reused: ``--phase identify`` re-times identification
alone after a change (about 5 minutes), ``--fresh`` starts over (about 45 minutes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

from benchmarks._common import DATA, machine, peak_rss_mb, today, write_section

LOG = DATA / "scale_paper_25809x60.parquet"
DATABASE = DATA / "auto_paper.duckdb"
MATCHER = DATA / "auto_paper_matcher"
SPLIT_JSON = DATA / "auto_paper_split.json"
RESULTS = DATA / "auto_paper_results.json"
MEMORY_LIMIT = "3GB"
REPEAT = 3
PHASES = ("train", "sides", "identify")
COMMAND = "python -m benchmarks.bench_auto_paper"


def _engine():
    from netpersona.engine import DuckDBEngine

    return DuckDBEngine(
        str(DATABASE), threads=2, memory_limit=MEMORY_LIMIT, temp_directory=DATA / "auto_tmp"
    )


def _split(engine):
    """The evaluation split ``ap`` over a view of the Parquet log (cut once, then re-opened)."""
    from netpersona.rejoin._profiles import table_exists
    from netpersona.rejoin._protocol import Split, split_log

    if SPLIT_JSON.exists() and table_exists(engine, "ap_truth"):
        # the split's library log is a view over the users it drew (registered, not stored)
        engine.execute("CREATE OR REPLACE TEMP VIEW ap__library_users AS SELECT * FROM ap_users")
        saved = json.loads(SPLIT_JSON.read_text())
        for key in ("window", "library_period", "query_period"):
            saved[key] = tuple(dt.date.fromisoformat(d) for d in saved[key])
        return Split(**saved)
    from netpersona.io import read_log

    read_log(LOG, None, engine, "log", in_place=True)  # a view of its good rows, as train reads
    split = split_log(engine, "log", query_days=5, library_fraction=0.8, seed=0, prefix="ap")
    engine.create_table("ap_users", "SELECT * FROM ap__library_users")
    fields = dict(split.__dict__)
    for key in ("window", "library_period", "query_period"):
        fields[key] = [d.isoformat() for d in fields[key]]
    SPLIT_JSON.write_text(json.dumps(fields))
    return split


def _phase(name: str) -> dict:
    """One phase in this process; returns its figures (printed as a JSON line by the child)."""
    from netpersona._core import Progress
    from netpersona.rejoin import RejoinSettings
    from netpersona.rejoin._learned import LearnedMatcher, build_side, load_side, save_matcher
    from netpersona.rejoin._learned._methods import identify_sides
    from netpersona.rejoin._learned._persist import load_matcher
    from netpersona.rejoin._profiles import Profiles
    from netpersona.rejoin._protocol import drop_tables, fetch_truth
    from netpersona.rejoin._scoring import score_matches

    engine = _engine()
    began = time.perf_counter()
    out: dict = {"phase": name, "load_average": os.getloadavg()[0]}
    if name == "train":
        split = _split(engine)
        out["split_seconds"] = time.perf_counter() - began
        t = time.perf_counter()
        matcher = LearnedMatcher(query_days=5, split_by="time").fit(
            engine, split.library_table, RejoinSettings(), Progress()
        )
        out["train_seconds"] = time.perf_counter() - t
        save_matcher(matcher, MATCHER, force=True)
        out.update(auto=matcher.auto_, simulation=matcher.simulation_)
    elif name == "sides":
        split = _split(engine)
        matcher = load_matcher(MATCHER)
        settings = matcher.settings_ or RejoinSettings()
        for tag in ("ap_lib", "ap_qry"):
            drop_tables(engine, tag)
        lib = build_side(engine, split.library_table, "ap_lib", settings)
        out["library_seconds"] = time.perf_counter() - began
        t = time.perf_counter()
        build_side(engine, split.query_table, "ap_qry", settings, lib)
        out["query_seconds"] = time.perf_counter() - t
        engine.execute("CHECKPOINT")
    else:
        split = _split(engine)
        matcher = load_matcher(MATCHER)
        library = load_side(Profiles.open(engine, "ap_lib"))
        queries = load_side(Profiles.open(engine, "ap_qry"))
        out["loading_seconds"] = time.perf_counter() - began
        walls, cpus, steps = [], [], []
        for _ in range(REPEAT):
            cpu, wall = time.process_time(), time.perf_counter()
            result = identify_sides("auto", matcher, library, queries, engine=engine, top_k=1)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            steps.append({s["step"]: s["seconds"] for s in result.steps})
        metrics = score_matches(result.matches, fetch_truth(engine, split))
        kept = {k: v for k, v in metrics.items() if k.startswith(("acc", "rank", "balanced"))}
        out.update(wall=walls, cpu=cpus, steps=steps, method=matcher.auto_,
                   n_queries=queries.n_users, n_library=library.n_users, metrics=kept)  # fmt: skip
    engine.close()
    out["seconds"] = time.perf_counter() - began
    out["peak_mb"] = peak_rss_mb()
    return out


def _child(name: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_auto_paper", "--child", name],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    if done.returncode:
        raise SystemExit(f"phase {name} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def render(r: dict) -> str:
    train, sides, ident = r.get("train", {}), r.get("sides", {}), r.get("identify", {})
    m = dict(ident.get("metrics", {}))
    absent, present = m.get("acc_absent"), m.get("acc_present")
    if "balanced_accuracy" not in m and absent is not None and present is not None:
        m["balanced_accuracy"] = (absent + present) / 2  # a run from before it was kept

    def pct(key: str) -> str:
        return f"{100 * m[key]:.2f}%" if m.get(key) is not None else "-"

    def mib(part: dict) -> str:
        return f"{part['peak_mb']:,.0f} MiB" if part else "-"

    def sec(part: dict, key: str = "seconds") -> str:
        return f"{part[key]:,.0f} s" if part.get(key) is not None else "-"

    wall = statistics.median(ident["wall"]) if ident.get("wall") else None
    steps = ident.get("steps") or [{}]
    split = "; ".join(f"{k} {statistics.median(s[k] for s in steps):.1f} s" for k in steps[0])
    return "\n".join(
        [
            "## `--method auto` at the paper's scale, phase by phase (issue 16)",
            "",
            f"`{COMMAND}`: the paper-preset log of `bench_scale --paper` (25,809 users x 60 days, "
            "1.05 billion rows) cut as `rejoin evaluate` cuts it (t = 5, 80% library, seed 0); "
            f"each phase a fresh process, `memory_limit {MEMORY_LIMIT}`, 2 threads; its peak "
            "resident memory is its own.",
            "",
            "| phase | wall | peak RSS | notes |",
            "|---|---:|---:|---|",
            f"| train (simulation, features, models; `auto` chooses) | {sec(train)} | "
            f"{mib(train)} | chose `{train.get('auto', '-')}`; "
            f"split {sec(train, 'split_seconds')} |",
            f"| sides (library and query profiles + activity) | {sec(sides)} | {mib(sides)} | "
            f"library {sec(sides, 'library_seconds')}, queries {sec(sides, 'query_seconds')} |",
            f"| identify all {ident.get('n_queries', 0):,} queries (median of {REPEAT}) | "
            f"{'-' if wall is None else f'{wall:.1f} s'} | {mib(ident)} | {split}; loading "
            f"{sec(ident, 'loading_seconds')} |",
            "",
            f"Against the split's truth ({ident.get('n_library', 0):,} library users): balanced "
            f"{pct('balanced_accuracy')}, overall {pct('acc_overall')}, absent "
            f"{pct('acc_absent')}, present {pct('acc_present')}, rank-1 {pct('rank1_present')}. "
            "Identification target (issue 16): < 15 s; load average at the start of identify "
            f"{ident.get('load_average', float('nan')):.1f}.",
        ]
    )


def main(
    quick: bool = False, phase: str | None = None, fresh: bool = False, until: str | None = None
) -> None:
    if quick or not LOG.exists():
        print(f"  auto at the paper's scale: skipped ({'--quick' if quick else f'no {LOG.name}'}"
              "; `python -m benchmarks.bench_scale --paper` writes it)", flush=True)  # fmt: skip
        return
    if fresh:
        for path in (DATABASE, SPLIT_JSON):
            path.unlink(missing_ok=True)
        shutil.rmtree(MATCHER, ignore_errors=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    wanted = PHASES[PHASES.index(phase) if phase else 0 : PHASES.index(until or "identify") + 1]
    if not MATCHER.exists() and "train" not in wanted:
        wanted = PHASES
    for name in wanted:
        print(f"  auto at the paper's scale: {name} ...", flush=True)
        results[name] = _child(name)
        print(f"  {json.dumps(results[name])[:600]}", flush=True)
        results.update(date=today(), machine=machine())
        RESULTS.write_text(json.dumps(results, indent=2, default=str))
    write_section("auto-paper", render(results))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--phase", choices=PHASES, help="start at this phase (reusing earlier)")
    parser.add_argument("--until", choices=PHASES, help="stop after this phase")
    parser.add_argument("--fresh", action="store_true", help="start over: a new split")
    parser.add_argument("--child", choices=PHASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_phase(args.child), default=str))
    else:
        main(False, args.phase, args.fresh, args.until)
