"""The learned matcher's identification at the paper's scale, timed in a fresh process.

Run by ``_learned_paper`` once the split's profile sets (``pl_lib``, ``pl_qry``) are in
``learned_paper.duckdb`` and the trained matcher is saved beside it: loads both sides and the
matcher (as ``rejoin identify --method learned`` does), then identifies all queries ``REPEAT``
times. Prints one JSON line: wall and CPU seconds of each identification (candidates, features
and decisions; loading excluded), the loading time, and the process's peak memory, which here
is the identification's own (the parent's peak includes building profiles and training).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

REPEAT = 3


def main(database: str, matcher_dir: str) -> None:
    from netpersona.engine import DuckDBEngine
    from netpersona.rejoin._learned._identify import identify_learned
    from netpersona.rejoin._learned._persist import load_matcher
    from netpersona.rejoin._learned._side import load_side
    from netpersona.rejoin._profiles import Profiles

    began = time.perf_counter()
    # not read-only: loading the activity makes (and drops) a scratch table
    engine = DuckDBEngine(database, threads=2, memory_limit="4GB")
    library = load_side(Profiles.open(engine, "pl_lib"))
    queries = load_side(Profiles.open(engine, "pl_qry"))
    engine.close()
    matcher = load_matcher(matcher_dir)
    loading = time.perf_counter() - began
    walls, cpus, loads = [], [], []
    for _ in range(REPEAT):
        loads.append(os.getloadavg()[0])
        cpu, wall = time.process_time(), time.perf_counter()
        identify_learned(matcher, library, queries, top_k=1)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {"wall": walls, "cpu": cpus, "load_average": loads}
    print(json.dumps({**figures, "loading_seconds": loading, "peak_mb": peak}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
