"""Synthetic URL access logs of a mobile operator: ``user_id, ts, url``, one row per request.

The model is described in :mod:`netpersona.synth._behaviour` (subscribers) and
:mod:`netpersona.synth._sites` (the web), and for people in ``docs/synthetic-data.md``.

Rows come user by user, each user's requests in time order; a user's rows depend only on
(seed, user index, settings, days, start), never on the batch size or the number of users
(generating 100 users gives exactly the first 100 users of a 1,000-user log). Times are the
subscribers' local wall-clock time, as naive timestamps with millisecond resolution.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow as pa

from netpersona._core import ConfigError, Progress, atomic_output, check_writable
from netpersona.synth._behaviour import DAY_MS, simulate_user
from netpersona.synth._phones import phone_numbers
from netpersona.synth._presets import DEFAULT_PRESET, preset_settings
from netpersona.synth._settings import AccessLogSettings
from netpersona.synth._sites import SiteUniverse
from netpersona.synth._urls import UrlVocabulary

#: Columns of a synthetic access log as written to files (and yielded with ``encoded=False``).
SCHEMA = pa.schema([("user_id", pa.string()), ("ts", pa.timestamp("ms")), ("url", pa.string())])
#: The same columns dictionary-encoded, as generated (cheap to write; values identical).
ENCODED_SCHEMA = pa.schema(
    [
        ("user_id", pa.dictionary(pa.int32(), pa.string())),
        ("ts", pa.timestamp("ms")),
        ("url", pa.dictionary(pa.int32(), pa.string())),
    ]
)
PAPER_START = dt.date(2013, 11, 4)
_BATCH_ROWS = 4_000_000
#: gzip level of .csv.gz output: 1 is ~3x faster than the usual 6 for ~25% larger files
GZIP_LEVEL = 1  # a batch closes after the user that takes it past this many rows


@dataclass(frozen=True)
class AccessLogSummary:
    """What :func:`write_access_logs` wrote."""

    path: Path
    format: str
    users: int
    days: int
    start: dt.date
    seed: int
    rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("nan")


def generate_access_logs(
    users: int,
    days: int,
    start: dt.date | str = PAPER_START,
    seed: int = 0,
    *,
    settings: AccessLogSettings | None = None,
    page_loads_per_day: tuple[int, int] | None = None,
    requests_per_load: tuple[int, int] | None = None,
    batch_rows: int = _BATCH_ROWS,
    encoded: bool = False,
    progress: Progress = Progress(),
) -> Iterator[pa.RecordBatch]:
    """Synthetic access logs of ``users`` subscribers over ``days`` days from ``start``.

    Yields record batches of whole users (about ``batch_rows`` rows each) with columns
    ``user_id`` (11-digit mobile number), ``ts`` (timestamp, ms) and ``url``. With
    ``encoded=True`` the string columns are dictionary-encoded (same values, much cheaper).
    ``settings`` default to the ``paper`` preset (:func:`preset_settings`), as
    ``netpersona synth access-logs`` does; ``page_loads_per_day`` and ``requests_per_load``
    override those two settings, e.g. ``(5, 20)`` and ``(1, 2)`` for a small log in a test.
    """
    plan = _Plan.make(users, days, start, seed, settings, page_loads_per_day, requests_per_load)
    encoder = _Encoder(plan)
    for chunk in plan.chunks(batch_rows, progress):
        yield encoder(chunk, encoded)


@dataclass(frozen=True)
class _Chunk:
    """Simulated users ``first .. first+len(ts)-1``, not yet encoded: times (ms) and URL ids."""

    first: int
    ts: list[np.ndarray]
    url: list[np.ndarray]


@dataclass(frozen=True)
class _Plan:
    """A validated request for a log: who, when, which web; simulates users in chunks."""

    users: int
    days: int
    start: dt.date
    seed: int
    settings: AccessLogSettings
    universe: SiteUniverse

    @classmethod
    def make(cls, users, days, start, seed, settings, page_loads_per_day, requests_per_load):
        settings = _settings(settings, page_loads_per_day, requests_per_load)
        if users < 1 or days < 1:
            raise ConfigError(f"users and days must be at least 1 (got users={users}, days={days})")
        universe = SiteUniverse(
            seed=seed,
            n_sites=settings.sites,
            site_zipf=settings.site_zipf,
            tail_start=settings.tail_start,
        )
        return cls(users, days, _start_date(start), seed, settings, universe)

    def chunks(self, batch_rows: int, progress: Progress) -> Iterator[_Chunk]:
        """Users in order, grouped into chunks of about ``batch_rows`` rows."""
        if batch_rows < 1:
            raise ConfigError(f"batch_rows must be at least 1 (got {batch_rows})")
        weekday = self.start.weekday()
        ts, url, rows, first = [], [], 0, 0
        for i in progress.track(range(self.users), "synthesising access logs", total=self.users):
            # user i's own stream: its log never depends on other users or on batching
            seq = np.random.SeedSequence([self.seed, i, 0xACCE55])
            # background apps: a stream of their own, so browsing is the same without them
            bg_seq = np.random.SeedSequence([self.seed, i, 0xBAC6])
            log = simulate_user(
                np.random.Generator(np.random.PCG64(seq)),
                self.universe,
                self.settings,
                self.days,
                weekday,
                np.random.Generator(np.random.PCG64(bg_seq)),
            )
            ts.append(log.ts_ms)
            url.append(log.url_id)
            rows += len(log.ts_ms)
            if rows >= batch_rows or i == self.users - 1:
                yield _Chunk(first, ts, url)
                ts, url, rows, first = [], [], 0, i + 1


class _Encoder:
    """Turns simulated chunks into record batches (phone numbers, timestamps, URL text)."""

    def __init__(self, plan: _Plan) -> None:
        self.seed = plan.seed
        start = dt.datetime(plan.start.year, plan.start.month, plan.start.day, tzinfo=dt.UTC)
        self.epoch_ms = int(start.timestamp()) * 1000
        self.vocabulary = UrlVocabulary(plan.universe)

    def __call__(self, chunk: _Chunk, encoded: bool) -> pa.RecordBatch:
        counts = np.array([len(t) for t in chunk.ts], dtype=np.int64)
        numbers = phone_numbers(chunk.first, len(counts), self.seed)
        user_idx = pa.array(np.repeat(np.arange(len(counts), dtype=np.int32), counts))
        ts = np.concatenate(chunk.ts) + self.epoch_ms
        indices, dictionary = self.vocabulary.encode(np.concatenate(chunk.url))
        user_col = pa.DictionaryArray.from_arrays(user_idx, numbers)
        url_col = pa.DictionaryArray.from_arrays(pa.array(indices), dictionary)
        ts_col = pa.array(ts, type=pa.timestamp("ms"))
        if not encoded:
            user_col, url_col = user_col.dictionary_decode(), url_col.dictionary_decode()
            return pa.RecordBatch.from_arrays([user_col, ts_col, url_col], schema=SCHEMA)
        return pa.RecordBatch.from_arrays([user_col, ts_col, url_col], schema=ENCODED_SCHEMA)


def write_access_logs(
    out: str | Path,
    users: int,
    days: int,
    start: dt.date | str = PAPER_START,
    seed: int = 0,
    *,
    force: bool = False,
    progress: Progress = Progress(),
    settings: AccessLogSettings | None = None,
    page_loads_per_day: tuple[int, int] | None = None,
    requests_per_load: tuple[int, int] | None = None,
    batch_rows: int = _BATCH_ROWS,
) -> AccessLogSummary:
    """Write a synthetic access log to ``out``: Parquet (``.parquet``) or CSV (``.csv``,
    ``.csv.gz``), atomically, refusing to overwrite an existing file unless ``force``.

    Settings default to the ``paper`` preset, as in :func:`generate_access_logs`. The same
    arguments give byte-identical files. Generation and writing overlap (a writer
    thread), so a log at the paper's scale (25,809 users x 60 days) takes minutes.
    """
    out = Path(out)
    fmt = _format_of(out)
    check_writable(out, force)
    began = time.perf_counter()
    plan = _Plan.make(users, days, start, seed, settings, page_loads_per_day, requests_per_load)
    encoder = _Encoder(plan)
    with atomic_output(out, force=force) as tmp:
        rows = _write_pipelined(
            plan.chunks(batch_rows, progress),
            lambda chunk: encoder(chunk, True),
            _WRITERS[fmt],
            tmp,
        )
    return AccessLogSummary(
        path=out,
        format=fmt,
        users=users,
        days=days,
        start=plan.start,
        seed=seed,
        rows=rows,
        seconds=time.perf_counter() - began,
    )


# -- writing --------------------------------------------------------------------------------


def _format_of(path: Path) -> str:
    name = path.name.lower()
    for suffix, fmt in ((".parquet", "parquet"), (".csv.gz", "csv.gz"), (".csv", "csv")):
        if name.endswith(suffix):
            return fmt
    raise ConfigError(
        f"{path}: cannot tell the output format from the file name; "
        "use a name ending in .parquet, .csv or .csv.gz"
    )


class _ParquetSink:
    def __init__(self, path: Path) -> None:
        import pyarrow.parquet as pq

        # url/user_id dictionary pages hold a batch's distinct values; timestamps are sorted per
        # user, so delta encoding shrinks them to a few bits each. No Arrow schema is stored:
        # readers see plain string columns.
        self._writer = pq.ParquetWriter(
            path,
            ENCODED_SCHEMA,
            compression="zstd",
            use_dictionary=["user_id", "url"],
            column_encoding={"ts": "DELTA_BINARY_PACKED"},
            dictionary_pagesize_limit=256 << 20,
            store_schema=False,
        )

    def write(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(batch, row_group_size=batch.num_rows)

    def close(self) -> None:
        self._writer.close()


class _CsvSink:
    def __init__(self, path: Path, gzip: bool) -> None:
        import gzip as _gzip

        import pyarrow.csv as pcsv

        self._raw = open(path, "wb")  # noqa: SIM115 - closed in close()
        # gzip: fast level, no file name or time in the header, so the bytes depend on the data only
        self._file = (
            _gzip.GzipFile(
                filename="", mode="wb", fileobj=self._raw, compresslevel=GZIP_LEVEL, mtime=0
            )
            if gzip
            else self._raw
        )
        self._writer = pcsv.CSVWriter(
            self._file,
            SCHEMA,
            write_options=pcsv.WriteOptions(quoting_style="none", quoting_header="none"),
        )

    def write(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(batch.cast(SCHEMA))

    def close(self) -> None:
        self._writer.close()
        if self._file is not self._raw:
            self._file.close()
        self._raw.close()


_WRITERS: dict[str, Callable[[Path], object]] = {
    "parquet": _ParquetSink,
    "csv": lambda p: _CsvSink(p, gzip=False),
    "csv.gz": lambda p: _CsvSink(p, gzip=True),
}


def _write_pipelined(chunks: Iterator[_Chunk], encode, make_sink, path: Path) -> int:
    """Simulate in this thread; encode and write in a second one (numpy and Arrow release the
    GIL, so the two overlap on two cores). Returns the number of rows written."""
    todo: queue.Queue = queue.Queue(maxsize=2)
    failure: list[BaseException] = []
    rows = [0]

    def work() -> None:
        sink = None
        try:
            sink = make_sink(path)
            while (chunk := todo.get()) is not None:
                batch = encode(chunk)
                sink.write(batch)
                rows[0] += batch.num_rows
        except BaseException as exc:  # handed to the main thread
            failure.append(exc)
            while todo.get() is not None:  # drain so the producer never blocks
                pass
        finally:
            if sink is not None:
                sink.close()

    writer = threading.Thread(target=work, name="netpersona-synth-writer", daemon=True)
    writer.start()
    try:
        for chunk in chunks:
            if failure:
                break
            todo.put(chunk)
    finally:
        todo.put(None)
        writer.join()
    if failure:
        raise failure[0]
    return rows[0]


# -- arguments ------------------------------------------------------------------------------


def _settings(settings, page_loads_per_day, requests_per_load) -> AccessLogSettings:
    # no settings: the default preset (``paper``), as ``netpersona synth access-logs`` uses;
    # ``AccessLogSettings()`` itself is the ``dense`` preset
    settings = settings or preset_settings(DEFAULT_PRESET)
    overrides = {}
    if page_loads_per_day is not None:
        overrides["page_loads_per_day"] = tuple(page_loads_per_day)
    if requests_per_load is not None:
        lo, hi = requests_per_load
        overrides["requests_per_load"] = (lo, hi)
        mean = settings.requests_per_load_mean
        overrides["requests_per_load_mean"] = min(max(mean, lo), hi)
    return replace(settings, **overrides) if overrides else settings


def _start_date(start: dt.date | str) -> dt.date:
    if isinstance(start, dt.datetime):
        return start.date()
    if isinstance(start, dt.date):
        return start
    try:
        return dt.date.fromisoformat(str(start))
    except ValueError:
        raise ConfigError(
            f"start date {start!r} is not a date; expected YYYY-MM-DD such as 2013-11-04"
        ) from None


__all__ = [
    "DAY_MS",
    "ENCODED_SCHEMA",
    "PAPER_START",
    "SCHEMA",
    "AccessLogSettings",
    "AccessLogSummary",
    "generate_access_logs",
    "write_access_logs",
]
