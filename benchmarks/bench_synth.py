"""Synthesis speed: rows/s of synthetic access logs, Parquet and CSV.gz, against baselines.

Baselines measured in the same run, writing the same number of rows:
- *writer alone*: trivial random rows (same columns, a random URL from a fixed list per row)
  through the very same file writer, so the ratio is what the behaviour model costs on top;
- *DuckDB COPY*: DuckDB (2 threads) generating rows from ``range(n)`` with string arithmetic and
  writing them with ``COPY ... TO`` (zstd Parquet / gzip CSV).

The full run also writes the paper's scale (25,809 users x 60 days from 2013-11-04, seed 0) to
``benchmarks/.data/access_25809x60_seed0.parquet`` (kept for the re-join benchmarks) and reports
its time and the peak memory of this process. Its figures are kept beside it
(``access_25809x60_seed0.json``, with a hash of the generator's source): a later full run
reuses them, without rewriting 2.6 GB, as long as the generator is unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from benchmarks._common import DATA, median_time, peak_rss_mb, today, write_section

PAPER_USERS, PAPER_DAYS = 25_809, 60
PAPER_FILE = DATA / f"access_{PAPER_USERS}x{PAPER_DAYS}_seed0.parquet"
PAPER_RECORD = PAPER_FILE.with_suffix(".json")  # its measured figures and generator version
PAPER_CALL = (
    f'write_access_logs("benchmarks/.data/{PAPER_FILE.name}", {PAPER_USERS}, {PAPER_DAYS}, '
    '"2013-11-04", seed=0)'
)


def _trivial_batch(rows: int, batch_rows: int = 4_000_000) -> pa.RecordBatch:
    """Random rows in the generator's encoded schema (built once, outside the timing)."""
    from netpersona.synth.access_logs import ENCODED_SCHEMA

    rng = np.random.default_rng(0)
    n = min(rows, batch_rows)
    urls = pa.array([f"http://m.site{i % 5000}.com.cn/p/{i}.html" for i in range(300_000)])
    users = pa.array([str(13_800_000_000 + i) for i in range(max(1, n // 20_000))])
    batch = pa.RecordBatch.from_arrays(
        [
            pa.DictionaryArray.from_arrays(
                pa.array(np.minimum(np.arange(n) // 20_000, len(users) - 1).astype(np.int32)), users
            ),
            pa.array(1_383_523_200_000 + np.cumsum(rng.integers(0, 9_000, n)), pa.timestamp("ms")),
            pa.DictionaryArray.from_arrays(
                pa.array(rng.integers(0, len(urls), n).astype(np.int32)), urls
            ),
        ],
        schema=ENCODED_SCHEMA,
    )
    return batch


def _writer_alone(path, fmt: str, rows: int, batch: pa.RecordBatch) -> None:
    """Write ``rows`` trivial rows (slices of ``batch``) through the generator's own writer."""
    from netpersona.synth import access_logs

    sink = access_logs._WRITERS[fmt](path)
    try:
        left = rows
        while left > 0:
            sink.write(batch.slice(0, min(left, batch.num_rows)))
            left -= batch.num_rows
    finally:
        sink.close()


def _duckdb_copy(path, fmt: str, rows: int) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 2")
    options = (
        "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, COMPRESSION gzip"
    )
    con.execute(
        f"""COPY (
            SELECT '138' || lpad((i // 20000)::VARCHAR, 8, '0') AS user_id,
                   TIMESTAMP '2013-11-04' + to_milliseconds(i * 137) AS ts,
                   'http://m.site' || (hash(i) % 200000)::VARCHAR || '.com.cn/p/'
                       || (hash(i * 7) % 1000)::VARCHAR || '.html' AS url
            FROM range({rows}) t(i)
        ) TO '{path}' ({options})"""
    )
    con.close()


def _timed(fn, repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds (this process, all threads) of ``fn``."""
    wall, cpu = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def _measure(fmt: str, users: int, days: int, repeat: int) -> dict:
    from netpersona.synth import write_access_logs

    DATA.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    out = DATA / f"bench_synth.{fmt}"
    summary = write_access_logs(out, users, days, seed=0, force=True)  # warm-up, and row count
    rows = summary.rows
    synth, synth_cpu = _timed(
        lambda: write_access_logs(out, users, days, seed=0, force=True), repeat
    )
    size_mb = out.stat().st_size / 1e6
    base = DATA / f"bench_synth_baseline.{fmt}"
    batch = _trivial_batch(rows)
    alone = median_time(lambda: _writer_alone(base, fmt, rows, batch), repeat=repeat, warmup=0)
    duck = DATA / f"bench_synth_duckdb.{fmt}"
    duckdb_s = median_time(lambda: _duckdb_copy(duck, fmt, rows), repeat=repeat, warmup=0)
    for path in (out, base, duck):
        path.unlink(missing_ok=True)
    return {
        "fmt": fmt,
        "users": users,
        "days": days,
        "rows": rows,
        "synth_s": synth,
        "synth_cpu_s": synth_cpu,
        "alone_s": alone,
        "duckdb_s": duckdb_s,
        "size_mb": size_mb,
        "load": (load + os.getloadavg()[0]) / 2,
    }


def _code_stamp() -> str:
    """Hash of the access-log generator's source: the paper-scale file is reused while it holds."""
    import netpersona.synth as synth

    folder = Path(synth.__file__).parent
    digest = hashlib.sha256()
    for path in sorted([folder / "access_logs.py", *folder.glob("_*.py")]):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def _paper_scale() -> dict:
    """Write the paper-scale log once per generator version; its figures are kept beside it."""
    from netpersona.synth import write_access_logs

    stamp = _code_stamp()
    if PAPER_FILE.exists() and PAPER_RECORD.exists():
        record = json.loads(PAPER_RECORD.read_text())
        if record.get("code") == stamp and record.get("bytes") == PAPER_FILE.stat().st_size:
            return record | {"reused": True}
    load = os.getloadavg()[0]
    start = time.perf_counter()
    cpu = time.process_time()
    summary = write_access_logs(PAPER_FILE, PAPER_USERS, PAPER_DAYS, "2013-11-04", 0, force=True)
    record = {
        "call": PAPER_CALL,
        "rows": summary.rows,
        "seconds": time.perf_counter() - start,
        "cpu_s": time.process_time() - cpu,
        "peak_mb": peak_rss_mb(),
        "bytes": PAPER_FILE.stat().st_size,
        "load": (load + os.getloadavg()[0]) / 2,
        "measured": today(),
        "code": stamp,
    }
    PAPER_RECORD.write_text(json.dumps(record, indent=1))
    return record


def _load(value) -> str:
    return "not recorded" if value is None else f"{value:.1f}"


def main(quick: bool) -> None:
    if quick:
        cases = [("parquet", 200, 14, 3), ("csv.gz", 100, 14, 3)]
    else:
        cases = [("parquet", 1000, 60, 3), ("csv.gz", 300, 60, 3)]
    paper = None if quick else _paper_scale()  # first, so the peak memory is its own
    results = []
    for fmt, users, days, repeat in cases:
        print(f"  synth {fmt}: {users} users x {days} days ...", flush=True)
        results.append(_measure(fmt, users, days, repeat))
    lines = [
        "## Synthetic access logs (`netpersona synth access-logs`)",
        "",
        "Rows/s of `write_access_logs` (generation + encoding + writing in one process:",
        "generation in the main thread, encoding and writing in a second one), median of 3 runs,",
        "against writing the same number of trivial random rows through the same writer, and",
        "DuckDB generating rows from `range(n)` with `COPY ... TO` (2 threads). Ratio = baseline",
        "time / synthesis time. *CPU rows/s* divides by the process's CPU seconds (both",
        "threads): on this shared machine the wall time mostly measures the other processes",
        "(*load* = the 1-minute load average around the measurement, on 2 cores).",
        "",
        "| format | users x days | rows | synth rows/s | synth CPU rows/s | writer alone rows/s "
        "| ratio | DuckDB COPY rows/s | ratio | file MB | load |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['fmt']} | {r['users']:,} x {r['days']} | {r['rows']:,} | "
            f"{r['rows'] / r['synth_s']:,.0f} | {r['rows'] / r['synth_cpu_s']:,.0f} | "
            f"{r['rows'] / r['alone_s']:,.0f} | {r['alone_s'] / r['synth_s']:.2f} | "
            f"{r['rows'] / r['duckdb_s']:,.0f} | {r['duckdb_s'] / r['synth_s']:.2f} | "
            f"{r['size_mb']:,.1f} | {r['load']:.1f} |"
        )
    if paper:
        lines += [
            "",
            f"**Paper scale** (`{paper['call']}`, measured {paper['measured']}"
            + (", reused: the generator has not changed since" if paper.get("reused") else "")
            + f"): {paper['rows']:,} rows in {paper['seconds']:.0f} s wall "
            f"({paper['rows'] / paper['seconds']:,.0f} rows/s) and {paper['cpu_s']:.0f} s CPU "
            f"over both threads ({paper['rows'] / paper['cpu_s']:,.0f} rows per CPU second), "
            f"load average {_load(paper.get('load'))}; peak memory {paper['peak_mb']:,.0f} MB; "
            f"file {paper['bytes'] / 1e6:,.0f} MB, kept as "
            f"`{PAPER_FILE.relative_to(DATA.parent.parent)}` for the re-join benchmarks.",
        ]
    else:
        lines += ["", "_Quick run (`--quick`): small inputs; the paper-scale run is skipped._"]
    write_section("synth", "\n".join(lines))
