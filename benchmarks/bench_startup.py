"""The compile pause: a first process with an empty numba cache against later ones.

netpersona's numba functions are cached on disk (``cache=True``; a read-only install caches
per user, see ``netpersona._core.configure_numba_cache``). Each measure is a fresh
``netpersona`` process with ``NUMBA_CACHE_DIR`` pointing at a folder of its own: **cold** is
an empty folder (the first run after installing), **warm** the folder a previous process
filled. Measured: ``rejoin identify`` of a small query log against an indexed workspace, the
demo at a small size (``netpersona demo --users 300 --days 10``, whose first step is the re-join
evaluation), and ``netpersona warmup`` (the ahead-of-time compile).
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
from pathlib import Path

from benchmarks._common import DATA, write_section
from benchmarks._measure import python, run_measured

USERS, DAYS, QUERY_DAYS = 300, 10, 3


def _cli(*args: str | Path) -> list[str]:
    return python("-m", "netpersona", *map(str, args))


def _timed(args: list[str], cache: Path) -> dict:
    run = run_measured(args, env={"NUMBA_CACHE_DIR": str(cache), "NETPERSONA_THREADS": "2"})
    if run["rc"] != 0:
        raise SystemExit("failed: " + " ".join(args) + "\n" + "\n".join(run["tail"]))
    return run


def _inputs(work: Path) -> tuple[Path, Path, Path]:
    from netpersona.synth import write_access_logs

    library, queries = work / "library.parquet", work / "queries.parquet"
    write_access_logs(library, USERS, DAYS, seed=1)
    write_access_logs(queries, USERS, QUERY_DAYS, start="2013-11-14", seed=1)
    workspace = work / "w.duckdb"
    # indexed once with a warm cache of its own (not timed)
    _timed(_cli("rejoin", "index", library, "--workspace", workspace), work / "index-cache")
    return library, queries, workspace


def _identify(queries: Path, workspace: Path, cache: Path, out: Path) -> float:
    out.unlink(missing_ok=True)
    args = _cli("rejoin", "identify", "--queries", queries, "--workspace", workspace, "--out", out)
    return _timed(args, cache)["wall"]


def _demo(work: Path, cache: Path) -> float:
    out = work / "demo"
    shutil.rmtree(out, ignore_errors=True)
    args = _cli("demo", "--users", USERS, "--days", DAYS, "--out", out)
    return _timed(args, cache)["wall"]


def main(quick: bool = False) -> None:
    repeats = 1  # a cold run costs minutes on a loaded 2-core machine
    load_before = os.getloadavg()[0]
    DATA.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=DATA, prefix="startup-") as tmp:
        work = Path(tmp)
        _, queries, workspace = _inputs(work)
        rows: dict[str, dict[str, list[float]]] = {}
        for name, measure in (
            ("`rejoin identify`", lambda c: _identify(queries, workspace, c, work / "m.csv")),
            (f"`demo --users {USERS} --days {DAYS}`", lambda c: _demo(work, c)),
            ("`warmup`", lambda c: _timed(_cli("warmup"), c)["wall"]),
        ):
            if quick and name != "`rejoin identify`":
                continue
            cold, warm = [], []
            for i in range(repeats):
                cache = work / f"cache-{len(rows)}-{i}"
                cold.append(measure(cache))
                warm.append(measure(cache))
            rows[name] = {"cold": cold, "warm": warm}
            print(f"  {name}: cold {cold}, warm {warm}", flush=True)
        cache = work / "after-warmup"
        _timed(_cli("warmup"), cache)
        after_warmup = _identify(queries, workspace, cache, work / "m.csv")
    load = (load_before, os.getloadavg()[0])
    write_section("startup", _render(rows, after_warmup, repeats, quick, load))


def _render(rows: dict, after_warmup: float, repeats: int, quick: bool, load) -> str:
    lines = [
        "The compile pause (`python -m benchmarks startup"
        f"{' --quick' if quick else ''}`): fresh `netpersona` processes, each with "
        "`NUMBA_CACHE_DIR` naming a folder of its own; *cold* = an empty folder (the first run "
        "after installing), *warm* = the folder the cold run filled. Library "
        f"{USERS} users x {DAYS} days (paper preset), queries {USERS} users x {QUERY_DAYS} "
        f"days; wall seconds of the whole process (imports included), medians of {repeats}; "
        f"1-minute load average {load[0]:.1f} before, {load[1]:.1f} after (2 cores: other "
        "work shared the machine, which stretches the compile most).",
        "",
        "| command | cold s | warm s | compile paid by the cold run s |",
        "|---|---|---|---|",
    ]
    for name, r in rows.items():
        cold, warm = statistics.median(r["cold"]), statistics.median(r["warm"])
        lines.append(f"| {name} | {cold:.1f} | {warm:.1f} | {cold - warm:.1f} |")
    lines += [
        "",
        f"`rejoin identify` in a process after `netpersona warmup` filled an empty cache: "
        f"{after_warmup:.1f} s (no compile). A read-only install (site-packages owned by root, "
        "a container) caches under the user's cache folder (`$XDG_CACHE_HOME/netpersona/numba`, "
        "else `~/.cache/netpersona/numba`, else the system temp), so only the first process "
        "of each user compiles; in a container image, run `netpersona warmup` as a build step "
        "with the runs' `NUMBA_CACHE_DIR`.",
    ]
    return "\n".join(lines)
