"""Memory and temporary disk of ``rejoin index`` and ``rejoin evaluate`` as the log grows,
under ``--memory-limit 3GB``, and what that predicts for the paper's scale (an extrapolation).

Each size is the paper preset's synthetic log (about 655 rows per user-day), of the paper's
25,809 users by default: 2 and 6 days (33.5M and 101.7M rows). Both commands run as fresh
``netpersona`` processes with ``--memory-limit 3GB --temp-dir T`` (2 threads); peak RSS is the
process's own (``wait4``), peak temporary disk the largest size ``T`` reached (polled every
0.2 s). ``evaluate`` takes t = 5 query days, fewer on a log of 5 days or less (the days but
one). Sizes by flag: ``python -m benchmarks.bench_scale --sizes 300x10,600x20``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import tempfile
from pathlib import Path

from benchmarks._common import DATA, write_section
from benchmarks._measure import python, run_measured

#: (users, days) per size: the one command's, ``--quick``'s
DEFAULT = ((25_809, 2), (25_809, 6))
QUICK = ((60, 5), (120, 5))
MEMORY_LIMIT = "3GB"
#: the largest size again under this limit: what stays outside DuckDB's bounded memory
LOW_LIMIT = "1GB"
PAPER_USERS = 25_809
PAPER_ROWS = 1_030_000_000  # 25,809 users x 60 days of the default synthetic log
#: the synthetic preset of the scale logs: the default of ``synth access-logs``, the paper's data
PRESET = "paper"


def _log(users: int, days: int) -> Path:
    from netpersona.synth import preset_settings, write_access_logs

    path = DATA / f"scale_{PRESET}_{users}x{days}.parquet"
    if not path.exists():
        write_access_logs(path, users, days, seed=0, settings=preset_settings(PRESET))
    return path


def _rows(path: Path) -> int:
    import duckdb

    return int(duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0])


def _run(args: list[str], temp: Path, limit: str) -> dict:
    temp.mkdir(parents=True, exist_ok=True)
    cmd = python("-m", "netpersona", "--memory-limit", limit, "--temp-dir", str(temp), *args)
    run = run_measured(cmd, env={"NETPERSONA_THREADS": "2"}, watch=temp)
    if run["rc"] != 0:
        raise SystemExit("failed: " + " ".join(cmd) + "\n" + "\n".join(run["tail"]))
    return run


def measure(users: int, days: int, work: Path, limit: str = MEMORY_LIMIT) -> dict:
    from netpersona.engine import Workspace

    log = _log(users, days)
    ws = work / f"w{users}x{days}.duckdb"
    store = Workspace.store_path(ws)
    index = _run(["rejoin", "index", str(log), "--workspace", str(ws)], work / "tmp-index", limit)
    t = str(min(5, days - 1))
    evaluate = _run(["rejoin", "evaluate", str(log), "--query-days", t, "--json",
                     str(work / "e.json"), "--force"], work / "tmp-eval", limit)  # fmt: skip
    return {
        "limit": limit,
        "users": users,
        "days": days,
        "rows": _rows(log),
        "input_mb": log.stat().st_size / 2**20,
        "workspace_mb": ws.stat().st_size / 2**20,
        "store_mb": store.stat().st_size / 2**20 if store.exists() else 0.0,
        "index": index,
        "evaluate": evaluate,
    }


def _slope(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares line (intercept, slope) through ``points``."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points) or 1.0
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx
    return my - slope * mx, slope


def _render(results: list[dict], quick: bool, flags: str) -> str:
    lines = [
        "Peak memory and temporary disk of `rejoin index` and `rejoin evaluate` as the log grows "
        f"(`{_command(quick, flags)}`): the paper preset's "
        "synthetic log, each command a fresh process with `--memory-limit L --temp-dir T` and 2 "
        "threads; peak RSS from `wait4` (the process's own, Python included), peak temporary "
        "disk the largest size T reached (polled every 0.2 s). The largest log runs again under "
        f"a {LOW_LIMIT} limit, to separate what DuckDB bounds from what it does not.",
        "",
        "| log | rows | input MB | limit | command | wall s | peak RSS MB | peak temp MB | "
        "workspace MB: `W` + `W.store` |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for name in ("index", "evaluate"):
            m = r[name]
            lines.append(
                f"| {r['users']:,} x {r['days']} | {r['rows']:,} | {r['input_mb']:.0f} | "
                f"{r['limit']} | `{name}` | {m['wall']:.1f} | {m['peak_rss_mb']:.0f} | "
                f"{m['peak_watch_mb']:.0f} | "
                + (
                    f"{r['workspace_mb']:.0f} + {r.get('store_mb', 0):,.0f} |"
                    if name == "index"
                    else "- |"
                )
            )
    lines.append("")
    main = [r for r in results if r["limit"] == MEMORY_LIMIT]
    low = [r for r in results if r["limit"] == LOW_LIMIT]
    if len(main) < 2 or not low:
        return "\n".join(lines)
    big, small = main[-1], low[-1]
    limit_mb = parse_mb(LOW_LIMIT)
    lines += [
        f"**Extrapolation to the paper's scale ({PAPER_ROWS / 1e9:.2f} billion rows, "
        f"{PAPER_USERS:,} users), not a measurement** (the paper's scale is measured in the "
        f"sections after this one). The run under {LOW_LIMIT} binds DuckDB's limit: it shows "
        "what lies outside that limit and what spills once it binds. The part outside grows "
        "with the rows of the window (1,078 MiB above a 3GB limit at the paper's scale, "
        "measured before `index` left room for it: docs/daily-operation.md, 'Cost'). Since "
        "2026-12-07 `index` and `add-day` give DuckDB its limit less a reserve for that part "
        "(512 MiB and 1 B a row held), except under a limit of 1 GiB or less, which stays "
        f"DuckDB's whole; so the run under {LOW_LIMIT} shows the part in full, and under "
        f"{MEMORY_LIMIT} `index` stays below the limit:",
        "",
    ]
    per_row = big["input_mb"] / big["rows"]
    base = results[0]["baseline_mb"]
    for name in ("index", "evaluate"):
        outside = max(small[name]["peak_rss_mb"] - limit_mb - base, 0.0)
        temp_rate = small[name]["peak_watch_mb"] / small["rows"]
        lines.append(
            f"- `{name}`: {big[name]['peak_rss_mb']:,.0f} MB under {MEMORY_LIMIT} and "
            f"{small[name]['peak_rss_mb']:,.0f} MB under {LOW_LIMIT} on {big['rows']:,} rows "
            f"of {big['users']:,} users. A process that only imports netpersona peaks at "
            f"{base:,.0f} MB, so under {LOW_LIMIT} ({limit_mb:,.0f} MB) about {outside:,.0f} MB "
            "more lies outside DuckDB's bounded memory"
            + (
                f": a peak near {parse_mb(MEMORY_LIMIT) + base + outside:,.0f} MB under "
                f"{MEMORY_LIMIT} at the paper's scale if that part stays as it is. "
                if name == "evaluate"
                else " here (DuckDB's whole limit). "
            )
            + "Temporary disk: "
            f"{big[name]['peak_watch_mb']:,.0f} MB under {MEMORY_LIMIT} and "
            f"{small[name]['peak_watch_mb']:,.0f} MB under {LOW_LIMIT}, against an input of "
            f"{big['input_mb']:,.0f} MB of Parquet; taken linearly from the {LOW_LIMIT} run, "
            f"{temp_rate * PAPER_ROWS:,.0f} MB at the paper's scale, against "
            f"~{per_row * PAPER_ROWS:,.0f} MB of input."
        )
    lines += [
        "",
        "`evaluate` keeps its temporary disk below the input: a Parquet log is read where it "
        "lies (its rows checked by queries over a view, never copied into a staging table), the "
        "log and its split's library and query logs are views of the file, and step 1 sorts "
        "the rows per user in parts of contiguous user ids, each at most the memory limit / 80 "
        "B rows (`rejoin._profiles_parts`), appending each part's profiles. What it holds "
        "grows with the library instead: at the paper's scale the library's item sequences "
        "(about 0.84 items per row here, some 2.5 GB as DuckDB lists for a 55-day library) no "
        "longer fit beside a part's sort under 3GB, and what does not fit spills: an estimate "
        "of at most ~2.5 GB, below the input still. `index` copies the "
        "log into the daily store's staging table (`rejoin_incoming`), and the daily store "
        "it goes through derives its "
        "per-user-day partials in parts of at most the memory limit / 80 B rows too (runs of "
        "whole days, a larger day cut into buckets of users: `rejoin._daily.rederive`); before "
        "that change (2026-12-06, session 6) it sorted the whole incoming log at once and "
        "spilled (741 MB of temporary disk on 33.5M rows under 1GB; on the 101.7M-row log "
        "1,594 MB under 3GB and 2,651 MB under 1GB). Before the parts in `evaluate` "
        "(2026-12-06, the 101.7M-row log under 3GB): 6,182 MB of temporary disk and a 3,493 MB "
        "peak in 370 s. The machine may be shared with other jobs: compare the memory and "
        "disk, not the times.",
    ]
    if "load" in results[0]:
        lines += ["", "Load average (1 min) before / after the run: "
                  + " / ".join(f"{x:.1f}" for x in results[0]["load"]) + "."]  # fmt: skip
    return "\n".join(lines)


def _accuracy(path: Path) -> dict:
    """The accuracies of an ``evaluate --json`` file (empty if it has none)."""
    if not path.exists():
        return {}
    doc = json.loads(path.read_text())
    doc = doc.get("result", doc) if isinstance(doc, dict) else {}
    keys = ("acc_overall", "acc_absent", "acc_present", "balanced_accuracy", "rank1_present")
    return {k: doc[k] for k in keys if isinstance(doc.get(k), int | float)}


def _funnel(path: Path) -> list[dict]:
    """The per-step funnel of an ``evaluate --json`` file: step, recall, seconds."""
    if not path.exists():
        return []
    steps = json.loads(path.read_text()).get("steps", [])
    return [{k: s.get(k) for k in ("step", "recall", "mean_candidates", "seconds")} for s in steps]


def _render_paper(r: dict) -> str:
    limit_mb = parse_mb(r["limit"])
    lines = [
        f"{r.get('title', PAPER_TITLE)} (`{r.get('command', PAPER_COMMAND)}`): the "
        f"paper preset's synthetic log of {r['users']:,} users x {r['days']} days, "
        f"{r['rows']:,} rows, {r['input_mb']:,.0f} MB of Parquet; each command a fresh process "
        f"with `--memory-limit {r['limit']} --temp-dir T` and 2 threads (target, issue 15: "
        f"complete with peak memory < 4 GB and temporary disk < the input's size). MB here are "
        "MiB (2^20 bytes); '< 4 GB' compares the peak with 4,096 MiB.",
        "",
        "| command | wall s | peak RSS MB | peak temp MB | < 4 GB | temp < input |",
        "|---|---:|---:|---:|---|---|",
    ]
    for name in ("index", "evaluate"):
        m = r.get(name)
        if m is None:
            lines.append(f"| `{name}` | not measured (running, or the run was cut short) | | | | |")
            continue
        lines.append(
            f"| `{name}` | {m['wall']:,.0f} | {m['peak_rss_mb']:,.0f} | "
            f"{m['peak_watch_mb']:,.0f} | {'yes' if m['peak_rss_mb'] < 4096 else '**no**'} | "
            f"{'yes' if m['peak_watch_mb'] < r['input_mb'] else '**no**'} |"
        )
    lines.append("")
    if "workspace_mb" in r:
        lines.append(
            f"Workspace after `index`: `W` {r['workspace_mb']:,.0f} MB, `W.store` "
            f"{r['store_mb']:,.0f} MB (the raw rows of the days kept and their partials; not "
            f"temporary). DuckDB's own limit was {limit_mb:,.0f} MB."
        )
    acc = r.get("accuracy") or {}
    if acc:
        lines.append(
            "`evaluate` (the paper's defaults, t = 5, its protocol): "
            + ", ".join(f"{k} {100 * v:.2f}%" for k, v in acc.items())
            + "."
        )
    funnel = r.get("funnel") or []
    if funnel:
        lines.append(
            "Its funnel (the share of returning queries whose true user is still a candidate, "
            "and the step's seconds): "
            + "; ".join(
                f"{s['step']} {100 * s['recall']:.2f}% ({s['seconds']:,.1f} s)" for s in funnel
            )
            + "."
        )
    lines += r.get("notes", [])
    lines.append(
        "Load average (1 min) before / after: " + " / ".join(f"{x:.1f}" for x in r["load"]) + "."
    )
    return "\n".join(lines)


PAPER_TITLE = "**The paper's scale, measured**"
PAPER_COMMAND = "python -m benchmarks.bench_scale --paper"
#: ``--users-at-scale``: 4x the paper's users over a quarter of its days, about as many rows
USERS_AT_SCALE = (100_000, 15)


def paper(
    limit: str = MEMORY_LIMIT, days: int = 60, users: int = PAPER_USERS, index_only: bool = False
) -> None:
    """Index and evaluate the paper-scale log under ``limit``; the section ``scale-paper`` is
    written after each command, so a run cut short keeps what it measured. Other sizes
    (``--users-at-scale``) write section ``scale-users``. ``index_only`` re-measures ``index``
    and keeps the last run's ``evaluate`` figures, saying when they were measured."""
    from netpersona.engine import Workspace

    DATA.mkdir(parents=True, exist_ok=True)
    log = _log(users, days)
    r: dict = {"users": users, "days": days, "rows": _rows(log), "limit": limit,
               "input_mb": log.stat().st_size / 2**20, "load": [os.getloadavg()[0]]}  # fmt: skip
    section, results = "scale-paper", DATA / "scale_paper_results.json"
    if (users, days) != (PAPER_USERS, 60):
        section, results = "scale-users", DATA / f"scale_users_{users}x{days}_results.json"
        r["title"] = (f"**{users:,} users, measured** ({users / PAPER_USERS:.1f}x the paper's "
                      f"users over {days} days)")  # fmt: skip
        r["command"] = "python -m benchmarks.bench_scale --users-at-scale"
    r["date"] = dt.date.today().isoformat()
    kept = None
    if index_only:
        if not results.exists():
            raise SystemExit(f"--index-only keeps the last run's evaluate: {results} is missing")
        kept = json.loads(results.read_text())
        kept.setdefault("date", dt.date.fromtimestamp(results.stat().st_mtime).isoformat())
        if "evaluate" not in kept or kept.get("rows") != r["rows"]:
            raise SystemExit(f"--index-only: {results} holds no evaluate of this log")
        r["command"] = r.get("command", PAPER_COMMAND) + " --index-only"
    with tempfile.TemporaryDirectory(dir=DATA, prefix="scale-paper-") as tmp:
        work = Path(tmp)
        ws = work / "w.duckdb"
        r["index"] = _run(["rejoin", "index", str(log), "--workspace", str(ws)],
                          work / "tmp-index", limit)  # fmt: skip
        r["workspace_mb"] = ws.stat().st_size / 2**20
        r["store_mb"] = Workspace.store_path(ws).stat().st_size / 2**20
        print(f"  index {r['index']['wall']:.0f} s {r['index']['peak_rss_mb']:.0f} MB "
              f"temp {r['index']['peak_watch_mb']:.0f} MB", flush=True)  # fmt: skip
        write_section(section, _render_paper({**r, "load": [*r["load"], os.getloadavg()[0]]}))
        for path in work.glob("w.duckdb*"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        if kept is not None:
            r.update({k: kept[k] for k in ("evaluate", "accuracy", "funnel") if k in kept})
            r["notes"] = [
                f"This run measured `index` only (`--index-only`); the `evaluate` row and "
                f"figures are from the full run of {kept['date']}, whose load and wall times "
                "were its own.",
                *(n for n in kept.get("notes", []) if not n.startswith("`index`")),
            ]
            r["load"].append(os.getloadavg()[0])
            results.write_text(json.dumps(r, default=str))
            write_section(section, _render_paper(r))
            return
        out = work / "e.json"
        r["evaluate"] = _run(["rejoin", "evaluate", str(log), "--query-days", "5", "--json",
                              str(out), "--force"], work / "tmp-eval", limit)  # fmt: skip
        r["accuracy"] = _accuracy(out)
        r["funnel"] = _funnel(out)
    r["load"].append(os.getloadavg()[0])
    results.write_text(json.dumps(r, default=str))
    write_section(section, _render_paper(r))


def _command(quick: bool, flags: str) -> str:
    if flags:
        return f"python -m benchmarks.bench_scale{flags}"
    return f"python -m benchmarks scale{' --quick' if quick else ''}"


def parse_mb(limit: str) -> float:
    from netpersona._core import parse_size

    return parse_size(limit) / 2**20


def main(quick: bool = False, sizes: tuple[tuple[int, int], ...] | None = None) -> None:
    sizes = sizes or (QUICK if quick else DEFAULT)
    DATA.mkdir(parents=True, exist_ok=True)
    results = []
    load = [os.getloadavg()[0]]
    baseline = run_measured(python("-c", "import netpersona.cli, netpersona.rejoin"))
    with tempfile.TemporaryDirectory(dir=DATA, prefix="scale-") as tmp:
        for users, days in sizes:
            results.append(measure(users, days, Path(tmp)))
            r = results[-1]
            print(f"  {users}x{days} ({r['rows']:,} rows): index {r['index']['wall']:.1f} s "
                  f"{r['index']['peak_rss_mb']:.0f} MB, evaluate {r['evaluate']['wall']:.1f} s "
                  f"{r['evaluate']['peak_rss_mb']:.0f} MB", flush=True)  # fmt: skip
            for folder in Path(tmp).glob("w*.duckdb*"):
                shutil.rmtree(folder) if folder.is_dir() else folder.unlink()
        users, days = sizes[-1]
        results.append(measure(users, days, Path(tmp), LOW_LIMIT))
        r = results[-1]
        print(f"  {users}x{days} under {LOW_LIMIT}: index {r['index']['peak_rss_mb']:.0f} MB, "
              f"evaluate {r['evaluate']['peak_rss_mb']:.0f} MB", flush=True)  # fmt: skip
    results[0]["baseline_mb"] = baseline["peak_rss_mb"]
    results[0]["load"] = [*load, os.getloadavg()[0]]
    (DATA / "scale_results.json").write_text(json.dumps(results, default=str))
    flags = " --sizes " + ",".join(f"{u}x{d}" for u, d in sizes) if sizes != DEFAULT else ""
    write_section("scale", _render(results, quick, "" if quick else flags))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_scale")
    parser.add_argument("--sizes", help="users x days per size, e.g. 300x10,600x20,1600x30")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--paper", action="store_true", help="the paper's scale (25,809 x 60 days), measured"
    )
    parser.add_argument(
        "--users-at-scale", action="store_true",
        help="100,000 users x 15 days (about the paper's rows, 4x its users), measured",
    )  # fmt: skip
    parser.add_argument(
        "--index-only", action="store_true",
        help="with --paper or --users-at-scale: re-measure index, keep the last evaluate",
    )  # fmt: skip
    args = parser.parse_args()
    if args.paper:
        paper(index_only=args.index_only)
        raise SystemExit(0)
    if args.users_at_scale:
        paper(days=USERS_AT_SCALE[1], users=USERS_AT_SCALE[0], index_only=args.index_only)
        raise SystemExit(0)
    parsed = None
    if args.sizes:
        parsed = tuple(tuple(int(v) for v in s.split("x")) for s in args.sizes.split(","))
    main(args.quick, parsed)  # type: ignore[arg-type]
