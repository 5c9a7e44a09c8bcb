"""Memory and temporary disk of ``rejoin index`` and ``rejoin evaluate`` as the log grows,
under ``--memory-limit 3GB``, and what that predicts for the paper's scale (an extrapolation).

Each size is the paper preset's synthetic log (about 655 rows per user-day). Both commands
run as fresh ``netpersona`` processes with ``--memory-limit 3GB --temp-dir T`` (2 threads);
peak RSS is the process's own (``wait4``), peak temporary disk the largest size ``T`` reached
(polled every 0.2 s). Sizes by flag: ``python -m benchmarks.bench_scale --sizes 300x10,600x20``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from benchmarks._common import DATA, write_section
from benchmarks._measure import python, run_measured

#: (users, days) per size: the one command's, ``--quick``'s
DEFAULT = ((300, 10), (600, 20))
QUICK = ((60, 5), (120, 5))
MEMORY_LIMIT = "3GB"
PAPER_ROWS = 1_030_000_000  # 25,809 users x 60 days of the default synthetic log


def _log(users: int, days: int) -> Path:
    from netpersona.synth import write_access_logs

    path = DATA / f"scale_{users}x{days}.parquet"
    if not path.exists():
        write_access_logs(path, users, days, seed=0)
    return path


def _rows(path: Path) -> int:
    import duckdb

    return int(duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0])


def _run(args: list[str], temp: Path) -> dict:
    temp.mkdir(parents=True, exist_ok=True)
    cmd = python("-m", "netpersona", "--memory-limit", MEMORY_LIMIT, "--temp-dir", str(temp),
                 *args)  # fmt: skip
    run = run_measured(cmd, env={"NETPERSONA_THREADS": "2"}, watch=temp)
    if run["rc"] != 0:
        raise SystemExit("failed: " + " ".join(cmd) + "\n" + "\n".join(run["tail"]))
    return run


def measure(users: int, days: int, work: Path) -> dict:
    log = _log(users, days)
    ws = work / f"w{users}x{days}.duckdb"
    index = _run(["rejoin", "index", str(log), "--workspace", str(ws)], work / "tmp-index")
    evaluate = _run(["rejoin", "evaluate", str(log), "--json", str(work / "e.json"), "--force"],
                    work / "tmp-eval")  # fmt: skip
    return {
        "users": users,
        "days": days,
        "rows": _rows(log),
        "input_mb": log.stat().st_size / 2**20,
        "workspace_mb": ws.stat().st_size / 2**20,
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
        f"(`python -m benchmarks scale{' --quick' if quick else ''}`{flags}): the paper preset's "
        f"synthetic log, each command a fresh process with `--memory-limit {MEMORY_LIMIT} "
        "--temp-dir T` and 2 threads; peak RSS from `wait4` (the process's own, Python "
        "included), peak temporary disk the largest size T reached (polled every 0.2 s).",
        "",
        "| log | rows | input MB | command | wall s | peak RSS MB | peak temp MB | workspace MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for name in ("index", "evaluate"):
            m = r[name]
            lines.append(
                f"| {r['users']:,} x {r['days']} | {r['rows']:,} | {r['input_mb']:.0f} | "
                f"`{name}` | {m['wall']:.1f} | {m['peak_rss_mb']:.0f} | "
                f"{m['peak_watch_mb']:.0f} | "
                + (f"{r['workspace_mb']:.0f} |" if name == "index" else "- |")
            )
    lines.append("")
    if len(results) >= 2:
        lines.append(
            "**Extrapolation, not a measurement** (a least-squares line through the sizes above, "
            f"taken to the paper's {PAPER_ROWS / 1e9:.2f} billion rows; DuckDB holds its own "
            f"memory under the {MEMORY_LIMIT} limit and spills the rest, so memory should "
            "flatten rather than grow on the line once the limit binds, while the temporary "
            "disk grows with what spills):"
        )
        lines.append("")
        bytes_per_row = results[-1]["input_mb"] / results[-1]["rows"]
        for name in ("index", "evaluate"):
            rss = _slope([(r["rows"], r[name]["peak_rss_mb"]) for r in results])
            temp = _slope([(r["rows"], r[name]["peak_watch_mb"]) for r in results])
            per_m = rss[1] * 1e6
            lines.append(
                f"- `{name}`: peak RSS grows {per_m:.1f} MB per million rows "
                f"(line: {rss[0] + rss[1] * PAPER_ROWS:,.0f} MB at paper scale); temporary disk "
                f"{temp[1] * 1e6:.1f} MB per million rows "
                f"(line: {max(temp[0] + temp[1] * PAPER_ROWS, 0):,.0f} MB, against an input of "
                f"~{bytes_per_row * PAPER_ROWS:,.0f} MB of Parquet)."
            )
    return "\n".join(lines)


def main(quick: bool = False, sizes: tuple[tuple[int, int], ...] | None = None) -> None:
    sizes = sizes or (QUICK if quick else DEFAULT)
    DATA.mkdir(parents=True, exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory(dir=DATA, prefix="scale-") as tmp:
        for users, days in sizes:
            results.append(measure(users, days, Path(tmp)))
            r = results[-1]
            print(f"  {users}x{days} ({r['rows']:,} rows): index {r['index']['wall']:.1f} s "
                  f"{r['index']['peak_rss_mb']:.0f} MB, evaluate {r['evaluate']['wall']:.1f} s "
                  f"{r['evaluate']['peak_rss_mb']:.0f} MB", flush=True)  # fmt: skip
            for folder in Path(tmp).glob("w*.duckdb*"):
                shutil.rmtree(folder) if folder.is_dir() else folder.unlink()
    flags = " --sizes " + ",".join(f"{u}x{d}" for u, d in sizes) if sizes != DEFAULT else ""
    write_section("scale", _render(results, quick, "" if quick else flags))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_scale")
    parser.add_argument("--sizes", help="users x days per size, e.g. 300x10,600x20,1600x30")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    parsed = None
    if args.sizes:
        parsed = tuple(tuple(int(v) for v in s.split("x")) for s in args.sizes.split(","))
    main(args.quick, parsed)  # type: ignore[arg-type]
