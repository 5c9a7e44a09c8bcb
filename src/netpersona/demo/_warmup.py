"""Compile every numba function once, ahead of the first real run (``netpersona warmup``).

netpersona's compiled code is cached on disk (``cache=True``; where: see
``netpersona._core.configure_numba_cache``), so only the first process on a machine pays the
compile. :func:`warm_up` pays it deliberately, on a tiny synthetic log, so that the first real
``rejoin identify`` (or the demo, or a server's first request) does not: run it once after
installing, or as a step of a container build with the runs' ``NUMBA_CACHE_DIR``. It runs the
paper's re-join method and the learned matcher end to end (index, identify) and trains a tiny
back-propagation network, the code paths real runs take with the argument types they use.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from netpersona._core import Progress
from netpersona.engine import DuckDBEngine
from netpersona.io import LogMapping, read_log
from netpersona.rejoin import evaluate
from netpersona.synth import write_access_logs

#: the learned matchers the warm-up runs (each a different set of compiled functions)
WARMUP_METHODS = ("paper", "learned", "tfidf")


def warm_up(progress: Progress = Progress(), methods: tuple[str, ...] = WARMUP_METHODS) -> dict:
    """Compile (or load from the cache) every numba function netpersona runs; returns the
    cache folder and the seconds each part took.

    Idempotent and cheap once the cache is warm (seconds, mostly imports and the tiny runs).

    >>> result = warm_up(methods=("paper",))
    >>> sorted(result["seconds"])
    ['nn', 'rejoin paper']
    """
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="netpersona-warmup-") as tmp:
        log = Path(tmp) / "log.parquet"
        write_access_logs(log, 80, 12, seed=0, force=True)
        with DuckDBEngine(threads=1) as engine:
            read_log(log, LogMapping(), engine, table="access_log")
            for method in methods:
                progress.log(f"warm-up: re-join, method {method}")
                began = time.perf_counter()
                evaluate(engine, "access_log", query_days=3, seed=0, method=method)
                timings[f"rejoin {method}"] = round(time.perf_counter() - began, 2)
    progress.log("warm-up: back-propagation training")
    began = time.perf_counter()
    _train_tiny_network()
    timings["nn"] = round(time.perf_counter() - began, 2)
    return {"cache_dir": cache_location(), "seconds": timings}


def cache_location() -> str:
    """Where numba's cache for netpersona is (``NUMBA_CACHE_DIR``, or beside the sources)."""
    folder = os.environ.get("NUMBA_CACHE_DIR")
    if folder:
        return folder
    package = Path(__file__).resolve().parents[1]  # the netpersona package folder
    return f"{package}/**/__pycache__ (beside the sources)"


def _train_tiny_network() -> None:
    import numpy as np

    from netpersona.nn import BPClassifier

    rng = np.random.default_rng(0)
    x = rng.random((40, 3))
    y = (x[:, 0] > 0.5).astype(int)
    BPClassifier(hidden=(3,), epochs=2, random_state=0).fit(x, y)
