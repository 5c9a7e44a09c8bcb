"""Shared plumbing for benchmarks: machine description, timing, and docs/benchmarks.md sections.

Each benchmark module owns one section of ``docs/benchmarks.md``, delimited by
``<!-- bench:NAME -->`` / ``<!-- /bench:NAME -->``; re-running it replaces only that section.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
DATA = ROOT / "benchmarks" / ".data"  # generated inputs, git-ignored
SHARED_DATA = ROOT.parent / "shared" / "data"

_HEADER = """# Benchmarks

Measured, not asserted: every figure below was written by a script in `benchmarks/`
(`python -m benchmarks` runs them all, `python -m benchmarks NAME` one). Each section names the
machine and date it was measured on and compares against a baseline measured in the same run.
These machines are noisy (2 cores, 24 GB): figures are medians of repeated runs, and ratios to the
baseline travel better than absolute times.
"""


def machine() -> str:
    """One line describing this machine."""
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_gb:.0f} GB RAM, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def today() -> str:
    return _dt.date.today().isoformat()


def median_time(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Median wall-clock seconds of ``fn`` over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_section(name: str, markdown: str) -> None:
    """Replace (or append) the ``name`` section of docs/benchmarks.md, under a file lock."""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{markdown.strip()}\n\n_Measured {today()} on {machine()}._\n{end}"
    lock_path = DOC.with_suffix(".lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        text = DOC.read_text() if DOC.exists() else _HEADER
        if start in text and end in text:
            before, rest = text.split(start, 1)
            _, after = rest.split(end, 1)
            text = before + block + after
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
        tmp = DOC.with_suffix(".md.tmp")
        tmp.write_text(text)
        os.replace(tmp, DOC)
    lock_path.unlink(missing_ok=True)
