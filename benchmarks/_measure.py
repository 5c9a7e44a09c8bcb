"""One measured subprocess: wall time, peak resident memory (``os.wait4``'s rusage of that
child alone) and, optionally, the peak size of a folder it spills into (polled)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks._common import ROOT


def folder_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder`` now (files vanishing meanwhile count as 0)."""
    total = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):  # a spill file removed meanwhile
                total += os.stat(os.path.join(dirpath, name)).st_blocks * 512
    return total


def run_measured(
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    watch: Path | None = None,
    timeout: float = 3600,
) -> dict:
    """Run ``args`` (a command line) and return ``wall`` seconds, ``peak_rss_mb`` (the child's
    own peak, from ``wait4``), ``peak_watch_mb`` (the largest size ``watch`` reached, polled
    every 0.2 s), ``rc``, the last lines of its output, and ``result`` (the JSON its last
    output line holds, if any)."""
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src"), str(ROOT), environment.get("PYTHONPATH", "")]
    )
    peak = [0]
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], folder_bytes(watch))
            done.wait(0.2)

    with tempfile.TemporaryFile("w+") as out:
        began = time.perf_counter()
        child = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=environment)
        poller = threading.Thread(target=poll, daemon=True) if watch is not None else None
        if poller is not None:
            poller.start()
        try:
            _, status, usage = _wait(child, began, timeout)
        finally:
            done.set()
            if poller is not None:
                poller.join()
        wall = time.perf_counter() - began
        out.seek(0)
        lines = out.read().strip().splitlines()
    result = None
    if lines:
        try:
            result = json.loads(lines[-1])
        except ValueError:
            result = None
    return {
        "wall": wall,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "peak_watch_mb": peak[0] / 2**20,
        "rc": os.waitstatus_to_exitcode(status),
        "tail": lines[-5:],
        "result": result,
    }


def _wait(child: subprocess.Popen, began: float, timeout: float):
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            child.returncode = os.waitstatus_to_exitcode(status)
            return pid, status, usage
        if time.perf_counter() - began > timeout:
            child.kill()
        time.sleep(0.05)


def python(*args: str) -> list[str]:
    """A command line running this interpreter."""
    return [sys.executable, *args]
