"""Reading throughput of the access-log reader against DuckDB's own bare scan of the same file.

Input: a synthetic log of ``user_id, ts, url`` rows (10M; 1M with ``--quick``) written once to
``benchmarks/.data/`` as CSV.gz and Parquet. For each file the reader (``read_access_log``:
parse, local time, host -> registrable domain, checks, canonical table) is timed against
``SELECT count(*) FROM read_csv(...)`` / ``read_parquet(...)`` in the same run; the ratio of
the two medians is what travels between machines.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from benchmarks._common import DATA, peak_rss_mb, write_section

BATCH = 1_000_000
START = np.datetime64("2013-11-04T00:00:00", "s")


def _batch(rng: np.random.Generator, n: int) -> pa.Table:
    """``n`` rows: 200k users, Zipf-like choice among 50k sites with a few hosts each."""
    users = rng.integers(0, 200_000, n)
    sites = np.minimum(rng.zipf(1.3, n), 50_000)
    hosts = rng.integers(0, 4, n)
    seconds = rng.integers(0, 60 * 86_400, n)
    user_id = pc.binary_join_element_wise("138", pa.array(users + 10_000_000).cast(pa.string()), "")
    ts = pa.array(START + seconds.astype("timedelta64[s]")).cast(pa.string())
    tld = pa.array(np.array([".com", ".com.cn", ".cn", ".co.uk", ".net"])[sites % 5])
    url = pc.binary_join_element_wise(
        "http://",
        pa.array(np.array(["www.", "m.", "img.", "api.news."])[hosts]),
        "site",
        pa.array(sites).cast(pa.string()),
        tld,
        "/p/",
        pa.array(rng.integers(0, 1000, n)).cast(pa.string()),
        "?q=",
        pa.array(seconds % 9973).cast(pa.string()),
        "",
    )
    return pa.table({"user_id": user_id, "ts": ts, "url": url})


def synthetic_logs(rows: int) -> dict[str, object]:
    """Paths of the cached CSV.gz and Parquet logs with ``rows`` rows (made if missing)."""
    DATA.mkdir(parents=True, exist_ok=True)
    csv_path = DATA / f"access_{rows}.csv.gz"
    parquet_path = DATA / f"access_{rows}.parquet"
    if not (csv_path.exists() and parquet_path.exists()):
        rng = np.random.default_rng(20131104)
        schema = pa.schema([("user_id", pa.string()), ("ts", pa.string()), ("url", pa.string())])
        tmp_csv, tmp_parquet = csv_path.with_suffix(".tmp"), parquet_path.with_suffix(".tmp")
        with (
            pa.CompressedOutputStream(str(tmp_csv), "gzip") as raw,
            pacsv.CSVWriter(raw, schema) as csv_writer,
            pq.ParquetWriter(str(tmp_parquet), schema) as parquet_writer,
        ):
            for start in range(0, rows, BATCH):
                batch = _batch(rng, min(BATCH, rows - start))
                csv_writer.write_table(batch)
                parquet_writer.write_table(batch)
        tmp_csv.rename(csv_path)
        tmp_parquet.rename(parquet_path)
    return {"CSV.gz": csv_path, "Parquet": parquet_path}


def interleaved_medians(functions, repeat: int) -> list[float]:
    """Median seconds of each function, timed in turns (one warm-up each): on a shared machine
    a burst of load then slows all of them alike instead of one."""
    for fn in functions:
        fn()
    times: list[list[float]] = [[] for _ in functions]
    for _ in range(repeat):
        for fn, spent in zip(functions, times, strict=True):
            start = time.perf_counter()
            fn()
            spent.append(time.perf_counter() - start)
    return [statistics.median(spent) for spent in times]


def _speed(rows: int, seconds: float) -> str:
    return f"{seconds:.2f} s ({rows / seconds / 1e6:.2f} M rows/s)"


def main(quick: bool = False) -> None:
    from netpersona.engine import DuckDBEngine
    from netpersona.io import LogMapping, read_access_log

    rows = 1_000_000 if quick else 10_000_000
    repeat = 5
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    files = synthetic_logs(rows)
    print(f"inputs ready in {time.perf_counter() - start:.1f} s", flush=True)
    mapping = LogMapping()
    lines = [
        f"Reading a synthetic access log of {rows:,} rows (`user_id, ts, url`; 200k users, "
        "50k sites, 4 hosts each), median of "
        f"{repeat} runs after one warm-up, the three readers timed in turns, default threads.",
        "",
        "| file | DuckDB bare scan + count(*) | DuckDB copy into a table | netpersona "
        "`read_access_log` | ratio to bare scan | ratio to copy |",
        "|---|---|---|---|---|---|",
    ]
    for label, path in files.items():
        reader = "read_parquet" if label == "Parquet" else "read_csv"

        def bare(path=path, reader=reader) -> None:
            with DuckDBEngine() as engine:
                n = engine.fetch_scalar(f"SELECT count(*) FROM {reader}('{path}')")
                assert n == rows, n

        def copy(path=path, reader=reader) -> None:
            with DuckDBEngine() as engine:
                engine.execute(f"CREATE TABLE t AS SELECT * FROM {reader}('{path}')")

        def ours(path=path) -> None:
            with DuckDBEngine() as engine:
                summary = read_access_log(path, mapping, engine)
                assert summary.rows == rows, summary

        t_bare, t_copy, t_ours = interleaved_medians([bare, copy, ours], repeat=repeat)
        print(f"{label}: bare {t_bare:.2f} s, copy {t_copy:.2f} s, ours {t_ours:.2f} s", flush=True)
        lines.append(
            f"| {label} ({path.stat().st_size / 2**20:,.0f} MB) | {_speed(rows, t_bare)} "
            f"| {_speed(rows, t_copy)} | {_speed(rows, t_ours)} | {t_ours / t_bare:.1f}x "
            f"| {t_ours / t_copy:.1f}x |"
        )
    lines += [
        "",
        "The bare scan only tokenises the file and counts rows (for Parquet, `count(*)` is "
        "answered from the file's metadata, so it reads almost nothing); the copy also "
        "materialises the three text columns in a DuckDB table; the reader also parses times, "
        "cuts hosts out of URLs, maps each distinct host to its registrable domain, checks every "
        "row, stages the rows and writes the canonical table. "
        f"Peak memory of the benchmark process: {peak_rss_mb():,.0f} MB. The machine is "
        f"shared: its 1-minute load average was {load_before:.1f} at the start and "
        f"{os.getloadavg()[0]:.1f} at the end of the run (2 cores), so compare the ratios, "
        "not the absolute times.",
    ]
    write_section("io", "## Reading access logs\n\n" + "\n".join(lines))
