"""docs/benchmarks.md's re-join section, rendered from the figures ``bench_rejoin`` measured
(kept in benchmarks/.data/rejoin_results*.json): formatting only, nothing is measured here."""

from __future__ import annotations

import itertools

from benchmarks._rejoin_data import LIGHT_LOADS, LIGHT_REQUESTS, MEMORY_LIMIT

PAPER_USERS, PAPER_LIBRARY = 25_809, 20_809


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


def render(results: dict, quick: bool) -> str:
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
