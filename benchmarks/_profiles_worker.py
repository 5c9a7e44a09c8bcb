"""The operations ``bench_profiles`` times, each run in a fresh process of its own so that its
peak memory is its own: ``python -m benchmarks._profiles_worker OP ARGS...`` prints one JSON
line ``{"seconds": wall, "cpu": CPU seconds}`` (CPU counts DuckDB's threads too).

- ``sort DB`` / ``bare DB``: the sort floor / the bare GROUP BY over table ``log`` of ``DB``;
- ``build DB``: step 1 (``build_profiles``) over that table, its tables dropped afterwards;
- ``index WORKSPACE FILE...``: ``Library.index`` of log files into a workspace (read + step 1);
- ``add_day WORKSPACE FILE``: ``Library.add_day`` of one day's log onto a workspace;
- ``base WORKSPACE N FILE...``: ``Library.add_day`` of N days at once, window N (the base);
- ``imports``: nothing but the imports every other operation makes (the memory baseline).
"""

from __future__ import annotations

import json
import resource
import sys
import time

THREADS, MEMORY_LIMIT = 2, "4GB"

#: the sort every exact time-ordered sequence needs: the rows ordered by (user, time)
SORT = (
    "SELECT count(*) FROM (SELECT row_number() OVER (PARTITION BY user_id ORDER BY ts, site) "
    "AS rn FROM log) AS o WHERE rn < 0"
)
BARE = "SELECT count(*) FROM (SELECT user_id, site, count(*) AS n FROM log GROUP BY user_id, site)"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _engine(path: str):
    from netpersona.engine import DuckDBEngine

    return DuckDBEngine(path, threads=THREADS, memory_limit=MEMORY_LIMIT)


def run(op: str, args: list[str]) -> dict:
    """Time ``op`` (imports and opening done before the clock starts)."""
    from netpersona.io import LogMapping
    from netpersona.rejoin import Library, build_profiles

    engine = None
    if op in ("sort", "bare", "build"):
        engine = _engine(args[0])
        action = {
            "sort": lambda: engine.fetch_scalar(SORT),
            "bare": lambda: engine.fetch_scalar(BARE),
            "build": lambda: build_profiles(engine, "log", "bench"),
        }[op]
    elif op == "index":
        action = lambda: Library.index(args[0], list(args[1:]), LogMapping())  # noqa: E731
    elif op == "base":
        files, window = list(args[2:]), int(args[1])
        action = lambda: Library.add_day(args[0], files, LogMapping(), window_days=window)  # noqa: E731
    elif op == "imports":
        action = lambda: None  # noqa: E731
    elif op == "add_day":
        action = lambda: Library.add_day(args[0], list(args[1:]), LogMapping())  # noqa: E731
    else:
        raise SystemExit(f"unknown operation {op!r}")
    wall, cpu = time.perf_counter(), _cpu()
    action()
    out = {"seconds": time.perf_counter() - wall, "cpu": _cpu() - cpu}
    if engine is not None:
        if op == "build":
            from netpersona.rejoin._sql import PARTS, TEMPORARY

            for part in PARTS + TEMPORARY:
                engine.execute(f"DROP TABLE IF EXISTS bench_{part}")
        engine.close()
    return out


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], sys.argv[2:])), flush=True)
